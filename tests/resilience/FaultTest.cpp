// Faults while the daemon loop runs (git.sync_interval 1 s, heartbeat 1 s): the git server down,
// hanging past git.timeout, slow, answering garbage; the control plane down or answering 500/429;
// the state directory's file system full; the crontab command failing; the wall clock jumping
// back. For each: the installed entries stay exactly as they were (owned and foreign), the
// installed jobs still run through their entries and every check-in arrives exactly once, and
// the agent recovers by itself once the fault clears (a commit made during the fault is
// installed, with no signal or restart).

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include <gtest/gtest.h>

#include <Poco/JSON/Parser.h>

#include "AgentHarness.h"
#include "FakeControlPlane.h"
#include "GitTestSupport.h"
#include "TestSupport.h"

namespace crontopus::tests {
namespace {

namespace fs = std::filesystem;
namespace gt = plugins::git::test;
using namespace std::chrono_literals;

const std::string kGitPassword = "fault-git-password";

std::string countOf(const std::string& text, const std::string& needle, std::size_t& n) {
  n = 0;
  for (std::size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1))
    ++n;
  return text;
}

std::size_t occurrences(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  countOf(text, needle, n);
  return n;
}

std::string readIfAny(const std::string& path) {
  try {
    return readFile(path);
  } catch (const std::exception&) {
    return {};
  }
}

class FaultLoop : public ::testing::Test {
 protected:
  struct Options {
    bool crontab_command = false;  // a crontab(1) stand-in instead of a cron.d file
    bool state_on_tmpfs = false;
    std::map<std::string, std::string> agent_env;
  };

  void start(const Options& options) {
    options_ = options;
    state_ = dir_ / "state";
    if (options.state_on_tmpfs)
      tmpfs_ = std::make_unique<TmpfsMount>(state_, 8);
    log_ = dir_ / "agent.log";
    fault_file_ = dir_ / "git-fault";
    origin_ = std::make_unique<gt::OriginRepo>(fs::path(dir_ / "git"));
    origin_->commit({{"prod/a.yaml", jobManifest("a", "0 3 * * *", false)},
                     {"prod/b.yaml", jobManifest("b", "30 4 * * 1", true)}},
                    "two jobs");
    git_port_ = gt::freePort();
    startGit();

    const std::string foreign = "# by hand\nMAILTO=ops@example.invalid\n5 5 * * * /bin/true mine\n";
    std::ostringstream sched;
    if (options.crontab_command) {
      scheduler_file_ = dir_ / "user-crontab";
      writeFile(scheduler_file_, foreign);
      crontab_fail_ = dir_ / "crontab-fails";
      const std::string shim = dir_ / "crontab-shim";
      // crontab(1) as Debian's behaves, failing while the flag file names the operation.
      writeFile(
          shim,
          "#!/bin/sh\ntab='" + scheduler_file_ + "'\nflag='" + crontab_fail_ +
              "'\n"
              "if [ -f \"$flag\" ] && grep -qx -- \"$1\" \"$flag\"; then\n"
              "  echo \"crontab: cannot open $tab: Input/output error\" >&2; exit 1\n"
              "fi\n"
              "case \"$1\" in\n"
              "  -l) [ -f \"$tab\" ] || { echo \"no crontab for $(id -un)\" >&2; exit 1; }\n"
              "      exec cat \"$tab\" ;;\n"
              "  -) t=$(mktemp \"$tab.new.XXXXXX\") && cat > \"$t\" && exec mv \"$t\" \"$tab\"\n"
              "     exit 1 ;;\n"
              "esac\nexit 2\n",
          0755);
      sched << "  backend: cron\n  options:\n    crontab_command: " << shim << "\n";
    } else {
      scheduler_file_ = dir_ / "cron.d/crontopus";
      writeFile(scheduler_file_, foreign);
      sched << "  backend: cron\n  options:\n    cron_file: " << scheduler_file_ << "\n";
    }
    std::ostringstream c;
    c << "agent:\n  name: fault-agent\n  state_dir: " << state_ << "\n"
      << "git:\n  url: http://127.0.0.1:" << git_port_ << "/origin.git\n  branch: main\n"
      << "  sync_interval: 1\n  timeout: 2\n"
      << "  auth: {type: basic, username: alice, password: " << kGitPassword << "}\n"
      << "backend:\n  api_url: " << cp_.url() << "\n  enrollment_token: enroll-secret\n"
      << "  heartbeat_interval: 1\n"
      << "scheduler:\n"
      << sched.str();
    config_ = dir_ / "config.yaml";
    writeFile(config_, c.str(), 0600);
    startAgent();
    ASSERT_TRUE(waitFor([&] { return installed({"prod/a", "prod/b"}); }, 30s)) << readIfAny(log_);
    ASSERT_TRUE(waitFor([&] { return fs::exists(state_ + "/agent-token"); }, 30s))
        << readIfAny(log_);
    baseline_ = readFile(scheduler_file_);
  }

  void startGit() {
    git_ = gt::ServerProcess(
        {gt::pythonExecutable(), gt::httpServerScript(), "--port", std::to_string(git_port_),
         "--root", dir_ / "git", "--user", "alice", "--fault-file", fault_file_},
        {{"GIT_TEST_PASSWORD", kGitPassword}}, dir_ / "git-http.log");
    ASSERT_TRUE(gt::waitForPort(git_port_)) << readIfAny(dir_ / "git-http.log");
  }

  void startAgent() {
    agent_ = spawnAgent({"--config", config_, "--log-level", "debug"}, log_, options_.agent_env);
  }

  void TearDown() override {
    if (agent_ > 0) {
      ::kill(agent_, SIGTERM);
      EXPECT_EQ(reap(agent_), 0) << "the agent did not stop cleanly:\n" << readIfAny(log_);
    }
  }

  // Every identity has exactly one entry, and nothing else of ours is there.
  bool installed(const std::set<std::string>& ids) {
    const std::string text = readIfAny(scheduler_file_);
    if (occurrences(text, "# CRONTOPUS:") != ids.size())
      return false;
    for (const auto& id : ids) {
      if (occurrences(text, "# CRONTOPUS:" + id + "\n") +
              occurrences(text, "# CRONTOPUS:" + id + " ") !=
          1)
        return false;
    }
    return true;
  }

  // Runs what cron would run for `id`: the command of its installed entry.
  int runInstalled(const std::string& id) {
    const std::string text = readFile(scheduler_file_);
    std::istringstream lines(text);
    bool next = false;
    for (std::string line; std::getline(lines, line);) {
      if (next) {
        std::istringstream words(line);
        std::string skip;
        const int fields = options_.crontab_command ? 5 : 6;  // cron.d lines name a user
        for (int i = 0; i < fields; ++i)
          words >> skip;
        std::string command;
        std::getline(words, command);
        const auto r = runProcess({"/bin/sh", "-c", command}, {}, options_.agent_env);
        ++runs_[id.substr(id.find('/') + 1)];
        return r.exit_code;
      }
      next = line.rfind("# CRONTOPUS:" + id, 0) == 0;
    }
    ADD_FAILURE() << id << " is not installed:\n" << text;
    return -1;
  }

  // While the fault lasts: the entries are exactly as before, every time we look.
  void holdWhile(const std::function<bool()>& until, std::chrono::milliseconds deadline,
                 const std::string& what) {
    const auto end = std::chrono::steady_clock::now() + deadline;
    bool reached = false;
    while (std::chrono::steady_clock::now() < end) {
      ASSERT_EQ(readFile(scheduler_file_), baseline_) << "during " << what;
      if (until()) {
        reached = true;
        break;
      }
      std::this_thread::sleep_for(50ms);
    }
    ASSERT_TRUE(reached) << what << " not reached within the deadline:\n" << readIfAny(log_);
  }

  // The fault has cleared: a commit made meanwhile is installed without any nudge.
  void expectRecovery(std::set<std::string> ids = {"prod/a", "prod/b"}) {
    ids.insert("prod/c");
    ASSERT_TRUE(waitFor([&] { return installed(ids); }, 45s)) << "no recovery:\n"
                                                              << readIfAny(scheduler_file_) << "\n"
                                                              << readIfAny(log_);
    const std::string text = readFile(scheduler_file_);
    EXPECT_EQ(text.rfind(baseline_.substr(0, baseline_.find("# CRONTOPUS:")), 0), 0u)
        << "foreign lines changed:\n"
        << text;
    ASSERT_TRUE(waitFor(
        [&] {
          auto o = Poco::JSON::Parser()
                       .parse(readIfAny(state_ + "/last-cycle.json"))
                       .extract<Poco::JSON::Object::Ptr>();
          return o->optValue<std::string>("result", "") == "ok";
        },
        30s))
        << readIfAny(state_ + "/last-cycle.json");
  }

  void commitC() {
    origin_->commit({{"prod/c.yaml", jobManifest("c", "15 2 * * *", false)}}, "add c");
  }

  // Every run checked in exactly once (by job name), eventually.
  void expectCheckIns() {
    auto counts = [&] {
      std::map<std::string, int> seen;
      for (const auto& c : cp_.checkins())
        ++seen[c->getValue<std::string>("job_name")];
      return seen;
    };
    ASSERT_TRUE(waitFor([&] { return counts() == runs_; }, 60s))
        << "check-ins: " << cp_.checkins().size() << "\n"
        << readIfAny(log_);
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(state_ + "/spool", ec))
      ADD_FAILURE() << "left in the spool: " << e.path();
  }

  std::size_t logged(const std::string& needle) { return occurrences(readIfAny(log_), needle); }

  TempDir dir_;
  FakeControlPlane cp_;
  Options options_;
  std::unique_ptr<TmpfsMount> tmpfs_;
  std::unique_ptr<gt::OriginRepo> origin_;
  gt::ServerProcess git_;
  int git_port_ = 0;
  std::string state_, log_, fault_file_, config_, scheduler_file_, crontab_fail_, baseline_;
  pid_t agent_ = -1;
  std::map<std::string, int> runs_;
};

TEST_F(FaultLoop, GitServerDown) {
  ASSERT_NO_FATAL_FAILURE(start({}));
  git_.kill();
  commitC();
  const std::size_t before = logged("git sync failed");
  ASSERT_NO_FATAL_FAILURE(
      holdWhile([&] { return logged("git sync failed") >= before + 3; }, 60s, "git server down"));
  EXPECT_EQ(runInstalled("prod/a"), 0);
  EXPECT_EQ(runInstalled("prod/b"), 0);
  ASSERT_NO_FATAL_FAILURE(startGit());
  ASSERT_NO_FATAL_FAILURE(expectRecovery());
  ASSERT_NO_FATAL_FAILURE(expectCheckIns());
}

TEST_F(FaultLoop, GitServerHangsPastTheTimeoutThenIsSlowButInTime) {
  ASSERT_NO_FATAL_FAILURE(start({}));
  writeFile(fault_file_, "hang\n");
  commitC();
  const std::size_t before = logged("git sync failed");
  ASSERT_NO_FATAL_FAILURE(holdWhile([&] { return logged("git sync failed") >= before + 2; }, 60s,
                                    "git server hanging"));
  EXPECT_GE(gt::httpStat(git_port_, "hung"), 2);
  EXPECT_EQ(runInstalled("prod/a"), 0);
  // Slow, but within git.timeout (2 s): the sync goes through.
  writeFile(fault_file_, "slow 0.3\n");
  ASSERT_NO_FATAL_FAILURE(expectRecovery());
  EXPECT_GE(gt::httpStat(git_port_, "slowed"), 1);
  ASSERT_NO_FATAL_FAILURE(expectCheckIns());
}

TEST_F(FaultLoop, GitServerAnswersGarbage) {
  ASSERT_NO_FATAL_FAILURE(start({}));
  writeFile(fault_file_, "garbage\n");
  commitC();
  const std::size_t before = logged("git sync failed");
  ASSERT_NO_FATAL_FAILURE(holdWhile([&] { return logged("git sync failed") >= before + 3; }, 60s,
                                    "git server answering garbage"));
  EXPECT_EQ(runInstalled("prod/a"), 0);
  writeFile(fault_file_, "");
  ASSERT_NO_FATAL_FAILURE(expectRecovery());
  ASSERT_NO_FATAL_FAILURE(expectCheckIns());
}

// "Down for 10 minutes", scaled to the test's intervals: 12 s is 12 heartbeat intervals and a
// dozen sync intervals, long enough for every back-off to reach its ceiling.
TEST_F(FaultLoop, ControlPlaneDownForAWhile) {
  ASSERT_NO_FATAL_FAILURE(start({}));
  cp_.control(R"({"action": "down"})");
  const auto down_at = std::chrono::steady_clock::now();
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(runInstalled("prod/a"), 0);
    EXPECT_EQ(runInstalled("prod/b"), 0);
  }
  // The scheduler side does not wait for the control plane: a commit is installed meanwhile.
  commitC();
  ASSERT_TRUE(waitFor(
      [&] {
        return installed({"prod/a", "prod/b", "prod/c"});
      },
      30s))
      << readIfAny(log_);
  baseline_ = readFile(scheduler_file_);
  ASSERT_NO_FATAL_FAILURE(holdWhile(
      [&] { return std::chrono::steady_clock::now() - down_at > 12s; }, 30s, "control plane down"));
  EXPECT_EQ(runInstalled("prod/c"), 0);
  const std::size_t heartbeats = cp_.count("/api/endpoints/41/heartbeat");
  cp_.control(R"({"action": "up"})");
  ASSERT_NO_FATAL_FAILURE(expectCheckIns());
  // Heartbeats resume, and the job list the control plane missed arrives.
  EXPECT_TRUE(
      waitFor([&] { return cp_.count("/api/endpoints/41/heartbeat") > heartbeats + 1; }, 30s));
  EXPECT_TRUE(waitFor(
      [&] {
        for (const auto& r : cp_.requests("/api/endpoints/41/job-instances")) {
          if (r.status == 200 && r.body.find("\"c\"") != std::string::npos)
            return true;
        }
        return false;
      },
      30s))
      << readIfAny(log_);
}

TEST_F(FaultLoop, ControlPlaneAnswers500And429) {
  ASSERT_NO_FATAL_FAILURE(start({}));
  cp_.control(R"({"action": "fail", "status": 500, "count": 6, "route": "/api/"})");
  cp_.control(
      R"({"action": "fail", "status": 429, "count": 6, "route": "/api/", "retry_after": 1})");
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(runInstalled("prod/a"), 0);
  commitC();
  ASSERT_NO_FATAL_FAILURE(expectRecovery());
  ASSERT_NO_FATAL_FAILURE(expectCheckIns());
  std::map<int, int> statuses;
  for (const auto& r : cp_.requests("/api/"))
    ++statuses[r.status];
  EXPECT_EQ(statuses[500], 6);
  EXPECT_EQ(statuses[429], 6);
}

TEST_F(FaultLoop, StateDirectoryFileSystemFull) {
  ASSERT_NO_FATAL_FAILURE(
      start({.crontab_command = false, .state_on_tmpfs = true, .agent_env = {}}));
  // Fill it to the last byte.
  {
    const int fd = ::open((state_ + "/filler").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    ASSERT_GE(fd, 0);
    const std::string block(65536, 'f');
    while (::write(fd, block.data(), block.size()) > 0) {
    }
    while (::write(fd, block.data(), 1) > 0) {
    }
    ::close(fd);
  }
  commitC();
  const std::size_t before = logged("No space left on device");
  ASSERT_NO_FATAL_FAILURE(holdWhile([&] { return logged("No space left on device") >= before + 3; },
                                    60s, "a full disk"));
  // The job still runs; the control plane is up, so its check-in needs no spool.
  EXPECT_EQ(runInstalled("prod/a"), 0);
  fs::remove(state_ + "/filler");
  ASSERT_NO_FATAL_FAILURE(expectRecovery());
  ASSERT_NO_FATAL_FAILURE(expectCheckIns());
  // Nothing was set aside as corrupt, and what the agent keeps parses.
  for (const auto& e : fs::recursive_directory_iterator(state_)) {
    EXPECT_EQ(e.path().string().find(".corrupt"), std::string::npos) << e.path();
  }
  EXPECT_NO_THROW(Poco::JSON::Parser().parse(readFile(state_ + "/state.json")));
}

TEST_F(FaultLoop, CrontabCommandFails) {
  ASSERT_NO_FATAL_FAILURE(
      start({.crontab_command = true, .state_on_tmpfs = false, .agent_env = {}}));
  // Installing fails (listing works): the change is never half made.
  writeFile(crontab_fail_, "-\n");
  commitC();
  const std::size_t before = logged("cannot write the agent user's crontab");
  ASSERT_NO_FATAL_FAILURE(
      holdWhile([&] { return logged("cannot write the agent user's crontab") >= before + 2; }, 60s,
                "crontab - failing"));
  // Listing fails too: nothing is taken for "no entries" and removed.
  writeFile(crontab_fail_, "-\n-l\n");
  const std::size_t before_list = logged("cannot read the agent user's crontab");
  ASSERT_NO_FATAL_FAILURE(
      holdWhile([&] { return logged("cannot read the agent user's crontab") >= before_list + 2; },
                60s, "crontab -l failing"));
  EXPECT_EQ(runInstalled("prod/a"), 0);
  fs::remove(crontab_fail_);
  ASSERT_NO_FATAL_FAILURE(expectRecovery());
  ASSERT_NO_FATAL_FAILURE(expectCheckIns());
}

// The host's clock stepped back two hours (libfaketime: the agent, its children and the job
// runs see the same time; the monotonic clock is left alone, as a real clock step leaves it).
TEST_F(FaultLoop, WallClockJumpsBackward) {
  // libfaketime keeps a shared-memory segment and a semaphore per process in /dev/shm, and a
  // process that execs another program never removes its own: remove those of processes that
  // are gone, or a later process given the same pid fails to start under libfaketime.
  struct StaleFaketimeCleanup {
    ~StaleFaketimeCleanup() {
      std::error_code ec;
      for (const auto& entry : fs::directory_iterator("/dev/shm", ec)) {
        const std::string name = entry.path().filename().string();
        for (const std::string prefix : {"faketime_shm_", "sem.faketime_sem_"}) {
          if (name.rfind(prefix, 0) != 0)
            continue;
          const long pid = std::strtol(name.c_str() + prefix.size(), nullptr, 10);
          if (pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH)
            fs::remove(entry.path(), ec);
        }
      }
    }
  } cleanup;
  const std::string lib = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1";
  ASSERT_TRUE(fs::exists(lib)) << "install Debian's faketime package (scripts/packages.txt)";
  const std::string clock = dir_ / "faketime";
  writeFile(clock, "+0\n");
  ASSERT_NO_FATAL_FAILURE(start({.crontab_command = false,
                                 .state_on_tmpfs = false,
                                 .agent_env = {{"LD_PRELOAD", lib},
                                               {"FAKETIME_TIMESTAMP_FILE", clock},
                                               {"FAKETIME_NO_CACHE", "1"},
                                               {"FAKETIME_DONT_FAKE_MONOTONIC", "1"}}}));
  cp_.control(R"({"action": "down"})");
  EXPECT_EQ(runInstalled("prod/a"), 0);  // spooled before the jump
  writeFile(clock, "-2h\n");
  EXPECT_EQ(runInstalled("prod/b"), 0);  // spooled after it, under an earlier time
  commitC();
  ASSERT_NO_FATAL_FAILURE(expectRecovery());
  // The agent did see the clock go back: its cycles now finish about two hours ago by the real
  // clock (between three hours and one hour ago).
  auto realTime = [](const char* offset) {
    return runProcess({"/bin/date", "-u", "-d", offset, "+%Y-%m-%dT%H:%M:%S"}).out.substr(0, 19);
  };
  std::string finished;
  EXPECT_TRUE(waitFor(
      [&] {
        auto o = Poco::JSON::Parser()
                     .parse(readIfAny(state_ + "/last-cycle.json"))
                     .extract<Poco::JSON::Object::Ptr>();
        finished = o->optValue<std::string>("finished", "");
        return finished > realTime("-3 hours") && finished < realTime("-1 hour");
      },
      30s))
      << finished << "\n"
      << readIfAny(log_);
  cp_.control(R"({"action": "up"})");
  ASSERT_NO_FATAL_FAILURE(expectCheckIns());
  // In the order the runs happened, though the second one ended "earlier" by the clock.
  std::vector<std::string> order;
  for (const auto& c : cp_.checkins())
    order.push_back(c->getValue<std::string>("job_name"));
  EXPECT_EQ(order, (std::vector<std::string>{"a", "b"}));
}

}  // namespace
}  // namespace crontopus::tests
