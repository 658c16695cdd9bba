// The `run` wrapper as cron calls it: the real agent binary against run specs written here.
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Process.h>
#include <gtest/gtest.h>

#include "RunSpec.h"
#include "TestSupport.h"

namespace crontopus::tests {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

struct Record {
  std::string job;
  std::string status;
  int exit_code = -1;
  int signal = -1;
  int attempts = -1;
  std::int64_t duration = -1;
  std::string output;
  std::string error_message;
  std::string start;
  std::string end;
};

bool validUtf8(const std::string& s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t len = c < 0x80             ? 1
                      : (c & 0xE0) == 0xC0 ? 2
                      : (c & 0xF0) == 0xE0 ? 3
                      : (c & 0xF8) == 0xF0 ? 4
                                           : 0;
    if (len == 0 || i + len > s.size())
      return false;
    unsigned cp = len == 1 ? c : c & (0xFF >> (len + 1));
    for (std::size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80)
        return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
      return false;
    i += len;
  }
  return true;
}

// The process is gone: no such pid, or only its zombie is left (its parent, the job's shell,
// died before reaping it, and whoever inherits it reaps when it pleases).
bool gone(pid_t pid) {
  if (kill(pid, 0) != 0)
    return true;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const auto paren = text.rfind(')');
  if (paren == std::string::npos || paren + 2 >= text.size())
    return true;
  const char state = text[paren + 2];
  return state == 'Z' || state == 'X';
}

// Lines of each run as a job would print them: "<%s>\n" per argument.
std::string bracketed(const std::vector<std::string>& args) {
  std::string out;
  for (const auto& a : args)
    out += "<" + a + ">\n";
  return out;
}

// A fresh state directory per test and the real binary run as cron would run it.
class RunnerTest : public ::testing::Test {
 protected:
  std::string state() const { return tmp_ / "state"; }
  std::string file(const std::string& name) const { return tmp_ / name; }

  core::RunSpec spec(const std::string& name, const std::string& command) const {
    core::RunSpec s;
    s.ns = "tests";
    s.name = name;
    s.command = command;
    s.schedule = "* * * * *";
    s.timeout_seconds = 60;
    return s;
  }

  void install(const core::RunSpec& s) const {
    fs::create_directories(core::jobDirectory(state(), s.identity()));
    writeFile(core::runSpecPath(state(), s.identity()), core::toJson(s), 0600);
  }

  ProcessResult run(const std::string& identity,
                    const std::map<std::string, std::string>& env = {}) const {
    return runProcess({AGENT_BIN, "run", "--state-dir", state(), identity}, "", env);
  }

  // Installs `s`, runs it once, and returns the single record it appended.
  Record runOnce(const core::RunSpec& s, ProcessResult& result,
                 const std::map<std::string, std::string>& env = {}) const {
    install(s);
    result = run(s.identity(), env);
    auto all = records();
    EXPECT_EQ(all.size(), 1u) << "stderr: " << result.err;
    return all.empty() ? Record{} : all.back();
  }

  std::vector<Record> records() const {
    std::vector<Record> out;
    const std::string path = state() + "/runs.log";
    if (!fs::exists(path))
      return out;
    std::istringstream lines(readFile(path));
    std::string line;
    while (std::getline(lines, line)) {
      EXPECT_TRUE(validUtf8(line)) << "runs.log line is not valid UTF-8";
      Poco::JSON::Parser parser;
      auto o = parser.parse(line).extract<Poco::JSON::Object::Ptr>();
      Record r;
      r.job = o->getValue<std::string>("job");
      r.status = o->getValue<std::string>("status");
      r.exit_code = o->getValue<int>("exit_code");
      r.signal = o->getValue<int>("signal");
      r.attempts = o->getValue<int>("attempts");
      r.duration = o->getValue<Poco::Int64>("duration");
      r.output = o->getValue<std::string>("output");
      r.error_message = o->getValue<std::string>("error_message");
      r.start = o->getValue<std::string>("start");
      r.end = o->getValue<std::string>("end");
      out.push_back(r);
    }
    return out;
  }

  // Nanosecond timestamps a job appended with `date +%s%N`, as gaps in milliseconds.
  std::vector<long long> gapsMs(const std::string& path) const {
    std::istringstream in(readFile(path));
    std::vector<long long> stamps;
    long long v = 0;
    while (in >> v)
      stamps.push_back(v);
    std::vector<long long> gaps;
    for (std::size_t i = 1; i < stamps.size(); ++i)
      gaps.push_back((stamps[i] - stamps[i - 1]) / 1000000);
    return gaps;
  }

  TempDir tmp_;
};

TEST_F(RunnerTest, SuccessIsRecordedWithOutputAndTimes) {
  ProcessResult r;
  const Record rec = runOnce(spec("hello", "echo hello; echo to-stderr >&2"), r);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(rec.job, "tests/hello");
  EXPECT_EQ(rec.status, "success");
  EXPECT_EQ(rec.exit_code, 0);
  EXPECT_EQ(rec.signal, 0);
  EXPECT_EQ(rec.attempts, 1);
  EXPECT_EQ(rec.output, "hello\nto-stderr\n");
  EXPECT_TRUE(rec.error_message.empty()) << rec.error_message;
  EXPECT_FALSE(rec.start.empty());
  EXPECT_LE(rec.start, rec.end);
  EXPECT_EQ(readFile(state() + "/jobs/tests/hello.out"), "hello\nto-stderr\n");
  EXPECT_EQ(fs::status(state() + "/runs.log").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
}

TEST_F(RunnerTest, MissingRunSpecExits127WithAHint) {
  const ProcessResult r = run("tests/nothing");
  EXPECT_EQ(r.exit_code, 127);
  EXPECT_NE(r.err.find("crontopus-agent apply"), std::string::npos) << r.err;
  EXPECT_TRUE(records().empty());
}

// Least privilege: the run spec says what runs; one that group or others could write is
// refused (exit 126, nothing run, nothing recorded) with the fix in the message.
TEST_F(RunnerTest, RunSpecOthersCanWriteIsRefused) {
  const auto s = spec("open", "touch " + file("ran"));
  install(s);
  const std::string path = core::runSpecPath(state(), s.identity());
  ASSERT_EQ(chmod(path.c_str(), 0666), 0);
  const auto r = run(s.identity());
  EXPECT_EQ(r.exit_code, 126) << r.err;
  EXPECT_NE(r.err.find("chmod go-w '" + path + "'"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(file("ran")));
  EXPECT_TRUE(records().empty());
  ASSERT_EQ(chmod(path.c_str(), 0600), 0);
  EXPECT_EQ(run(s.identity()).exit_code, 0);
  EXPECT_TRUE(fs::exists(file("ran")));
}

TEST_F(RunnerTest, ExitCodeIsPropagatedAndTheRunIsAFailure) {
  ProcessResult r;
  const Record rec = runOnce(spec("fails", "echo first; echo boom >&2; exit 3"), r);
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_EQ(rec.status, "failure");
  EXPECT_EQ(rec.exit_code, 3);
  EXPECT_EQ(rec.signal, 0);
  EXPECT_NE(rec.error_message.find("boom"), std::string::npos) << rec.error_message;
}

TEST_F(RunnerTest, JobKilledBySignalExits128PlusSignalAndIsCancelled) {
  ProcessResult r;
  auto s = spec("killed", "echo before; kill -9 $$; echo after");
  s.retry.enabled = true;  // a signal is not something a retry fixes
  s.retry.attempts = 2;
  const Record rec = runOnce(s, r, {{"CRONTOPUS_RETRY_BASE_MS", "1"}});
  EXPECT_EQ(r.exit_code, 137) << r.err;
  EXPECT_EQ(rec.status, "cancelled");
  EXPECT_EQ(rec.exit_code, 137);
  EXPECT_EQ(rec.signal, 9);
  EXPECT_EQ(rec.attempts, 1);
  EXPECT_EQ(rec.output, "before\n");
}

TEST_F(RunnerTest, TimeoutKillsTheWholeProcessGroup) {
  const std::string pids = file("pids");
  // The shell starts a background sleeper, then sleeps itself; both must die at the timeout.
  auto s = spec("slow", "sleep 300 & echo $! > '" + pids + ".tmp'; echo $$ >> '" + pids +
                            ".tmp'; mv '" + pids + ".tmp' '" + pids + "'; echo started; sleep 301");
  s.timeout_seconds = 1;
  const auto began = std::chrono::steady_clock::now();
  ProcessResult r;
  const Record rec = runOnce(s, r);
  const auto took = std::chrono::steady_clock::now() - began;
  EXPECT_EQ(r.exit_code, 143) << r.err;
  EXPECT_EQ(rec.status, "timeout");
  EXPECT_EQ(rec.exit_code, 143);
  EXPECT_EQ(rec.signal, 15);
  EXPECT_EQ(rec.output, "started\n");
  EXPECT_NE(rec.error_message.find("timed out after 1 s"), std::string::npos) << rec.error_message;
  EXPECT_LT(took, 9s) << "SIGTERM was enough; no wait for the SIGKILL grace";

  std::istringstream in(readFile(pids));
  pid_t sleeper = 0, shell = 0;
  in >> sleeper >> shell;
  ASSERT_GT(sleeper, 1);
  ASSERT_GT(shell, 1);
  EXPECT_TRUE(waitFor([&] { return gone(sleeper) && gone(shell); }, 5s))
      << "still alive: sleeper " << sleeper << " " << !gone(sleeper) << ", shell " << shell << " "
      << !gone(shell);
  if (!gone(sleeper))
    kill(sleeper, SIGKILL);
}

TEST_F(RunnerTest, TimeoutSendsSigkillWhenSigtermIsIgnored) {
  const std::string pids = file("pids");
  auto s = spec("stubborn", "trap '' TERM; sleep 300 & echo $! > '" + pids + ".tmp'; echo $$ >> '" +
                                pids + ".tmp'; mv '" + pids + ".tmp' '" + pids + "'; sleep 301");
  s.timeout_seconds = 1;
  ProcessResult r;
  const Record rec = runOnce(s, r);
  EXPECT_EQ(r.exit_code, 137) << r.err;
  EXPECT_EQ(rec.status, "timeout");
  EXPECT_EQ(rec.signal, 9);
  std::istringstream in(readFile(pids));
  pid_t sleeper = 0, shell = 0;
  in >> sleeper >> shell;
  ASSERT_GT(sleeper, 1);
  EXPECT_TRUE(waitFor([&] { return gone(sleeper) && gone(shell); }, 5s));
  if (!gone(sleeper))
    kill(sleeper, SIGKILL);
}

TEST_F(RunnerTest, TimeoutKillsAChildThatIgnoresSigtermAfterTheShellDied) {
  // The shell dies of SIGTERM at once; its child ignores SIGTERM and must get the SIGKILL.
  const std::string pids = file("pids");
  auto s = spec("orphan", "(trap '' TERM; exec sleep 300) & echo $! > '" + pids + ".tmp'; mv '" +
                              pids + ".tmp' '" + pids + "'; sleep 301");
  s.timeout_seconds = 1;
  ProcessResult r;
  const Record rec = runOnce(s, r);
  EXPECT_EQ(r.exit_code, 143) << r.err;
  EXPECT_EQ(rec.status, "timeout");
  pid_t child = 0;
  std::istringstream(readFile(pids)) >> child;
  ASSERT_GT(child, 1);
  EXPECT_TRUE(waitFor([&] { return gone(child); }, 5s))
      << "the child that ignored SIGTERM outlived the timed-out run";
  if (!gone(child))
    kill(child, SIGKILL);
}

TEST_F(RunnerTest, WrapperAskedToStopKillsTheJobAndRecordsCancelled) {
  const std::string pids = file("pids");
  auto s = spec("stopped", "sleep 300 & echo $! > '" + pids + ".tmp'; mv '" + pids + ".tmp' '" +
                               pids + "'; sleep 301");
  s.retry = {true, 3, sdk::Backoff::kFixed};
  install(s);
  Poco::ProcessHandle wrapper = Poco::Process::launch(
      AGENT_BIN, {"run", "--state-dir", state(), s.identity()}, nullptr, nullptr, nullptr);
  ASSERT_TRUE(waitFor([&] { return fs::exists(pids); }, 30s));
  ASSERT_EQ(kill(wrapper.id(), SIGTERM), 0);
  const int code = wrapper.wait();
  EXPECT_EQ(code, 143);
  const auto recs = records();
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].status, "cancelled");
  EXPECT_EQ(recs[0].attempts, 1) << "a stop request is not retried";
  pid_t sleeper = 0;
  std::istringstream(readFile(pids)) >> sleeper;
  ASSERT_GT(sleeper, 1);
  EXPECT_TRUE(waitFor([&] { return gone(sleeper); }, 5s));
  if (!gone(sleeper))
    kill(sleeper, SIGKILL);
}

TEST_F(RunnerTest, BackgroundChildStartedOnPurposeDoesNotHoldTheRunOrItsLock) {
  const std::string pids = file("pids");
  auto s = spec("daemon", "sleep 60 & echo $! > '" + pids + "'; echo spawned");
  const auto began = std::chrono::steady_clock::now();
  ProcessResult r;
  const Record rec = runOnce(s, r);
  EXPECT_LT(std::chrono::steady_clock::now() - began, 20s);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(rec.status, "success");
  EXPECT_EQ(rec.output, "spawned\n");
  pid_t daemon = 0;
  std::istringstream(readFile(pids)) >> daemon;
  ASSERT_GT(daemon, 1);
  // The daemon must not inherit the job lock: the next run is not skipped.
  EXPECT_EQ(run(s.identity()).exit_code, 0);
  const auto recs = records();
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[1].status, "success");
  kill(daemon, SIGKILL);
  std::istringstream(readFile(pids)) >> daemon;
  kill(daemon, SIGKILL);
}

TEST_F(RunnerTest, FixedRetryRunsOnePlusAttemptsTimesWithEqualDelays) {
  const std::string times = file("times");
  auto s = spec("retry-fixed", "date +%s%N >> '" + times + "'; echo failing; exit 4");
  s.retry = {true, 2, sdk::Backoff::kFixed};
  ProcessResult r;
  const Record rec = runOnce(s, r, {{"CRONTOPUS_RETRY_BASE_MS", "300"}});
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_EQ(rec.status, "failure");
  EXPECT_EQ(rec.attempts, 3);
  const auto gaps = gapsMs(times);
  ASSERT_EQ(gaps.size(), 2u) << readFile(times);
  EXPECT_GE(gaps[0], 300);
  EXPECT_GE(gaps[1], 300);
  // The delays the wrapper chose (10 s each, scaled to 300 ms here), from its log.
  EXPECT_NE(r.err.find("attempt 1 failure, retrying in 10 s"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("attempt 2 failure, retrying in 10 s"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("attempt 3"), std::string::npos) << r.err;
}

TEST_F(RunnerTest, ExponentialRetryDoublesTheDelay) {
  const std::string times = file("times");
  auto s = spec("retry-exp", "date +%s%N >> '" + times + "'; exit 1");
  s.retry = {true, 3, sdk::Backoff::kExponential};
  ProcessResult r;
  const Record rec = runOnce(s, r, {{"CRONTOPUS_RETRY_BASE_MS", "100"}});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(rec.attempts, 4);
  const auto gaps = gapsMs(times);
  ASSERT_EQ(gaps.size(), 3u) << readFile(times);
  EXPECT_GE(gaps[0], 100);
  EXPECT_GE(gaps[1], 200);
  EXPECT_GE(gaps[2], 400);
  EXPECT_NE(r.err.find("attempt 1 failure, retrying in 10 s"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("attempt 2 failure, retrying in 20 s"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("attempt 3 failure, retrying in 40 s"), std::string::npos) << r.err;
}

TEST_F(RunnerTest, RetryStopsAtTheFirstSuccess) {
  const std::string marker = file("marker");
  auto s = spec("retry-ok", "if [ -e '" + marker + "' ]; then echo second; exit 0; fi; touch '" +
                                marker + "'; echo first; exit 1");
  s.retry = {true, 5, sdk::Backoff::kExponential};
  ProcessResult r;
  const Record rec = runOnce(s, r, {{"CRONTOPUS_RETRY_BASE_MS", "1"}});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(rec.status, "success");
  EXPECT_EQ(rec.attempts, 2);
  EXPECT_EQ(rec.output, "second\n");
}

TEST_F(RunnerTest, NoRetryWhenDisabled) {
  const std::string times = file("times");
  auto s = spec("no-retry", "date +%s%N >> '" + times + "'; exit 1");
  s.retry = {false, 3, sdk::Backoff::kFixed};
  ProcessResult r;
  const Record rec = runOnce(s, r, {{"CRONTOPUS_RETRY_BASE_MS", "1"}});
  EXPECT_EQ(rec.attempts, 1);
  EXPECT_TRUE(gapsMs(times).empty());
}

TEST_F(RunnerTest, OverlapIsSkippedWhileTheJobLockIsHeld) {
  const std::string ran = file("ran");
  auto s = spec("locked", "touch '" + ran + "'");
  install(s);
  const std::string lock_path = core::jobDirectory(state(), s.identity()) + "/locked.lock";
  const int fd = open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(flock(fd, LOCK_EX | LOCK_NB), 0);
  const ProcessResult r = run(s.identity());
  close(fd);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(fs::exists(ran)) << "the command must not run";
  auto recs = records();
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].status, "skipped");
  EXPECT_EQ(recs[0].attempts, 0);
  EXPECT_NE(recs[0].error_message.find("still going"), std::string::npos);

  // Lock released: the next invocation runs.
  EXPECT_EQ(run(s.identity()).exit_code, 0);
  EXPECT_TRUE(fs::exists(ran));
  recs = records();
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[1].status, "success");
}

TEST_F(RunnerTest, SecondInvocationWhileTheFirstRunsIsSkipped) {
  const std::string started = file("started");
  const std::string release = file("release");
  auto s = spec("long", "touch '" + started + "'; while [ ! -e '" + release +
                            "' ]; do sleep 0.05; done; echo first-done");
  install(s);
  Poco::ProcessHandle first = Poco::Process::launch(
      AGENT_BIN, {"run", "--state-dir", state(), s.identity()}, nullptr, nullptr, nullptr);
  ASSERT_TRUE(waitFor([&] { return fs::exists(started); }, 30s));
  const ProcessResult second = run(s.identity());
  EXPECT_EQ(second.exit_code, 0) << second.err;
  writeFile(release, "");
  EXPECT_EQ(first.wait(), 0);
  auto recs = records();
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[0].status, "skipped");
  EXPECT_EQ(recs[1].status, "success");
  EXPECT_EQ(recs[1].output, "first-done\n");
}

TEST_F(RunnerTest, OutputTailIsExactlyTheLast10000CharactersOfAMegabyte) {
  ProcessResult r;
  const Record rec = runOnce(spec("big", "seq 1 200000; printf END"), r);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::string expected;
  for (int i = 1; i <= 200000; ++i)
    expected += std::to_string(i) + "\n";
  expected += "END";
  ASSERT_GT(expected.size(), 1000000u);
  EXPECT_EQ(rec.output.size(), 10000u);
  EXPECT_EQ(rec.output, expected.substr(expected.size() - 10000));

  // The full output file keeps the first MiB and says it was cut.
  const std::string full = readFile(state() + "/jobs/tests/big.out");
  const std::size_t cap = 1024 * 1024;
  ASSERT_GT(full.size(), cap);
  EXPECT_EQ(full.substr(0, cap), expected.substr(0, cap));
  EXPECT_NE(full.find("output truncated", cap), std::string::npos);
}

TEST_F(RunnerTest, OutputTailCountsCharactersNotBytes) {
  // 5,000 x "é€😀" = 15,000 characters in 45,000 bytes.
  ProcessResult r;
  const Record rec =
      runOnce(spec("utf8", "i=0; while [ $i -lt 5000 ]; do printf 'é€😀'; i=$((i+1)); done"), r);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::string expected = "😀";
  for (int i = 0; i < 3333; ++i)
    expected += "é€😀";
  EXPECT_EQ(rec.output, expected);
}

TEST_F(RunnerTest, InvalidBytesBecomeReplacementCharacters) {
  ProcessResult r;
  // \377 and \376 are never valid; \300\257 is an overlong '/'; \355\240\200 a surrogate.
  const Record rec =
      runOnce(spec("binary", "printf 'ok \\377\\376 mid \\300\\257 \\355\\240\\200 end \\303'"), r);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const std::string fffd = "\xEF\xBF\xBD";
  EXPECT_EQ(rec.output, "ok " + fffd + fffd + " mid " + fffd + fffd + " " + fffd + fffd + fffd +
                            " end " + fffd);
  EXPECT_TRUE(validUtf8(rec.output));
}

TEST_F(RunnerTest, EnvAndWorkingDirAreAppliedOverCronsMinimalEnvironment) {
  const std::string wd = file("work dir");
  fs::create_directories(wd);
  auto s = spec("env",
                "printf '%s\\n' \"$MYVAR\" \"$(pwd)\" \"$PATH\" \"${LEAKED-unset}\" "
                "\"$CRONTOPUS_JOB\" \"$SHELL\" \"$OVERRIDE\"");
  s.env = {{"MYVAR", "a b 'q' $HOME"}, {"OVERRIDE", "from spec"}};
  s.working_dir = wd;
  ProcessResult r;
  const Record rec = runOnce(s, r, {{"LEAKED", "from the caller"}, {"OVERRIDE", "caller"}});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(rec.output, "a b 'q' $HOME\n" + wd + "\n/usr/local/bin:/usr/bin:/bin\nunset\n" +
                            "tests/env\n/bin/sh\nfrom spec\n");
}

TEST_F(RunnerTest, WorkingDirDefaultsToTheHomeDirectory) {
  const struct passwd* pw = getpwuid(geteuid());
  ASSERT_NE(pw, nullptr);
  ProcessResult r;
  const Record rec = runOnce(spec("home", "pwd; echo \"$HOME\""), r);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(rec.output, std::string(pw->pw_dir) + "\n" + pw->pw_dir + "\n");
}

TEST_F(RunnerTest, MissingWorkingDirFailsTheRunWith126) {
  auto s = spec("nowd", "echo never");
  s.working_dir = file("does-not-exist");
  ProcessResult r;
  const Record rec = runOnce(s, r);
  EXPECT_EQ(r.exit_code, 126) << r.err;
  EXPECT_EQ(rec.status, "failure");
  EXPECT_NE(rec.error_message.find("working directory"), std::string::npos) << rec.error_message;
}

TEST_F(RunnerTest, CorruptRunSpecExits1NamingTheFileAndTheFix) {
  fs::create_directories(state() + "/jobs/tests");
  writeFile(state() + "/jobs/tests/broken.json", "{\"version\": 1, \"name\": [", 0600);
  const ProcessResult r = run("tests/broken");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("broken.json"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("crontopus-agent apply"), std::string::npos) << r.err;
  EXPECT_TRUE(records().empty());
}

TEST_F(RunnerTest, ArgsArriveLiterallyAsSeparateWords) {
  const std::string pwned = file("pwned");
  const std::vector<std::string> args = {
      "a b",       "it's", "\"double\"", "$(touch " + pwned + ")",
      "`id`",      "*",    "$HOME",      "back\\slash",
      "new\nline", "",     "100%"};
  auto s = spec("args", "printf '<%s>\\n'");
  s.args = args;
  ProcessResult r;
  const Record rec = runOnce(s, r);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(rec.output, bracketed(args));
  EXPECT_FALSE(fs::exists(pwned));
}

// The minute and hour of `when` in UTC and in Pacific/Kiritimati (UTC+14, no DST).
struct Clock {
  int minute;
  int utc_hour;
  int kiritimati_hour;
};

Clock clockNow() {
  // Stay clear of an hour boundary between computing the schedule and the run.
  waitFor(
      [] {
        const std::time_t t = std::time(nullptr);
        return (t % 3600) < 3590;
      },
      15s, 200ms);
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return {tm.tm_min, tm.tm_hour, (tm.tm_hour + 14) % 24};
}

TEST_F(RunnerTest, GatedJobRunsOnlyWhenItsScheduleFiresInItsOwnZone) {
  const Clock c = clockNow();
  const std::string ran = file("ran");
  auto s = spec("gated", "touch '" + ran + "'");
  s.gate = true;
  s.timezone = "Pacific/Kiritimati";

  // This hour in UTC is not this hour in Kiritimati: the invocation is dropped, silently.
  s.schedule = "* " + std::to_string(c.utc_hour) + " * * *";
  install(s);
  ProcessResult r = run(s.identity());
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(fs::exists(ran));
  EXPECT_TRUE(records().empty()) << "a gated-out minute is not a run";

  // A minute half an hour away: dropped too.
  s.schedule = std::to_string((c.minute + 30) % 60) + " * * * *";
  install(s);
  r = run(s.identity());
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(fs::exists(ran));
  EXPECT_TRUE(records().empty());

  // This hour in Kiritimati: it runs.
  s.schedule = "* " + std::to_string(c.kiritimati_hour) + " * * *";
  install(s);
  r = run(s.identity());
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fs::exists(ran));
  const auto recs = records();
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].status, "success");
}

TEST_F(RunnerTest, UngatedJobIgnoresItsSchedule) {
  // Without the gate, cron's own schedule is the only one: `run` never second-guesses it.
  const Clock c = clockNow();
  auto s = spec("ungated", "true");
  s.schedule = std::to_string((c.minute + 30) % 60) + " * * * *";
  ProcessResult r;
  const Record rec = runOnce(s, r);
  EXPECT_EQ(rec.status, "success");
}

TEST_F(RunnerTest, GatedJobRunsEachScheduledMinuteOnce) {
  // Task Scheduler may start a job from two triggers in the same minute (cron's day-of-month OR
  // day-of-week as two trigger sets): the second invocation of a claimed minute is dropped.
  waitFor([] { return std::time(nullptr) % 60 < 50; }, 15s, 200ms);
  const std::string count = file("count");
  auto s = spec("deduped", "echo x >> '" + count + "'");
  s.gate = true;
  s.timezone = "UTC";
  s.schedule = "* * * * *";
  install(s);
  ProcessResult first = run(s.identity());
  ProcessResult second = run(s.identity());
  EXPECT_EQ(first.exit_code, 0) << first.err;
  EXPECT_EQ(second.exit_code, 0) << second.err;
  EXPECT_EQ(readFile(count), "x\n");
  EXPECT_EQ(records().size(), 1u) << "a minute already handled is not a run";
}

}  // namespace
}  // namespace crontopus::tests
