#include "TreeWatch.h"

#include <unistd.h>

#include <cerrno>
#include <filesystem>

#if defined(__linux__)
#include <sys/inotify.h>
#endif

namespace crontopus::plugins::git {

TreeWatch::~TreeWatch() {
  reset();
}

void TreeWatch::reset() {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

#if defined(__linux__)

bool TreeWatch::watch(const std::vector<std::string>& roots) {
  reset();
  fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd_ < 0) {
    return false;
  }
  // Reads (IN_ACCESS, IN_OPEN) are not events: only what changes the tree.
  const uint32_t mask = IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_CREATE | IN_DELETE |
                        IN_DELETE_SELF | IN_MOVED_FROM | IN_MOVED_TO | IN_MOVE_SELF;
  auto add = [&](const std::filesystem::path& dir) {
    return ::inotify_add_watch(fd_, dir.c_str(), mask | IN_ONLYDIR | IN_DONT_FOLLOW) >= 0;
  };
  std::error_code ec;
  bool ok = true;
  for (const std::string& root : roots) {
    ok = ok && add(root);
    for (auto it = std::filesystem::recursive_directory_iterator(root, ec);
         ok && !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      if (it->is_directory(ec) && !it->is_symlink(ec)) {
        ok = add(it->path());
      }
    }
  }
  if (!ok || ec) {
    reset();  // e.g. fs.inotify.max_user_watches reached
    return false;
  }
  return true;
}

TreeWatch::State TreeWatch::poll() {
  if (fd_ < 0) {
    return State::kUnknown;
  }
  alignas(inotify_event) char buffer[4096];
  ssize_t n = ::read(fd_, buffer, sizeof(buffer));
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
    return State::kUnchanged;
  }
  return State::kChanged;  // events, an overflow, or a read error: do not trust the tree
}

#else

bool TreeWatch::watch(const std::vector<std::string>& roots) {
  (void)roots;
  reset();
  return false;
}

TreeWatch::State TreeWatch::poll() {
  return State::kUnknown;
}

#endif

}  // namespace crontopus::plugins::git
