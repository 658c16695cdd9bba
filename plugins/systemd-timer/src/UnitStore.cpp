#include "UnitStore.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "UnitFiles.h"

namespace crontopus::plugins::systemd_timer {

using sdk::ErrorCode;
using sdk::Result;

namespace {

std::string errnoText(int error) {
  return std::strerror(error);
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_;
};

bool hasSuffix(const std::string& name, std::string_view suffix) {
  return name.size() > suffix.size() &&
         std::string_view(name).substr(name.size() - suffix.size()) == suffix;
}

Result readAll(const std::string& path, std::string& out) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    return Result::failure(ErrorCode::kIo, "cannot read " + path + ": " + errnoText(errno));
  }
  out.clear();
  char buffer[8192];
  while (true) {
    ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return Result::failure(ErrorCode::kIo, "cannot read " + path + ": " + errnoText(errno));
    }
    if (n == 0) {
      break;
    }
    out.append(buffer, static_cast<std::size_t>(n));
  }
  return Result::success();
}

Result makeDirs(const std::string& dir) {
  std::string path;
  std::size_t pos = 0;
  while (pos != std::string::npos) {
    pos = dir.find('/', pos + 1);
    path = dir.substr(0, pos);
    if (path.empty()) {
      continue;
    }
    if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) {
      return Result::failure(ErrorCode::kIo,
                             "cannot create unit directory " + path + ": " + errnoText(errno));
    }
  }
  return Result::success();
}

}  // namespace

Result UnitStore::scan(std::vector<OwnedFile>& out) const {
  out.clear();
  DIR* dir = ::opendir(dir_.c_str());
  if (dir == nullptr) {
    if (errno == ENOENT) {
      return Result::success();
    }
    return Result::failure(ErrorCode::kIo,
                           "cannot list unit directory " + dir_ + ": " + errnoText(errno));
  }
  std::vector<std::string> names;
  errno = 0;
  while (dirent* entry = ::readdir(dir)) {
    std::string name = entry->d_name;
    if (name.front() != '.' && (hasSuffix(name, ".service") || hasSuffix(name, ".timer"))) {
      names.push_back(std::move(name));
    }
  }
  const int read_error = errno;
  ::closedir(dir);
  if (read_error != 0) {
    return Result::failure(ErrorCode::kIo,
                           "cannot list unit directory " + dir_ + ": " + errnoText(read_error));
  }
  std::sort(names.begin(), names.end());
  for (const auto& name : names) {
    const std::string path = dir_ + "/" + name;
    struct stat st {};
    // Links (aliases, masks, units linked in from elsewhere) are never ours.
    if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
      continue;
    }
    std::string content;
    if (Result r = readAll(path, content); !r) {
      return r;
    }
    if (auto identity = markerIdentity(content)) {
      out.push_back(OwnedFile{name, *identity, std::move(content)});
    }
  }
  return Result::success();
}

Result UnitStore::read(const std::string& name, std::optional<std::string>& out) const {
  out.reset();
  const std::string path = dir_ + "/" + name;
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) {
      return Result::success();
    }
    return Result::failure(ErrorCode::kIo, "cannot inspect " + path + ": " + errnoText(errno));
  }
  if (!S_ISREG(st.st_mode)) {
    out = std::string();  // exists but is not a regular file: certainly not ours
    return Result::success();
  }
  std::string content;
  if (Result r = readAll(path, content); !r) {
    return r;
  }
  out = std::move(content);
  return Result::success();
}

bool UnitStore::isEnabled(const std::string& timer) const {
  struct stat st {};
  return ::lstat((dir_ + "/timers.target.wants/" + timer).c_str(), &st) == 0;
}

Result UnitStore::writeAtomic(const std::string& name, const std::string& content) const {
  if (Result r = makeDirs(dir_); !r) {
    return r;
  }
  const std::string path = dir_ + "/" + name;
  // One fixed temporary name per unit (one agent writes a unit directory, under its state lock):
  // what an agent killed mid-write left there is replaced by the next write of that unit rather
  // than piling up. Removed first and created anew, so a link planted there is never followed.
  const std::string temp = dir_ + "/." + name + ".crontopus-tmp";
  if (::unlink(temp.c_str()) != 0 && errno != ENOENT) {
    return Result::failure(ErrorCode::kIo, "cannot remove " + temp + ": " + errnoText(errno));
  }
  Fd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (fd.get() < 0) {
    return Result::failure(ErrorCode::kIo,
                           "cannot create a temporary file in " + dir_ + ": " + errnoText(errno));
  }
  auto fail = [&](const std::string& what) {
    const int error = errno;
    ::unlink(temp.c_str());
    return Result::failure(ErrorCode::kIo, what + " " + temp + ": " + errnoText(error));
  };
  std::size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd.get(), content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return fail("cannot write");
    }
    done += static_cast<std::size_t>(n);
  }
  // Unit files are world-readable like every unit systemctl itself writes.
  if (::fchmod(fd.get(), 0644) != 0) {
    return fail("cannot chmod");
  }
  if (::fsync(fd.get()) != 0) {
    return fail("cannot fsync");
  }
  if (::close(fd.release()) != 0) {
    return fail("cannot close");
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    return fail("cannot rename to " + path + ":");
  }
  Fd dir_fd(::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir_fd.get() < 0 || ::fsync(dir_fd.get()) != 0) {
    return Result::failure(ErrorCode::kIo,
                           "cannot fsync directory " + dir_ + ": " + errnoText(errno));
  }
  return Result::success();
}

Result UnitStore::remove(const std::string& name) const {
  const std::string path = dir_ + "/" + name;
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return Result::failure(ErrorCode::kIo, "cannot remove " + path + ": " + errnoText(errno));
  }
  return Result::success();
}

}  // namespace crontopus::plugins::systemd_timer
