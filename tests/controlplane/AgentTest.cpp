#include <dirent.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <gtest/gtest.h>

#include <Poco/Process.h>

#include "FakeControlPlane.h"
#include "RunSupport.h"
#include "TestSupport.h"
#include "controlplane/Spool.h"
#include "controlplane/TokenFile.h"

namespace crontopus::tests {
namespace {

using namespace std::chrono_literals;

// The whole agent (`crontopus-agent --config FILE`) as a child process, its log in a file.
class AgentProcess {
 public:
  AgentProcess(std::string config, std::string log)
      : config_(std::move(config)), log_(std::move(log)) {}
  ~AgentProcess() { signal(SIGKILL); }

  void start() {
    handle_ = std::make_unique<Poco::ProcessHandle>(
        Poco::Process::launch("/bin/sh", {"-c", std::string("exec '") + AGENT_BIN + "' --config '" +
                                                    config_ + "' 2>>'" + log_ + "'"}));
  }
  void signal(int sig) {
    if (!handle_)
      return;
    ::kill(handle_->id(), sig);
    if (sig == SIGKILL || sig == SIGTERM) {
      handle_->wait();
      handle_.reset();
    }
  }
  void hangUp() { ::kill(handle_->id(), SIGHUP); }

 private:
  std::string config_;
  std::string log_;
  std::unique_ptr<Poco::ProcessHandle> handle_;
};

std::string agentConfig(const TempDir& dir, const FakeControlPlane& server) {
  std::ostringstream c;
  c << "agent:\n"
    << "  name: outage-agent\n"
    << "  state_dir: " << dir / "state"
    << "\n"
    << "backend:\n"
    << "  api_url: " << server.url() << "\n"
    << "  enrollment_token: enroll-secret\n"
    << "  heartbeat_interval: 1\n"
    << "git:\n"
    << "  sync_interval: 3600\n"
    << "scheduler:\n"
    << "  backend: cron\n"
    << "  options:\n"
    << "    cron_file: " << dir / "crontopus"
    << "\n";
  const std::string path = dir / "config.yaml";
  writeFile(path, c.str(), 0600);
  return path;
}

// Every file below `root` (recursively) that contains `needle`.
std::vector<std::string> filesContaining(const std::string& root, const std::string& needle,
                                         const std::set<std::string>& except) {
  std::vector<std::string> hits;
  std::error_code ec;
  if (!std::filesystem::exists(root, ec))
    return hits;
  if (std::filesystem::is_regular_file(root, ec)) {
    if (readFile(root).find(needle) != std::string::npos)
      hits.push_back(root);
    return hits;
  }
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root, ec)) {
    if (!entry.is_regular_file() || except.count(entry.path().string()) > 0)
      continue;
    if (readFile(entry.path().string()).find(needle) != std::string::npos)
      hits.push_back(entry.path().string());
  }
  return hits;
}

std::string readIfAny(const std::string& path) {
  try {
    return readFile(path);
  } catch (const std::exception&) {
    return {};  // not created yet
  }
}

std::vector<std::string> processesWithArgument(const std::string& needle) {
  std::vector<std::string> hits;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos)
      continue;
    std::ifstream in(entry.path() / "cmdline", std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    if (text.str().find(needle) != std::string::npos)
      hits.push_back(name);
  }
  return hits;
}

TEST(AgentOutage, FiftyRunsArriveExactlyOnceInOrderAcrossASigkillMidFlush) {
  FakeControlPlane server;
  TempDir dir;
  const std::string state = dir / "state";
  const std::string log = dir / "agent.log";
  AgentProcess agent(agentConfig(dir, server), log);
  agent.start();
  std::optional<core::controlplane::AgentToken> token;
  ASSERT_TRUE(waitFor(
      [&] {
        try {
          token = core::controlplane::readTokenFile(state + "/agent-token");
        } catch (const Poco::Exception&) {
          token.reset();  // being written
        }
        return token.has_value();
      },
      15s))
      << readFile(log);

  server.control(R"({"action": "down"})");
  char name[32];
  for (int i = 0; i < 50; ++i) {
    std::snprintf(name, sizeof name, "job-%02d", i);
    writeRunSpec(state, runSpec(state, "outage", name, std::string("echo ") + name, server.url()));
    const auto r = runWrapper(state, std::string("outage/") + name);
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  core::controlplane::Spool spool(state + "/spool");
  EXPECT_EQ(spool.pending().size(), 50u);
  EXPECT_EQ(server.count("/api/runs/check-in"), 0u);

  // The 21st delivery is held by the server and never committed; the agent dies meanwhile.
  server.control(R"({"action": "hang", "route": "/api/runs/check-in", "after": 20, "count": 1})");
  server.control(R"({"action": "up"})");
  agent.hangUp();  // flush now rather than after the back-off
  ASSERT_TRUE(waitFor([&] { return server.state()->getValue<int>("held") == 1; }, 60s))
      << readFile(log);
  agent.signal(SIGKILL);
  server.control(R"({"action": "release"})");
  EXPECT_EQ(server.checkins().size(), 20u);
  EXPECT_EQ(spool.pending().size(), 30u);

  agent.start();
  ASSERT_TRUE(waitFor([&] { return !spool.hasPending(); }, 60s)) << readFile(log);
  // While the agent runs: the token is in no process's arguments.
  EXPECT_TRUE(processesWithArgument(token->token).empty());
  EXPECT_TRUE(processesWithArgument("enroll-secret").empty());
  agent.signal(SIGTERM);
  const auto checkins = server.checkins();
  ASSERT_EQ(checkins.size(), 50u);
  for (int i = 0; i < 50; ++i) {
    std::snprintf(name, sizeof name, "job-%02d", i);
    const auto& c = checkins[static_cast<std::size_t>(i)];
    EXPECT_EQ(c->getValue<std::string>("job_name"), name);
    EXPECT_EQ(c->getValue<std::string>("output"), std::string(name) + "\n");
    EXPECT_EQ(c->getValue<int>("endpoint_id"), token->endpoint_id);
  }

  // The token is only in the token file: not in any process's arguments, the scheduler's
  // entries, the run specs, the spool, the run log or the agent's log.
  EXPECT_TRUE(processesWithArgument(token->token).empty());
  EXPECT_TRUE(processesWithArgument("enroll-secret").empty());
  EXPECT_EQ(filesContaining(state, token->token, {state + "/agent-token"}),
            std::vector<std::string>{});
  EXPECT_EQ(filesContaining(dir / "crontopus", token->token, {}), std::vector<std::string>{});
  EXPECT_EQ(filesContaining(log, token->token, {}), std::vector<std::string>{});
  EXPECT_EQ(filesContaining(log, "enroll-secret", {}), std::vector<std::string>{});
}

// The documented window: killed after the control plane stored a check-in but before the
// agent removed its file, the agent sends that one check-in again. Nothing else repeats.
TEST(AgentOutage, KillBetweenCommitAndRemovalRepeatsOnlyThatCheckIn) {
  FakeControlPlane server;
  TempDir dir;
  const std::string state = dir / "state";
  const std::string log = dir / "agent.log";
  AgentProcess agent(agentConfig(dir, server), log);
  agent.start();
  ASSERT_TRUE(waitFor([&] { return readIfAny(state + "/agent-token").size() > 0; }, 15s))
      << readIfAny(log);
  server.control(R"({"action": "down"})");
  char name[32];
  for (int i = 0; i < 10; ++i) {
    std::snprintf(name, sizeof name, "job-%02d", i);
    writeRunSpec(state, runSpec(state, "window", name, "true", server.url()));
    ASSERT_EQ(runWrapper(state, std::string("window/") + name).exit_code, 0);
  }
  server.control(R"({"action": "hang_after_commit", "after": 3, "count": 1})");
  server.control(R"({"action": "up"})");
  agent.hangUp();
  ASSERT_TRUE(waitFor([&] { return server.state()->getValue<int>("held") == 1; }, 60s))
      << readIfAny(log);
  agent.signal(SIGKILL);
  server.control(R"({"action": "release"})");
  agent.start();
  core::controlplane::Spool spool(state + "/spool");
  ASSERT_TRUE(waitFor([&] { return !spool.hasPending(); }, 60s)) << readIfAny(log);
  agent.signal(SIGTERM);
  std::vector<std::string> names;
  for (const auto& c : server.checkins())
    names.push_back(c->getValue<std::string>("job_name"));
  const std::vector<std::string> expected = {"job-00", "job-01", "job-02", "job-03",
                                             "job-03", "job-04", "job-05", "job-06",
                                             "job-07", "job-08", "job-09"};
  EXPECT_EQ(names, expected);
}

std::string manifest(const std::string& name, bool paused) {
  return "apiVersion: v1\nkind: Job\nmetadata:\n  name: " + name +
         "\n  tenant: t\nspec:\n  schedule: \"0 3 * * *\"\n  command: /bin/echo\n  args: [\"" +
         name + " run\"]\n  paused: " + (paused ? "true" : "false") + "\n";
}

// The whole loop: a git repository, the cron backend writing a cron.d-style file, the control
// plane told after every cycle that changed the job list.
TEST(AgentJobInstances, FollowAddPauseAndRemoveThroughTheRealCycle) {
  FakeControlPlane server;
  TempDir dir;
  const std::string repo = dir / "repo";
  std::filesystem::create_directories(repo + "/prod");
  git(repo, {"init", "-q", "-b", "main"});
  writeFile(repo + "/prod/a.yaml", manifest("a", false));
  writeFile(repo + "/prod/b.yaml", manifest("b", false));
  git(repo, {"add", "-A"});
  git(repo, {"commit", "-q", "-m", "two jobs"});
  const std::string config = agentConfig(dir, server);
  std::string text = readFile(config);
  text.replace(text.find("git:\n"), 5, "git:\n  url: " + repo + "\n");
  writeFile(config, text, 0600);
  AgentProcess agent(config, dir / "agent.log");
  agent.start();

  auto instances = [&]() -> std::vector<std::string> {
    std::vector<std::string> out;
    auto all = server.state()->getObject("instances");
    for (const auto& key : all->getNames()) {
      auto list = all->getArray(key);
      for (std::size_t i = 0; i < list->size(); ++i) {
        auto o = list->getObject(static_cast<unsigned>(i));
        out.push_back(o->getValue<std::string>("namespace") + "/" +
                      o->getValue<std::string>("job_name") + " " +
                      o->getValue<std::string>("status") + " " +
                      o->getValue<std::string>("original_command"));
      }
      return out;
    }
    return {"(nothing reported)"};
  };
  const std::vector<std::string> both = {"prod/a scheduled /bin/echo 'a run'",
                                         "prod/b scheduled /bin/echo 'b run'"};
  ASSERT_TRUE(waitFor([&] { return instances() == both; }, 30s)) << readIfAny(dir / "agent.log");
  const std::string token = core::controlplane::readTokenFile(dir / "state/agent-token")->token;
  const std::string cron_file = readIfAny(dir / "crontopus");
  EXPECT_NE(cron_file.find("run --state-dir"), std::string::npos) << cron_file;
  EXPECT_EQ(cron_file.find(token), std::string::npos);
  EXPECT_EQ(filesContaining(dir / "state/jobs", token, {}), std::vector<std::string>{});

  writeFile(repo + "/prod/b.yaml", manifest("b", true));
  git(repo, {"commit", "-q", "-am", "pause b"});
  agent.hangUp();
  const std::vector<std::string> paused = {"prod/a scheduled /bin/echo 'a run'",
                                           "prod/b paused /bin/echo 'b run'"};
  ASSERT_TRUE(waitFor([&] { return instances() == paused; }, 30s)) << readIfAny(dir / "agent.log");

  git(repo, {"rm", "-q", "prod/a.yaml"});
  git(repo, {"commit", "-q", "-m", "remove a"});
  agent.hangUp();
  const std::vector<std::string> one = {"prod/b paused /bin/echo 'b run'"};
  ASSERT_TRUE(waitFor([&] { return instances() == one; }, 30s)) << readIfAny(dir / "agent.log");

  git(repo, {"rm", "-q", "prod/b.yaml"});
  writeFile(repo + "/README.md", "no jobs\n");
  git(repo, {"add", "README.md"});
  git(repo, {"commit", "-q", "-m", "remove b"});
  agent.hangUp();
  ASSERT_TRUE(waitFor([&] { return instances().empty(); }, 30s)) << readIfAny(dir / "agent.log");
  agent.signal(SIGTERM);
  for (const auto& r : server.requests("/api/endpoints/41/job-instances"))
    EXPECT_EQ(r.status, 200) << r.body;

  // The token appears nowhere but in the token file, the cron file included.
  EXPECT_EQ(filesContaining(dir / "state", token, {dir / "state/agent-token"}),
            std::vector<std::string>{});
  EXPECT_EQ(filesContaining(dir / "crontopus", token, {}), std::vector<std::string>{});
  EXPECT_EQ(filesContaining(dir / "agent.log", token, {}), std::vector<std::string>{});
}

TEST(AgentStandalone, NoApiUrlMeansNoControlPlaneAndNoComplaint) {
  TempDir dir;
  std::ostringstream c;
  c << "agent:\n  state_dir: " << dir / "state"
    << "\n"
    << "git:\n  sync_interval: 3600\n"
    << "scheduler:\n  backend: cron\n  options:\n    cron_file: " << dir / "crontopus"
    << "\n";
  writeFile(dir / "config.yaml", c.str(), 0600);
  AgentProcess agent(dir / "config.yaml", dir / "agent.log");
  agent.start();
  ASSERT_TRUE(waitFor(
      [&] { return readIfAny(dir / "agent.log").find(" started") != std::string::npos; }, 15s));
  agent.signal(SIGTERM);
  const std::string log = readFile(dir / "agent.log");
  for (const char* word : {"control plane", "enroll", "token", "spool"})
    EXPECT_EQ(log.find(word), std::string::npos) << word << " in:\n" << log;
  std::error_code ec;
  EXPECT_FALSE(std::filesystem::exists(dir / "state/spool", ec));
  EXPECT_FALSE(std::filesystem::exists(dir / "state/agent-token", ec));
}

}  // namespace
}  // namespace crontopus::tests
