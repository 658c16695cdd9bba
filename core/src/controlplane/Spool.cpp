#include "controlplane/Spool.h"

#include <dirent.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include <Poco/Exception.h>

#include "platform/Files.h"
#include "platform/Platform.h"

namespace crontopus::core::controlplane {

namespace {

constexpr std::size_t kMaxFile = 1024 * 1024;

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
  const std::chrono::sys_days date = std::chrono::year_month_day(
      std::chrono::year(year), std::chrono::month(static_cast<unsigned>(month)),
      std::chrono::day(static_cast<unsigned>(day)));
  const auto seconds = date.time_since_epoch() + std::chrono::hours(hour) +
                       std::chrono::minutes(minute) + std::chrono::seconds(second);
  return std::chrono::duration_cast<std::chrono::seconds>(seconds).count() * 1000000 + micros;
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
  const std::chrono::sys_time<std::chrono::microseconds> stamp{std::chrono::microseconds(micros)};
  const auto day = std::chrono::floor<std::chrono::days>(stamp);
  const std::chrono::year_month_day date(day);
  const std::chrono::hh_mm_ss time(std::chrono::floor<std::chrono::seconds>(stamp - day));
  char name[96];
  std::snprintf(name, sizeof name, "%04d%02u%02uT%02d%02d%02lld.%06lldZ-%010ld-%04u.json",
                static_cast<int>(date.year()), static_cast<unsigned>(date.month()),
                static_cast<unsigned>(date.day()), static_cast<int>(time.hours().count()),
                static_cast<int>(time.minutes().count()),
                static_cast<long long>(time.seconds().count()),
                static_cast<long long>(micros % 1000000), static_cast<long>(platform::processId()),
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
  std::string text;
  std::string error;
  switch (platform::readRegularFile(path, kMaxFile, text, error)) {
    case platform::ReadStatus::kMissing:
      throw Poco::FileNotFoundException("spooled check-in " + path);
    case platform::ReadStatus::kRefused:
      throw Poco::DataFormatException(path + " is not a regular file of at most 1 MB (" + error +
                                      ")");
    case platform::ReadStatus::kOk:
      break;
  }
  return text;
}

bool Spool::remove(const std::string& name) const {
  const auto as_owner = asOwner();
  const std::string path = dir_ + "/" + name;
  std::error_code ec;
  if (std::filesystem::remove(path, ec))
    return true;
  if (!ec)
    return false;  // it was not there
  throw Poco::FileException("cannot remove the delivered check-in " + path + ": " + ec.message());
}

void Spool::removeStaleTemporaries(int max_age_seconds) const {
  const auto as_owner = asOwner();
  Directory dir(dir_);
  if (dir.get() == nullptr)
    return;
  while (const dirent* entry = readdir(dir.get())) {
    const std::string name = entry->d_name;
    if (name.size() < 2 || name[0] != '.' || name.find(".tmp") == std::string::npos)
      continue;
    const std::string path = dir_ + "/" + name;
    std::error_code ec;
    const auto modified = std::filesystem::last_write_time(path, ec);
    if (!ec && std::filesystem::file_time_type::clock::now() - modified >
                   std::chrono::seconds(max_age_seconds))
      std::filesystem::remove(path, ec);
  }
}

}  // namespace crontopus::core::controlplane
