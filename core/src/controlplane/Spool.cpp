#include "controlplane/Spool.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <optional>
#include <sstream>

#include <Poco/Exception.h>

#include "platform/Files.h"
#include "platform/Platform.h"

namespace crontopus::core::controlplane {

namespace {

constexpr off_t kMaxFile = 1024 * 1024;

bool isCheckIn(const char* name) {
  const std::size_t len = std::strlen(name);
  return name[0] != '.' && len > 5 && std::strcmp(name + len - 5, ".json") == 0;
}

class Directory {
 public:
  explicit Directory(const std::string& path) : dir_(opendir(path.c_str())) {}
  ~Directory() {
    if (dir_ != nullptr)
      closedir(dir_);
  }
  Directory(const Directory&) = delete;
  Directory& operator=(const Directory&) = delete;
  DIR* get() const { return dir_; }

 private:
  DIR* dir_;
};

// The time a spool name starts with (microseconds since the epoch), if it is one.
std::optional<long long> nameTime(const std::string& name) {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  long long micros = 0;
  if (std::sscanf(name.c_str(), "%4d%2d%2dT%2d%2d%2d.%6lldZ", &year, &month, &day, &hour, &minute,
                  &second, &micros) != 7)
    return std::nullopt;
  std::tm utc{};
  utc.tm_year = year - 1900;
  utc.tm_mon = month - 1;
  utc.tm_mday = day;
  utc.tm_hour = hour;
  utc.tm_min = minute;
  utc.tm_sec = second;
  return static_cast<long long>(timegm(&utc)) * 1000000 + micros;
}

// The newest pending name's time (0 when none).
long long newestTime(const std::string& dir) {
  long long newest = 0;
  Directory d(dir);
  if (d.get() == nullptr)
    return newest;
  while (const dirent* entry = readdir(d.get())) {
    if (isCheckIn(entry->d_name)) {
      if (auto t = nameTime(entry->d_name))
        newest = std::max(newest, *t);
    }
  }
  return newest;
}

}  // namespace

Spool::Spool(std::string dir, std::string owner) : dir_(std::move(dir)), owner_(std::move(owner)) {}

std::optional<platform::FileIdentity> Spool::asOwner() const {
  if (owner_.empty())
    return std::nullopt;
  return std::optional<platform::FileIdentity>(std::in_place, owner_);
}

std::string Spool::add(const std::string& body) {
  const auto as_owner = asOwner();
  static std::atomic<unsigned> sequence{0};
  const auto now = std::chrono::system_clock::now();
  // After the wall clock stepped back, "now" can be earlier than check-ins still waiting: the
  // new one takes the next microsecond after the newest of them, or it would be sent first.
  const long long micros = std::max<long long>(
      std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count(),
      newestTime(dir_) + 1);
  const std::time_t seconds = static_cast<std::time_t>(micros / 1000000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char name[96];
  std::snprintf(name, sizeof name, "%04d%02d%02dT%02d%02d%02d.%06lldZ-%010ld-%04u.json",
                utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min,
                utc.tm_sec, static_cast<long long>(micros % 1000000), static_cast<long>(getpid()),
                sequence++ % 10000);
  platform::makeDirectories(dir_, 0700);
  const std::string path = dir_ + "/" + name;
  platform::writeFileAtomic(path, body, 0600);
  return path;
}

std::vector<std::string> Spool::pending() const {
  const auto as_owner = asOwner();
  std::vector<std::string> names;
  Directory dir(dir_);
  if (dir.get() == nullptr)
    return names;
  while (const dirent* entry = readdir(dir.get())) {
    if (isCheckIn(entry->d_name))
      names.emplace_back(entry->d_name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

bool Spool::hasPending() const {
  const auto as_owner = asOwner();
  Directory dir(dir_);
  if (dir.get() == nullptr)
    return false;
  while (const dirent* entry = readdir(dir.get())) {
    if (isCheckIn(entry->d_name))
      return true;
  }
  return false;
}

std::string Spool::read(const std::string& name) const {
  const auto as_owner = asOwner();
  // A spool may belong to the user the jobs run as: never follow a link planted there.
  const std::string path = dir_ + "/" + name;
  const int fd = open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT)
      throw Poco::FileNotFoundException("spooled check-in " + path);
    throw Poco::DataFormatException("cannot open " + path + ": " + std::strerror(errno));
  }
  struct stat st {};
  std::string text;
  const bool regular = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size <= kMaxFile;
  if (regular) {
    char buffer[16384];
    ssize_t n = 0;
    while ((n = ::read(fd, buffer, sizeof buffer)) > 0)
      text.append(buffer, static_cast<std::size_t>(n));
  }
  close(fd);
  if (!regular)
    throw Poco::DataFormatException(path + " is not a regular file of at most 1 MB");
  return text;
}

bool Spool::remove(const std::string& name) const {
  const auto as_owner = asOwner();
  const std::string path = dir_ + "/" + name;
  if (unlink(path.c_str()) == 0)
    return true;
  if (errno == ENOENT)
    return false;
  throw Poco::FileException("cannot remove the delivered check-in " + path + ": " +
                            std::strerror(errno));
}

void Spool::removeStaleTemporaries(int max_age_seconds) const {
  const auto as_owner = asOwner();
  Directory dir(dir_);
  if (dir.get() == nullptr)
    return;
  const std::time_t now = std::time(nullptr);
  while (const dirent* entry = readdir(dir.get())) {
    const std::string name = entry->d_name;
    if (name.size() < 2 || name[0] != '.' || name.find(".tmp") == std::string::npos)
      continue;
    const std::string path = dir_ + "/" + name;
    struct stat st {};
    if (stat(path.c_str(), &st) == 0 && now - st.st_mtime > max_age_seconds)
      unlink(path.c_str());
  }
}

}  // namespace crontopus::core::controlplane
