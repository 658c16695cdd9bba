// Secrets: one full cycle with four recognisable secrets (the git password of an HTTP server
// behind Basic auth, the enrollment token, the endpoint token the control plane hands out, and
// a check-in secret that a manifest takes from the agent's environment): `apply`, the daemon with
// enrollment, heartbeats and job instances, a job run through its cron entry with its check-in
// both spooled and delivered. Then none of them may appear in any file the agent wrote (state
// directory, run specs, spool, run log, the git mirror with its config), its logs (stdout,
// stderr, log file), the crontab, what the systemd-timer and taskscheduler backends would
// install (`render`), `config` and `status` output, or the command line of any process, sampled
// all along. The one exception is the token file, which exists to hold the endpoint token (and
// must hold nothing else).

#include <signal.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "AgentHarness.h"
#include "FakeControlPlane.h"
#include "GitTestSupport.h"
#include "TestSupport.h"
#include "controlplane/TokenFile.h"

namespace crontopus::tests {
namespace {

namespace fs = std::filesystem;
namespace gt = plugins::git::test;
using namespace std::chrono_literals;

std::string recognisable(const std::string& what) {
  std::random_device device;
  return what + "-SECRET-" + std::to_string(device()) + std::to_string(device());
}

std::string readIfAny(const std::string& path) {
  try {
    return readFile(path);
  } catch (const std::exception&) {
    return {};
  }
}

// Samples every process's command line until stopped; keeps whatever held a secret.
class CmdlineSampler {
 public:
  explicit CmdlineSampler(std::vector<std::string> secrets) : secrets_(std::move(secrets)) {
    thread_ = std::thread([this] {
      while (!stop_) {
        for (const auto& s : secrets_) {
          for (const auto& hit : processesWithArgument(s)) {
            std::lock_guard<std::mutex> guard(mutex_);
            hits_.push_back(hit);
          }
        }
        ++samples_;
        std::this_thread::sleep_for(5ms);
      }
    });
  }
  ~CmdlineSampler() { stop(); }
  void stop() {
    stop_ = true;
    if (thread_.joinable())
      thread_.join();
  }
  std::vector<std::string> hits() {
    std::lock_guard<std::mutex> guard(mutex_);
    return hits_;
  }
  int samples() const { return samples_; }

 private:
  std::vector<std::string> secrets_;
  std::atomic<bool> stop_{false};
  std::atomic<int> samples_{0};
  std::mutex mutex_;
  std::vector<std::string> hits_;
  std::thread thread_;
};

TEST(Secrets, NoSecretInAnyFileLogEntryUnitTaskOrCommandLine) {
  TempDir dir;
  const std::string git_password = recognisable("gitpw");
  const std::string enrollment = recognisable("enroll");
  const std::string checkin_secret = recognisable("checkin");
  const std::map<std::string, std::string> env = {{"CRONTOPUS_TEST_CHECKIN", checkin_secret}};
  CmdlineSampler sampler({git_password, enrollment, checkin_secret});

  FakeControlPlane cp;
  cp.control(R"({"action": "add_enrollment_token", "token": ")" + enrollment + R"("})");
  gt::OriginRepo origin(fs::path(dir / "git"));
  const std::string manifest = jobManifest("report", "0 6 * * *", false,
                                           "  checkin:\n    secret: ${CRONTOPUS_TEST_CHECKIN}\n");
  origin.commit({{"prod/report.yaml", manifest}}, "one job with a check-in secret");
  const int git_port = gt::freePort();
  gt::ServerProcess git({gt::pythonExecutable(), gt::httpServerScript(), "--port",
                         std::to_string(git_port), "--root", dir / "git", "--user", "alice"},
                        {{"GIT_TEST_PASSWORD", git_password}}, dir / "git-http.log");
  ASSERT_TRUE(gt::waitForPort(git_port));

  const std::string state = dir / "state";
  const std::string cron_file = dir / "cron.d/crontopus";
  const std::string log_file = dir / "agent-file.log";
  std::error_code ec;
  fs::create_directories(dir / "cron.d");
  std::ostringstream c;
  c << "agent:\n  name: secrets-agent\n  state_dir: " << state << "\n"
    << "git:\n  url: http://127.0.0.1:" << git_port << "/origin.git\n  branch: main\n"
    << "  sync_interval: 1\n"
    << "  auth: {type: basic, username: alice, password: " << git_password << "}\n"
    << "backend:\n  api_url: " << cp.url() << "\n  enrollment_token: " << enrollment << "\n"
    << "  heartbeat_interval: 1\n"
    << "scheduler:\n  backend: cron\n  options:\n    cron_file: " << cron_file << "\n"
    << "log:\n  level: debug\n";
  const std::string config = dir / "config.yaml";
  writeFile(config, c.str(), 0600);

  // 1. `apply` and the read-only commands, console logs at their most verbose.
  std::string console;
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--config", config, "--log-level", "trace", "apply"},
        std::vector<std::string>{"--config", config, "status"},
        std::vector<std::string>{"--config", config, "config"},
        std::vector<std::string>{"--config", config, "plan"}}) {
    std::vector<std::string> argv = {AGENT_BIN};
    argv.insert(argv.end(), args.begin(), args.end());
    const auto r = runProcess(argv, {}, env);
    ASSERT_EQ(r.exit_code, 0) << args.back() << ":\n" << r.out << r.err;
    console += r.out + r.err;
  }
  ASSERT_NE(readIfAny(cron_file).find("prod/report"), std::string::npos);
  // What the other backends would install for this job.
  const std::string checkout = dir / "git/work-origin.git/prod/report.yaml";
  for (const char* backend : {"cron", "systemd-timer", "taskscheduler"}) {
    const auto r = runProcess({AGENT_BIN, "render", checkout, "--backend", backend}, {}, env);
    ASSERT_EQ(r.exit_code, 0) << backend << ":\n" << r.out << r.err;
    ASSERT_FALSE(r.out.empty()) << backend;
    console += r.out + r.err;
  }

  // 2. The daemon: enrollment, heartbeats, job instances, a file log.
  std::string file_config = c.str();
  file_config.replace(file_config.find("log:\n  level: debug\n"), std::string::npos,
                      "log:\n  level: debug\n  target: file\n  file: " + log_file + "\n");
  writeFile(config, file_config, 0600);
  const std::string daemon_out = dir / "daemon.out";
  pid_t agent = spawnAgent({"--config", config, "--log-level", "trace"}, daemon_out, env);
  ASSERT_TRUE(waitFor(
      [&] {
        return cp.count("/api/endpoints/41/heartbeat") >= 2 &&
               cp.count("/api/endpoints/41/job-instances") >= 1;
      },
      30s))
      << readIfAny(log_file);
  const std::string endpoint_token =
      core::controlplane::readTokenFile(state + "/agent-token")->token;
  ASSERT_FALSE(endpoint_token.empty());

  // 3. The job runs through its entry: once spooled (control plane down), once delivered.
  const std::string entry = readFile(cron_file);
  const std::size_t marker = entry.find("# CRONTOPUS:prod/report");
  ASSERT_NE(marker, std::string::npos) << entry;
  std::istringstream line(entry.substr(entry.find('\n', marker) + 1));
  std::string skip, command;
  for (int i = 0; i < 6; ++i)
    line >> skip;
  std::getline(line, command);
  cp.control(R"({"action": "down"})");
  ASSERT_EQ(runProcess({"/bin/sh", "-c", command}, {}, env).exit_code, 0);
  std::string spooled;
  for (const auto& e : fs::directory_iterator(state + "/spool", ec))
    spooled += readFile(e.path().string());
  ASSERT_FALSE(spooled.empty()) << "nothing was spooled";
  cp.control(R"({"action": "up"})");
  ::kill(agent, SIGHUP);
  ASSERT_EQ(runProcess({"/bin/sh", "-c", command}, {}, env).exit_code, 0);
  ASSERT_TRUE(waitFor([&] { return cp.checkins().size() == 2; }, 30s)) << readIfAny(log_file);
  ::kill(agent, SIGTERM);
  ASSERT_EQ(reap(agent), 0) << readIfAny(daemon_out);
  sampler.stop();

  // The control plane saw the right credentials (so the secrets were really in play).
  for (const auto& r : cp.requests("/api/endpoints/enroll"))
    EXPECT_EQ(r.authorization, "Bearer " + enrollment);
  for (const auto& r : cp.requests("/api/runs/check-in"))
    EXPECT_EQ(r.authorization, "Bearer " + endpoint_token);
  EXPECT_GT(gt::httpStat(git_port, "info_refs_ok"), 0);

  const std::vector<std::string> secrets = {git_password, enrollment, endpoint_token,
                                            checkin_secret};
  for (const auto& secret : secrets) {
    SCOPED_TRACE(secret.substr(0, secret.find("-SECRET-")));
    for (const auto& hit : filesContaining(state, secret)) {
      if (hit == state + "/agent-token" && secret == endpoint_token)
        continue;  // the token file exists to hold it (and nothing else, see below)
      ADD_FAILURE() << "in " << hit;
    }
    if (secret != endpoint_token) {
      EXPECT_EQ(readFile(state + "/agent-token").find(secret), std::string::npos);
    }
    EXPECT_EQ(filesContaining(cron_file, secret), std::vector<std::string>{});
    EXPECT_EQ(filesContaining(log_file, secret), std::vector<std::string>{});
    EXPECT_EQ(filesContaining(daemon_out, secret), std::vector<std::string>{});
    EXPECT_EQ(console.find(secret), std::string::npos) << console;
    EXPECT_EQ(spooled.find(secret), std::string::npos) << spooled;
  }
  // The places above were really there to look at.
  EXPECT_TRUE(fs::exists(state + "/job-manifests", ec));
  EXPECT_FALSE(filesContaining(state + "/job-manifests", "kind: Job").empty());
  EXPECT_FALSE(filesContaining(state + "/jobs", "prod").empty());
  EXPECT_NE(readIfAny(log_file).find("heartbeat"), std::string::npos);
  EXPECT_GT(sampler.samples(), 10);
  EXPECT_EQ(sampler.hits(), std::vector<std::string>{});
}

}  // namespace
}  // namespace crontopus::tests
