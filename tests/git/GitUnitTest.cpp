#include <Poco/Base64Decoder.h>
#include <gtest/gtest.h>

#include <sstream>

#include "KnownHosts.h"
#include "RemoteUrl.h"

namespace crontopus::plugins::git {
namespace {

using sdk::ErrorCode;

std::string decode(const std::string& text) {
  std::istringstream in(text);
  Poco::Base64Decoder decoder(in);
  return std::string(std::istreambuf_iterator<char>(decoder), std::istreambuf_iterator<char>());
}

const std::string kKey1 = "AAAAC3NzaC1lZDI1NTE5AAAAIFeR2DoMpQ7hOH9d4iyNIkGBJKbmm/VXrF53+DG6r53O";
const std::string kKey2 = "AAAAC3NzaC1lZDI1NTE5AAAAIN6ZlANosQFMePHCzOv+9KWlBRjACiTx2dJbNUOTx7A4";

TEST(RemoteUrl, ParsesEverySupportedForm) {
  RemoteUrl url;
  ASSERT_TRUE(parseRemoteUrl("https://git.example.com/org/repo.git", false, url));
  EXPECT_EQ(url.kind, RemoteUrl::Kind::kHttps);
  EXPECT_EQ(url.host, "git.example.com");
  EXPECT_EQ(url.effectivePort(), 443);

  ASSERT_TRUE(parseRemoteUrl("ssh://deploy@Git.Example.com:2222/repo.git", false, url));
  EXPECT_EQ(url.kind, RemoteUrl::Kind::kSsh);
  EXPECT_EQ(url.host, "git.example.com");
  EXPECT_EQ(url.user, "deploy");
  EXPECT_EQ(url.effectivePort(), 2222);

  ASSERT_TRUE(parseRemoteUrl("git@github.com:org/repo.git", false, url));
  EXPECT_EQ(url.kind, RemoteUrl::Kind::kSsh);
  EXPECT_EQ(url.host, "github.com");
  EXPECT_EQ(url.user, "git");
  EXPECT_EQ(url.effectivePort(), 22);

  ASSERT_TRUE(parseRemoteUrl("git://127.0.0.1:9418/repo.git", false, url));
  EXPECT_EQ(url.kind, RemoteUrl::Kind::kGit);

  ASSERT_TRUE(parseRemoteUrl("file:///srv/repo.git", false, url));
  EXPECT_EQ(url.kind, RemoteUrl::Kind::kFile);
  ASSERT_TRUE(parseRemoteUrl("/srv/repo.git", false, url));
  EXPECT_EQ(url.kind, RemoteUrl::Kind::kFile);
  ASSERT_TRUE(parseRemoteUrl("./relative/repo", false, url));
  EXPECT_EQ(url.kind, RemoteUrl::Kind::kFile);
}

TEST(RemoteUrl, RefusesPlainHttpToRemoteHostsUnlessAllowed) {
  RemoteUrl url;
  auto refused = parseRemoteUrl("http://git.example.com/repo.git", false, url);
  EXPECT_EQ(refused.code(), ErrorCode::kConfig);
  EXPECT_NE(refused.message().find("allow_insecure_http"), std::string::npos);
  EXPECT_TRUE(parseRemoteUrl("http://git.example.com/repo.git", true, url));
  EXPECT_TRUE(parseRemoteUrl("http://127.0.0.1:8080/repo.git", false, url));
  EXPECT_TRUE(parseRemoteUrl("http://localhost:8080/repo.git", false, url));
  EXPECT_TRUE(parseRemoteUrl("http://[::1]:8080/repo.git", false, url));
  EXPECT_FALSE(parseRemoteUrl("http://127.example.com/repo.git", false, url));
}

TEST(RemoteUrl, RefusesPasswordsInTheUrlWithoutEchoingThem) {
  RemoteUrl url;
  auto refused = parseRemoteUrl("https://alice:hunter2@git.example.com/repo.git", false, url);
  EXPECT_EQ(refused.code(), ErrorCode::kConfig);
  EXPECT_EQ(refused.message().find("hunter2"), std::string::npos);
  EXPECT_NE(refused.message().find("git.auth"), std::string::npos);
}

TEST(RemoteUrl, RefusesUnknownSchemesAndBadPorts) {
  RemoteUrl url;
  EXPECT_EQ(parseRemoteUrl("ftp://host/repo", false, url).code(), ErrorCode::kConfig);
  EXPECT_EQ(parseRemoteUrl("https://host:99999/repo", false, url).code(), ErrorCode::kConfig);
  EXPECT_EQ(parseRemoteUrl("", false, url).code(), ErrorCode::kConfig);
}

TEST(KnownHosts, MatchesPlainAndPortEntries) {
  std::string content = "git.example.com ssh-ed25519 " + kKey1 + " comment\n" +
                        "[git.example.com]:2222 ssh-ed25519 " + kKey2 + "\n";
  EXPECT_EQ(checkKnownHosts(content, "git.example.com", 22, decode(kKey1)), HostKeyStatus::kMatch);
  EXPECT_EQ(checkKnownHosts(content, "GIT.example.com", 22, decode(kKey1)), HostKeyStatus::kMatch);
  EXPECT_EQ(checkKnownHosts(content, "git.example.com", 2222, decode(kKey2)),
            HostKeyStatus::kMatch);
  EXPECT_EQ(checkKnownHosts(content, "git.example.com", 2222, decode(kKey1)),
            HostKeyStatus::kMismatch);
  EXPECT_EQ(checkKnownHosts(content, "other.example.com", 22, decode(kKey1)),
            HostKeyStatus::kUnknown);
}

TEST(KnownHosts, MatchesHashedEntries) {
  // Made with `ssh-keygen -H` from "[git.example.com]:2222 <key1>" and "github.example.com <key1>".
  std::string content =
      "|1|6GYfagCylwd1ClXNwrVu8upPAKc=|Vgj3vdRUjgLg4UnVmRmnOggMWHA= ssh-ed25519 " + kKey1 + "\n" +
      "|1|qUlNRnpHeYFqUcw7c0X2qU62hZk=|8NHTHVAZLePvow6RndKoz/v/lcg= ssh-ed25519 " + kKey1 + "\n";
  EXPECT_EQ(checkKnownHosts(content, "git.example.com", 2222, decode(kKey1)),
            HostKeyStatus::kMatch);
  EXPECT_EQ(checkKnownHosts(content, "github.example.com", 22, decode(kKey1)),
            HostKeyStatus::kMatch);
  EXPECT_EQ(checkKnownHosts(content, "github.example.com", 22, decode(kKey2)),
            HostKeyStatus::kMismatch);
  EXPECT_EQ(checkKnownHosts(content, "git.example.com", 22, decode(kKey1)),
            HostKeyStatus::kUnknown);
}

TEST(KnownHosts, HonoursWildcardsNegationRevocationAndComments) {
  std::string content = "# comment\n\n*.example.com,!evil.example.com ssh-ed25519 " + kKey1 +
                        "\n@revoked * ssh-ed25519 " + kKey2 +
                        "\n@cert-authority *.example.com ssh-ed25519 " + kKey2 + "\n";
  EXPECT_EQ(checkKnownHosts(content, "a.example.com", 22, decode(kKey1)), HostKeyStatus::kMatch);
  EXPECT_EQ(checkKnownHosts(content, "evil.example.com", 22, decode(kKey1)),
            HostKeyStatus::kUnknown);
  EXPECT_EQ(checkKnownHosts(content, "a.example.com", 22, decode(kKey2)), HostKeyStatus::kRevoked);
}

TEST(KnownHosts, NamesKeyTypes) {
  EXPECT_EQ(sshKeyType(decode(kKey1)), "ssh-ed25519");
  EXPECT_EQ(sshKeyType("xx"), "");
}

}  // namespace
}  // namespace crontopus::plugins::git
