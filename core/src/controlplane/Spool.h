#pragma once

#include <optional>
#include <string>
#include <vector>

#include "platform/Platform.h"

namespace crontopus::core::controlplane {

// Check-ins waiting for delivery: one file per run in one directory, named
// <UTC time, microseconds>-<pid>-<sequence>.json so that the name order is the order the runs
// finished in (a clock stepped back does not change that: a new name is never earlier than the
// newest one pending). Each file is written atomically with mode 0600 (a reader never sees half a
// check-in) and removed only once the control plane has taken it or proved it never will.
// Files starting with "." are temporary files of writes in progress and are never read.
class Spool {
 public:
  // `owner`: the user whose directory this is, when not the agent's own (cron's `user` option).
  // Every file operation then runs with that user's file-system identity, so a symlink the user
  // planted in their spool can never make the agent read or delete what the user could not.
  explicit Spool(std::string dir, std::string owner = {});

  const std::string& dir() const { return dir_; }

  // Writes one check-in body; creates the directory (0700) if needed. Returns the file's path.
  // Throws Poco::FileException when it cannot be written.
  std::string add(const std::string& body);

  // File names (not paths) of pending check-ins, oldest first.
  std::vector<std::string> pending() const;
  // Whether at least one check-in is pending (stops at the first one found).
  bool hasPending() const;

  std::string read(const std::string& name) const;
  // Removes one delivered check-in; false when it was already gone.
  bool remove(const std::string& name) const;

  // Deletes temporary files left by writers killed before their rename, once they are older
  // than `max_age_seconds` (a writer may still be busy with a young one).
  void removeStaleTemporaries(int max_age_seconds) const;

 private:
  std::optional<platform::FileIdentity> asOwner() const;

  std::string dir_;
  std::string owner_;
};

}  // namespace crontopus::core::controlplane
