#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>

#include <gtest/gtest.h>

#include "FakeControlPlane.h"
#include "RunSupport.h"
#include "TestSupport.h"
#include "controlplane/CheckIn.h"
#include "controlplane/ControlPlane.h"
#include "controlplane/HttpClient.h"
#include "controlplane/Protocol.h"
#include "controlplane/Spool.h"
#include "controlplane/TokenFile.h"

namespace crontopus::core::controlplane {
namespace {

using namespace std::chrono_literals;
using tests::FakeControlPlane;
using tests::TempDir;
using tests::waitFor;

AgentConfig configFor(const TempDir& dir, const FakeControlPlane& server) {
  AgentConfig c = defaultConfig();
  c.agent.state_dir = dir / "state";
  c.agent.token_path = dir / "state/agent-token";
  c.agent.name = "test-agent";
  c.agent.platform = "linux";
  c.backend.api_url = server.url();
  c.backend.enrollment_token = "enroll-secret";
  c.backend.heartbeat_interval = 1;
  c.git.url = "https://user:pw@git.example/jobs.git";
  return c;
}

HttpSettings settingsFor(const FakeControlPlane& server) {
  HttpSettings s;
  s.api_url = server.url();
  s.platform = "linux";
  s.connect_timeout = 2s;
  s.total_timeout = 2s;
  return s;
}

RetryPolicy quick(int attempts) {
  RetryPolicy p;
  p.max_attempts = attempts;
  p.base_delay = 50ms;
  p.max_wait = 5s;
  return p;
}

TEST(ControlPlaneEnrollment, WritesThePrivateTokenFileAndDoesNotEnrollAgain) {
  FakeControlPlane server;
  TempDir dir;
  const AgentConfig config = configFor(dir, server);
  {
    ControlPlane cp(config);
    cp.start();
    ASSERT_TRUE(waitFor([&] { return server.count("/api/endpoints/41/heartbeat") >= 1; }, 10s));
  }
  const auto enrolls = server.requests("/api/endpoints/enroll");
  ASSERT_EQ(enrolls.size(), 1u);
  EXPECT_EQ(enrolls[0].authorization, "Bearer enroll-secret");
  EXPECT_EQ(enrolls[0].user_agent, userAgent("linux"));
  auto body = enrolls[0].json();
  EXPECT_EQ(body->getValue<std::string>("name"), "test-agent");
  EXPECT_EQ(body->getValue<std::string>("git_repo_url"), "https://git.example/jobs.git");
  EXPECT_EQ(body->getValue<std::string>("version"), CRONTOPUS_VERSION);

  struct stat st {};
  ASSERT_EQ(stat(config.agent.token_path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto token = readTokenFile(config.agent.token_path);
  ASSERT_TRUE(token);
  EXPECT_EQ(token->endpoint_id, 41);
  auto endpoints = server.state()->getObject("endpoints");
  EXPECT_EQ(endpoints->getObject("41")->getValue<std::string>("token"), token->token);

  ControlPlane again(config);
  again.start();
  ASSERT_TRUE(waitFor([&] { return server.count("/api/endpoints/41/heartbeat") >= 2; }, 10s));
  again.stop();
  EXPECT_EQ(server.count("/api/endpoints/enroll"), 1u);
}

TEST(ControlPlaneEnrollment, AcceptsAnEndpointIdAnswer) {
  FakeControlPlane server;
  server.control(R"({"action": "id_field", "value": "both"})");  // agent_id 0, endpoint_id 41
  TempDir dir;
  ControlPlane cp(configFor(dir, server));
  cp.start();
  ASSERT_TRUE(waitFor([&] { return cp.token().has_value(); }, 10s));
  EXPECT_EQ(cp.token()->endpoint_id, 41);
}

TEST(ControlPlaneEnrollment, CorruptOrExposedTokenFileStopsReportingWithoutEnrolling) {
  FakeControlPlane server;
  for (const auto& [text, mode] : std::vector<std::pair<std::string, unsigned>>{
           {"{not json", 0600}, {R"({"agent_id": 41, "token": "t"})", 0644}}) {
    TempDir dir;
    const AgentConfig config = configFor(dir, server);
    tests::writeFile(config.agent.token_path, text, mode);
    chmod(config.agent.token_path.c_str(), mode);
    ControlPlane cp(config);
    cp.start();
    EXPECT_FALSE(waitFor([&] { return server.count("/api/") > 0; }, 1500ms));
    EXPECT_FALSE(cp.token());
    EXPECT_EQ(tests::readFile(config.agent.token_path), text);  // left for the operator
  }
}

TEST(ControlPlaneEnrollment, RejectedEnrollmentIsNotRetriedAtOnce) {
  FakeControlPlane server;
  TempDir dir;
  AgentConfig config = configFor(dir, server);
  config.backend.enrollment_token = "wrong";
  ControlPlane cp(config);
  cp.start();
  ASSERT_TRUE(waitFor([&] { return server.count("/api/endpoints/enroll") >= 1; }, 10s));
  EXPECT_FALSE(waitFor([&] { return server.count("/api/endpoints/enroll") >= 2; }, 1500ms));
  EXPECT_EQ(server.requests("/api/endpoints/enroll")[0].status, 401);
  struct stat st {};
  EXPECT_NE(stat(config.agent.token_path.c_str(), &st), 0);
}

TEST(ControlPlaneHeartbeat, EveryIntervalWithTheEndpointToken) {
  FakeControlPlane server;
  TempDir dir;
  const AgentConfig config = configFor(dir, server);
  ControlPlane cp(config);
  cp.start();
  ASSERT_TRUE(waitFor([&] { return server.count("/api/endpoints/41/heartbeat") >= 4; }, 15s));
  cp.stop();
  const auto beats = server.requests("/api/endpoints/41/heartbeat");
  const auto token = readTokenFile(config.agent.token_path);
  ASSERT_TRUE(token);
  for (std::size_t i = 0; i < beats.size(); ++i) {
    EXPECT_EQ(beats[i].authorization, "Bearer " + token->token);
    EXPECT_EQ(beats[i].status, 200);
    EXPECT_EQ(beats[i].json()->getValue<std::string>("status"), "active");
    if (i > 0) {
      const double gap = beats[i].time - beats[i - 1].time;
      EXPECT_GT(gap, 0.8) << "heartbeat " << i;
      EXPECT_LT(gap, 2.5) << "heartbeat " << i;
    }
  }
}

TEST(ControlPlaneHeartbeat, DeletedEndpointIsEnrolledAgain) {
  FakeControlPlane server;
  TempDir dir;
  const AgentConfig config = configFor(dir, server);
  ControlPlane cp(config);
  cp.start();
  ASSERT_TRUE(waitFor([&] { return server.count("/api/endpoints/41/heartbeat") >= 1; }, 10s));
  const std::string old_token = readTokenFile(config.agent.token_path)->token;
  server.control(R"({"action": "delete_endpoint", "id": 41})");
  ASSERT_TRUE(waitFor([&] { return server.count("/api/endpoints/enroll") >= 2; }, 10s));
  ASSERT_TRUE(waitFor(
      [&] {
        auto t = readTokenFile(config.agent.token_path);
        return t && t->token != old_token;
      },
      10s));
  bool saw_404 = false;
  for (const auto& r : server.requests("/api/endpoints/41/heartbeat"))
    saw_404 = saw_404 || r.status == 404;
  EXPECT_TRUE(saw_404);
  // The deleted endpoint's record is gone: the control plane makes a new one.
  const auto t = readTokenFile(config.agent.token_path);
  const std::string beats = "/api/endpoints/" + std::to_string(t->endpoint_id) + "/heartbeat";
  // Recorded when it arrives (status -1) and again when answered: wait for the answer.
  ASSERT_TRUE(waitFor(
      [&] {
        const auto seen = server.requests(beats);
        return !seen.empty() && seen.back().status != -1;
      },
      10s));
  EXPECT_EQ(server.requests(beats).back().status, 200);
  EXPECT_EQ(server.requests(beats).back().authorization, "Bearer " + t->token);
}

TEST(ControlPlaneHeartbeat, DeletedEndpointWithoutEnrollmentTokenKeepsWorkingLocally) {
  FakeControlPlane server;
  TempDir dir;
  AgentConfig config = configFor(dir, server);
  {
    ControlPlane cp(config);
    cp.start();
    ASSERT_TRUE(waitFor([&] { return cp.token().has_value(); }, 10s));
  }
  const std::string before = tests::readFile(config.agent.token_path);
  server.control(R"({"action": "delete_endpoint", "id": 41})");
  config.backend.enrollment_token.clear();
  ControlPlane cp(config);
  cp.start();
  ASSERT_TRUE(waitFor([&] { return server.count("/api/endpoints/41/heartbeat") >= 2; }, 10s));
  // One 404, then it waits (minutes) instead of hammering the server every second.
  EXPECT_FALSE(waitFor([&] { return server.count("/api/endpoints/41/heartbeat") >= 3; }, 2500ms));
  EXPECT_EQ(server.count("/api/endpoints/enroll"), 1u);
  EXPECT_EQ(tests::readFile(config.agent.token_path), before);
}

TEST(ControlPlaneJobInstances, CompleteListAfterAddPauseAndRemoveIncludingEmpty) {
  FakeControlPlane server;
  TempDir dir;
  ControlPlane cp(configFor(dir, server));
  cp.start();
  auto instances = [&]() -> Poco::JSON::Array::Ptr {
    auto all = server.state()->getObject("instances");
    return all->has("41") ? all->getArray("41") : nullptr;
  };
  // Nothing installed yet: the empty list is sent (it clears what the server had).
  ASSERT_TRUE(waitFor([&] { return instances() != nullptr; }, 10s));
  EXPECT_EQ(instances()->size(), 0u);

  std::map<std::string, JobState> jobs;
  jobs["prod/backup"] = JobState{
      "h1", "scheduled", "prod/backup.yaml", "0 2 * * *", "/opt/backup.sh '--db=prod'", false, ""};
  jobs["prod/report"] =
      JobState{"h2", "scheduled", "prod/report.yaml", "0 3 * * *", "/opt/report.sh", false, ""};
  jobs["dev/broken"] = JobState{"", "error", "dev/broken.yaml", "", "/bin/x", false, "bad"};
  cp.reportJobs(jobs);
  ASSERT_TRUE(waitFor([&] { return instances()->size() == 3; }, 10s));
  auto list = instances();
  EXPECT_EQ(list->getObject(0)->getValue<std::string>("job_name"), "broken");
  EXPECT_EQ(list->getObject(0)->getValue<std::string>("status"), "error");
  EXPECT_EQ(list->getObject(1)->getValue<std::string>("original_command"),
            "/opt/backup.sh '--db=prod'");
  EXPECT_EQ(list->getObject(1)->getValue<std::string>("source"), "crontopus");

  jobs["prod/report"].status = "paused";
  cp.reportJobs(jobs);
  ASSERT_TRUE(waitFor(
      [&] { return instances()->getObject(2)->getValue<std::string>("status") == "paused"; }, 10s));

  jobs.erase("prod/backup");
  cp.reportJobs(jobs);
  ASSERT_TRUE(waitFor([&] { return instances()->size() == 2; }, 10s));
  cp.reportJobs({});
  ASSERT_TRUE(waitFor([&] { return instances()->size() == 0; }, 10s));
  for (const auto& r : server.requests("/api/endpoints/41/job-instances"))
    EXPECT_EQ(r.status, 200) << r.body;
}

TEST(HttpClientRetries, HonoursRetryAfterOn429) {
  FakeControlPlane server;
  server.control(R"({"action": "fail", "status": 429, "count": 1, "retry_after": 1,
                     "route": "/api/endpoints/enroll"})");
  HttpClient client(settingsFor(server));
  const auto started = std::chrono::steady_clock::now();
  const auto r =
      client.post("/api/endpoints/enroll", R"({"name": "x"})", "enroll-secret", quick(3));
  EXPECT_EQ(r.status, 201);
  EXPECT_EQ(r.attempts, 2);
  EXPECT_GE(std::chrono::steady_clock::now() - started, 950ms);
}

TEST(HttpClientRetries, RetriesServerErrorsButNotOtherClientErrors) {
  FakeControlPlane server;
  server.control(
      R"({"action": "fail", "status": 503, "count": 2, "route": "/api/endpoints/enroll"})");
  HttpClient client(settingsFor(server));
  auto r = client.post("/api/endpoints/enroll", R"({"name": "x"})", "enroll-secret", quick(4));
  EXPECT_EQ(r.status, 201);
  EXPECT_EQ(r.attempts, 3);

  r = client.post("/api/endpoints/enroll", R"({"name": 5})", "enroll-secret", quick(4));
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(r.attempts, 1);
  EXPECT_EQ(r.detail(), "body.name: str type expected");
  r = client.post("/api/endpoints/enroll", R"({"name": "x"})", "", quick(4));
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.attempts, 1);
  EXPECT_EQ(server.count("/api/endpoints/enroll"), 5u);
}

TEST(HttpClientRetries, TotalTimeoutOnAHangingServerAndRefusedConnections) {
  FakeControlPlane server;
  server.control(R"({"action": "hang", "route": "/api/endpoints/enroll", "count": 5})");
  HttpSettings settings = settingsFor(server);
  settings.total_timeout = 1s;
  HttpClient client(settings);
  auto started = std::chrono::steady_clock::now();
  auto r = client.post("/api/endpoints/enroll", R"({"name": "x"})", "enroll-secret", quick(1));
  EXPECT_EQ(r.status, 0);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 3s);
  server.control(R"({"action": "release"})");

  server.control(R"({"action": "down"})");
  started = std::chrono::steady_clock::now();
  r = client.post("/api/endpoints/enroll", R"({"name": "x"})", "enroll-secret", quick(2));
  EXPECT_EQ(r.status, 0);
  EXPECT_TRUE(r.transient());
  EXPECT_EQ(r.attempts, 2);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
  server.control(R"({"action": "up"})");
  r = client.post("/api/endpoints/enroll", R"({"name": "x"})", "enroll-secret", quick(2));
  EXPECT_EQ(r.status, 201);
}

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto r = tests::runProcess({"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048",
                                      "-nodes", "-days", "2", "-subj", "/CN=localhost", "-addext",
                                      "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout",
                                      dir_ / "key.pem", "-out", dir_ / "cert.pem"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  TempDir dir_;
};

TEST_F(TlsTest, SelfSignedServerRefusedWithoutCaFileAcceptedWithIt) {
  FakeControlPlane server(FakeControlPlane::Options{dir_ / "cert.pem", dir_ / "key.pem"});
  HttpSettings settings = settingsFor(server);
  {
    HttpClient client(settings);
    auto r = client.post("/api/endpoints/enroll", R"({"name": "x"})", "enroll-secret", quick(3));
    EXPECT_EQ(r.status, 0);
    EXPECT_TRUE(r.tls_error) << r.error;
    EXPECT_EQ(r.attempts, 1);  // a certificate problem is not retried
  }
  EXPECT_EQ(server.count("/"), 0u);
  settings.ca_file = dir_ / "cert.pem";
  HttpClient client(settings);
  auto r = client.post("/api/endpoints/enroll", R"({"name": "x"})", "enroll-secret", quick(3));
  EXPECT_EQ(r.status, 201) << r.describe();
  EXPECT_EQ(server.count("/api/endpoints/enroll"), 1u);
}

// crontopus-run (what scheduler entries call) links no TLS: it loads crontopus-tls.so for an
// https:// check-in only. LD_DEBUG=files makes the dynamic loader name every object it loads.
TEST_F(TlsTest, TheRunWrapperLoadsTlsForAnHttpsCheckInOnly) {
  FakeControlPlane https_server(FakeControlPlane::Options{dir_ / "cert.pem", dir_ / "key.pem"});
  FakeControlPlane http_server;
  const std::string state = dir_ / "state";
  HttpSettings settings = settingsFor(https_server);
  settings.ca_file = dir_ / "cert.pem";
  HttpClient client(settings);
  const auto enrolled =
      client.post("/api/endpoints/enroll", R"({"name": "x"})", "enroll-secret", quick(3));
  ASSERT_EQ(enrolled.status, 201) << enrolled.describe();
  writeTokenFile(state + "/agent-token", parseEnrollmentResponse(enrolled.body));

  auto run = [&](const std::string& name, const std::string& url, const std::string& ca_file,
                 const std::string& state) {
    RunSpec spec = tests::runSpec(state, "tls", name, "echo " + name, url);
    spec.control_plane.ca_file = ca_file;
    tests::writeRunSpec(state, spec);
    // As cron starts it: without SSL_CERT_FILE / SSL_CERT_DIR, the system store is the hashed
    // directory only (TlsModule.cpp).
    const auto r = tests::runProcess({"/usr/bin/env", "-u", "SSL_CERT_FILE", "-u", "SSL_CERT_DIR",
                                      RUN_BIN, "run", "--state-dir", state, "tls/" + name},
                                     {}, {{"LD_DEBUG", "files"}});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.err;
  };
  const std::string verified = run("verified", https_server.url(), dir_ / "cert.pem", state);
  EXPECT_NE(verified.find("crontopus-tls.so"), std::string::npos) << verified;
  EXPECT_NE(verified.find("libPocoNetSSL"), std::string::npos);
  ASSERT_EQ(https_server.checkins().size(), 1u);
  EXPECT_EQ(https_server.checkins()[0]->getValue<std::string>("job_name"), "verified");

  // Without ca_file the self-signed server is refused, and the check-in waits in the spool.
  run("unverified", https_server.url(), "", state);
  EXPECT_EQ(https_server.checkins().size(), 1u);
  EXPECT_EQ(Spool(state + "/spool").pending().size(), 1u);
  std::filesystem::remove_all(state + "/spool");

  const std::string plain_state = dir_ / "plain-state";
  tests::enrollInto(http_server, plain_state + "/agent-token");
  const std::string plain = run("plain", http_server.url(), "", plain_state);
  ASSERT_EQ(http_server.checkins().size(), 1u);
  for (const char* tls : {"crontopus-tls", "libPocoNetSSL", "libssl", "libcrypto", "libPocoUtil"})
    EXPECT_EQ(plain.find(tls), std::string::npos) << tls << " loaded by:\n" << plain;
  EXPECT_NE(plain.find("libPocoNet.so"), std::string::npos) << plain;  // LD_DEBUG did work
}

}  // namespace
}  // namespace crontopus::core::controlplane

namespace crontopus::core::controlplane {
namespace {

TEST(ControlPlaneSpool, DeliversOldestFirstAcrossSpoolsAndNeverFollowsLinks) {
  FakeControlPlane server;
  TempDir dir;
  const AgentConfig config = configFor(dir, server);
  const auto token = tests::enrollInto(server, config.agent.token_path);
  Spool own(spoolDirectory(config));
  Spool user(dir / "home/.crontopus/spool");
  for (int i = 0; i < 4; ++i) {
    RunRecord r;
    r.ns = "n";
    r.name = "job-" + std::to_string(i);
    r.status = "success";
    (i % 2 == 0 ? own : user).add(checkInBody(0, r));
  }
  // Planted by the job's user: must not make the agent send the token file's content.
  ASSERT_EQ(symlink(config.agent.token_path.c_str(),
                    (user.dir() + "/00000000T000000.000000Z-0000000001-0000.json").c_str()),
            0);
  ControlPlane cp(config);
  cp.addSpool(user.dir());
  cp.start();
  ASSERT_TRUE(waitFor([&] { return server.checkins().size() >= 4; }, 15s));
  ASSERT_TRUE(waitFor([&] { return !own.hasPending() && !user.hasPending(); }, 5s));
  cp.stop();
  const auto checkins = server.checkins();
  ASSERT_EQ(checkins.size(), 4u);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(checkins[static_cast<std::size_t>(i)]->getValue<std::string>("job_name"),
              "job-" + std::to_string(i));
    EXPECT_EQ(checkins[static_cast<std::size_t>(i)]->getValue<int>("endpoint_id"),
              token.endpoint_id);
  }
  for (const auto& r : server.requests("/api/runs/check-in"))
    EXPECT_EQ(r.body.find(token.token), std::string::npos);
  struct stat st {};
  EXPECT_EQ(
      lstat((user.dir() + "/00000000T000000.000000Z-0000000001-0000.json.corrupt").c_str(), &st),
      0);
}

}  // namespace
}  // namespace crontopus::core::controlplane

namespace crontopus::core::controlplane {
namespace {

TEST_F(TlsTest, CertificateForAnotherHostIsRefusedEvenWhenTrusted) {
  const auto r = tests::runProcess({"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048",
                                    "-nodes", "-days", "2", "-subj", "/CN=elsewhere.example",
                                    "-addext", "subjectAltName=DNS:elsewhere.example", "-keyout",
                                    dir_ / "other-key.pem", "-out", dir_ / "other-cert.pem"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  FakeControlPlane server(
      FakeControlPlane::Options{dir_ / "other-cert.pem", dir_ / "other-key.pem"});
  HttpSettings settings = settingsFor(server);
  settings.ca_file = dir_ / "other-cert.pem";
  HttpClient client(settings);
  const auto answer =
      client.post("/api/endpoints/enroll", R"({"name": "x"})", "enroll-secret", quick(2));
  EXPECT_EQ(answer.status, 0);
  EXPECT_TRUE(answer.tls_error) << answer.error;
  EXPECT_EQ(server.count("/"), 0u);
}

}  // namespace
}  // namespace crontopus::core::controlplane

namespace crontopus::core::controlplane {
namespace {

TEST(ControlPlaneSpool, OnlyA201RemovesACheckIn) {
  FakeControlPlane server;
  TempDir dir;
  const AgentConfig config = configFor(dir, server);
  tests::enrollInto(server, config.agent.token_path);
  RunRecord r;
  r.ns = "n";
  r.name = "j";
  r.status = "success";
  Spool spool(spoolDirectory(config));
  spool.add(checkInBody(0, r));
  // A 200 (a proxy, a captive portal) is not the control plane storing the check-in.
  server.control(R"({"action": "fail", "status": 200, "count": 1, "route": "/api/runs/check-in"})");
  ControlPlane cp(config);
  cp.start();
  ASSERT_TRUE(waitFor([&] { return !spool.hasPending(); }, 15s));
  cp.stop();
  const auto posts = server.requests("/api/runs/check-in");
  ASSERT_EQ(posts.size(), 2u);
  EXPECT_EQ(posts[0].status, 200);
  EXPECT_EQ(posts[1].status, 201);
  EXPECT_EQ(server.checkins().size(), 1u);
}

}  // namespace
}  // namespace crontopus::core::controlplane
