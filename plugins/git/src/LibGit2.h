#pragma once

#include <git2.h>

#include <memory>
#include <mutex>
#include <string>

namespace crontopus::plugins::git {

// GIT_OPT_SET_SSL_CERT_LOCATIONS is process-wide: hold tlsMutex() from useCaFile() until the
// connection that needs it is closed. An empty ca_file restores the system store.
std::mutex& tlsMutex();
// Makes libgit2 trust the system CAs plus `ca_file`. Call with tlsMutex() held.
// Returns "" or libgit2's reason.
std::string useCaFile(const std::string& ca_file);
// libgit2 parses the system's CA store when it starts, whatever the remote: about 250 KB of heap
// kept for the life of the daemon. A remote that is not https needs no trust store: this makes
// libgit2 trust the certificates in `empty_directory` (an empty directory) instead, and
// useCaFile() loads the system store again when an https remote comes. Creates the directory when
// missing; does nothing when it is not empty. Call with tlsMutex() held.
void releaseTrustStore(const std::string& empty_directory);

// One RAII owner per libgit2 handle.
template <typename T, void (*Free)(T*)>
struct GitFree {
  void operator()(T* handle) const noexcept {
    if (handle != nullptr) {
      Free(handle);
    }
  }
};

using RepositoryPtr = std::unique_ptr<git_repository, GitFree<git_repository, git_repository_free>>;
using RemotePtr = std::unique_ptr<git_remote, GitFree<git_remote, git_remote_free>>;
using CommitPtr = std::unique_ptr<git_commit, GitFree<git_commit, git_commit_free>>;
using TreePtr = std::unique_ptr<git_tree, GitFree<git_tree, git_tree_free>>;
using IndexPtr = std::unique_ptr<git_index, GitFree<git_index, git_index_free>>;
using ReferencePtr = std::unique_ptr<git_reference, GitFree<git_reference, git_reference_free>>;
using OdbPtr = std::unique_ptr<git_odb, GitFree<git_odb, git_odb_free>>;
using BlobPtr = std::unique_ptr<git_blob, GitFree<git_blob, git_blob_free>>;
using TreeEntryPtr = std::unique_ptr<git_tree_entry, GitFree<git_tree_entry, git_tree_entry_free>>;

// libgit2's own message for the last failed call on this thread (never empty).
std::string lastGitErrorMessage();
// The error class (GIT_ERROR_*) of the last failed call, GIT_ERROR_NONE if unknown.
int lastGitErrorClass();

// Gives `repo` an empty configuration in place of its own, the user's and the system's git
// config: the mirror is used only through this plugin, with the URL, credentials and proxy
// settings the agent's config gives, so nothing in ~/.gitconfig (url.*.insteadOf, http.*) may
// redirect or alter it. It also keeps libgit2 1.5 from leaking 20 KiB on every config entry a
// glob lookup does not match (git_regexp_match with pcre2 >= 10.41, fixed in libgit2 1.6):
// about 120 KiB per sync, without end, in the daemon. Returns "" or libgit2's reason.
std::string useEmptyConfig(git_repository* repo);

// Keeps libgit2 initialised while alive (libgit2 counts init/shutdown pairs itself) and installs
// the deadline-aware socket stream for every connection libgit2 opens in this process.
class LibGit2Session {
 public:
  LibGit2Session();
  ~LibGit2Session();
  LibGit2Session(const LibGit2Session&) = delete;
  LibGit2Session& operator=(const LibGit2Session&) = delete;

  // Empty when initialisation worked, else why it did not.
  const std::string& error() const noexcept { return error_; }

 private:
  bool initialised_ = false;
  std::string error_;
};

}  // namespace crontopus::plugins::git
