#include "CronScheduler.h"

#include <Poco/Logger.h>

#include <algorithm>
#include <exception>
#include <functional>
#include <utility>

#include "CrontabDocument.h"
#include "EntryFormat.h"
#include "Platform.h"
#include "crontopus/sdk/CronExpression.h"

namespace crontopus::plugins::cron {

using sdk::ErrorCode;
using sdk::Result;

namespace {

template <typename Fn>
Result guarded(const char* what, Fn&& fn) noexcept {
  try {
    return fn();
  } catch (const std::exception& e) {
    return Result::failure(ErrorCode::kInternal, std::string("cron backend: unexpected error in ") +
                                                     what + ": " + e.what());
  } catch (...) {
    return Result::failure(ErrorCode::kInternal,
                           std::string("cron backend: unexpected error in ") + what);
  }
}

// A cron.d file is read by cron only if its name is made of these (run-parts naming).
bool isCronDName(const std::string& name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
}

bool isUserName(const std::string& name) {
  return !name.empty() && name.front() != '-' && name.front() != '#' &&
         std::none_of(name.begin(), name.end(), [](char c) {
           const auto u = static_cast<unsigned char>(c);
           return u <= 0x20 || u == 0x7F || c == '\'' || c == '"' || c == '\\';
         });
}

bool isIdentityPart(const std::string& part) {
  return !part.empty() && std::none_of(part.begin(), part.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u <= 0x20 || u == 0x7F || c == '/';
  });
}

std::string withThousands(std::size_t n) {
  std::string digits = std::to_string(n);
  for (int i = static_cast<int>(digits.size()) - 3; i > 0; i -= 3) {
    digits.insert(static_cast<std::size_t>(i), ",");
  }
  return digits;
}

}  // namespace

CronScheduler::CronScheduler() = default;
CronScheduler::~CronScheduler() = default;

std::vector<sdk::OptionSpec> CronScheduler::optionSpecs() const {
  return {
      {kOptionUser, sdk::OptionType::kString, "",
       "install into this user's crontab (crontab -u USER; needs root) and run the jobs as that "
       "user; with cron_file, the user field of the entries"},
      {kOptionCrontabCommand, sdk::OptionType::kString, "crontab",
       "the crontab program (name looked up on PATH, or a path)"},
      {kOptionCronFile, sdk::OptionType::kPath, "",
       "write a cron.d file (e.g. /etc/cron.d/crontopus) instead of a user crontab; no line "
       "limit; the name may hold only letters, digits, '_' and '-'"},
  };
}

void CronScheduler::setStoreForTesting(std::unique_ptr<CrontabStore> store) {
  store_ = std::move(store);
  store_injected_ = store_ != nullptr;
}

void CronScheduler::setHostZoneForTesting(std::string zone) {
  host_zone_ = std::move(zone);
  host_zone_fixed_ = true;
}

void CronScheduler::setNowForTesting(std::chrono::sys_seconds now) {
  now_ = now;
}

std::size_t CronScheduler::storeInvocations() const {
  return store_ ? store_->invocations() : 0;
}

std::string CronScheduler::option(const sdk::PluginContext& context, const char* key) const {
  auto it = context.options.find(key);
  if (it != context.options.end()) {
    return it->second;
  }
  for (const sdk::OptionSpec& spec : optionSpecs()) {
    if (spec.key == key) {
      return spec.default_value;
    }
  }
  return {};
}

Result CronScheduler::configure(const sdk::PluginContext& context) {
  return guarded("configure", [&] { return doConfigure(context); });
}

Result CronScheduler::doConfigure(const sdk::PluginContext& context) {
  context_ = context;
  user_ = option(context, kOptionUser);
  crontab_command_ = option(context, kOptionCrontabCommand);
  cron_file_ = option(context, kOptionCronFile);
  snapshot_.reset();

  if (!user_.empty() && !isUserName(user_)) {
    return Result::failure(ErrorCode::kConfig,
                           "scheduler option user: '" + user_ + "' is not a valid user name");
  }
  if (crontab_command_.empty() || hasControlCharacter(crontab_command_)) {
    return Result::failure(ErrorCode::kConfig,
                           "scheduler option crontab_command must name a program");
  }
  if (hasControlCharacter(context.agent_path) || hasControlCharacter(context.agent_state_dir)) {
    return Result::failure(ErrorCode::kConfig,
                           "the agent path and the state directory may not contain control "
                           "characters (a crontab entry is one line)");
  }
  if (!cron_file_.empty()) {
    const std::size_t slash = cron_file_.rfind('/');
    if (cron_file_.front() != '/' || slash == std::string::npos ||
        !isCronDName(cron_file_.substr(slash + 1))) {
      return Result::failure(
          ErrorCode::kConfig,
          "scheduler option cron_file: '" + cron_file_ +
              "' must be an absolute path whose file name has only letters, digits, '_' and '-' "
              "(cron ignores other names in /etc/cron.d), e.g. /etc/cron.d/crontopus");
    }
    cron_user_ = user_.empty() ? platform::currentUserName() : user_;
    if (cron_user_.empty()) {
      return Result::failure(ErrorCode::kConfig,
                             "cannot tell which user the agent runs as; set scheduler option user "
                             "for the user field of " +
                                 cron_file_);
    }
  } else {
    cron_user_.clear();
  }
  if (!host_zone_fixed_) {
    host_zone_ = platform::hostTimezone();
  }
  if (!store_injected_) {
    if (cron_file_.empty()) {
      store_ = std::make_unique<CommandCrontabStore>(crontab_command_, user_);
    } else {
      store_ = std::make_unique<FileCrontabStore>(cron_file_);
    }
  }
  configured_ = true;
  return Result::success();
}

sdk::Support CronScheduler::support() const {
  sdk::Support support;
  try {
    if (!platform::cronPlatform(support.reason)) {
      return support;
    }
    if (!cron_file_.empty()) {
      const std::string dir = cron_file_.substr(0, std::max<std::size_t>(cron_file_.rfind('/'), 1));
      if (!platform::directoryExists(dir)) {
        support.reason = "the directory of cron_file " + cron_file_ + " does not exist";
        return support;
      }
    } else {
      const std::string command = crontab_command_.empty() ? "crontab" : crontab_command_;
      if (platform::findExecutable(command).empty()) {
        support.reason = "the crontab command '" + command +
                         "' was not found (install cron, or set scheduler option crontab_command)";
        return support;
      }
    }
    support.supported = true;
  } catch (const std::exception& e) {
    support.supported = false;
    support.reason = std::string("cannot check cron support: ") + e.what();
  }
  return support;
}

Result CronScheduler::listOwned(std::vector<sdk::InstalledEntry>& out) {
  return guarded("listOwned", [&] { return doListOwned(out); });
}

Result CronScheduler::doListOwned(std::vector<sdk::InstalledEntry>& out) {
  out.clear();
  snapshot_.reset();
  if (!configured_ || !store_) {
    return Result::failure(ErrorCode::kInternal, "cron backend: listOwned before configure");
  }
  std::string text;
  Result read = store_->read(text);
  if (!read) {
    return read;
  }
  out = CrontabDocument::parse(text).owned();
  snapshot_ = fingerprintOf(text);
  return Result::success();
}

CronScheduler::Fingerprint CronScheduler::fingerprintOf(const std::string& text) {
  return {text.size(), std::hash<std::string>{}(text)};
}

Result CronScheduler::render(const sdk::Job& job, sdk::RenderedEntry& out) const {
  return guarded("render", [&] { return doRender(job, out); });
}

Result CronScheduler::doRender(const sdk::Job& job, sdk::RenderedEntry& out) const {
  out = sdk::RenderedEntry();
  const std::string identity = job.identity();
  if (!isIdentityPart(job.ns) || !isIdentityPart(job.name)) {
    return Result::failure(ErrorCode::kConfig, "job '" + identity +
                                                   "': namespace and name must be non-empty words "
                                                   "without '/', spaces or control characters");
  }
  if (context_.agent_path.empty() || context_.agent_state_dir.empty()) {
    return Result::failure(ErrorCode::kConfig,
                           "cron backend: the agent path and state directory are not known "
                           "(configure was not called with them)");
  }
  const std::string where = job.source_file.empty() ? "" : " (" + job.source_file + ")";

  sdk::CronExpression expression;
  sdk::CronError error;
  if (!sdk::CronExpression::parse(job.schedule, expression, error)) {
    return Result::failure(ErrorCode::kConfig, "job " + identity + where + ": spec.schedule '" +
                                                   job.schedule + "': " + error.field + ": " +
                                                   error.message);
  }

  std::string schedule;
  const std::string zone = !job.timezone.empty() ? job.timezone : context_.default_timezone;
  if (expression.isReboot()) {
    schedule = "@reboot";
    if (!job.timezone.empty()) {
      out.report = "@reboot runs at boot; spec.timezone does not apply";
    }
  } else if (zone.empty() || zone == host_zone_) {
    schedule = expression.canonical();
  } else {
    // cron reads every schedule in the host's zone (Debian's ignores CRON_TZ). Install a host-zone
    // superset, computed from the start of this month so the text stays the same all month, and
    // let `run` skip the minutes that are not fire times in the job's zone.
    const auto now =
        now_ ? *now_
             : std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
    const std::chrono::year_month_day today{std::chrono::floor<std::chrono::days>(now)};
    const std::chrono::sys_seconds from{std::chrono::sys_days{today.year() / today.month() / 1}};
    std::string superset_error;
    if (!expression.hostSuperset(zone, host_zone_, from, schedule, superset_error)) {
      return Result::failure(ErrorCode::kConfig, "job " + identity + where + ": timezone '" + zone +
                                                     "': " + superset_error);
    }
    if (schedule != expression.canonical()) {
      out.gate_runs = true;
      out.report = "timezone " + zone + " differs from the host zone " +
                   (host_zone_.empty() ? std::string("(unknown)") : host_zone_) +
                   ": installed the host-zone superset '" + schedule + "' of '" +
                   expression.canonical() + "'; run skips the minutes that are not fire times in " +
                   zone;
    }
  }

  std::string entry;
  entry.reserve(256);
  if (job.paused) {
    entry += '#';
  }
  entry += schedule;
  entry += ' ';
  if (!cron_user_.empty()) {
    entry += cron_user_;
    entry += ' ';
  }
  entry += quoteForCron(context_.agent_path);
  entry += " run --state-dir ";
  entry += quoteForCron(context_.agent_state_dir);
  entry += ' ';
  entry += quoteForCron(identity);

  out.text = formatMarker(identity, job.id);
  out.text += '\n';
  out.text += entry;
  out.text += '\n';
  return Result::success();
}

Result CronScheduler::apply(const std::vector<sdk::Change>& changes) {
  return guarded("apply", [&] { return doApply(changes); });
}

Result CronScheduler::doApply(const std::vector<sdk::Change>& changes) {
  const std::optional<Fingerprint> snapshot = snapshot_;
  snapshot_.reset();
  if (!configured_ || !store_) {
    return Result::failure(ErrorCode::kInternal, "cron backend: apply before configure");
  }
  if (changes.empty()) {
    return Result::success();
  }
  for (const sdk::Change& change : changes) {
    if (change.kind != sdk::ChangeKind::kRemove &&
        !isWellFormedBlock(change.text, change.identity)) {
      return Result::failure(ErrorCode::kInternal,
                             "cron backend: the " + std::string(sdk::changeKindName(change.kind)) +
                                 " change for " + change.identity +
                                 " does not carry an entry rendered by this backend; nothing was "
                                 "written");
    }
  }

  const auto conflict = [&] {
    return Result::failure(ErrorCode::kConflict,
                           store_->describe() +
                               " changed while the agent was working on it (someone ran crontab "
                               "-e?); nothing was written, the cycle starts over");
  };
  std::string before;
  if (Result read = store_->read(before); !read) {
    return read;
  }
  if (snapshot && fingerprintOf(before) != *snapshot) {
    return conflict();
  }

  CrontabDocument document = CrontabDocument::parse(before);
  for (const sdk::Change& change : changes) {
    if (change.kind == sdk::ChangeKind::kRemove) {
      document.remove(change.identity);
    } else {
      document.put(change.identity, change.text);
    }
  }
  const std::string after = document.serialize();
  if (after == before) {
    return Result::success();
  }

  const std::size_t lines = static_cast<std::size_t>(std::count(after.begin(), after.end(), '\n'));
  if (store_->lineLimit() != 0 && lines > store_->lineLimit()) {
    return Result::failure(
        ErrorCode::kLimit,
        store_->describe() + " would have " + withThousands(lines) + " lines, more than the " +
            withThousands(store_->lineLimit()) +
            " lines Debian's crontab accepts; nothing was written. Set scheduler option cron_file "
            "(e.g. cron_file: /etc/cron.d/crontopus; a cron.d file has no line limit, the agent "
            "needs root to write it) or install fewer jobs on this host");
  }
  if (!snapshot) {
    // No listOwned() in this cycle to compare with: read again, to notice an edit made since.
    std::string current;
    if (Result reread = store_->read(current); !reread) {
      return reread;
    }
    if (current != before) {
      return conflict();
    }
  }

  Result written = store_->write(after);
  if (!written) {
    return written;
  }
  if (context_.logger != nullptr) {
    context_.logger->information("cron: wrote " + store_->describe() + " (" +
                                 std::to_string(lines) + " lines, " +
                                 std::to_string(changes.size()) + " changes)");
  }
  return Result::success();
}

}  // namespace crontopus::plugins::cron
