// The daemon from the outside (the real binary, real signals, a real git server on 127.0.0.1):
// --daemon/--pidfile, SIGTERM in the middle of a step, SIGHUP, and what a poll costs.
// (SIGUSR1 reloads are covered in tests/metrics, where the metrics count the cycles.)
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <regex>
#include <sstream>

#include <gtest/gtest.h>

#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Process.h>
#include <Poco/StreamCopier.h>

#include "AgentDaemon.h"
#include "TestSupport.h"

namespace crontopus::tests {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::string head(const std::string& repo) {
  return runProcess({"/usr/bin/git", "-C", repo, "rev-parse", "HEAD"}).out.substr(0, 40);
}

std::string manifest(const std::string& name) {
  return "apiVersion: v1\nkind: Job\nmetadata:\n  name: " + name +
         "\n  tenant: t\nspec:\n  schedule: \"0 3 * * *\"\n  command: /bin/echo\n  args: [\"" +
         name + "\"]\n";
}

// A repository with jobs prod/a and prod/b; returns its HEAD.
std::string makeRepo(const std::string& repo) {
  std::filesystem::create_directories(repo + "/prod");
  git(repo, {"init", "-q", "-b", "main"});
  writeFile(repo + "/prod/a.yaml", manifest("a"));
  writeFile(repo + "/prod/b.yaml", manifest("b"));
  git(repo, {"add", "-A"});
  git(repo, {"commit", "-q", "-m", "two jobs"});
  return head(repo);
}

std::string addJob(const std::string& repo, const std::string& name) {
  writeFile(repo + "/prod/" + name + ".yaml", manifest(name));
  git(repo, {"add", "-A"});
  git(repo, {"commit", "-q", "-m", "add " + name});
  return head(repo);
}

// The revision the agent last applied (state.json), or "".
std::string appliedRevision(const std::string& state_dir) {
  try {
    Poco::JSON::Parser parser;
    auto o = parser.parse(readFile(state_dir + "/state.json")).extract<Poco::JSON::Object::Ptr>();
    return o->optValue<std::string>("revision", "");
  } catch (const std::exception&) {
    return "";
  }
}

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
    ++n;
  return n;
}

// What a test's configuration varies; the rest is fixed.
struct Options {
  explicit Options(std::string u) : url(std::move(u)) {}
  Options& every(int seconds) {
    interval = seconds;
    return *this;
  }
  Options& scheduler(std::string yaml_entries) {
    scheduler_options = std::move(yaml_entries);
    return *this;
  }
  Options& logLevel(std::string l) {
    level = std::move(l);
    return *this;
  }
  Options& gitLines(std::string yaml_lines) {
    extra = std::move(yaml_lines);
    return *this;
  }
  std::string url;
  int interval = 3600;
  std::string scheduler_options;  // YAML flow map entries; default: a cron.d file in the dir
  std::string level = "information";
  std::string extra;  // more YAML lines under git:
};

std::string config(const TempDir& dir, const Options& o) {
  std::ostringstream c;
  c << "agent:\n  name: daemon-test\n  state_dir: " << dir / "state"
    << "\n"
    << "git:\n  url: " << o.url << "\n  sync_interval: " << o.interval << "\n"
    << o.extra << "scheduler:\n  backend: cron\n  options: {"
    << (o.scheduler_options.empty() ? "cron_file: " + (dir / "crontopus") : o.scheduler_options)
    << "}\n"
    << "log:\n  level: " << o.level << "\n";
  return c.str();
}

// A stand-in for crontab(1) that keeps the table in DIR/crontab and records every call in
// DIR/calls. With DIR/hold present, a write announces itself (DIR/writing) and waits until
// DIR/release exists before it stores anything (bounded: 60 s).
std::string crontabShim(const TempDir& dir) {
  const std::string path = dir / "crontab-shim";
  writeFile(
      path,
      "#!/bin/sh\n"
      "d='" +
          dir.path() +
          "'\n"
          "printf '%s\\n' \"$*\" >> \"$d/calls\"\n"
          "case \"$1\" in\n"
          "  -l) if [ -f \"$d/crontab\" ]; then cat \"$d/crontab\"; else echo 'no crontab "
          "for root' >&2; exit 1; fi ;;\n"
          "  -) cat > \"$d/crontab.new\"\n"
          "     if [ -f \"$d/hold\" ]; then\n"
          "       : > \"$d/writing\"; n=0\n"
          "       while [ ! -f \"$d/release\" ] && [ $n -lt 1200 ]; do sleep 0.05; n=$((n+1)); "
          "done\n"
          "     fi\n"
          "     mv \"$d/crontab.new\" \"$d/crontab\"; : > \"$d/written\" ;;\n"
          "  *) echo \"shim: unexpected arguments: $*\" >&2; exit 2 ;;\n"
          "esac\n",
      0755);
  return path;
}

std::vector<std::string> shimCalls(const TempDir& dir) {
  std::vector<std::string> calls;
  std::istringstream in(std::filesystem::exists(dir / "calls") ? readFile(dir / "calls") : "");
  for (std::string line; std::getline(in, line);)
    calls.push_back(line);
  return calls;
}

int shimWrites(const TempDir& dir) {
  int writes = 0;
  for (const auto& call : shimCalls(dir))
    writes += call == "-" ? 1 : 0;
  return writes;
}

int freePort() {
  Poco::Net::ServerSocket socket(Poco::Net::SocketAddress("127.0.0.1", 0));
  const int port = socket.address().port();
  socket.close();
  return port;
}

// tests/git/git_http_server.py: git http-backend over HTTP on 127.0.0.1, serving DIR/srv.
class GitHttpServer {
 public:
  GitHttpServer(const TempDir& dir, const std::vector<std::string>& extra,
                const std::map<std::string, std::string>& env = {})
      : port_(freePort()) {
    std::vector<std::string> args = {std::string(SOURCE_DIR) + "/tests/git/git_http_server.py",
                                     "--port",
                                     std::to_string(port_),
                                     "--root",
                                     dir / "srv",
                                     "--ready-file",
                                     dir / "server.ready"};
    args.insert(args.end(), extra.begin(), extra.end());
    Poco::Process::Env process_env(env.begin(), env.end());
    handle_ = std::make_unique<Poco::ProcessHandle>(Poco::Process::launch(
        "/usr/bin/python3", args, dir.path(), nullptr, nullptr, nullptr, process_env));
    ready_ = waitFor([&] { return std::filesystem::exists(dir / "server.ready"); }, 30s);
  }
  ~GitHttpServer() {
    ::kill(handle_->id(), SIGKILL);
    handle_->wait();
  }
  bool ready() const { return ready_; }
  std::string url(const std::string& repo) const {
    return "http://127.0.0.1:" + std::to_string(port_) + "/" + repo;
  }
  // One of the server's request counters (GET /_stats), -1 when it does not answer.
  int stat(const std::string& name) const {
    try {
      Poco::Net::HTTPClientSession session("127.0.0.1", static_cast<Poco::UInt16>(port_));
      session.setTimeout(Poco::Timespan(5, 0));
      Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_GET, "/_stats",
                                     Poco::Net::HTTPMessage::HTTP_1_1);
      session.sendRequest(request);
      Poco::Net::HTTPResponse response;
      std::string body;
      Poco::StreamCopier::copyToString(session.receiveResponse(response), body);
      Poco::JSON::Parser parser;
      return parser.parse(body).extract<Poco::JSON::Object::Ptr>()->getValue<int>(name);
    } catch (const Poco::Exception&) {
      return -1;
    }
  }

 private:
  int port_;
  bool ready_ = false;
  std::unique_ptr<Poco::ProcessHandle> handle_;
};

// A bare copy of `repo` where the HTTP server serves it (DIR/srv/jobs.git).
void publish(const TempDir& dir, const std::string& repo) {
  const auto r = runProcess({"/usr/bin/git", "clone", "-q", "--bare", repo, dir / "srv/jobs.git"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

// /proc/PID/stat: the state letter and the session id; state 0 when the process is gone.
struct ProcStat {
  char state = 0;
  long session = -1;
};
ProcStat procStat(long pid) {
  ProcStat s;
  std::string text;
  try {
    text = readFile("/proc/" + std::to_string(pid) + "/stat");
  } catch (const std::exception&) {
    return s;
  }
  std::istringstream in(text.substr(text.rfind(')') + 2));
  long ppid = 0, pgrp = 0;
  in >> s.state >> ppid >> pgrp >> s.session;
  return s;
}

TEST(DaemonMode, DetachesWritesThePidFileAndRemovesItOnExit) {
  TempDir dir;
  const std::string repo = dir / "repo";
  const std::string rev = makeRepo(repo);
  writeFile(dir / "config.yaml", config(dir, Options("file://" + repo)), 0600);
  const std::string pidfile = dir / "agent.pid";

  // The command returns at once: the daemon is a detached child of the process it started.
  const auto started = Clock::now();
  const auto r =
      runProcess({AGENT_BIN, "--config", dir / "config.yaml", "--daemon", "--pidfile", pidfile});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_LT(Clock::now() - started, 10s);
  ASSERT_TRUE(waitFor(
      [&] {
        return std::filesystem::exists(pidfile) && !readFile(pidfile).empty() &&
               readFile(pidfile).back() == '\n';
      },
      10s));
  const long pid = std::stol(readFile(pidfile));
  ASSERT_GT(pid, 1);
  // Ends the daemon whatever the assertions below say.
  struct Killer {
    long pid;
    ~Killer() {
      if (pid > 0)
        ::kill(static_cast<pid_t>(pid), SIGKILL);
    }
  } killer{pid};
  const ProcStat stat = procStat(pid);
  ASSERT_NE(stat.state, 0) << "the pid file names no process";
  EXPECT_NE(stat.state, 'Z');
  EXPECT_EQ(stat.session, pid) << "not a session leader: still attached to our terminal session";
  EXPECT_NE(pid, static_cast<long>(::getpid()));
  EXPECT_EQ(std::filesystem::read_symlink("/proc/" + std::to_string(pid) + "/fd/0"), "/dev/null");
  EXPECT_EQ(std::filesystem::read_symlink("/proc/" + std::to_string(pid) + "/fd/2"), "/dev/null");

  // It works: the first cycle applies the repository.
  ASSERT_TRUE(waitFor([&] { return appliedRevision(dir / "state") == rev; }, 60s));
  EXPECT_NE(readFile(dir / "crontopus").find("prod/a"), std::string::npos);

  // SIGTERM: it exits within seconds and removes its pid file.
  ASSERT_EQ(::kill(static_cast<pid_t>(pid), SIGTERM), 0);
  ASSERT_TRUE(waitFor(
      [&] {
        const char s = procStat(pid).state;
        return s == 0 || s == 'Z';
      },
      10s))
      << "still running 10 s after SIGTERM";
  killer.pid = 0;  // gone: its number may be reused
  EXPECT_TRUE(waitFor([&] { return !std::filesystem::exists(pidfile); }, 5s))
      << "the pid file outlived the daemon";
}

TEST(DaemonSignals, SigtermDuringASchedulerWriteFinishesTheWriteAndExitsZero) {
  TempDir dir;
  const std::string repo = dir / "repo";
  const std::string rev = makeRepo(repo);
  writeFile(
      dir / "config.yaml",
      config(dir, Options("file://" + repo).scheduler("crontab_command: " + crontabShim(dir))),
      0600);
  writeFile(dir / "hold", "");
  AgentDaemon daemon(AGENT_BIN, dir / "config.yaml", dir / "agent.log");

  // The first cycle is in the middle of writing the crontab when SIGTERM comes.
  ASSERT_TRUE(waitFor([&] { return std::filesystem::exists(dir / "writing"); }, 60s))
      << daemon.log();
  const auto term = Clock::now();
  daemon.signal(SIGTERM);
  ASSERT_TRUE(waitFor(
      [&] { return daemon.log().find("stopping after the current step") != std::string::npos; },
      10s))
      << daemon.log();
  EXPECT_TRUE(daemon.running()) << "it did not wait for the write";
  EXPECT_FALSE(std::filesystem::exists(dir / "written"));
  writeFile(dir / "release", "");  // the write completes

  EXPECT_EQ(daemon.wait(), 0) << daemon.log();
  EXPECT_LT(Clock::now() - term, 10s);
  EXPECT_TRUE(std::filesystem::exists(dir / "written"));
  const std::string table = readFile(dir / "crontab");
  EXPECT_NE(table.find("prod/a"), std::string::npos) << table;
  EXPECT_NE(table.find("prod/b"), std::string::npos) << table;
  // The cycle that was running was completed and recorded: a restart has nothing to redo.
  EXPECT_EQ(appliedRevision(dir / "state"), rev);
  EXPECT_NE(daemon.log().find("crontopus-agent stopped"), std::string::npos) << daemon.log();
}

TEST(DaemonSignals, SigtermDuringAStalledFetchExitsZeroWithinSeconds) {
  TempDir dir;
  const std::string repo = dir / "repo";
  makeRepo(repo);
  publish(dir, repo);
  // The server sends 200 bytes of the pack, then nothing: the fetch hangs until git.timeout.
  GitHttpServer server(dir, {"--stall-after-bytes", "200"});
  ASSERT_TRUE(server.ready());
  writeFile(dir / "config.yaml",
            config(dir, Options(server.url("jobs.git")).gitLines("  timeout: 120\n")), 0600);
  AgentDaemon daemon(AGENT_BIN, dir / "config.yaml", dir / "agent.log");
  ASSERT_TRUE(waitFor([&] { return server.stat("stalled") >= 1; }, 60s)) << daemon.log();

  const auto term = Clock::now();
  daemon.signal(SIGTERM);
  EXPECT_EQ(daemon.wait(), 0) << daemon.log();
  EXPECT_LT(Clock::now() - term, 10s) << "waited for the 120 s network timeout";
  // The sync was abandoned, so nothing was applied.
  EXPECT_FALSE(std::filesystem::exists(dir / "crontopus"));
  EXPECT_EQ(appliedRevision(dir / "state"), "");
}

TEST(DaemonSignals, SighupSyncsAtOnce) {
  TempDir dir;
  const std::string repo = dir / "repo";
  const std::string first = makeRepo(repo);
  // An hour between polls: only SIGHUP can bring the second commit in within the test.
  writeFile(dir / "config.yaml", config(dir, Options("file://" + repo).every(3600)), 0600);
  AgentDaemon daemon(AGENT_BIN, dir / "config.yaml", dir / "agent.log");
  ASSERT_TRUE(waitFor([&] { return appliedRevision(dir / "state") == first; }, 60s))
      << daemon.log();

  const std::string second = addJob(repo, "c");
  daemon.signal(SIGHUP);
  ASSERT_TRUE(waitFor([&] { return appliedRevision(dir / "state") == second; }, 30s))
      << daemon.log();
  EXPECT_NE(readFile(dir / "crontopus").find("prod/c"), std::string::npos);
  EXPECT_NE(daemon.log().find("SIGHUP: starting a cycle now"), std::string::npos);
  EXPECT_EQ(daemon.terminate(), 0);
}

TEST(DaemonPolling, AnUnchangedRemoteIsNeitherParsedNorWritten) {
  TempDir dir;
  const std::string repo = dir / "repo";
  const std::string first = makeRepo(repo);
  writeFile(dir / "config.yaml",
            config(dir, Options("file://" + repo)
                            .scheduler("crontab_command: " + crontabShim(dir))
                            .logLevel("debug")),
            0600);
  AgentDaemon daemon(AGENT_BIN, dir / "config.yaml", dir / "agent.log");
  // "next cycle in" is logged when a cycle is over.
  auto cycles = [&] { return count(daemon.log(), "next cycle in"); };
  ASSERT_TRUE(waitFor([&] { return cycles() == 1; }, 60s)) << daemon.log();
  EXPECT_EQ(shimWrites(dir), 1);
  EXPECT_EQ(count(daemon.log(), "revision " + first + ": parsed 2 jobs"), 1u) << daemon.log();
  const auto state_before = std::filesystem::last_write_time(dir / "state/state.json");
  const std::size_t first_calls = shimCalls(dir).size();

  // Two polls of an unchanged remote: the scheduler is read (drift), never written; nothing
  // is parsed; the state file is not rewritten.
  for (std::size_t n = 2; n <= 3; ++n) {
    daemon.signal(SIGHUP);
    ASSERT_TRUE(waitFor([&] { return cycles() == n; }, 30s)) << daemon.log();
  }
  EXPECT_EQ(shimWrites(dir), 1) << daemon.log();
  EXPECT_EQ(count(daemon.log(), "revision " + first + " unchanged: nothing parsed"), 2u)
      << daemon.log();
  EXPECT_EQ(count(daemon.log(), ": parsed "), 1u) << daemon.log();
  EXPECT_EQ(std::filesystem::last_write_time(dir / "state/state.json"), state_before);
  const auto calls = shimCalls(dir);
  EXPECT_GE(calls.size(), first_calls + 2);  // read at least once per poll
  for (std::size_t i = first_calls; i < calls.size(); ++i)
    EXPECT_EQ(calls[i], "-l") << "call " << i;

  // A new commit is parsed and written (the counts above can move).
  const std::string second = addJob(repo, "c");
  daemon.signal(SIGHUP);
  ASSERT_TRUE(waitFor([&] { return cycles() == 4; }, 30s)) << daemon.log();
  EXPECT_EQ(shimWrites(dir), 2);
  EXPECT_EQ(count(daemon.log(), "revision " + second + ": parsed 3 jobs"), 1u) << daemon.log();
  EXPECT_EQ(daemon.terminate(), 0);
}

TEST(DaemonPolling, RejectedCredentialsAreLoggedOnceAndBackOffHarder) {
  TempDir dir;
  const std::string repo = dir / "repo";
  makeRepo(repo);
  publish(dir, repo);
  GitHttpServer server(dir, {"--user", "alice"}, {{"GIT_TEST_PASSWORD", "right-password"}});
  ASSERT_TRUE(server.ready());
  const std::string wrong = "wrong-PASSWORD-7";
  writeFile(dir / "config.yaml",
            config(dir, Options(server.url("jobs.git"))
                            .every(1)
                            .logLevel("debug")
                            .gitLines("  auth: {type: basic, username: alice, password: \"" +
                                      wrong + "\"}\n")),
            0600);
  AgentDaemon daemon(AGENT_BIN, dir / "config.yaml", dir / "agent.log");
  auto cycles = [&] { return count(daemon.log(), "next cycle in"); };
  ASSERT_TRUE(waitFor([&] { return cycles() == 1; }, 60s)) << daemon.log();
  EXPECT_GE(server.stat("bad_credentials"), 1);

  // The wait after a rejection is the cap, 10 intervals, not the 2 of a first ordinary failure.
  std::smatch m;
  const std::string log = daemon.log();
  ASSERT_TRUE(std::regex_search(log, m, std::regex("next cycle in ([0-9]+) ms"))) << log;
  EXPECT_GE(std::stol(m[1]), 10000) << log;
  EXPECT_LT(std::stol(m[1]), 10100) << log;  // plus at most 10 % of one interval

  // Two more rejected syncs (SIGHUP does not wait for the back-off): the server sees each of
  // them, the log reports the rejection only once (at most once an hour).
  for (std::size_t n = 2; n <= 3; ++n) {
    daemon.signal(SIGHUP);
    ASSERT_TRUE(waitFor([&] { return cycles() == n; }, 30s)) << daemon.log();
  }
  EXPECT_GE(server.stat("bad_credentials"), 3);
  std::size_t reported = 0, repeats = 0;
  std::istringstream lines(daemon.log());
  for (std::string line; std::getline(lines, line);) {
    if (line.find("authentication failed") == std::string::npos)
      continue;
    if (line.find("(again; logged at most once an hour)") != std::string::npos)
      ++repeats;
    else
      ++reported;
  }
  EXPECT_EQ(reported, 1u) << daemon.log();
  EXPECT_EQ(repeats, 2u) << daemon.log();
  EXPECT_EQ(daemon.log().find(wrong), std::string::npos);
  EXPECT_EQ(daemon.terminate(), 0);
}

}  // namespace
}  // namespace crontopus::tests
