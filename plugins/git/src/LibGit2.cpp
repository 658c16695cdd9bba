#include "LibGit2.h"

#include <git2/sys/repository.h>

#include <filesystem>

#include "NetworkDeadline.h"

namespace crontopus::plugins::git {
namespace {

constexpr const char* kSystemBundle = "/etc/ssl/certs/ca-certificates.crt";
constexpr const char* kSystemDir = "/etc/ssl/certs";

std::mutex g_tls_mutex;
// The ca_file (path@mtime) libgit2 currently trusts besides the system store ("" = none, as
// after git_libgit2_init).
std::string g_current_ca_file;
// releaseTrustStore() emptied the trust store: useCaFile() must load it again.
bool g_trust_store_released = false;

bool exists(const char* path) {
  std::error_code ec;
  return std::filesystem::exists(path, ec);
}

}  // namespace

std::mutex& tlsMutex() {
  return g_tls_mutex;
}

std::string useCaFile(const std::string& ca_file) {
#if defined(_WIN32)
  // libgit2 on Windows speaks HTTPS through WinHTTP, which trusts the Windows certificate store
  // and takes no CA file (GIT_OPT_SET_SSL_CERT_LOCATIONS fails there).
  if (ca_file.empty()) {
    return {};
  }
  return "a CA file is not supported on Windows (HTTPS goes through WinHTTP and the Windows "
         "certificate store): import the CA with `certutil -addstore Root FILE` and remove "
         "git.ca_file";
#endif
  // Keyed by path and modification time, so that a renewed CA file is loaded again.
  std::string key;
  if (!ca_file.empty()) {
    std::error_code ec;
    auto mtime = std::filesystem::last_write_time(ca_file, ec);
    key = ca_file + "@" + std::to_string(mtime.time_since_epoch().count());
  }
  if (key == g_current_ca_file && !g_trust_store_released) {
    return {};
  }
  int rc = 0;
  if (ca_file.empty()) {
    rc = git_libgit2_opts(GIT_OPT_SET_SSL_CERT_LOCATIONS,
                          exists(kSystemBundle) ? kSystemBundle : nullptr,
                          exists(kSystemBundle) ? nullptr : kSystemDir);
  } else {
    // libgit2 (mbedTLS) replaces its trust store with what it is given: pass the system
    // directory too so that the CA is added, not substituted.
    rc = git_libgit2_opts(GIT_OPT_SET_SSL_CERT_LOCATIONS, ca_file.c_str(),
                          exists(kSystemDir) ? kSystemDir : nullptr);
  }
  if (rc < 0) {
    return lastGitErrorMessage();
  }
  g_current_ca_file = key;
  g_trust_store_released = false;
  return {};
}

void releaseTrustStore(const std::string& empty_directory) {
  if (g_trust_store_released) {
    return;
  }
  std::error_code ec;
  std::filesystem::create_directory(empty_directory, ec);
  if (!std::filesystem::is_empty(empty_directory, ec) || ec) {
    return;
  }
  // Best effort: a libgit2 whose TLS has no such option (WinHTTP) keeps its store; nothing to
  // try again then.
  git_libgit2_opts(GIT_OPT_SET_SSL_CERT_LOCATIONS, nullptr, empty_directory.c_str());
  g_trust_store_released = true;
}

std::string lastGitErrorMessage() {
  const git_error* error = git_error_last();
  if (error == nullptr || error->message == nullptr || error->message[0] == '\0') {
    return "unknown libgit2 error";
  }
  return error->message;
}

int lastGitErrorClass() {
  const git_error* error = git_error_last();
  return error == nullptr ? GIT_ERROR_NONE : error->klass;
}

std::string useEmptyConfig(git_repository* repo) {
  git_config* raw = nullptr;
  if (git_config_new(&raw) < 0) {
    return lastGitErrorMessage();
  }
  std::unique_ptr<git_config, GitFree<git_config, git_config_free>> config(raw);
  if (git_repository_set_config(repo, config.get()) < 0) {
    return lastGitErrorMessage();
  }
  return {};
}

LibGit2Session::LibGit2Session() {
  int count = git_libgit2_init();
  if (count < 0) {
    error_ = "libgit2 initialisation failed: " + lastGitErrorMessage();
    return;
  }
  if (count == 1) {
    // A fresh libgit2 starts from its built-in trust store.
    std::lock_guard lock(g_tls_mutex);
    g_current_ca_file.clear();
    g_trust_store_released = false;
  }
  initialised_ = true;
  if (!installDeadlineSocketStream()) {
    error_ = "cannot install the deadline socket stream: " + lastGitErrorMessage();
  }
}

LibGit2Session::~LibGit2Session() {
  if (initialised_) {
    git_libgit2_shutdown();
  }
}

}  // namespace crontopus::plugins::git
