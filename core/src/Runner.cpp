#include "Runner.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <Poco/DateTimeFormat.h>
#include <Poco/DateTimeFormatter.h>
#include <Poco/Exception.h>
#include <Poco/Logger.h>
#include <Poco/Timestamp.h>

#include "JsonWriter.h"
#include "RunSpec.h"
#include "controlplane/CheckIn.h"
#include "crontopus/sdk/CronExpression.h"
#include "platform/Files.h"
#include "platform/JobProcess.h"
#include "platform/Platform.h"

namespace crontopus::core {

namespace {

constexpr std::size_t kOutputChars = 10000;
constexpr std::uintmax_t kRunLogRotateBytes = 10 * 1024 * 1024;
constexpr int kRetryBaseSeconds = 10;
constexpr int kRetryMaxSeconds = 600;

Poco::Logger& log() {
  return Poco::Logger::get("crontopus.run");
}

std::string iso(const Poco::Timestamp& t) {
  return Poco::DateTimeFormatter::format(t, Poco::DateTimeFormat::ISO8601_FORMAT);
}

// Decodes one UTF-8 sequence at `i`; returns its length, or 0 when invalid.
std::size_t sequenceLength(const std::string& s, std::size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  std::size_t len = 0;
  unsigned cp = 0;
  if (c < 0x80)
    return 1;
  if ((c & 0xE0) == 0xC0) {
    len = 2;
    cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    len = 3;
    cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    len = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + len > s.size())
    return 0;
  for (std::size_t k = 1; k < len; ++k) {
    const auto cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xC0) != 0x80)
      return 0;
    cp = (cp << 6) | (cc & 0x3F);
  }
  // Overlong forms, surrogates and values past U+10FFFF are invalid too.
  if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
      (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) {
    return 0;
  }
  return len;
}

std::string lastLines(const std::string& text, int lines, std::size_t max_chars) {
  std::size_t end = text.size();
  while (end > 0 && (text[end - 1] == '\n' || text[end - 1] == '\r'))
    --end;
  std::size_t pos = end;
  for (int n = 0; n < lines && pos > 0; ++n) {
    pos = text.rfind('\n', pos - 1);
    if (pos == std::string::npos) {
      pos = 0;
      break;
    }
  }
  std::string tail = text.substr(pos == 0 ? 0 : pos + 1, end - (pos == 0 ? 0 : pos + 1));
  return utf8Tail(tail, max_chars);
}

std::vector<std::string> cronEnvironment(const RunSpec& spec, std::string& home) {
  // cron's own minimal environment (Unix), then the manifest's env on top.
  std::map<std::string, std::string> env = platform::baseJobEnvironment(home);
  env["CRONTOPUS_JOB"] = spec.identity();
  for (const auto& [k, v] : spec.env)
    env[k] = v;
  std::vector<std::string> out;
  for (const auto& [k, v] : env)
    out.push_back(k + "=" + v);
  return out;
}

void appendRunLog(const std::string& state_dir, const std::string& line) {
  const std::string path = state_dir + "/runs.log";
  std::error_code ec;
  if (std::filesystem::file_size(path, ec) > kRunLogRotateBytes && !ec) {
    std::filesystem::rename(path, path + ".1", ec);
  }
  // One write per record: concurrent runs never interleave within a line.
  const std::string error = platform::appendToFile(path, line, 0600);
  if (!error.empty())
    log().error(error);
}

// For entries that fire on more minutes than the schedule has, or twice in one minute: true when
// this minute is a fire time in the job's zone and no other invocation has claimed it yet. The
// stamp file holds the last claimed minute; a lock makes the check-and-set atomic between
// triggers that start at the same moment.
bool claimScheduledMinute(const RunSpec& spec, const std::string& dir,
                          const std::string& identity) {
  sdk::CronExpression expr;
  sdk::CronError cron_error;
  if (!sdk::CronExpression::parse(spec.schedule, expr, cron_error)) {
    log().error("job " + identity + ": invalid schedule in run spec: " + cron_error.message);
    return false;
  }
  const auto minute = std::chrono::time_point_cast<std::chrono::seconds>(
      std::chrono::floor<std::chrono::minutes>(std::chrono::system_clock::now()));
  std::string error;
  if (!expr.firesAt(minute, spec.timezone, error)) {
    if (!error.empty())
      log().error("job " + identity + ": " + error);
    return false;
  }
  platform::FileLock stamp_lock(dir + "/" + spec.name + ".minute.lock");
  stamp_lock.lock();
  const std::string stamp_path = dir + "/" + spec.name + ".minute";
  const std::string claimed = std::to_string(minute.time_since_epoch().count());
  std::ifstream in(stamp_path);
  std::string last;
  if (in && std::getline(in, last) && last == claimed) {
    return false;
  }
  platform::writeFileAtomic(stamp_path, claimed + "\n", 0600, platform::Durability::kDeferred);
  return true;
}

}  // namespace

std::string utf8Tail(const std::string& bytes, std::size_t max_chars) {
  std::vector<std::string> chars;
  chars.reserve(std::min(bytes.size(), max_chars * 2));
  std::size_t i = 0;
  while (i < bytes.size()) {
    std::size_t len = sequenceLength(bytes, i);
    if (len == 0) {
      chars.emplace_back("\xEF\xBF\xBD");
      i += 1;
    } else {
      chars.emplace_back(bytes, i, len);
      i += len;
    }
  }
  std::string out;
  const std::size_t first = chars.size() > max_chars ? chars.size() - max_chars : 0;
  for (std::size_t k = first; k < chars.size(); ++k)
    out += chars[k];
  return out;
}

std::string toJsonLine(const RunRecord& r) {
  JsonWriter w;
  w.beginObject()
      .field("job", r.ns + "/" + r.name)
      .field("namespace", r.ns)
      .field("name", r.name)
      .field("start", r.started)
      .field("end", r.finished)
      .field("duration", r.duration_seconds)
      .field("exit_code", r.exit_code)
      .field("signal", r.signal)
      .field("status", r.status)
      .field("attempts", r.attempts)
      .field("output", r.output)
      .field("error_message", r.error_message)
      .endObject();
  return w.str() + "\n";
}

int runJob(const std::string& state_dir, const std::string& identity) {
  const std::string spec_path = runSpecPath(state_dir, identity);
  std::ifstream in(spec_path, std::ios::binary);
  if (!in) {
    log().error("job " + identity + ": no run spec at " + spec_path +
                " (is the job managed by this agent? run `crontopus-agent apply`)");
    return 127;
  }
  // The run spec says what to execute: one that another user could have written is refused.
  if (const std::string why = platform::unsafePermissions(spec_path); !why.empty()) {
    log().error("job " + identity + ": run spec " + spec_path + " refused: " + why +
                "; then run `crontopus-agent apply` to rewrite it");
    return 126;
  }
  std::ostringstream text;
  text << in.rdbuf();
  const RunSpec spec = runSpecFromJson(text.str(), spec_path);

  const std::string dir = jobDirectory(state_dir, identity);
  if (spec.gate && !claimScheduledMinute(spec, dir, identity)) {
    return 0;  // not a fire time in the job's zone, or another trigger already ran this minute
  }

  platform::FileLock lock(dir + "/" + spec.name + ".lock");
  RunRecord record;
  record.ns = spec.ns;
  record.name = spec.name;
  if (!lock.tryLock()) {
    record.started = record.finished = iso(Poco::Timestamp());
    record.status = "skipped";
    record.error_message = "the previous run is still going";
    appendRunLog(state_dir, toJsonLine(record));
    log().warning("job " + identity + ": skipped, the previous run is still going");
    return 0;
  }

  std::string home;
  platform::JobProcessSpec process;
  process.env = cronEnvironment(spec, home);
  std::string refused;
  try {
    process.shell_command = platform::jobCommandLine(spec.command, spec.args, process.env);
  } catch (const Poco::InvalidArgumentException& e) {
    // Not run at all rather than with args other than the manifest's; recorded and reported as
    // a failed run, so that the operator sees it where runs are seen.
    refused = "not run: " + e.message();
    log().error("job " + identity + ": " + refused);
  }
  process.working_dir = spec.working_dir.empty() ? home : spec.working_dir;
  process.timeout_seconds = spec.timeout_seconds;
  process.output_path = dir + "/" + spec.name + ".out";

  const Poco::Timestamp started;
  record.started = iso(started);
  const int max_attempts = 1 + (spec.retry.enabled ? spec.retry.attempts : 0);
  platform::JobProcessOutcome outcome;
  if (!refused.empty()) {
    record.status = "failure";
    record.error_message = refused;
    outcome.exit_code = 126;
  }
  for (int attempt = 1; refused.empty() && attempt <= max_attempts; ++attempt) {
    record.attempts = attempt;
    outcome = platform::runJobProcess(process);
    if (!outcome.start_error.empty()) {
      record.status = "failure";
      record.error_message = outcome.start_error;
    } else if (outcome.timed_out) {
      record.status = "timeout";
      record.error_message = "timed out after " + std::to_string(spec.timeout_seconds) + " s";
    } else if (outcome.interrupted || outcome.signal != 0) {
      record.status = "cancelled";
      record.error_message = "killed by signal " + std::to_string(outcome.signal);
    } else if (outcome.exit_code == 0) {
      record.status = "success";
      record.error_message.clear();
    } else {
      record.status = "failure";
      record.error_message = lastLines(outcome.tail, 3, 500);
      if (record.error_message.empty()) {
        record.error_message = "exited with code " + std::to_string(outcome.exit_code);
      }
    }
    const bool retryable = record.status == "failure" || record.status == "timeout";
    if (!retryable || attempt == max_attempts)
      break;
    int delay = kRetryBaseSeconds;
    if (spec.retry.backoff == sdk::Backoff::kExponential) {
      delay = std::min(kRetryMaxSeconds, kRetryBaseSeconds << std::min(attempt - 1, 10));
    }
    if (const char* base = std::getenv("CRONTOPUS_RETRY_BASE_MS")) {
      // For tests of the retry loop only: seconds become this many milliseconds.
      const long ms = std::strtol(base, nullptr, 10) * delay / kRetryBaseSeconds;
      std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    } else {
      std::this_thread::sleep_for(std::chrono::seconds(delay));
    }
    log().information("job " + identity + ": attempt " + std::to_string(attempt) + " " +
                      record.status + ", retrying in " + std::to_string(delay) + " s");
  }
  const Poco::Timestamp finished;
  record.finished = iso(finished);
  record.duration_seconds = (finished - started) / Poco::Timestamp::resolution();
  record.exit_code = outcome.exit_code;
  record.signal = outcome.signal;
  record.output = utf8Tail(outcome.tail, kOutputChars);
  appendRunLog(state_dir, toJsonLine(record));
  // Bounded (about 20 s at worst, then it spools) and never changes the job's exit code.
  controlplane::reportRun(spec, record);
  return outcome.exit_code;
}

}  // namespace crontopus::core
