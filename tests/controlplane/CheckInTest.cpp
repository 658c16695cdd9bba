#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <sstream>

#include <gtest/gtest.h>

#include <Poco/JSON/Parser.h>

#include "FakeControlPlane.h"
#include "RunSupport.h"
#include "TestSupport.h"
#include "controlplane/CheckIn.h"
#include "controlplane/ControlPlane.h"
#include "controlplane/Spool.h"

namespace crontopus::tests {
namespace {

using namespace std::chrono_literals;

class CheckInTest : public ::testing::Test {
 protected:
  void SetUp() override {
    state_ = dir_ / "state";
    token_ = enrollInto(server_, state_ + "/agent-token");
  }

  // Runs `command` as job test/<name> through the wrapper; returns its exit code.
  int run(const std::string& name, const std::string& command,
          const std::function<void(core::RunSpec&)>& adjust = {}) {
    core::RunSpec spec = runSpec(state_, "test", name, command, server_.url());
    if (adjust)
      adjust(spec);
    writeRunSpec(state_, spec);
    last_ = runWrapper(state_, spec.identity());
    return last_.exit_code;
  }

  Poco::JSON::Object::Ptr onlyCheckIn() {
    const auto all = server_.checkins();
    EXPECT_EQ(all.size(), 1u);
    return all.empty() ? Poco::JSON::Object::Ptr() : all.back();
  }

  FakeControlPlane server_;
  TempDir dir_;
  std::string state_;
  core::controlplane::AgentToken token_;
  ProcessResult last_;
};

TEST_F(CheckInTest, Success) {
  EXPECT_EQ(run("ok", "echo hello"), 0) << last_.err;
  auto c = onlyCheckIn();
  ASSERT_TRUE(c);
  EXPECT_EQ(c->getValue<int>("endpoint_id"), token_.endpoint_id);
  EXPECT_EQ(c->getValue<std::string>("job_name"), "ok");
  EXPECT_EQ(c->getValue<std::string>("namespace"), "test");
  EXPECT_EQ(c->getValue<std::string>("status"), "success");
  EXPECT_EQ(c->getValue<int>("exit_code"), 0);
  EXPECT_EQ(c->getValue<int>("duration"), 0);
  EXPECT_EQ(c->getValue<std::string>("output"), "hello\n");
  const auto requests = server_.requests("/api/runs/check-in");
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].authorization, "Bearer " + token_.token);
  EXPECT_EQ(requests[0].status, 201);
  EXPECT_EQ(last_.err, "");  // nothing for cron to mail
}

TEST_F(CheckInTest, FailureKeepsTheJobsExitCode) {
  EXPECT_EQ(run("bad", "echo first; echo oops >&2; exit 3"), 3);
  auto c = onlyCheckIn();
  ASSERT_TRUE(c);
  EXPECT_EQ(c->getValue<std::string>("status"), "failure");
  EXPECT_EQ(c->getValue<int>("exit_code"), 3);
  EXPECT_NE(c->getValue<std::string>("error_message").find("oops"), std::string::npos);
}

TEST_F(CheckInTest, Timeout) {
  run("slow", "sleep 30", [](core::RunSpec& s) { s.timeout_seconds = 1; });
  auto c = onlyCheckIn();
  ASSERT_TRUE(c);
  EXPECT_EQ(c->getValue<std::string>("status"), "timeout");
  EXPECT_GE(c->getValue<int>("duration"), 1);
  EXPECT_EQ(c->getValue<std::string>("error_message"), "timed out after 1 s");
}

TEST_F(CheckInTest, KilledBySignal) {
  run("killed", "kill -9 $$");
  auto c = onlyCheckIn();
  ASSERT_TRUE(c);
  EXPECT_EQ(c->getValue<std::string>("status"), "cancelled");
  EXPECT_EQ(c->getValue<int>("exit_code"), 128 + 9);
}

TEST_F(CheckInTest, OneMegabyteOfOutputSendsExactlyTheLast10000Characters) {
  run("big", "seq 1 160000");
  std::ostringstream expected;
  for (int i = 1; i <= 160000; ++i)
    expected << i << "\n";
  const std::string all = expected.str();
  ASSERT_GT(all.size(), 1000000u);
  auto c = onlyCheckIn();
  ASSERT_TRUE(c);
  EXPECT_EQ(c->getValue<std::string>("output"), all.substr(all.size() - 10000));
}

TEST_F(CheckInTest, BinaryAndInvalidUtf8OutputStillMakeValidJson) {
  run("binary", "printf 'a\\377\\376\\000b\\303'; head -c 20000 /dev/urandom; printf '\\300end'");
  auto c = onlyCheckIn();  // the fake server parses it with Python's json and checks the length
  ASSERT_TRUE(c);
  const std::string output = c->getValue<std::string>("output");
  EXPECT_NE(output.find("\xEF\xBF\xBD"
                        "end"),
            std::string::npos);
  EXPECT_EQ(server_.requests("/api/runs/check-in")[0].status, 201);
}

TEST_F(CheckInTest, DisabledOrStandaloneSendsNothing) {
  EXPECT_EQ(run("off", "true", [](core::RunSpec& s) { s.checkin_enabled = false; }), 0);
  EXPECT_EQ(run("alone", "true", [](core::RunSpec& s) { s.control_plane = {}; }), 0);
  EXPECT_EQ(last_.err, "");
  EXPECT_EQ(server_.count("/api/runs/check-in"), 0u);
  EXPECT_FALSE(core::controlplane::Spool(state_ + "/spool").hasPending());
}

TEST_F(CheckInTest, UndeliverableCheckInIsSpooledAndTheExitCodeKept) {
  server_.control(R"({"action": "down"})");
  EXPECT_EQ(run("down", "exit 4"), 4);
  core::controlplane::Spool spool(state_ + "/spool");
  const auto names = spool.pending();
  ASSERT_EQ(names.size(), 1u);
  Poco::JSON::Parser parser;
  auto body = parser.parse(spool.read(names[0])).extract<Poco::JSON::Object::Ptr>();
  EXPECT_EQ(body->getValue<std::string>("job_name"), "down");
  EXPECT_EQ(body->getValue<int>("exit_code"), 4);
  EXPECT_EQ(spool.read(names[0]).find(token_.token), std::string::npos);
  // While older check-ins wait, a new one queues behind them even though the server is back.
  server_.control(R"({"action": "up"})");
  EXPECT_EQ(run("later", "true"), 0);
  EXPECT_EQ(spool.pending().size(), 2u);
  EXPECT_EQ(server_.count("/api/runs/check-in"), 0u);
}

TEST_F(CheckInTest, ServerRejectionIsLoggedAndNotSpooled) {
  server_.control(
      R"({"action": "fail", "status": 422, "count": 1, "route": "/api/runs/check-in"})");
  EXPECT_EQ(run("rejected", "true"), 0);
  EXPECT_NE(last_.err.find("rejected the check-in"), std::string::npos) << last_.err;
  EXPECT_FALSE(core::controlplane::Spool(state_ + "/spool").hasPending());
}

}  // namespace
}  // namespace crontopus::tests

namespace crontopus::tests {
namespace {

// cron's `user` option: the wrapper runs as a user who cannot read the agent's token file. It
// spools quietly into a spool that user owns, and the agent delivers from there.
TEST(CheckInAsAnotherUser, SpoolsInTheUsersSpoolAndTheAgentDelivers) {
  if (geteuid() != 0)
    FAIL() << "needs root (runs the wrapper as nobody with setpriv)";
  FakeControlPlane server;
  TempDir dir;
  core::AgentConfig config = core::defaultConfig();
  config.agent.state_dir = dir / "state";
  config.agent.token_path = dir / "state/agent-token";
  config.agent.platform = "linux";
  config.backend.api_url = server.url();
  config.backend.heartbeat_interval = 60;
  const auto token = enrollInto(server, config.agent.token_path);
  chmod(config.agent.state_dir.c_str(), 0700);

  const std::string user_state = dir / "home/.crontopus";
  core::RunSpec spec = runSpec(user_state, "shared", "as-nobody", "echo from nobody", server.url());
  spec.working_dir = "/tmp";
  spec.control_plane = core::controlplane::runSpecControlPlane(config, user_state);
  writeRunSpec(user_state, spec);
  ASSERT_EQ(runProcess({"/bin/chown", "-R", "nobody:nogroup", dir / "home"}).exit_code, 0);

  const auto r =
      runProcess({"/usr/bin/setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                  AGENT_BIN, "run", "--state-dir", user_state, "shared/as-nobody"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");  // nothing for cron to mail
  core::controlplane::Spool spool(user_state + "/spool");
  ASSERT_EQ(spool.pending().size(), 1u);
  EXPECT_EQ(server.count("/api/runs/check-in"), 0u);

  core::controlplane::ControlPlane cp(config);
  cp.addSpool(spool.dir(), "nobody");
  cp.start();
  ASSERT_TRUE(waitFor([&] { return !spool.hasPending(); }, 15s));
  cp.stop();
  const auto checkins = server.checkins();
  ASSERT_EQ(checkins.size(), 1u);
  EXPECT_EQ(checkins[0]->getValue<std::string>("job_name"), "as-nobody");
  EXPECT_EQ(checkins[0]->getValue<std::string>("output"), "from nobody\n");
  EXPECT_EQ(checkins[0]->getValue<int>("endpoint_id"), token.endpoint_id);
}

TEST(CheckInAsAnotherUser, ASpoolLinkedToARootDirectoryDeliversNothingFromIt) {
  // The user owns ~/.crontopus: replacing its spool with a link to a root-only directory must
  // not make the root agent post (and then delete) files the user cannot read.
  if (geteuid() != 0)
    FAIL() << "needs root (the agent reads the user's spool as that user)";
  FakeControlPlane server;
  TempDir dir;
  core::AgentConfig config = core::defaultConfig();
  config.agent.state_dir = dir / "state";
  config.agent.token_path = dir / "state/agent-token";
  config.agent.platform = "linux";
  config.backend.api_url = server.url();
  config.backend.heartbeat_interval = 60;
  enrollInto(server, config.agent.token_path);
  chmod(config.agent.state_dir.c_str(), 0700);

  const std::string secret_dir = dir / "root-only";
  const std::string secret = secret_dir + "/20000101T000000.000000Z-0000000001-0001.json";
  writeFile(secret,
            R"({"job_name":"stolen","namespace":"x","status":"success","exit_code":0,)"
            R"("duration":0,"output":"ROOT-ONLY-CONTENT"})",
            0600);
  chmod(secret_dir.c_str(), 0700);
  const std::string user_state = dir / "home/.crontopus";
  writeFile(user_state + "/placeholder", "", 0600);
  ASSERT_EQ(symlink(secret_dir.c_str(), (user_state + "/spool").c_str()), 0);
  ASSERT_EQ(runProcess({"/bin/chown", "-R", "-h", "nobody:nogroup", dir / "home"}).exit_code, 0);

  // A real check-in in the agent's own spool, newer than the planted one: once it is delivered,
  // the flush has passed the planted file's turn.
  core::controlplane::Spool own(config.agent.state_dir + "/spool");
  own.add(R"({"job_name":"real","namespace":"x","status":"success","exit_code":0,"duration":0})");
  core::controlplane::ControlPlane cp(config);
  cp.addSpool(user_state + "/spool", "nobody");
  cp.start();
  ASSERT_TRUE(waitFor([&] { return !own.hasPending(); }, 15s));
  cp.stop();
  const auto checkins = server.checkins();
  ASSERT_EQ(checkins.size(), 1u);
  EXPECT_EQ(checkins[0]->getValue<std::string>("job_name"), "real");
  EXPECT_TRUE(std::filesystem::exists(secret)) << "a root file was deleted through the link";
}

}  // namespace
}  // namespace crontopus::tests
