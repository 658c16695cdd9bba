#pragma once

#include <chrono>
#include <string>

namespace crontopus::plugins::git {

// An exclusive advisory lock on a file, held while alive: two agent processes (the daemon and a
// `plan` or `apply --once` run) never sync the same local_path at the same time.
class FileLock {
 public:
  FileLock() = default;
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

  // Waits until `deadline`. Returns "" on success, else why the lock was not taken.
  std::string acquire(const std::string& path, std::chrono::steady_clock::time_point deadline);

 private:
  int fd_ = -1;
};

}  // namespace crontopus::plugins::git
