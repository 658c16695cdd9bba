#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <future>
#include <random>

#include "GitSyncFixture.h"

namespace crontopus::plugins::git::test {
namespace {

namespace fs = std::filesystem;
using sdk::ErrorCode;

std::string randomSecret() {
  std::random_device device;
  return "pw-" + std::to_string(device()) + "-" + std::to_string(device());
}

// git http-backend behind the Python server; restarted on the same port when asked.
class HttpGitServer {
 public:
  HttpGitServer(const fs::path& root, const fs::path& log, std::string user, std::string password)
      : root_(root),
        log_(log),
        user_(std::move(user)),
        password_(std::move(password)),
        port_(freePort()) {}

  bool start(std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {
        pythonExecutable(), httpServerScript(), "--port", std::to_string(port_),
        "--root",           root_.string(),     "--user", user_};
    argv.insert(argv.end(), extra.begin(), extra.end());
    process_ = ServerProcess(argv, {{"GIT_TEST_PASSWORD", password_}}, log_.string());
    return waitForPort(port_);
  }
  void stop() { process_.kill(); }
  int port() const { return port_; }
  int stat(const std::string& key) const { return httpStat(port_, key); }

 private:
  fs::path root_;
  fs::path log_;
  std::string user_;
  std::string password_;
  int port_;
  ServerProcess process_;
};

class GitHttpTest : public GitSyncFixture {
 protected:
  void SetUp() override {
    GitSyncFixture::SetUp();
    password_ = randomSecret();
    server_ =
        std::make_unique<HttpGitServer>(dir_.path(), dir_.path() / "http.log", "alice", password_);
    ASSERT_TRUE(server_->start()) << readFile(dir_.path() / "http.log");
    request_.url = "http://127.0.0.1:" + std::to_string(server_->port()) + "/origin.git";
    request_.auth.type = "basic";
    request_.auth.username = "alice";
    request_.auth.password = password_;
  }

  std::string password_;
  std::unique_ptr<HttpGitServer> server_;
};

TEST_F(GitHttpTest, RightPasswordSyncsAndAnUnchangedPollCostsOneRefAdvertisement) {
  std::string first = origin_->commit({{"a.yaml", "1\n"}});
  sdk::SyncResult out;
  auto r = sync(out);
  ASSERT_TRUE(r) << r.message();
  EXPECT_EQ(out.revision, first);
  EXPECT_EQ(server_->stat("upload_pack"), 1);

  int adverts = server_->stat("info_refs_ok");
  int total = server_->stat("total");
  sdk::SyncResult again;
  ASSERT_TRUE(sync(again));
  EXPECT_FALSE(again.changed);
  EXPECT_EQ(server_->stat("info_refs_ok") - adverts, 1);
  EXPECT_EQ(server_->stat("upload_pack"), 1) << "an unchanged poll must not fetch";
  // The advertisement plus, at most, the 401 challenge that precedes it.
  EXPECT_LE(server_->stat("total") - total, 2);

  std::string second = origin_->commit({{"a.yaml", "2\n"}});
  sdk::SyncResult moved;
  ASSERT_TRUE(sync(moved));
  EXPECT_EQ(moved.revision, second);
  EXPECT_EQ(server_->stat("upload_pack"), 2);
  EXPECT_EQ(readFile(fs::path(moved.checkout_path) / "a.yaml"), "2\n");
}

TEST_F(GitHttpTest, AWrongPasswordIsTriedOnceAndReportedAsAuth) {
  origin_->commit({{"a.yaml", "1\n"}});
  request_.auth.password = "wrong-" + password_;
  sdk::SyncResult out;
  auto r = sync(out);
  EXPECT_EQ(r.code(), ErrorCode::kAuth);
  EXPECT_NE(r.message().find("authentication failed for " + request_.url + " (user alice)"),
            std::string::npos)
      << r.message();
  EXPECT_EQ(server_->stat("bad_credentials"), 1);
  EXPECT_EQ(r.message().find(request_.auth.password), std::string::npos);
}

TEST_F(GitHttpTest, MissingCredentialsAreAClearAuthError) {
  origin_->commit({{"a.yaml", "1\n"}});
  request_.auth = sdk::SourceAuth{};
  sdk::SyncResult out;
  auto r = sync(out);
  EXPECT_EQ(r.code(), ErrorCode::kAuth);
  EXPECT_NE(r.message().find("requires authentication"), std::string::npos) << r.message();
}

TEST_F(GitHttpTest, TokenAuthWorks) {
  server_->stop();
  server_ = std::make_unique<HttpGitServer>(dir_.path(), dir_.path() / "http.log", "x-access-token",
                                            password_);
  ASSERT_TRUE(server_->start());
  request_.url = "http://127.0.0.1:" + std::to_string(server_->port()) + "/origin.git";
  request_.auth.type = "token";
  request_.auth.username.clear();
  std::string head = origin_->commit({{"a.yaml", "1\n"}});
  sdk::SyncResult out;
  auto r = sync(out);
  ASSERT_TRUE(r) << r.message();
  EXPECT_EQ(out.revision, head);
}

TEST_F(GitHttpTest, CredentialsNeverReachDiskLogsOrTheCommandLine) {
  origin_->commit({{"a.yaml", "1\n"}});
  sdk::SyncResult out;
  auto r = sync(out);
  ASSERT_TRUE(r) << r.message();
  origin_->commit({{"a.yaml", "2\n"}});
  ASSERT_TRUE(sync(out));
  sdk::SourceRequest wrong = request_;
  wrong.auth.password = password_ + "-wrong";
  sdk::SyncResult ignored;
  auto failed = plugin_->sync(wrong, ignored);
  EXPECT_EQ(failed.code(), ErrorCode::kAuth);
  EXPECT_EQ(failed.message().find(password_), std::string::npos);

  EXPECT_TRUE(filesContaining(request_.local_path, password_).empty());
  EXPECT_TRUE(filesContaining(dir_.path() / "state", password_).empty());
  EXPECT_EQ(channel_->text().find(password_), std::string::npos);
  EXPECT_EQ(readFile("/proc/self/cmdline").find(password_), std::string::npos);
  // The mirror has no remote configured at all: nothing for git to persist.
  std::string config = readFile(fs::path(request_.local_path) / "repo" / "config");
  EXPECT_EQ(config.find("alice"), std::string::npos) << config;
  EXPECT_EQ(config.find("[remote"), std::string::npos) << config;
}

TEST_F(GitHttpTest, AServerKilledMidFetchIsANetworkErrorAndTheNextSyncRecovers) {
  origin_->commit({{"a.yaml", "1\n"}});
  sdk::SyncResult out;
  ASSERT_TRUE(sync(out));
  std::map<std::string, std::string> files;
  for (int i = 0; i < 200; ++i) {
    files["jobs/job-" + std::to_string(i) + ".yaml"] = "name: job-" + std::to_string(i) + "\n";
  }
  std::string next = origin_->commit(files);

  server_->stop();
  ASSERT_TRUE(server_->start({"--stall-after-bytes", "64"}));
  auto pending = std::async(std::launch::async, [&] {
    sdk::SyncResult result;
    return plugin_->sync(request_, result);
  });
  ASSERT_TRUE(waitUntil([&] { return server_->stat("stalled") >= 1; }));
  server_->stop();
  auto r = pending.get();
  EXPECT_EQ(r.code(), ErrorCode::kNetwork) << r.message();

  ASSERT_TRUE(server_->start());
  sdk::SyncResult after;
  r = sync(after);
  ASSERT_TRUE(r) << r.message();
  EXPECT_EQ(after.revision, next);
  EXPECT_EQ(readFile(fs::path(after.checkout_path) / "jobs/job-7.yaml"), "name: job-7\n");
}

// A socket that completes TCP handshakes (the kernel does) but never reads or answers.
class SilentServer {
 public:
  SilentServer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    ::listen(fd_, 16);
    socklen_t len = sizeof(addr);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~SilentServer() { ::close(fd_); }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

TEST_F(GitHttpTest, AServerThatNeverAnswersHitsTheDeadline) {
  SilentServer silent;
  request_.timeout_seconds = 2;
  const std::string port = std::to_string(silent.port());
  struct Case {
    std::string url;
    std::string auth;
  };
  writeFile(dir_.path() / "id_dummy", "not a key\n");
  for (const Case& c : {Case{"http://127.0.0.1:" + port + "/origin.git", "basic"},
                        Case{"git://127.0.0.1:" + port + "/origin.git", ""},
                        Case{"ssh://git@127.0.0.1:" + port + "/origin.git", "ssh"}}) {
    request_.url = c.url;
    request_.auth.type = c.auth;
    request_.auth.key_path = (dir_.path() / "id_dummy").string();
    auto started = std::chrono::steady_clock::now();
    sdk::SyncResult out;
    auto r = sync(out);
    auto elapsed = std::chrono::steady_clock::now() - started;
    EXPECT_EQ(r.code(), ErrorCode::kNetwork) << c.url << ": " << r.message();
    EXPECT_NE(r.message().find("timed out"), std::string::npos) << r.message();
    EXPECT_GE(elapsed, std::chrono::milliseconds(1900)) << c.url;
    EXPECT_LT(elapsed, std::chrono::seconds(10)) << c.url;
  }
}

TEST_F(GitHttpTest, AStopRequestInterruptsANetworkWait) {
  SilentServer silent;
  request_.timeout_seconds = 60;
  request_.url = "http://127.0.0.1:" + std::to_string(silent.port()) + "/origin.git";
  auto started = std::chrono::steady_clock::now();
  auto pending = std::async(std::launch::async, [&] {
    sdk::SyncResult result;
    return plugin_->sync(request_, result);
  });
  stop_ = true;
  auto r = pending.get();
  EXPECT_EQ(r.code(), ErrorCode::kNetwork) << r.message();
  EXPECT_NE(r.message().find("stopping"), std::string::npos) << r.message();
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));
}

TEST_F(GitHttpTest, ADownloadOverTheSizeLimitIsAborted) {
  std::mt19937 random(42);
  std::string noise(3 * 1024 * 1024, '\0');
  for (char& ch : noise) {
    ch = static_cast<char>(random());
  }
  origin_->commit({{"noise.bin", noise}});
  request_.max_size_mb = 1;
  sdk::SyncResult out;
  auto r = sync(out);
  EXPECT_EQ(r.code(), ErrorCode::kLimit) << r.message();
  EXPECT_NE(r.message().find("max_size_mb = 1"), std::string::npos) << r.message();
  EXPECT_FALSE(fs::exists(fs::path(request_.local_path) / "repo"));
}

// HTTPS with a throwaway CA made by the openssl CLI; the name is localhost because mbedTLS
// does not match IP addresses against subjectAltName.
class GitHttpsTest : public GitSyncFixture {
 protected:
  void SetUp() override {
    GitSyncFixture::SetUp();
    const fs::path d = dir_.path();
    const std::string ec = "ec:" + (d / "ec.pem").string();
    mustRun(
        {"/usr/bin/openssl", "ecparam", "-name", "prime256v1", "-out", (d / "ec.pem").string()});
    mustRun({"/usr/bin/openssl", "req", "-x509", "-newkey", ec, "-nodes", "-keyout",
             (d / "ca.key").string(), "-out", (d / "ca.pem").string(), "-days", "2", "-subj",
             "/CN=crontopus test CA"});
    mustRun({"/usr/bin/openssl", "req", "-newkey", ec, "-nodes", "-keyout",
             (d / "server.key").string(), "-out", (d / "server.csr").string(), "-subj",
             "/CN=localhost"});
    writeFile(d / "ext.cnf", "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\n");
    mustRun({"/usr/bin/openssl", "x509", "-req", "-in", (d / "server.csr").string(), "-CA",
             (d / "ca.pem").string(), "-CAkey", (d / "ca.key").string(), "-CAcreateserial", "-out",
             (d / "server.pem").string(), "-days", "2", "-extfile", (d / "ext.cnf").string()});
    password_ = randomSecret();
    server_ = std::make_unique<HttpGitServer>(d, d / "https.log", "alice", password_);
    ASSERT_TRUE(server_->start(
        {"--tls-cert", (d / "server.pem").string(), "--tls-key", (d / "server.key").string()}))
        << readFile(d / "https.log");
    request_.url = "https://localhost:" + std::to_string(server_->port()) + "/origin.git";
    request_.auth.type = "basic";
    request_.auth.username = "alice";
    request_.auth.password = password_;
  }

  std::string password_;
  std::unique_ptr<HttpGitServer> server_;
};

TEST_F(GitHttpsTest, WorksWithTheCaFileAndFailsWithACertificateErrorWithout) {
  std::string head = origin_->commit({{"a.yaml", "1\n"}});
  sdk::SyncResult out;
  auto refused = sync(out);
  EXPECT_EQ(refused.code(), ErrorCode::kTls) << refused.message();
  EXPECT_NE(refused.message().find("localhost"), std::string::npos) << refused.message();
  EXPECT_NE(refused.message().find("git.ca_file"), std::string::npos) << refused.message();

  request_.ca_file = (dir_.path() / "ca.pem").string();
  auto r = sync(out);
  ASSERT_TRUE(r) << r.message();
  EXPECT_EQ(out.revision, head);
  EXPECT_EQ(readFile(fs::path(out.checkout_path) / "a.yaml"), "1\n");

  // The CA is not left trusted for requests that do not name it.
  request_.ca_file.clear();
  origin_->commit({{"a.yaml", "2\n"}});
  EXPECT_EQ(sync(out).code(), ErrorCode::kTls);
}

// A remote that is not https drops libgit2's trust store (its memory stays with the daemon
// otherwise); an https remote synced later in the same process gets it back.
TEST_F(GitHttpsTest, ALocalRemoteDropsTheTrustStoreAndHttpsLoadsItAgain) {
  std::string head = origin_->commit({{"a.yaml", "1\n"}});
  auto local_plugin = newPlugin();
  sdk::SourceRequest local = request_;
  local.url = origin_->bare().string();
  local.auth = {};
  local.local_path = (dir_.path() / "local-mirror").string();
  sdk::SyncResult out;
  auto r = local_plugin->sync(local, out);
  ASSERT_TRUE(r) << r.message();
  const fs::path empty = fs::path(local.local_path) / "no-certificates";
  EXPECT_TRUE(fs::is_directory(empty));
  EXPECT_TRUE(fs::is_empty(empty));

  request_.ca_file = (dir_.path() / "ca.pem").string();
  r = sync(out);
  ASSERT_TRUE(r) << r.message();
  EXPECT_EQ(out.revision, head);

  // The system store is back, without the test CA.
  request_.ca_file.clear();
  origin_->commit({{"a.yaml", "2\n"}});
  auto refused = sync(out);
  EXPECT_EQ(refused.code(), ErrorCode::kTls) << refused.message();
  EXPECT_EQ(refused.message().find("failed to load CA"), std::string::npos) << refused.message();
}

}  // namespace
}  // namespace crontopus::plugins::git::test
