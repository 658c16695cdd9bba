#include "GitSync.h"

#include <Poco/Base64Encoder.h>
#include <Poco/Logger.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include "AtomicSwap.h"
#include "FileLock.h"
#include "KnownHosts.h"
#include "LibGit2.h"
#include "NetworkDeadline.h"
#include "RemoteUrl.h"

namespace crontopus::plugins::git {
namespace fs = std::filesystem;
using sdk::ErrorCode;
using sdk::Result;

namespace {

constexpr const char* kMarkerName = ".crontopus-git";
constexpr const char* kMarkerText = "crontopus git source, layout 1\n";
constexpr const char* kRepoDir = "repo";
constexpr const char* kTreesDir = "trees";
constexpr const char* kCurrentLink = "current";
constexpr const char* kEmptyDir = "no-certificates";  // see releaseTrustStore

std::string oidText(const git_oid& oid) {
  char text[GIT_OID_HEXSZ + 1];
  git_oid_tostr(text, sizeof(text), &oid);
  return text;
}

// What the libgit2 callbacks share with the code that interprets a failure afterwards.
struct CallbackState {
  const sdk::SourceRequest* request = nullptr;
  const RemoteUrl* url = nullptr;
  std::string known_hosts_path;
  std::string known_hosts;  // content
  bool known_hosts_readable = false;
  std::uint64_t max_bytes = 0;

  int secrets_offered = 0;
  std::string auth_user;
  bool auth_rejected = false;
  bool auth_missing = false;
  bool auth_unsupported = false;
  bool host_key_failed = false;
  std::string host_key_message;
  bool tls_failed = false;
  std::string tls_host;
  bool size_exceeded = false;
  std::uint64_t received_bytes = 0;
};

bool deadlinePassed() {
  NetworkDeadline* scope = NetworkDeadline::current();
  return scope != nullptr && scope->expired();
}

int abortForDeadline() {
  NetworkDeadline* scope = NetworkDeadline::current();
  git_error_set_str(GIT_ERROR_NET, scope != nullptr && scope->stopRequested()
                                       ? "the agent is stopping"
                                       : "deadline exceeded");
  return -1;
}

std::string authFailedMessage(const CallbackState& st) {
  return "authentication failed for " + st.url->text + " (user " + st.auth_user + ")";
}

int credentialsCallback(git_credential** out, const char* /*url*/, const char* username_from_url,
                        unsigned int allowed, void* payload) {
  auto& st = *static_cast<CallbackState*>(payload);
  const sdk::SourceAuth& auth = st.request->auth;
  if (deadlinePassed()) {
    return abortForDeadline();
  }
  std::string user;
  if (auth.type == "ssh") {
    user = username_from_url != nullptr && username_from_url[0] != '\0'
               ? username_from_url
               : (!auth.username.empty() ? auth.username : "git");
  } else if (auth.type == "token") {
    user = auth.username.empty() ? "x-access-token" : auth.username;
  } else {
    user = auth.username;
  }
  if ((allowed & GIT_CREDENTIAL_USERNAME) != 0 &&
      (allowed & (GIT_CREDENTIAL_SSH_KEY | GIT_CREDENTIAL_USERPASS_PLAINTEXT)) == 0) {
    return git_credential_username_new(out, user.empty() ? "git" : user.c_str());
  }
  st.auth_user = user.empty() ? "<none>" : user;
  if (auth.type.empty()) {
    st.auth_missing = true;
    std::string message = st.url->text + " requires authentication but git.auth is not set";
    git_error_set_str(GIT_ERROR_NET, message.c_str());
    return GIT_EAUTH;
  }
  // One offer per operation: a rejected credential is never retried, since git hosts ban
  // addresses after repeated failed logins.
  if (st.secrets_offered >= 1) {
    st.auth_rejected = true;
    git_error_set_str(GIT_ERROR_NET, authFailedMessage(st).c_str());
    return GIT_EAUTH;
  }
  if (auth.type == "ssh") {
    if ((allowed & GIT_CREDENTIAL_SSH_KEY) == 0) {
      st.auth_unsupported = true;
      git_error_set_str(GIT_ERROR_NET, "the SSH server does not accept public key authentication");
      return GIT_EAUTH;
    }
    ++st.secrets_offered;
    std::string public_key = auth.key_path + ".pub";
    std::error_code ec;
    bool have_public = fs::exists(public_key, ec);
    return git_credential_ssh_key_new(out, user.c_str(), have_public ? public_key.c_str() : nullptr,
                                      auth.key_path.c_str(),
                                      auth.passphrase.empty() ? nullptr : auth.passphrase.c_str());
  }
  if ((allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT) == 0) {
    st.auth_unsupported = true;
    git_error_set_str(GIT_ERROR_NET, "the server does not accept user name and password");
    return GIT_EAUTH;
  }
  ++st.secrets_offered;
  return git_credential_userpass_plaintext_new(out, user.c_str(), auth.password.c_str());
}

std::string base64NoPadding(const unsigned char* data, size_t len) {
  std::ostringstream out;
  Poco::Base64Encoder encoder(out);
  encoder.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(len));
  encoder.close();
  std::string text = out.str();
  while (!text.empty() && text.back() == '=') {
    text.pop_back();
  }
  return text;
}

int certificateCallback(git_cert* cert, int valid, const char* host, void* payload) {
  auto& st = *static_cast<CallbackState*>(payload);
  if (cert->cert_type != GIT_CERT_HOSTKEY_LIBSSH2) {
    if (valid == 0) {
      st.tls_failed = true;
      st.tls_host = host != nullptr ? host : st.url->host;
    }
    // Keeps libgit2's own verdict and reason (system store plus git.ca_file).
    return GIT_PASSTHROUGH;
  }
  // libgit2 1.5 accepts any SSH host key unless this callback refuses it.
  const auto* key = reinterpret_cast<const git_cert_hostkey*>(cert);
  const int port = st.url->effectivePort();
  const std::string where =
      port == 22 ? st.url->host : "[" + st.url->host + "]:" + std::to_string(port);
  std::string fingerprint;
  if ((key->type & GIT_CERT_SSH_SHA256) != 0) {
    fingerprint = "SHA256:" + base64NoPadding(key->hash_sha256, sizeof(key->hash_sha256));
  }
  st.host_key_failed = true;
  if ((key->type & GIT_CERT_SSH_RAW) == 0 || key->hostkey == nullptr) {
    st.host_key_message = "libgit2 did not provide the SSH host key of " + where +
                          " to check against known_hosts; refusing the connection";
  } else if (!st.known_hosts_readable) {
    st.host_key_message = "cannot verify the SSH host key of " + where + " (" + fingerprint +
                          "): known_hosts file " + st.known_hosts_path +
                          " cannot be read; set git.auth.known_hosts";
  } else {
    std::string blob(key->hostkey, key->hostkey_len);
    std::string type = sshKeyType(blob);
    switch (checkKnownHosts(st.known_hosts, st.url->host, port, blob)) {
      case HostKeyStatus::kMatch:
        st.host_key_failed = false;
        return 0;
      case HostKeyStatus::kUnknown:
        st.host_key_message = "SSH host key of " + where + " (" + type + " " + fingerprint +
                              ") is unknown: it is not in " + st.known_hosts_path +
                              "; verify it and add it there (ssh-keyscan -p " +
                              std::to_string(port) + " " + st.url->host + ")";
        break;
      case HostKeyStatus::kMismatch:
        st.host_key_message = "SSH host key of " + where + " (" + type + " " + fingerprint +
                              ") does not match the key recorded in " + st.known_hosts_path +
                              ": the host key changed or someone is intercepting the connection";
        break;
      case HostKeyStatus::kRevoked:
        st.host_key_message = "SSH host key of " + where + " (" + fingerprint +
                              ") is marked @revoked in " + st.known_hosts_path;
        break;
    }
  }
  git_error_set_str(GIT_ERROR_SSH, st.host_key_message.c_str());
  return GIT_ECERTIFICATE;
}

int transferCallback(const git_indexer_progress* stats, void* payload) {
  auto& st = *static_cast<CallbackState*>(payload);
  st.received_bytes = stats->received_bytes;
  if (deadlinePassed()) {
    return abortForDeadline();
  }
  if (stats->received_bytes > st.max_bytes) {
    st.size_exceeded = true;
    git_error_set_str(GIT_ERROR_NET, "size limit exceeded");
    return -1;
  }
  return 0;
}

int sidebandCallback(const char* /*text*/, int /*len*/, void* /*payload*/) {
  return deadlinePassed() ? abortForDeadline() : 0;
}

git_remote_callbacks makeCallbacks(CallbackState& st) {
  git_remote_callbacks callbacks;
  git_remote_init_callbacks(&callbacks, GIT_REMOTE_CALLBACKS_VERSION);
  callbacks.credentials = credentialsCallback;
  callbacks.certificate_check = certificateCallback;
  callbacks.transfer_progress = transferCallback;
  callbacks.sideband_progress = sidebandCallback;
  callbacks.payload = &st;
  return callbacks;
}

// Turns a failed network call into a Result, using what the callbacks saw. Reads libgit2's
// message first: nothing below may call libgit2 before that.
Result networkFailure(const std::string& what, int rc, const CallbackState& st,
                      const NetworkDeadline& scope, int timeout_seconds) {
  const std::string git_message = lastGitErrorMessage();
  const int klass = lastGitErrorClass();
  const std::string& url = st.url->text;
  if (st.size_exceeded) {
    return Result::failure(ErrorCode::kLimit,
                           "git: " + url + " sends more than git.max_size_mb = " +
                               std::to_string(st.request->max_size_mb) +
                               " MB; refusing it (raise git.max_size_mb if this is expected)");
  }
  if (st.auth_rejected) {
    return Result::failure(ErrorCode::kAuth, "git: " + authFailedMessage(st) +
                                                 "; not retrying with the same credential");
  }
  if (st.auth_missing) {
    return Result::failure(ErrorCode::kAuth,
                           "git: " + url + " requires authentication but git.auth is not set");
  }
  if (st.auth_unsupported) {
    return Result::failure(ErrorCode::kAuth, "git: " + what + " " + url + ": " + git_message);
  }
  if (st.host_key_failed) {
    return Result::failure(ErrorCode::kTls, "git: " + st.host_key_message);
  }
  if (scope.expired()) {
    if (scope.stopRequested()) {
      return Result::failure(ErrorCode::kNetwork,
                             "git: " + what + " " + url + " interrupted: the agent is stopping");
    }
    return Result::failure(ErrorCode::kNetwork, "git: " + what + " " + url + " timed out after " +
                                                    std::to_string(timeout_seconds) +
                                                    " s (git.timeout)");
  }
  if (st.tls_failed || rc == GIT_ECERTIFICATE || klass == GIT_ERROR_SSL) {
    const std::string host = st.tls_host.empty() ? st.url->host : st.tls_host;
    return Result::failure(ErrorCode::kTls,
                           "git: TLS certificate of " + host + " was rejected: " + git_message +
                               "; if the server uses a private CA, set git.ca_file");
  }
  if (rc == GIT_EAUTH ||
      (klass == GIT_ERROR_SSH && git_message.find("uthenticat") != std::string::npos)) {
    std::string user = st.auth_user.empty() ? "" : " (user " + st.auth_user + ")";
    return Result::failure(ErrorCode::kAuth,
                           "git: authentication failed for " + url + user + ": " + git_message);
  }
  return Result::failure(ErrorCode::kNetwork,
                         "git: " + what + " " + url + " failed: " + git_message);
}

bool looksCorrupt(int klass) {
  return klass == GIT_ERROR_ODB || klass == GIT_ERROR_ZLIB || klass == GIT_ERROR_OBJECT ||
         klass == GIT_ERROR_INDEXER || klass == GIT_ERROR_REPOSITORY ||
         klass == GIT_ERROR_REFERENCE || klass == GIT_ERROR_TREE || klass == GIT_ERROR_OS ||
         klass == GIT_ERROR_FILESYSTEM || klass == GIT_ERROR_INVALID;
}

struct SizeWalk {
  git_odb* odb = nullptr;
  std::uint64_t total = 0;
  std::uint64_t limit = 0;
  bool exceeded = false;
};

int sizeWalkCallback(const char* /*root*/, const git_tree_entry* entry, void* payload) {
  auto& walk = *static_cast<SizeWalk*>(payload);
  if (git_tree_entry_type(entry) != GIT_OBJECT_BLOB) {
    return 0;
  }
  size_t len = 0;
  git_object_t type = GIT_OBJECT_INVALID;
  if (git_odb_read_header(&len, &type, walk.odb, git_tree_entry_id(entry)) < 0) {
    return -1;
  }
  walk.total += len;
  if (walk.total > walk.limit) {
    walk.exceeded = true;
    return -1;
  }
  return 0;
}

// A tree entry name that is safe to create below the staging directory.
bool safeEntryName(const std::string& name) {
  if (name.empty() || name == "." || name == ".." ||
      name.find_first_of(std::string("/\\\0", 3)) != std::string::npos) {
    return false;
  }
  std::string lower_name = name;
  for (char& ch : lower_name) {
    ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  }
  return lower_name != ".git";
}

// Compares a published tree on disk with the commit's tree: every entry present with the same
// kind and content (blobs hashed as git would), and nothing else below it.
struct TreeCheck {
  git_repository* repo = nullptr;
  fs::path dir;
  std::size_t entries = 0;
  bool matches = true;
};

int treeCheckCallback(const char* root, const git_tree_entry* entry, void* payload) {
  auto& check = *static_cast<TreeCheck*>(payload);
  const fs::path path = check.dir / (std::string(root) + git_tree_entry_name(entry));
  std::error_code ec;
  const fs::file_status status = fs::symlink_status(path, ec);
  bool same = false;
  switch (git_tree_entry_filemode(entry)) {
    case GIT_FILEMODE_TREE:
    case GIT_FILEMODE_COMMIT:
      same = fs::is_directory(status);
      break;
    case GIT_FILEMODE_BLOB:
    case GIT_FILEMODE_BLOB_EXECUTABLE: {
      git_oid oid;
      same = fs::is_regular_file(status) &&
             git_odb_hashfile(&oid, path.string().c_str(), GIT_OBJECT_BLOB) == 0 &&
             git_oid_equal(&oid, git_tree_entry_id(entry));
      break;
    }
    case GIT_FILEMODE_LINK: {
      git_blob* raw = nullptr;
      if (fs::is_symlink(status) &&
          git_blob_lookup(&raw, check.repo, git_tree_entry_id(entry)) == 0) {
        BlobPtr blob(raw);
        const std::string target(static_cast<const char*>(git_blob_rawcontent(blob.get())),
                                 static_cast<std::size_t>(git_blob_rawsize(blob.get())));
        same = fs::read_symlink(path, ec).string() == target && !ec;
      }
      break;
    }
    default:
      break;
  }
  ++check.entries;
  check.matches = same;
  return same ? 0 : -1;
}

bool treeMatches(git_repository* repo, git_tree* tree, const fs::path& dir) {
  TreeCheck check;
  check.repo = repo;
  check.dir = dir;
  if (git_tree_walk(tree, GIT_TREEWALK_PRE, treeCheckCallback, &check) < 0 || !check.matches) {
    return false;
  }
  std::error_code ec;
  std::size_t found = 0;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    ++found;
  }
  return !ec && found == check.entries;
}

// Builds a tree in `staging`, hard-linking each regular file whose path, blob and mode are the
// same in `old_tree` from `old_dir` (a tree this process published and watched, so known to be
// untouched) and writing the others from the object database. A one-file change then costs one
// write instead of an inode allocated per manifest (and freed two cycles later): on ext4 that
// churn dominated the change.
struct IncrementalBuild {
  git_repository* repo = nullptr;
  git_tree* old_tree = nullptr;
  fs::path old_dir;
  fs::path staging;
  std::string error;
  bool corrupt = false;
  size_t linked = 0;
  size_t written = 0;
};

bool writeBlob(IncrementalBuild& build, const git_tree_entry* entry, const std::string& rel,
               git_filemode_t mode) {
  git_blob* raw = nullptr;
  if (git_blob_lookup(&raw, build.repo, git_tree_entry_id(entry)) < 0) {
    build.error = "cannot read " + rel + ": " + lastGitErrorMessage();
    build.corrupt = true;
    return false;
  }
  BlobPtr blob(raw);
  const fs::path target = build.staging / rel;
  const char* data = static_cast<const char*>(git_blob_rawcontent(blob.get()));
  const auto size = static_cast<std::streamsize>(git_blob_rawsize(blob.get()));
  std::error_code ec;
  if (mode == GIT_FILEMODE_LINK) {
    fs::create_symlink(std::string(data, static_cast<size_t>(size)), target, ec);
  } else {
    std::ofstream out(target, std::ios::binary | std::ios::trunc);
    out.write(data, size);
    out.close();
    if (!out) {
      ec = std::make_error_code(std::errc::io_error);
    } else if (mode == GIT_FILEMODE_BLOB_EXECUTABLE) {
      fs::permissions(target,
                      fs::perms::owner_exec | fs::perms::group_exec | fs::perms::others_exec,
                      fs::perm_options::add, ec);
    }
  }
  if (ec) {
    build.error = "cannot write " + target.string() + ": " + ec.message();
    return false;
  }
  ++build.written;
  return true;
}

int incrementalCallback(const char* root, const git_tree_entry* entry, void* payload) {
  auto& build = *static_cast<IncrementalBuild*>(payload);
  const std::string name = git_tree_entry_name(entry);
  const std::string rel = std::string(root) + name;
  if (!safeEntryName(name)) {
    build.error = "refusing the path '" + rel + "'";
    return -1;
  }
  const git_filemode_t mode = git_tree_entry_filemode(entry);
  std::error_code ec;
  switch (mode) {
    case GIT_FILEMODE_TREE:
    case GIT_FILEMODE_COMMIT:  // a submodule: an empty directory, as libgit2's checkout does
      fs::create_directory(build.staging / rel, ec);
      if (ec) {
        build.error = "cannot create " + (build.staging / rel).string() + ": " + ec.message();
        return -1;
      }
      return 0;
    case GIT_FILEMODE_BLOB:
    case GIT_FILEMODE_BLOB_EXECUTABLE: {
      git_tree_entry* raw_old = nullptr;
      if (git_tree_entry_bypath(&raw_old, build.old_tree, rel.c_str()) == 0) {
        TreeEntryPtr old(raw_old);
        if (git_oid_equal(git_tree_entry_id(old.get()), git_tree_entry_id(entry)) &&
            git_tree_entry_filemode(old.get()) == mode) {
          fs::create_hard_link(build.old_dir / rel, build.staging / rel, ec);
          if (!ec) {
            ++build.linked;
            return 0;
          }
        }
      }
      return writeBlob(build, entry, rel, mode) ? 0 : -1;
    }
    case GIT_FILEMODE_LINK:
      return writeBlob(build, entry, rel, mode) ? 0 : -1;
    default:
      build.error = "unsupported file mode for '" + rel + "'";
      return -1;
  }
}

std::string randomSuffix() {
  static std::atomic<unsigned> counter{0};
  auto now = std::chrono::steady_clock::now().time_since_epoch().count();
  std::ostringstream out;
  out << std::hex
      << (static_cast<unsigned long long>(now) ^ (counter.fetch_add(1) * 0x9e3779b9ULL));
  return out.str();
}

// Outcome of trying to bring one repository to the remote head.
struct Attempt {
  Result result;
  bool corrupt = false;  // the local repository is damaged: re-clone
};

class Syncer {
 public:
  Syncer(const sdk::SourceRequest& request, const RemoteUrl& url, CallbackState& st,
         const std::atomic<bool>* stop)
      : request_(request), url_(url), st_(st), stop_(stop) {}

  NetworkDeadline::Clock::time_point newDeadline() const {
    return NetworkDeadline::Clock::now() + std::chrono::seconds(request_.timeout_seconds);
  }

  // Connects and reads the ref advertisement; finds the branch head.
  Result connect(git_repository* repo, RemotePtr& remote, git_oid& head) {
    git_remote* raw = nullptr;
    if (git_remote_create_anonymous(&raw, repo, url_.text.c_str()) < 0) {
      return Result::failure(ErrorCode::kConfig,
                             "git: invalid git.url " + url_.text + ": " + lastGitErrorMessage());
    }
    remote.reset(raw);
    git_remote_connect_options options;
    git_remote_connect_options_init(&options, GIT_REMOTE_CONNECT_OPTIONS_VERSION);
    options.callbacks = makeCallbacks(st_);
    options.proxy_opts.type = GIT_PROXY_NONE;
    // A redirect could lead to another host or to plain http, past the checks made on git.url.
    options.follow_redirects = GIT_REMOTE_REDIRECT_NONE;
    const git_remote_head** heads = nullptr;
    size_t count = 0;
    {
      NetworkDeadline scope(newDeadline(), stop_);
      int rc = git_remote_connect_ext(remote.get(), GIT_DIRECTION_FETCH, &options);
      if (rc < 0) {
        return networkFailure("connecting to", rc, st_, scope, request_.timeout_seconds);
      }
      rc = git_remote_ls(&heads, &count, remote.get());
      if (rc < 0) {
        return networkFailure("listing refs of", rc, st_, scope, request_.timeout_seconds);
      }
    }
    const std::string wanted = "refs/heads/" + request_.branch;
    std::string branches;
    int listed = 0;
    for (size_t i = 0; i < count; ++i) {
      std::string name = heads[i]->name;
      if (name == wanted) {
        git_oid_cpy(&head, &heads[i]->oid);
        return Result::success();
      }
      if (name.starts_with("refs/heads/") && listed < 10) {
        branches += (listed++ == 0 ? "" : ", ") + name.substr(11);
      }
    }
    return Result::failure(ErrorCode::kNotFound,
                           "git: branch '" + request_.branch + "' does not exist at " + url_.text +
                               (branches.empty() ? " (the remote has no branches)"
                                                 : " (branches there: " + branches + ")") +
                               "; check git.branch");
  }

  // Downloads the branch over the connected remote and points our ref at `head`.
  Attempt fetch(git_repository* repo, git_remote* remote, const git_oid& head) {
    git_fetch_options options;
    git_fetch_options_init(&options, GIT_FETCH_OPTIONS_VERSION);
    options.callbacks = makeCallbacks(st_);
    options.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
    options.prune = GIT_FETCH_NO_PRUNE;
    options.update_fetchhead = 0;
    options.proxy_opts.type = GIT_PROXY_NONE;
    options.follow_redirects = GIT_REMOTE_REDIRECT_NONE;
    std::string refspec = "+refs/heads/" + request_.branch + ":" + trackingRef();
    char* specs[] = {refspec.data()};
    git_strarray refspecs{specs, 1};
    {
      NetworkDeadline scope(newDeadline(), stop_);
      int rc = git_remote_download(remote, &refspecs, &options);
      if (rc < 0) {
        int klass = lastGitErrorClass();
        Attempt attempt{networkFailure("fetching from", rc, st_, scope, request_.timeout_seconds),
                        false};
        // Network trouble is reported as such; a local failure means a damaged repository.
        attempt.corrupt = !scope.expired() && !st_.size_exceeded && !st_.auth_rejected &&
                          !st_.host_key_failed && looksCorrupt(klass);
        return attempt;
      }
    }
    return setTrackingRef(repo, head);
  }

  Attempt setTrackingRef(git_repository* repo, const git_oid& head) {
    git_commit* commit = nullptr;
    if (git_commit_lookup(&commit, repo, &head) < 0) {
      return {Result::failure(ErrorCode::kIo,
                              "git: commit " + oidText(head) +
                                  " is missing after the fetch: " + lastGitErrorMessage()),
              true};
    }
    CommitPtr owned(commit);
    git_reference* ref = nullptr;
    if (git_reference_create(&ref, repo, trackingRef().c_str(), &head, 1, "crontopus sync") < 0) {
      int klass = lastGitErrorClass();
      return {Result::failure(ErrorCode::kIo,
                              "git: cannot update " + trackingRef() + ": " + lastGitErrorMessage()),
              looksCorrupt(klass)};
    }
    ReferencePtr owned_ref(ref);
    return {Result::success(), false};
  }

  std::string trackingRef() const { return "refs/remotes/origin/" + request_.branch; }

  // Closing can talk to the server (an SSH channel close waits for the answer): bounded too.
  void close(RemotePtr& remote) {
    if (!remote) {
      return;
    }
    NetworkDeadline scope(newDeadline(), stop_);
    git_remote_disconnect(remote.get());
    remote.reset();
  }

  // libgit2's checkout of the whole tree into the empty directory `staging`.
  Attempt checkoutFully(git_repository* repo, git_tree* tree, const std::string& revision,
                        const fs::path& staging) {
    std::error_code ec;
    git_index* raw_index = nullptr;
    if (git_index_new(&raw_index) < 0) {
      return {Result::failure(ErrorCode::kIo, "git: " + lastGitErrorMessage()), false};
    }
    IndexPtr baseline(raw_index);
    git_checkout_options options;
    git_checkout_options_init(&options, GIT_CHECKOUT_OPTIONS_VERSION);
    options.checkout_strategy = GIT_CHECKOUT_FORCE | GIT_CHECKOUT_DONT_UPDATE_INDEX;
    options.baseline_index = baseline.get();
    options.disable_filters = 1;  // manifests as committed; no smudge filters from a repo config
    const std::string staging_text = staging.string();
    options.target_directory = staging_text.c_str();
    if (git_checkout_tree(repo, reinterpret_cast<git_object*>(tree), &options) < 0) {
      int klass = lastGitErrorClass();
      std::string message = lastGitErrorMessage();
      fs::remove_all(staging, ec);
      return {Result::failure(ErrorCode::kIo, "git: cannot check out " + revision + " into " +
                                                  staging_text + ": " + message),
              looksCorrupt(klass) && klass != GIT_ERROR_OS && klass != GIT_ERROR_FILESYSTEM};
    }
    return {Result::success(), false};
  }

  // Sets `built` when `staging` holds the tree; leaves it false (and succeeds) when the
  // previous tree cannot serve, so that the caller checks out fully instead.
  Attempt buildIncrementally(git_repository* repo, git_tree* tree,
                             const std::string& reuse_revision, const fs::path& reuse_dir,
                             const fs::path& staging, bool& built) {
    built = false;
    git_oid old_id;
    git_commit* raw_commit = nullptr;
    if (git_oid_fromstr(&old_id, reuse_revision.c_str()) < 0 ||
        git_commit_lookup(&raw_commit, repo, &old_id) < 0) {
      return {Result::success(), false};
    }
    CommitPtr old_commit(raw_commit);
    git_tree* raw_tree = nullptr;
    if (git_commit_tree(&raw_tree, old_commit.get()) < 0) {
      return {Result::success(), false};
    }
    TreePtr old_tree(raw_tree);
    IncrementalBuild build;
    build.repo = repo;
    build.old_tree = old_tree.get();
    build.old_dir = reuse_dir;
    build.staging = staging;
    std::error_code ec;
    fs::create_directory(staging, ec);
    if (ec) {
      return {Result::failure(ErrorCode::kIo,
                              "git: cannot create " + staging.string() + ": " + ec.message()),
              false};
    }
    if (git_tree_walk(tree, GIT_TREEWALK_PRE, incrementalCallback, &build) < 0) {
      if (build.corrupt) {
        return {Result::failure(ErrorCode::kIo, "git: " + build.error), true};
      }
      return {Result::success(), false};  // e.g. an unusual path: let libgit2 handle it
    }
    built = true;
    return {Result::success(), false};
  }

  // Writes the tree of `head` into a fresh directory under trees/ and renames it into place.
  // `reuse_revision` / `reuse_dir`: a published tree known to be untouched, whose unchanged
  // files are hard-linked instead of written (empty: write everything).
  Attempt publish(git_repository* repo, const git_oid& head, const fs::path& root,
                  sdk::SyncResult& out, const std::string& reuse_revision = {},
                  const fs::path& reuse_dir = {}) {
    git_commit* raw_commit = nullptr;
    if (git_commit_lookup(&raw_commit, repo, &head) < 0) {
      return {Result::failure(ErrorCode::kIo, "git: cannot read commit " + oidText(head) + ": " +
                                                  lastGitErrorMessage()),
              true};
    }
    CommitPtr commit(raw_commit);
    git_tree* raw_tree = nullptr;
    if (git_commit_tree(&raw_tree, commit.get()) < 0) {
      return {Result::failure(ErrorCode::kIo, "git: cannot read the tree of " + oidText(head) +
                                                  ": " + lastGitErrorMessage()),
              true};
    }
    TreePtr tree(raw_tree);
    git_odb* raw_odb = nullptr;
    if (git_repository_odb(&raw_odb, repo) < 0) {
      return {Result::failure(ErrorCode::kIo,
                              "git: cannot open the object database: " + lastGitErrorMessage()),
              true};
    }
    OdbPtr odb(raw_odb);
    SizeWalk walk;
    walk.odb = odb.get();
    walk.limit = static_cast<std::uint64_t>(request_.max_size_mb) * 1024 * 1024;
    if (git_tree_walk(tree.get(), GIT_TREEWALK_PRE, sizeWalkCallback, &walk) < 0) {
      if (walk.exceeded) {
        return {Result::failure(ErrorCode::kLimit, "git: the tree of " + oidText(head) +
                                                       " on branch '" + request_.branch +
                                                       "' is larger than git.max_size_mb = " +
                                                       std::to_string(request_.max_size_mb) +
                                                       " MB; refusing to check it out"),
                false};
      }
      return {Result::failure(ErrorCode::kIo, "git: cannot read the tree of " + oidText(head) +
                                                  ": " + lastGitErrorMessage()),
              true};
    }

    const fs::path trees = root / kTreesDir;
    const std::string revision = oidText(head);
    const fs::path staging = trees / (".tmp-" + revision.substr(0, 12) + "-" + randomSuffix());
    const fs::path final_path = trees / revision;
    std::error_code ec;
    fs::create_directories(trees, ec);
    if (ec) {
      return {Result::failure(ErrorCode::kIo,
                              "git: cannot create " + trees.string() + ": " + ec.message()),
              false};
    }
    const std::string staging_text = staging.string();
    bool built = false;
    if (!reuse_revision.empty()) {
      Attempt incremental =
          buildIncrementally(repo, tree.get(), reuse_revision, reuse_dir, staging, built);
      if (!incremental.result) {
        fs::remove_all(staging, ec);
        return incremental;
      }
      if (!built) {
        fs::remove_all(staging, ec);
      }
    }
    if (!built) {
      if (Attempt full = checkoutFully(repo, tree.get(), revision, staging); !full.result) {
        return full;
      }
    }
    if (std::string why = swapDirectoryInto(staging_text, final_path.string()); !why.empty()) {
      fs::remove_all(staging, ec);
      return {Result::failure(ErrorCode::kIo, "git: " + why), false};
    }
    fs::remove_all(staging, ec);  // the tree it replaced, if any
    const fs::path link = root / kCurrentLink;
    std::string previous = fs::path(readLinkTarget(link.string())).filename().string();
    if (std::string why = replaceSymlink((fs::path(kTreesDir) / revision).string(), link.string());
        !why.empty()) {
      return {Result::failure(ErrorCode::kIo, "git: " + why), false};
    }
    // Keep the previous tree too: a reader that got its path in the last cycle may still use it.
    // (A rebuild of the same revision has no new previous: nothing to prune then.)
    for (const auto& entry : fs::directory_iterator(trees, ec)) {
      std::string name = entry.path().filename().string();
      if (previous != revision && name != revision && name != previous) {
        fs::remove_all(entry.path(), ec);
      }
    }
    out.revision = revision;
    out.commit_time = static_cast<std::int64_t>(git_commit_time(commit.get()));
    out.checkout_path = final_path.string();
    return {Result::success(), false};
  }

 private:
  const sdk::SourceRequest& request_;
  const RemoteUrl& url_;
  CallbackState& st_;
  const std::atomic<bool>* stop_;
};

Result validate(const sdk::SourceRequest& request, RemoteUrl& url) {
  if (Result r = parseRemoteUrl(request.url, request.allow_insecure_http, url); !r) {
    return r;
  }
  std::string ref = "refs/heads/" + request.branch;
  int valid = 0;
  if (request.branch.empty() || git_reference_name_is_valid(&valid, ref.c_str()) < 0 || !valid) {
    return Result::failure(ErrorCode::kConfig,
                           "git.branch '" + request.branch + "' is not a valid branch name");
  }
  if (request.local_path.empty()) {
    return Result::failure(ErrorCode::kConfig, "git.local_path is empty");
  }
  if (request.timeout_seconds <= 0) {
    return Result::failure(ErrorCode::kConfig, "git.timeout must be a positive number of seconds");
  }
  if (request.max_size_mb <= 0) {
    return Result::failure(ErrorCode::kConfig, "git.max_size_mb must be positive");
  }
  const auto& auth = request.auth;
  if (auth.type != "" && auth.type != "basic" && auth.type != "token" && auth.type != "ssh") {
    return Result::failure(ErrorCode::kConfig,
                           "git.auth.type '" + auth.type + "' is not one of basic, token, ssh");
  }
  const bool http = url.kind == RemoteUrl::Kind::kHttp || url.kind == RemoteUrl::Kind::kHttps;
  if ((auth.type == "basic" || auth.type == "token") && !http) {
    return Result::failure(ErrorCode::kConfig, "git.auth.type " + auth.type +
                                                   " needs an http(s) git.url, not " + url.text);
  }
  if (auth.type == "basic" && (auth.username.empty() || auth.password.empty())) {
    return Result::failure(ErrorCode::kConfig,
                           "git.auth.type basic needs git.auth.username and git.auth.password");
  }
  if (auth.type == "token" && auth.password.empty()) {
    return Result::failure(ErrorCode::kConfig, "git.auth.type token needs the token");
  }
  if (auth.type == "ssh") {
    if (url.kind != RemoteUrl::Kind::kSsh) {
      return Result::failure(ErrorCode::kConfig,
                             "git.auth.type ssh needs an ssh git.url, not " + url.text);
    }
    std::error_code ec;
    if (auth.key_path.empty() || !fs::is_regular_file(auth.key_path, ec)) {
      return Result::failure(ErrorCode::kConfig, "git.auth.key_path '" + auth.key_path +
                                                     "' is not a readable private key file");
    }
  }
  if (!request.ca_file.empty()) {
    std::error_code ec;
    if (!fs::is_regular_file(request.ca_file, ec)) {
      return Result::failure(ErrorCode::kConfig,
                             "git.ca_file '" + request.ca_file + "' does not exist");
    }
  }
  return Result::success();
}

// Makes sure `root` is a directory we own, creating it if needed; never deletes anything.
Result claimLocalPath(const fs::path& root) {
  std::error_code ec;
  const fs::path marker = root / kMarkerName;
  auto status = fs::symlink_status(root, ec);
  if (ec && ec != std::errc::no_such_file_or_directory) {
    return Result::failure(ErrorCode::kIo, "git.local_path " + root.string() + ": " + ec.message());
  }
  if (fs::exists(status)) {
    if (!fs::is_directory(status)) {
      return Result::failure(ErrorCode::kConfig,
                             "git.local_path " + root.string() +
                                 " exists and is not a directory; it is left untouched: move it "
                                 "away or choose another git.local_path");
    }
    if (fs::exists(marker, ec)) {
      return Result::success();
    }
    if (!fs::is_empty(root, ec)) {
      return Result::failure(ErrorCode::kConfig,
                             "git.local_path " + root.string() +
                                 " exists and is not a clone made by crontopus (no " + kMarkerName +
                                 " file); it is left untouched: move it away or choose another "
                                 "git.local_path");
    }
  } else {
    fs::create_directories(root, ec);
    if (ec) {
      return Result::failure(ErrorCode::kIo,
                             "cannot create git.local_path " + root.string() + ": " + ec.message());
    }
  }
  std::ofstream out(marker);
  out << kMarkerText;
  out.close();
  if (!out) {
    return Result::failure(ErrorCode::kIo, "cannot write " + marker.string());
  }
  return Result::success();
}

void removeLeftovers(const fs::path& root) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(root, ec)) {
    if (entry.path().filename().string().starts_with("repo.new-")) {
      fs::remove_all(entry.path(), ec);
    }
  }
  for (const auto& entry : fs::directory_iterator(root / kTreesDir, ec)) {
    if (entry.path().filename().string().starts_with(".tmp-")) {
      fs::remove_all(entry.path(), ec);
    }
  }
}

// "~/x" as the shell would expand it, for paths copied from the seed's documentation.
std::string expandHome(const std::string& path) {
  const char* home = std::getenv("HOME");
  if (home != nullptr && (path == "~" || path.starts_with("~/"))) {
    return std::string(home) + path.substr(1);
  }
  return path;
}

bool readFile(const std::string& path, std::string& content) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return false;
  }
  std::ostringstream text;
  text << in.rdbuf();
  content = text.str();
  return true;
}

}  // namespace

GitSync::GitSync(Poco::Logger* logger, const std::atomic<bool>* stop_requested)
    : logger_(logger), stop_requested_(stop_requested) {}

void GitSync::watchTree() {
  // The published tree and the one kept beside it, which may share its files.
  std::vector<std::string> roots = {published_path_};
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(fs::path(published_path_).parent_path(), ec)) {
    if (entry.path().string() != published_path_ && entry.is_directory(ec)) {
      roots.push_back(entry.path().string());
    }
  }
  if (watch_disabled_) {
    watch_.reset();
    return;
  }
  if (!watch_.watch(roots) && logger_ != nullptr) {
    logger_->debug(
        "git: cannot watch %s for local edits (inotify unavailable or at its limits); each "
        "poll compares it with its commit instead",
        published_path_);
  }
}

void GitSync::adoptPublishedTree(git_repository* repo, const std::string& root_text) {
  // The tree an earlier process published, taken on trust only once checked (see
  // publishedTreeIntact), so that a restart or a one-shot `apply` does not rewrite every
  // manifest. Watched from now on, before it is checked.
  const fs::path root(root_text);
  const fs::path link = readLinkTarget((root / kCurrentLink).string());
  const std::string revision = link.filename().string();
  git_oid id;
  git_commit* raw_commit = nullptr;
  if (link != fs::path(kTreesDir) / revision || git_oid_fromstr(&id, revision.c_str()) < 0 ||
      oidText(id) != revision || git_commit_lookup(&raw_commit, repo, &id) < 0) {
    return;
  }
  CommitPtr commit(raw_commit);
  published_revision_ = revision;
  published_path_ = (root / kTreesDir / revision).string();
  published_time_ = static_cast<std::int64_t>(git_commit_time(commit.get()));
  published_checked_ = false;
  watchTree();
}

bool GitSync::publishedTreeIntact(git_repository* repo) {
  // The watch vouches for a tree this object built or checked; anything else (an adopted tree,
  // or no watch at all: no inotify, or its limits reached) is compared with its commit, file by
  // file, which costs about as much as reading the manifests once.
  const TreeWatch::State state = watch_.poll();
  if (state == TreeWatch::State::kChanged) {
    return false;
  }
  if (state == TreeWatch::State::kUnchanged && published_checked_) {
    return true;
  }
  git_oid id;
  git_commit* raw_commit = nullptr;
  if (git_oid_fromstr(&id, published_revision_.c_str()) < 0 ||
      git_commit_lookup(&raw_commit, repo, &id) < 0) {
    return false;
  }
  CommitPtr commit(raw_commit);
  git_tree* raw_tree = nullptr;
  if (git_commit_tree(&raw_tree, commit.get()) < 0) {
    return false;
  }
  TreePtr tree(raw_tree);
  published_checked_ = treeMatches(repo, tree.get(), published_path_);
  if (!published_checked_ && logger_ != nullptr) {
    logger_->information("git: %s differs from commit %s; writing it again", published_path_,
                         published_revision_);
  }
  return published_checked_;
}

Result GitSync::sync(const sdk::SourceRequest& request, sdk::SyncResult& out) {
  try {
    return syncImpl(request, out);
  } catch (const std::exception& e) {
    return Result::failure(ErrorCode::kInternal, std::string("git: unexpected error: ") + e.what());
  }
}

Result GitSync::syncImpl(const sdk::SourceRequest& original, sdk::SyncResult& out) {
  out = sdk::SyncResult{};
  sdk::SourceRequest request = original;
  for (std::string* path :
       {&request.local_path, &request.ca_file, &request.auth.key_path, &request.auth.known_hosts}) {
    *path = expandHome(*path);
  }
  RemoteUrl url;
  if (Result r = validate(request, url); !r) {
    return r;
  }
  std::error_code ec;
  const fs::path root = fs::absolute(request.local_path, ec).lexically_normal();
  if (Result r = claimLocalPath(root); !r) {
    return r;
  }
  FileLock lock;
  if (std::string why = lock.acquire(
          (root / ".lock").string(),
          std::chrono::steady_clock::now() + std::chrono::seconds(request.timeout_seconds));
      !why.empty()) {
    return Result::failure(ErrorCode::kConflict, "git: " + why);
  }
  removeLeftovers(root);

  CallbackState st;
  st.request = &request;
  st.url = &url;
  st.max_bytes = static_cast<std::uint64_t>(request.max_size_mb) * 1024 * 1024;
  if (url.kind == RemoteUrl::Kind::kSsh) {
    const char* home = std::getenv("HOME");
    st.known_hosts_path = !request.auth.known_hosts.empty() ? request.auth.known_hosts
                          : home != nullptr ? std::string(home) + "/.ssh/known_hosts"
                                            : "~/.ssh/known_hosts";
    st.known_hosts_readable = readFile(st.known_hosts_path, st.known_hosts);
  }
  std::unique_lock<std::mutex> tls_lock;
  if (url.kind == RemoteUrl::Kind::kHttps) {
    tls_lock = std::unique_lock(tlsMutex());
    if (std::string why = useCaFile(request.ca_file); !why.empty()) {
      return Result::failure(ErrorCode::kConfig,
                             "git.ca_file '" + request.ca_file + "' cannot be used: " + why);
    }
  } else {
    std::lock_guard lock(tlsMutex());
    releaseTrustStore((root / kEmptyDir).string());
  }

  Syncer syncer(request, url, st, stop_requested_);
  const fs::path repo_path = root / kRepoDir;
  bool reclone = !fs::exists(repo_path / "HEAD", ec);
  std::string previous_head;

  if (!reclone) {
    git_repository* raw = nullptr;
    if (git_repository_open_bare(&raw, repo_path.string().c_str()) < 0) {
      if (logger_ != nullptr) {
        logger_->warning("git: repository %s cannot be opened (%s); cloning it again",
                         repo_path.string(), lastGitErrorMessage());
      }
      reclone = true;
    } else {
      RepositoryPtr repo(raw);
      if (std::string why = useEmptyConfig(repo.get()); !why.empty()) {
        return Result::failure(ErrorCode::kIo,
                               "git: cannot set up " + repo_path.string() + ": " + why);
      }
      git_oid local;
      if (git_reference_name_to_id(&local, repo.get(), syncer.trackingRef().c_str()) == 0) {
        previous_head = oidText(local);
      }
      RemotePtr remote;
      git_oid head;
      if (Result r = syncer.connect(repo.get(), remote, head); !r) {
        syncer.close(remote);
        return r;
      }
      const std::string revision = oidText(head);
      if (published_revision_.empty()) {
        adoptPublishedTree(repo.get(), root.string());
      }
      // An intact published tree is kept when the head did not move, and its unchanged files
      // are hard-linked into the next tree when it did.
      const bool tree_intact = !published_revision_.empty() &&
                               fs::path(published_path_).parent_path() == root / kTreesDir &&
                               fs::is_directory(published_path_, ec) &&
                               publishedTreeIntact(repo.get());
      if (revision == previous_head && revision == published_revision_ && tree_intact) {
        syncer.close(remote);
        out.revision = revision;
        out.commit_time = published_time_;
        out.changed = false;
        out.checkout_path = published_path_;
        return Result::success();
      }
      Attempt attempt{Result::success(), false};
      git_odb* raw_odb = nullptr;
      bool have_commit = false;
      if (git_repository_odb(&raw_odb, repo.get()) == 0) {
        OdbPtr odb(raw_odb);
        have_commit = git_odb_exists(odb.get(), &head) == 1;
      }
      if (have_commit) {
        syncer.close(remote);
        attempt = syncer.setTrackingRef(repo.get(), head);
      } else {
        attempt = syncer.fetch(repo.get(), remote.get(), head);
        syncer.close(remote);
      }
      if (attempt.result) {
        const bool reuse = tree_intact;
        attempt =
            syncer.publish(repo.get(), head, root, out, reuse ? published_revision_ : std::string(),
                           reuse ? fs::path(published_path_) : fs::path());
      }
      if (attempt.result) {
        out.changed = revision != previous_head;
        published_revision_ = out.revision;
        published_checked_ = true;
        published_path_ = out.checkout_path;
        published_time_ = out.commit_time;
        watchTree();
        if (logger_ != nullptr && out.changed) {
          logger_->information("git: %s %s is now at %s", url.text, request.branch, revision);
        }
        return Result::success();
      }
      if (!attempt.corrupt) {
        return attempt.result;
      }
      if (logger_ != nullptr) {
        logger_->warning("git: the clone in %s is damaged (%s); cloning it again",
                         repo_path.string(), attempt.result.message());
      }
      reclone = true;
    }
  }

  // Fresh clone into repo.new-*, then exchanged with repo/ so that repo/ is always complete.
  const fs::path fresh = root / ("repo.new-" + randomSuffix());
  git_repository* raw = nullptr;
  if (git_repository_init(&raw, fresh.string().c_str(), 1) < 0) {
    return Result::failure(ErrorCode::kIo, "git: cannot create a repository in " + fresh.string() +
                                               ": " + lastGitErrorMessage());
  }
  RepositoryPtr repo(raw);
  if (std::string why = useEmptyConfig(repo.get()); !why.empty()) {
    repo.reset();
    fs::remove_all(fresh, ec);
    return Result::failure(ErrorCode::kIo, "git: cannot set up " + fresh.string() + ": " + why);
  }
  RemotePtr remote;
  git_oid head;
  st.secrets_offered = 0;  // a new connection: one credential offer again
  if (Result r = syncer.connect(repo.get(), remote, head); !r) {
    syncer.close(remote);
    repo.reset();
    fs::remove_all(fresh, ec);
    return r;
  }
  Attempt attempt = syncer.fetch(repo.get(), remote.get(), head);
  syncer.close(remote);
  repo.reset();
  if (!attempt.result) {
    fs::remove_all(fresh, ec);
    return attempt.result;
  }
  if (std::string why = swapDirectoryInto(fresh.string(), repo_path.string()); !why.empty()) {
    fs::remove_all(fresh, ec);
    return Result::failure(ErrorCode::kIo, "git: " + why);
  }
  fs::remove_all(fresh, ec);  // the damaged repository, if there was one
  raw = nullptr;
  if (git_repository_open_bare(&raw, repo_path.string().c_str()) < 0) {
    return Result::failure(ErrorCode::kIo, "git: cannot open the new clone " + repo_path.string() +
                                               ": " + lastGitErrorMessage());
  }
  repo.reset(raw);
  if (std::string why = useEmptyConfig(repo.get()); !why.empty()) {
    return Result::failure(ErrorCode::kIo, "git: cannot set up " + repo_path.string() + ": " + why);
  }
  attempt = syncer.publish(repo.get(), head, root, out);
  if (!attempt.result) {
    return attempt.result;
  }
  out.changed = out.revision != previous_head;
  published_revision_ = out.revision;
  published_checked_ = true;
  published_path_ = out.checkout_path;
  published_time_ = out.commit_time;
  watchTree();
  if (logger_ != nullptr) {
    logger_->information("git: cloned %s %s at %s into %s", url.text, request.branch, out.revision,
                         root.string());
  }
  return Result::success();
}

}  // namespace crontopus::plugins::git
