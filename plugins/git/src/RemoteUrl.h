#pragma once

#include <string>

#include "crontopus/sdk/Result.h"

namespace crontopus::plugins::git {

// `git.url` taken apart just enough to pick the checks that apply to it.
struct RemoteUrl {
  enum class Kind { kHttps, kHttp, kSsh, kGit, kFile };
  Kind kind = Kind::kFile;
  std::string text;  // what libgit2 is given (a local path stays a path)
  std::string host;  // lower case, without brackets; empty for local repositories
  int port = 0;      // 0 = the scheme's default
  std::string user;  // from ssh URLs (user@host); never a password

  bool isNetwork() const noexcept { return kind != Kind::kFile; }
  // Port as SSH and known_hosts see it.
  int effectivePort() const noexcept;
};

// Parses https://, http://, ssh://, scp-like [user@]host:path, git://, file:// and local paths.
// Refuses a password in the URL (credentials belong in git.auth) and plain http to a host that
// is not loopback unless allow_insecure_http. Errors are kConfig.
sdk::Result parseRemoteUrl(const std::string& url, bool allow_insecure_http, RemoteUrl& out);

bool isLoopbackHost(const std::string& host);

}  // namespace crontopus::plugins::git
