#include "platform/Files.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include <Poco/Exception.h>

namespace crontopus::core::platform {

namespace {

[[noreturn]] void fail(const std::string& what, const std::string& path) {
  throw Poco::FileException(what + " " + path + ": " + std::strerror(errno));
}

}  // namespace

void makeDirectories(const std::string& path, unsigned mode) {
  // The whole path first: it usually exists, or only its last part is missing.
  if (mkdir(path.c_str(), mode) == 0 || errno == EEXIST)
    return;
  if (errno != ENOENT)
    fail("cannot create directory", path);
  std::filesystem::path p(path);
  std::filesystem::path current;
  for (const auto& part : p) {
    current /= part;
    if (current.empty() || current == current.root_path())
      continue;
    if (mkdir(current.c_str(), mode) != 0 && errno != EEXIST)
      fail("cannot create directory", current.string());
  }
}

namespace {

// Writes `content` to the new file `fd` (named `name`), gives it exactly `mode` (the umask may
// have narrowed it; never wider than asked), optionally fsyncs, and closes it. On failure the file
// is removed and the error thrown.
void writeNew(int fd, const std::string& name, const std::string& content, unsigned mode,
              bool synced) {
  const auto abandon = [&](const char* what) {
    const int saved = errno;
    close(fd);
    unlink(name.c_str());
    errno = saved;
    fail(what, name);
  };
  const char* data = content.data();
  std::size_t left = content.size();
  while (left > 0) {
    ssize_t n = write(fd, data, left);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      abandon("cannot write");
    }
    data += n;
    left -= static_cast<std::size_t>(n);
  }
  if (fchmod(fd, mode) != 0 || (synced && fsync(fd) != 0))
    abandon("cannot sync");
  if (close(fd) != 0) {
    unlink(name.c_str());
    fail("cannot close", name);
  }
}

}  // namespace

void writeFileAtomic(const std::string& path, const std::string& content, unsigned mode,
                     Durability durability) {
  const bool synced = durability == Durability::kSynced;
  const std::filesystem::path target(path);
  const std::string dir = target.has_parent_path() ? target.parent_path().string() : ".";
  // O_EXCL makes the name safe; the counter only has to make a clash (a temp file a killed
  // process with the same pid left behind) rare, and each clash costs one more try.
  static std::atomic<unsigned> counter{0};
  std::string tmp;
  int fd = -1;
  for (int attempt = 0; fd < 0; ++attempt) {
    tmp = dir + "/." + target.filename().string() + ".tmp" + std::to_string(getpid()) + "-" +
          std::to_string(counter.fetch_add(1, std::memory_order_relaxed));
    fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0 && (errno != EEXIST || attempt >= 100))
      fail("cannot create", tmp);
  }
  writeNew(fd, tmp, content, mode, synced);
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    int saved = errno;
    unlink(tmp.c_str());
    errno = saved;
    fail("cannot replace", path);
  }
  if (!synced)
    return;
  int dfd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    fsync(dfd);
    close(dfd);
  }
}

void writeNewFile(const std::string& path, const std::string& content, unsigned mode) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0)
    fail("cannot create", path);
  writeNew(fd, path, content, mode, false);
}

int removeStaleTemporaries(const std::string& dir) {
  DIR* d = opendir(dir.c_str());
  if (d == nullptr)
    return 0;
  int removed = 0;
  while (dirent* entry = readdir(d)) {
    // ".NAME.tmpPID-N", as writeFileAtomic names them.
    const std::string name = entry->d_name;
    const std::size_t tmp = name.rfind(".tmp");
    if (name.size() < 2 || name[0] != '.' || tmp == std::string::npos || tmp == 0)
      continue;
    const std::size_t dash = name.find('-', tmp + 4);
    if (dash == std::string::npos || dash == tmp + 4 ||
        name.find_first_not_of("0123456789", tmp + 4) != dash ||
        name.find_first_not_of("0123456789", dash + 1) != std::string::npos ||
        dash + 1 == name.size())
      continue;
    const long pid = std::strtol(name.c_str() + tmp + 4, nullptr, 10);
    if (pid <= 0 || (kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH))
      continue;
    struct stat st {};
    if (fstatat(dirfd(d), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
        unlinkat(dirfd(d), entry->d_name, 0) == 0)
      ++removed;
  }
  closedir(d);
  return removed;
}

void syncFileSystem(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    fail("cannot open", path);
#if defined(__linux__)
  const int rc = syncfs(fd);
#else
  const int rc = fsync(fd);
  sync();
#endif
  close(fd);
  if (rc != 0)
    fail("cannot sync the file system of", path);
}

std::string appendToFile(const std::string& path, const std::string& data, unsigned mode) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, mode);
  if (fd < 0)
    return "cannot append to " + path + ": " + std::strerror(errno);
  std::string error;
  if (write(fd, data.data(), data.size()) != static_cast<ssize_t>(data.size()))
    error = "short write to " + path;
  close(fd);
  return error;
}

bool readDenied(const std::string& path) {
  return access(path.c_str(), R_OK) != 0 && errno == EACCES;
}

ReadStatus readRegularFile(const std::string& path, std::size_t max_bytes, std::string& text,
                           std::string& error) {
  const int fd = open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT)
      return ReadStatus::kMissing;
    error = std::string("cannot open: ") + std::strerror(errno);
    return ReadStatus::kRefused;
  }
  struct stat st {};
  text.clear();
  const bool regular = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
                       static_cast<std::size_t>(st.st_size) <= max_bytes;
  if (regular) {
    char buffer[16384];
    ssize_t n = 0;
    while ((n = ::read(fd, buffer, sizeof buffer)) > 0)
      text.append(buffer, static_cast<std::size_t>(n));
  }
  close(fd);
  if (!regular) {
    error = "not a regular file of at most " + std::to_string(max_bytes) + " bytes";
    return ReadStatus::kRefused;
  }
  return ReadStatus::kOk;
}

FileLock::FileLock(std::string path) : path_(std::move(path)) {}

FileLock::~FileLock() {
  if (fd_ >= 0)
    close(fd_);
}

void FileLock::lock() {
  if (fd_ < 0) {
    fd_ = open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ < 0)
      fail("cannot open lock file", path_);
  }
  while (flock(fd_, LOCK_EX) != 0) {
    if (errno != EINTR)
      fail("cannot lock", path_);
  }
}

bool FileLock::tryLock() {
  if (fd_ < 0) {
    fd_ = open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ < 0)
      fail("cannot open lock file", path_);
  }
  if (flock(fd_, LOCK_EX | LOCK_NB) == 0)
    return true;
  if (errno == EWOULDBLOCK)
    return false;
  fail("cannot lock", path_);
}

}  // namespace crontopus::core::platform
