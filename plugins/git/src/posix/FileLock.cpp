#include "FileLock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

namespace crontopus::plugins::git {

FileLock::~FileLock() {
  if (fd_ >= 0) {
    ::close(fd_);  // releases the flock
  }
}

std::string FileLock::acquire(const std::string& path,
                              std::chrono::steady_clock::time_point deadline) {
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd_ < 0) {
    return "cannot open lock file " + path + ": " + std::strerror(errno);
  }
  for (;;) {
    if (::flock(fd_, LOCK_EX | LOCK_NB) == 0) {
      return {};
    }
    if (errno != EWOULDBLOCK && errno != EINTR) {
      return "cannot lock " + path + ": " + std::strerror(errno);
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return "another crontopus process holds " + path + " (it is syncing the same local_path)";
    }
    // flock has no timed wait; a short back-off keeps the wait bounded by the deadline.
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace crontopus::plugins::git
