#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "crontopus/sdk/Job.h"

namespace crontopus::core {

// One problem found in a manifest tree. Errors and warnings share the shape.
struct ManifestDiagnostic {
  std::string file;   // relative to the tree root, '/'-separated; "" = the root itself
  int line = 0;       // 1-based; 0 when unknown
  int column = 0;     // 1-based; 0 when unknown
  std::string field;  // field path such as "spec.schedule", "spec.env.FOO", "spec.args[1]";
                      // "" when the problem is the file as a whole
  std::string message;
};

// Who this agent is, for `spec.agent.selector`: "hostname" and "name" match the first two
// members, every other selector key matches `labels`.
struct AgentIdentity {
  std::string hostname;
  std::string name;
  std::map<std::string, std::string> labels;
};

// Looks up an environment variable for `${VAR}` in `checkin.secret`; nullopt = not set.
// parseTree calls it from its worker threads concurrently, so it must be thread-safe (getenv and
// lookups in a map that nobody modifies meanwhile are).
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;

struct ManifestParseOptions {
  // nullopt: every job matches its selector (`validate` has no agent identity).
  std::optional<AgentIdentity> agent;
  // Empty: the process environment. Tests inject a map.
  EnvLookup env;
  // The agent treats a missing `${VAR}` as an error for that job (the spec). `validate` runs in
  // the manifest repository's CI where the agent's environment is unknown, so it sets this to
  // false and the missing variable becomes a warning; the job then carries an empty secret.
  bool missing_env_is_error = true;
};

// The result of reading a manifest tree (one checkout revision).
//
// How the reconciler must use it (job-manifest-v1, "Validation and failure isolation"):
//  - `jobs` is the desired set for this agent, keyed by identity "<namespace>/<name>". It holds
//    only valid jobs whose selector matches the agent. Jobs with `enabled: false` ARE included
//    (Job::enabled == false) so that the reconciler can remove their entries and report them;
//    paused jobs are included with Job::paused == true.
//  - Never remove or change an installed job whose identity is in `held_identities` (its file
//    failed, or its identity is claimed by two files), nor one whose recorded source file is in
//    `failed_files` (covers files so broken that no identity could be read).
//  - Remove an installed job whose identity is absent from `jobs` (and not held) only when
//    `tree_complete` is true. When it is false (a directory could not be listed, the root is
//    missing), apply additions/updates from `jobs` but remove nothing.
//  - `unselected` lists identities of valid jobs whose selector does not match this agent: they
//    are not desired here (remove them if installed), and they are not errors.
struct ManifestSet {
  std::map<std::string, sdk::Job> jobs;
  std::vector<ManifestDiagnostic> errors;
  std::vector<ManifestDiagnostic> warnings;
  std::set<std::string> failed_files;                       // relative paths
  std::map<std::string, std::string> failed_file_identity;  // failed file -> identity, when known
  std::set<std::string> held_identities;  // failed files' identities + duplicated identities
  std::set<std::string> unselected;       // valid jobs whose selector excludes this agent
  std::size_t files_read = 0;             // manifest files considered (*.yaml / *.yml)
  bool tree_complete = true;
};

// Reads job-manifest-v1 files: a checkout tree, one file, or an in-memory buffer.
//
// Per-file problems are data (ManifestSet::errors), never exceptions: one bad file never affects
// the others. The parser holds no state between calls and may be used from several threads.
// parseTree itself reads and parses files on up to 4 worker threads (results keep sorted path
// order); only std::bad_alloc-like failures escape, rethrown on the calling thread.
//
// Files read: every *.yaml / *.yml below the root, in sorted path order. Skipped silently:
// directories AND files whose name starts with '.' (the spec names dot-directories; dot-files
// are skipped too so that a repository's own `.gitlab-ci.yml` or `.pre-commit-config.yaml` is
// not taken for a job; the control plane never writes such names, since job names cannot start
// with '.'), and every other extension.
// Symlinks: a symlinked manifest file is read only when its fully resolved target is a regular
// file inside the root; otherwise it is an error naming the file. Symlinked directories are
// never descended into (no cycles, no double counting); each one gets a warning.
// Limits: files over 1 MiB, more than one YAML document, duplicate mapping keys, more than
// YamlTree::kMaxNodes nodes after alias expansion, nesting deeper than YamlTree::kMaxDepth.
class ManifestParser {
 public:
  static constexpr std::size_t kMaxFileBytes = 1024 * 1024;

  explicit ManifestParser(ManifestParseOptions options = {});

  // Reads the whole tree below `root`. tree_complete is false when `root` or any directory below
  // it could not be listed (with an error naming it).
  ManifestSet parseTree(const std::filesystem::path& root) const;

  // Reads one file (for `render FILE.yaml`). The namespace is taken as the agent would if the
  // file lies inside a Git work tree (nearest ancestor holding `.git`): the first directory
  // below that root, or `default`. Outside a work tree it is the parent directory's name as given
  // in `file` ("default" when `file` has no directory part).
  ManifestSet parseFile(const std::filesystem::path& file) const;

  // Parses `content` as if it were the file at `relative_path` below a tree root (the namespace
  // comes from its first directory component). Used by the fuzzer and by tests.
  ManifestSet parseBuffer(std::string_view content, const std::string& relative_path) const;

 private:
  class Collector;

  ManifestParseOptions options_;
};

// Whether `value` matches the name (and namespace) rule: ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$, <= 63.
bool isValidJobName(std::string_view value);

}  // namespace crontopus::core
