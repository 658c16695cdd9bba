#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "crontopus/sdk/Export.h"
#include "crontopus/sdk/Options.h"
#include "crontopus/sdk/PluginContext.h"
#include "crontopus/sdk/Result.h"

namespace crontopus::sdk {

struct SourceAuth {
  std::string type;  // "", "basic", "token" or "ssh"
  std::string username;
  std::string password;  // password or token; a secret: never logged, never in argv or a URL
  std::string key_path;
  std::string passphrase;  // a secret
  std::string known_hosts;
};

// The `git:` section of the agent's configuration, as a source plugin needs it.
struct SourceRequest {
  std::string url;
  std::string branch = "main";
  std::string local_path;
  SourceAuth auth;
  std::string ca_file;
  bool allow_insecure_http = false;
  int timeout_seconds = 60;  // deadline for each network operation
  int max_size_mb = 100;
};

struct SyncResult {
  std::string revision;          // commit id now checked out
  std::int64_t commit_time = 0;  // seconds since the epoch
  bool changed = false;          // false when the remote head had not moved since the last sync
  std::string checkout_path;     // directory holding exactly that revision's tree
};

// A source of manifests (the libgit2 plugin, or third-party ones).
//
// Threading: one call at a time. Errors: no method throws; failures carry an ErrorCode that
// separates auth (kAuth), TLS (kTls), network (kNetwork), missing branch (kNotFound), local
// problems (kIo) and configuration (kConfig). Messages never contain a secret.
class CRONTOPUS_SDK_API SourcePlugin {
 public:
  virtual ~SourcePlugin() = default;
  virtual std::vector<OptionSpec> optionSpecs() const = 0;
  virtual Result configure(const PluginContext& context) = 0;
  // Brings request.local_path to the head of request.branch. The checkout it reports is complete:
  // the parser never sees a half-written tree.
  virtual Result sync(const SourceRequest& request, SyncResult& out) = 0;
};

}  // namespace crontopus::sdk
