#pragma once

// Helpers for the resilience tests: a manifest repository with several prepared revisions, the
// agent as a child process that can be killed at any moment, and readers for what it left.

#include <sys/types.h>

#include <chrono>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace crontopus::tests {

// A repository at `path` on branch main with one commit per element of `revisions` (each a map
// of relative path -> file text, the whole tree of that commit). Returns the commit ids.
std::vector<std::string> makeRevisions(
    const std::string& path, const std::vector<std::map<std::string, std::string>>& revisions);
// Points main at `commit` (the agent sees a new revision on its next sync).
void moveMain(const std::string& repo, const std::string& commit);

// A job manifest (namespace = the first directory of its path).
std::string jobManifest(const std::string& name, const std::string& schedule, bool paused,
                        const std::string& extra_spec = "");

// The agent as a child: `args` after the binary, stdout and stderr appended to `log`, optional
// extra environment. Returns the pid.
pid_t spawnAgent(const std::vector<std::string>& args, const std::string& log,
                 const std::map<std::string, std::string>& env = {});
// Waits for `pid`; returns its exit code, or 128 + signal.
int reap(pid_t pid);
// True while `pid` has not exited (it is not reaped).
bool running(pid_t pid);
// The agent runs in a process group of its own (its pid). After it was killed, the commands it
// had started (`crontab`, `systemctl --root`) may still be finishing their work: waits until no
// process of that group is left (false after `timeout`).
bool awaitProcessGroupGone(pid_t group, std::chrono::seconds timeout);

// Every regular file below `root` (recursively), relative path -> content; symbolic links as
// "-> target". Missing root: empty.
std::map<std::string, std::string> snapshotTree(const std::string& root);

// Every regular file below `root` (recursively; `root` itself when it is a file) whose content
// contains `needle`.
std::vector<std::string> filesContaining(const std::string& root, const std::string& needle);

// A tmpfs of `megabytes` mounted on `path` (created if missing) for one test; unmounted (lazily,
// so a process still inside cannot keep it) when the object goes away. Needs root: throws with
// the reason otherwise.
class TmpfsMount {
 public:
  TmpfsMount(std::string path, int megabytes);
  ~TmpfsMount();
  TmpfsMount(const TmpfsMount&) = delete;
  TmpfsMount& operator=(const TmpfsMount&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// The command lines (NUL replaced by spaces) of every process whose cmdline contains `needle`.
std::vector<std::string> processesWithArgument(const std::string& needle);

}  // namespace crontopus::tests
