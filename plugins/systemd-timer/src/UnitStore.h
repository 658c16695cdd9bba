#pragma once

#include <optional>
#include <string>
#include <vector>

#include "crontopus/sdk/Result.h"

namespace crontopus::plugins::systemd_timer {

// A unit file carrying our marker.
struct OwnedFile {
  std::string name;      // file name in the unit directory
  std::string identity;  // from the marker line
  std::string content;   // exact bytes
};

// The unit directory on disk (POSIX). Reads every *.service / *.timer regular file to find ours
// (by the marker line) and never opens anything else; callers only change files that carry the
// marker or do not exist yet.
class UnitStore {
 public:
  explicit UnitStore(std::string dir) : dir_(std::move(dir)) {}
  const std::string& dir() const { return dir_; }

  // Our files, sorted by name. A missing directory holds none.
  sdk::Result scan(std::vector<OwnedFile>& out) const;
  // The file's bytes, or nullopt when it does not exist.
  sdk::Result read(const std::string& name, std::optional<std::string>& out) const;
  // Whether `<dir>/timers.target.wants/<timer>` exists (as a link or otherwise): where
  // `systemctl enable` records that the timer starts with timers.target.
  bool isEnabled(const std::string& timer) const;
  // Replaces the file atomically: temp file in the same directory, fsync, rename, fsync dir.
  sdk::Result writeAtomic(const std::string& name, const std::string& content) const;
  sdk::Result remove(const std::string& name) const;

 private:
  std::string dir_;
};

}  // namespace crontopus::plugins::systemd_timer
