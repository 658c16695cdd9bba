#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <random>

#include "GitSyncFixture.h"

namespace crontopus::plugins::git::test {
namespace {

namespace fs = std::filesystem;
using sdk::ErrorCode;

bool portIsFree(const std::string& address, int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, address.c_str(), &addr.sin_addr);
  bool free = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return free;
}

std::string firstLine(std::string text) {
  return text.substr(0, text.find('\n'));
}

// Debian's sshd on a free loopback port with its own host key and configuration, serving a
// throwaway user whose home holds the origin repository. Shared by the suite; removed after.
class SshServer {
 public:
  static SshServer* instance;

  SshServer() {
    std::random_device device;
    user_ = "ctgit" + std::to_string(::getpid() % 100000) + "x" + std::to_string(device() % 100000);
    const fs::path d = dir_.path();
    fs::permissions(d, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                           fs::perms::others_read | fs::perms::others_exec);
    mustRun({"/usr/sbin/useradd", "-m", "-s", "/bin/sh", user_});
    user_created_ = true;
    // Unlocked but without a usable password: sshd (UsePAM no) refuses locked accounts.
    mustRun({"/usr/sbin/usermod", "-p", "*", user_});
    home_ = "/home/" + user_;
    for (const char* key : {"host_ed25519", "id_ed25519", "id_wrong"}) {
      mustRun({"/usr/bin/ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "test", "-f",
               (d / key).string()});
    }
    mustRun({"/usr/bin/ssh-keygen", "-q", "-t", "ecdsa", "-b", "256", "-N", kPassphrase, "-C",
             "test", "-f", (d / "id_ecdsa").string()});
    mustRun({"/usr/bin/ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f",
             (d / "other_host_key").string()});
    writeFile(d / "authorized_keys", readFile(d / "id_ed25519.pub") + readFile(d / "id_ecdsa.pub"));
    port_ = freePort();
    fs::create_directories("/run/sshd");
    sshd_ = start("127.0.0.1:" + std::to_string(port_), "main");
    ready_ = waitForPort(port_);
    host_line_ =
        "[127.0.0.1]:" + std::to_string(port_) + " " + firstLine(readFile(d / "host_ed25519.pub"));
  }

  // sshd with this server's keys and user, listening on `listen` only.
  ServerProcess start(const std::string& listen, const std::string& name) {
    const fs::path d = dir_.path();
    const fs::path config = d / ("sshd_config." + name);
    writeFile(config,
              "ListenAddress " + listen + "\nHostKey " + (d / "host_ed25519").string() +
                  "\nPidFile " + (d / ("sshd.pid." + name)).string() + "\nAuthorizedKeysFile " +
                  (d / "authorized_keys").string() +
                  "\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
                  "PubkeyAuthentication yes\nUsePAM no\nStrictModes no\nPermitRootLogin no\n"
                  "AllowUsers " +
                  user_ + "\nLogLevel VERBOSE\n");
    return ServerProcess({"/usr/sbin/sshd", "-f", config.string(), "-D", "-e"}, {},
                         (d / "sshd.log").string());
  }

  ~SshServer() {
    sshd_.kill();
    if (user_created_) {
      run({"/usr/sbin/userdel", "-r", "-f", user_});
    }
  }

  // A new bare repository in the user's home, owned by the user.
  std::unique_ptr<OriginRepo> newOrigin(const std::string& name) {
    auto origin = std::make_unique<OriginRepo>(home_, name);
    mustRun({"/bin/chown", "-R", user_ + ":" + user_, origin->bare().string()});
    return origin;
  }

  static constexpr const char* kPassphrase = "correct horse";
  TempDir dir_;
  std::string user_;
  bool user_created_ = false;
  fs::path home_;
  int port_ = 0;
  bool ready_ = false;
  std::string host_line_;
  ServerProcess sshd_;
};
SshServer* SshServer::instance = nullptr;

class GitSshTest : public GitSyncFixture {
 protected:
  static void SetUpTestSuite() {
    if (::geteuid() == 0) {
      SshServer::instance = new SshServer;
    }
  }
  static void TearDownTestSuite() {
    delete SshServer::instance;
    SshServer::instance = nullptr;
  }

  void SetUp() override {
    GitSyncFixture::SetUp();
    if (::geteuid() != 0) {
      GTEST_FAIL() << "the SSH tests create a throwaway user and run sshd: run them as root";
    }
    ssh_ = SshServer::instance;
    ASSERT_TRUE(ssh_->ready_) << readFile(ssh_->dir_.path() / "sshd.log");
    static int counter = 0;
    std::string name = "origin-" + std::to_string(++counter) + ".git";
    ssh_origin_ = ssh_->newOrigin(name);
    const fs::path d = ssh_->dir_.path();
    writeFile(dir_.path() / "known_hosts", ssh_->host_line_ + "\n");
    request_.url = "ssh://" + ssh_->user_ + "@127.0.0.1:" + std::to_string(ssh_->port_) +
                   ssh_origin_->bare().string();
    request_.auth.type = "ssh";
    request_.auth.key_path = (d / "id_ed25519").string();
    request_.auth.known_hosts = (dir_.path() / "known_hosts").string();
  }

  void TearDown() override {
    if (ssh_origin_) {
      std::error_code ec;
      fs::remove_all(ssh_origin_->bare(), ec);
      fs::remove_all(ssh_origin_->work(), ec);
    }
  }

  std::string sshdLog() { return readFile(ssh_->dir_.path() / "sshd.log"); }

  SshServer* ssh_ = nullptr;
  std::unique_ptr<OriginRepo> ssh_origin_;
};

TEST_F(GitSshTest, AnEd25519KeySyncs) {
  std::string head = ssh_origin_->commit({{"a.yaml", "1\n"}});
  sdk::SyncResult out;
  auto r = sync(out);
  ASSERT_TRUE(r) << r.message() << "\n" << sshdLog();
  EXPECT_EQ(out.revision, head);
  EXPECT_EQ(readFile(fs::path(out.checkout_path) / "a.yaml"), "1\n");

  sdk::SyncResult again;
  ASSERT_TRUE(sync(again));
  EXPECT_FALSE(again.changed);
  std::string next = ssh_origin_->commit({{"a.yaml", "2\n"}});
  sdk::SyncResult moved;
  ASSERT_TRUE(sync(moved));
  EXPECT_EQ(moved.revision, next);
  EXPECT_EQ(readFile(fs::path(moved.checkout_path) / "a.yaml"), "2\n");
}

TEST_F(GitSshTest, AnScpLikeUrlAndAPlainKnownHostsEntrySync) {
  // scp-like URLs cannot name a port: a second sshd of this test on 127.0.0.2:22.
  if (!portIsFree("127.0.0.2", 22)) {
    GTEST_SKIP() << "127.0.0.2:22 is taken on this host; scp-like URLs need port 22";
  }
  ServerProcess scp_sshd = ssh_->start("127.0.0.2:22", "scp");
  ASSERT_TRUE(waitForPort(22, std::chrono::seconds(20), "127.0.0.2")) << sshdLog();
  std::string head = ssh_origin_->commit({{"a.yaml", "1\n"}});
  writeFile(request_.auth.known_hosts,
            "127.0.0.2 " + firstLine(readFile(ssh_->dir_.path() / "host_ed25519.pub")) + "\n");
  request_.url = ssh_->user_ + "@127.0.0.2:" + ssh_origin_->bare().string();
  sdk::SyncResult out;
  auto r = sync(out);
  ASSERT_TRUE(r) << r.message() << "\n" << sshdLog();
  EXPECT_EQ(out.revision, head);
}

TEST_F(GitSshTest, AnEcdsaKeyWithAPassphraseAndHashedKnownHostsSync) {
  std::string head = ssh_origin_->commit({{"a.yaml", "1\n"}});
  mustRun({"/usr/bin/ssh-keygen", "-q", "-H", "-f", request_.auth.known_hosts});
  ASSERT_EQ(readFile(request_.auth.known_hosts).rfind("|1|", 0), 0u);
  request_.auth.key_path = (ssh_->dir_.path() / "id_ecdsa").string();
  request_.auth.passphrase = SshServer::kPassphrase;
  sdk::SyncResult out;
  auto r = sync(out);
  ASSERT_TRUE(r) << r.message() << "\n" << sshdLog();
  EXPECT_EQ(out.revision, head);
  EXPECT_EQ(channel_->text().find(SshServer::kPassphrase), std::string::npos);
}

TEST_F(GitSshTest, AnUnknownOrChangedHostKeyIsRefused) {
  ssh_origin_->commit({{"a.yaml", "1\n"}});
  writeFile(request_.auth.known_hosts, "");
  sdk::SyncResult out;
  auto r = sync(out);
  EXPECT_EQ(r.code(), ErrorCode::kTls) << r.message();
  EXPECT_NE(r.message().find("unknown"), std::string::npos) << r.message();
  EXPECT_NE(r.message().find("[127.0.0.1]:" + std::to_string(ssh_->port_)), std::string::npos);

  writeFile(request_.auth.known_hosts,
            "[127.0.0.1]:" + std::to_string(ssh_->port_) + " " +
                firstLine(readFile(ssh_->dir_.path() / "other_host_key.pub")) + "\n");
  r = sync(out);
  EXPECT_EQ(r.code(), ErrorCode::kTls) << r.message();
  EXPECT_NE(r.message().find("does not match"), std::string::npos) << r.message();

  request_.auth.known_hosts = (dir_.path() / "missing_known_hosts").string();
  r = sync(out);
  EXPECT_EQ(r.code(), ErrorCode::kTls) << r.message();
  EXPECT_NE(r.message().find("missing_known_hosts"), std::string::npos) << r.message();
  EXPECT_FALSE(fs::exists(fs::path(request_.local_path) / "trees"));
}

TEST_F(GitSshTest, AWrongKeyIsAnAuthErrorAfterOneAttempt) {
  ssh_origin_->commit({{"a.yaml", "1\n"}});
  request_.auth.key_path = (ssh_->dir_.path() / "id_wrong").string();
  sdk::SyncResult out;
  auto r = sync(out);
  EXPECT_EQ(r.code(), ErrorCode::kAuth) << r.message();
  EXPECT_NE(
      r.message().find("authentication failed for " + request_.url + " (user " + ssh_->user_ + ")"),
      std::string::npos)
      << r.message();
}

}  // namespace
}  // namespace crontopus::plugins::git::test
