// `crontopus-agent apply` with backend.api_url set: one cycle, then once what the daemon's
// control-plane threads do (enroll, the job list when it changed, one pass over the spool),
// checked against the requests the fake control plane recorded. The exit code stays the jobs'.
#include <sys/stat.h>

#include <filesystem>
#include <sstream>

#include <gtest/gtest.h>

#include "FakeControlPlane.h"
#include "RunSupport.h"
#include "TestSupport.h"
#include "controlplane/Spool.h"
#include "controlplane/TokenFile.h"

namespace crontopus::tests {
namespace {

std::string manifest(const std::string& name, bool paused) {
  return "apiVersion: v1\nkind: Job\nmetadata:\n  name: " + name +
         "\n  tenant: t\nspec:\n  schedule: \"0 3 * * *\"\n  command: /bin/echo\n  args: [\"" +
         name + " run\"]\n  paused: " + (paused ? "true" : "false") + "\n";
}

// A repository with prod/a and prod/b, and a config pointing the cron backend at a cron.d-style
// file in `dir`. An empty api_url is standalone.
class OneShotApply : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(repo + "/prod");
    git(repo, {"init", "-q", "-b", "main"});
    writeFile(repo + "/prod/a.yaml", manifest("a", false));
    writeFile(repo + "/prod/b.yaml", manifest("b", false));
    git(repo, {"add", "-A"});
    git(repo, {"commit", "-q", "-m", "two jobs"});
  }

  void configure(const std::string& api_url, const std::string& enrollment_token) {
    std::ostringstream c;
    c << "agent:\n  name: one-shot\n  state_dir: " << state << "\n";
    if (!api_url.empty()) {
      c << "backend:\n  api_url: " << api_url << "\n";
      if (!enrollment_token.empty())
        c << "  enrollment_token: " << enrollment_token << "\n";
    }
    c << "git:\n  url: " << repo << "\n"
      << "scheduler:\n  backend: cron\n  options:\n    cron_file: " << dir / "crontopus"
      << "\n";
    writeFile(config, c.str(), 0600);
  }

  ProcessResult apply() { return runProcess({AGENT_BIN, "--config", config, "apply"}); }

  // A finished run whose check-in is waiting in the agent's spool (no token file yet).
  void spoolOneRun(const std::string& name, const std::string& api_url) {
    writeRunSpec(state, runSpec(state, "pre", name, "echo " + name, api_url));
    const auto r = runWrapper(state, "pre/" + name);
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  // The job list the fake server holds, as "ns/name status".
  static std::vector<std::string> instances(const FakeControlPlane& server) {
    std::vector<std::string> out;
    auto all = server.state()->getObject("instances");
    for (const auto& key : all->getNames()) {
      auto list = all->getArray(key);
      for (std::size_t i = 0; i < list->size(); ++i) {
        auto o = list->getObject(static_cast<unsigned>(i));
        out.push_back(o->getValue<std::string>("namespace") + "/" +
                      o->getValue<std::string>("job_name") + " " +
                      o->getValue<std::string>("status"));
      }
    }
    return out;
  }

  TempDir dir;
  const std::string repo = dir / "repo";
  const std::string state = dir / "state";
  const std::string config = dir / "config.yaml";
};

TEST_F(OneShotApply, EnrollsPostsTheChangedJobListAndFlushesTheSpoolOnce) {
  FakeControlPlane server;
  configure(server.url(), "enroll-secret");
  spoolOneRun("first", server.url());
  spoolOneRun("second", server.url());
  ASSERT_EQ(core::controlplane::Spool(state + "/spool").pending().size(), 2u);

  const auto r = apply();
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const auto token = core::controlplane::readTokenFile(state + "/agent-token");
  ASSERT_TRUE(token.has_value()) << r.err;
  struct stat st {};
  ASSERT_EQ(stat((state + "/agent-token").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const std::string endpoint = "/api/endpoints/" + std::to_string(token->endpoint_id);

  // In this order: the enrollment, the job list, the spooled check-ins oldest first. No
  // heartbeat: apply is not a running agent.
  std::vector<std::string> paths;
  for (const auto& seen : server.requests())
    paths.push_back(seen.path + " " + std::to_string(seen.status));
  EXPECT_EQ(paths,
            (std::vector<std::string>{"/api/endpoints/enroll 201", endpoint + "/job-instances 200",
                                      "/api/runs/check-in 201", "/api/runs/check-in 201"}));
  EXPECT_EQ(server.requests("/api/endpoints/enroll").at(0).authorization, "Bearer enroll-secret");
  for (const auto& seen : server.requests(endpoint))
    EXPECT_EQ(seen.authorization, "Bearer " + token->token);
  EXPECT_EQ(instances(server), (std::vector<std::string>{"prod/a scheduled", "prod/b scheduled"}));
  const auto checkins = server.checkins();
  ASSERT_EQ(checkins.size(), 2u);
  EXPECT_EQ(checkins[0]->getValue<std::string>("job_name"), "first");
  EXPECT_EQ(checkins[1]->getValue<std::string>("job_name"), "second");
  for (const auto& c : checkins)
    EXPECT_EQ(c->getValue<long>("endpoint_id"), token->endpoint_id);
  EXPECT_TRUE(core::controlplane::Spool(state + "/spool").pending().empty());
  EXPECT_EQ(r.err.find(token->token), std::string::npos);

  // Nothing changed: no second enrollment and no job list; the spool is empty.
  const std::size_t seen_before = server.requests().size();
  const auto again = apply();
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(server.requests().size(), seen_before) << again.err;

  // A paused job changes the list: it is posted again, with the token file's endpoint.
  writeFile(repo + "/prod/b.yaml", manifest("b", true));
  git(repo, {"commit", "-q", "-am", "pause b"});
  const auto paused = apply();
  ASSERT_EQ(paused.exit_code, 0) << paused.err;
  EXPECT_EQ(server.count("/api/endpoints/enroll"), 1u);
  EXPECT_EQ(server.count(endpoint + "/job-instances"), 2u);
  EXPECT_EQ(instances(server), (std::vector<std::string>{"prod/a scheduled", "prod/b paused"}));
}

TEST_F(OneShotApply, AnUnreachableOrRefusingControlPlaneNeverChangesTheExitCode) {
  FakeControlPlane server;
  configure(server.url(), "enroll-secret");
  server.control(R"({"action": "down"})");
  const auto down = apply();
  EXPECT_EQ(down.exit_code, 0) << down.err;
  EXPECT_NE(readFile(dir / "crontopus").find("prod/a"), std::string::npos);
  EXPECT_NE(down.err.find("/api/endpoints/enroll failed"), std::string::npos) << down.err;
  std::error_code ec;
  EXPECT_FALSE(std::filesystem::exists(state + "/agent-token", ec));

  // Back up, nothing changed in the repository: enrolled, and the new endpoint gets its list.
  server.control(R"({"action": "up"})");
  const auto up = apply();
  EXPECT_EQ(up.exit_code, 0) << up.err;
  ASSERT_TRUE(core::controlplane::readTokenFile(state + "/agent-token").has_value()) << up.err;
  EXPECT_EQ(instances(server), (std::vector<std::string>{"prod/a scheduled", "prod/b scheduled"}))
      << up.err;

  // An unknown enrollment token (401): said what to check, still exit 0, nothing written.
  std::filesystem::remove(state + "/agent-token");
  configure(server.url(), "not-a-known-token");
  writeFile(repo + "/prod/c.yaml", manifest("c", false));
  git(repo, {"add", "-A"});
  git(repo, {"commit", "-q", "-m", "third job"});
  const auto refused = apply();
  EXPECT_EQ(refused.exit_code, 0) << refused.err;
  EXPECT_NE(refused.err.find("enrollment refused: 401"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("check backend.enrollment_token"), std::string::npos);
  EXPECT_EQ(refused.err.find("not-a-known-token"), std::string::npos) << refused.err;
  EXPECT_FALSE(std::filesystem::exists(state + "/agent-token", ec));
  EXPECT_EQ(server.count("/api/endpoints/enroll"), 2u);

  // A job error keeps exit 1, whatever the control plane says (here: enrolled and reachable).
  configure(server.url(), "enroll-secret");
  writeFile(repo + "/prod/c.yaml", "apiVersion: v1\nkind: Job\nmetadata: {name: c}\n");
  git(repo, {"commit", "-q", "-am", "break c"});
  const auto broken = apply();
  EXPECT_EQ(broken.exit_code, 1) << broken.out << broken.err;
  EXPECT_TRUE(core::controlplane::readTokenFile(state + "/agent-token").has_value()) << broken.err;
  // Enrolled now, and the list it posted says which job is in error.
  EXPECT_EQ(instances(server),
            (std::vector<std::string>{"prod/a scheduled", "prod/b scheduled", "prod/c error"}))
      << broken.err;
}

TEST_F(OneShotApply, StandaloneTalksToNobody) {
  configure("", "");
  const auto r = apply();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* word : {"control plane", "enroll", "token", "spool"})
    EXPECT_EQ(r.err.find(word), std::string::npos) << word << " in:\n" << r.err;
  std::error_code ec;
  EXPECT_FALSE(std::filesystem::exists(state + "/spool", ec));
  EXPECT_FALSE(std::filesystem::exists(state + "/agent-token", ec));
}

}  // namespace
}  // namespace crontopus::tests
