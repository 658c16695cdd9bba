#include "platform/Platform.h"

#include <pwd.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#if defined(__linux__)
#include <sys/fsuid.h>
#endif
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <vector>

#if defined(__APPLE__)
#include <mach-o/dyld.h>
#endif

#include <Poco/Exception.h>
#include <Poco/String.h>

namespace crontopus::core::platform {

void initializeProcess() {
#if defined(__GLIBC__)
  // The daemon's cycles run on a worker thread, so with glibc's default they allocate from a
  // thread arena, whose free top malloc_trim() does not give back: hundreds of KiB an idle
  // agent kept. One arena (the main one, which malloc_trim() trims) costs nothing measurable
  // here: the agent's threads are few and mostly idle.
  mallopt(M_ARENA_MAX, 1);
#endif
}

void setRunningAsService(bool) {}

std::string defaultConfigFile() {
  if (isPrivileged())
    return "/etc/crontopus/config.yaml";
  return homeDirectory() + "/.crontopus/config.yaml";
}

std::string defaultStateDirectory() {
  return homeDirectory() + "/.crontopus";
}

std::map<std::string, std::string> baseJobEnvironment(std::string& home) {
  const struct passwd* pw = getpwuid(geteuid());
  const std::string user = pw != nullptr ? pw->pw_name : std::to_string(geteuid());
  home = pw != nullptr && pw->pw_dir != nullptr ? pw->pw_dir : "/";
  return {{"HOME", home},
          {"LOGNAME", user},
          {"USER", user},
          {"SHELL", "/bin/sh"},
          {"PATH", "/usr/local/bin:/usr/bin:/bin"}};
}

std::string platformName() {
  struct utsname u {};
  if (uname(&u) == 0) {
    std::string sys = Poco::toLower(std::string(u.sysname));
    if (sys == "darwin")
      return "darwin";
  }
  return "linux";
}

std::string executableName(const std::string& name) {
  return name;
}

int execProgram(const std::string& path, const std::vector<std::string>& args, std::string& error) {
  std::vector<char*> argv;
  for (const auto& a : args)
    argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  execv(path.c_str(), argv.data());
  error = std::strerror(errno);
  return 127;
}

std::string executablePath() {
#if defined(__APPLE__)
  uint32_t size = 0;
  _NSGetExecutablePath(nullptr, &size);
  std::vector<char> buf(size + 1, '\0');
  if (_NSGetExecutablePath(buf.data(), &size) != 0) {
    throw Poco::SystemException("cannot determine the agent's executable path");
  }
  std::vector<char> real(PATH_MAX + 1, '\0');
  if (realpath(buf.data(), real.data()) == nullptr)
    return std::string(buf.data());
  return std::string(real.data());
#else
  std::vector<char> buf(PATH_MAX + 1, '\0');
  ssize_t n = readlink("/proc/self/exe", buf.data(), PATH_MAX);
  if (n <= 0) {
    throw Poco::SystemException(std::string("cannot read /proc/self/exe: ") + std::strerror(errno));
  }
  return std::string(buf.data(), static_cast<size_t>(n));
#endif
}

namespace {
const struct passwd* currentPasswd() {
  return getpwuid(geteuid());
}
}  // namespace

std::string homeDirectory() {
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0')
    return home;
  if (const struct passwd* pw = currentPasswd(); pw != nullptr && pw->pw_dir != nullptr) {
    return pw->pw_dir;
  }
  throw Poco::SystemException("cannot determine the home directory: HOME is unset");
}

std::string currentUserName() {
  if (const struct passwd* pw = currentPasswd(); pw != nullptr && pw->pw_name != nullptr) {
    return pw->pw_name;
  }
  return std::to_string(geteuid());
}

bool isPrivileged() {
  return geteuid() == 0;
}

long processId() {
  return static_cast<long>(getpid());
}

std::string hostName() {
  std::vector<char> buf(256, '\0');
  if (gethostname(buf.data(), buf.size() - 1) != 0)
    return "localhost";
  return std::string(buf.data());
}

std::string rawMachineId() {
  for (const char* path : {"/etc/machine-id", "/var/lib/dbus/machine-id"}) {
    std::ifstream in(path);
    std::string id;
    if (in && std::getline(in, id)) {
      Poco::trimInPlace(id);
      if (!id.empty())
        return id;
    }
  }
  return {};
}

std::string unsafePermissions(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0)
    return std::string("cannot stat: ") + std::strerror(errno);
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    return "writable by group or others (mode " +
           [&] {
             char m[8];
             std::snprintf(m, sizeof m, "%04o", static_cast<unsigned>(st.st_mode & 07777));
             return std::string(m);
           }() +
           "); fix with: chmod go-w '" + path + "'";
  }
  if (st.st_uid != 0 && st.st_uid != geteuid()) {
    return "owned by uid " + std::to_string(st.st_uid) +
           ", neither root nor the agent's user; fix with: chown " + std::to_string(geteuid()) +
           " '" + path + "'";
  }
  return {};
}

std::string homeDirectoryOf(const std::string& user) {
  const struct passwd* pw = getpwnam(user.c_str());
  if (pw == nullptr || pw->pw_dir == nullptr) {
    throw Poco::NotFoundException("no user \"" + user + "\" in the password database");
  }
  return pw->pw_dir;
}

void releaseFreeMemory() {
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
}

void changeOwner(const std::string& path, const std::string& user) {
  const struct passwd* pw = getpwnam(user.c_str());
  if (pw == nullptr)
    throw Poco::NotFoundException("no user \"" + user + "\" in the password database");
  if (chown(path.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
    throw Poco::SystemException("cannot give " + path + " to " + user + ": " +
                                std::strerror(errno));
  }
}

FileIdentity::FileIdentity(const std::string& user) {
  const struct passwd* pw = getpwnam(user.c_str());
  if (pw == nullptr)
    throw Poco::NotFoundException("no user \"" + user + "\" in the password database");
  const uid_t uid = pw->pw_uid;
  const gid_t gid = pw->pw_gid;
#if defined(__linux__)
  // setfsuid/setfsgid return the previous value and report no error: a second call with the
  // same value returns the current one, which tells whether the first took effect.
  previous_gid_ = static_cast<unsigned>(setfsgid(gid));
  if (static_cast<gid_t>(setfsgid(gid)) != gid) {
    setfsgid(static_cast<gid_t>(previous_gid_));
    throw Poco::SystemException("cannot take the group of " + user + " for file access");
  }
  previous_uid_ = static_cast<unsigned>(setfsuid(uid));
  if (static_cast<uid_t>(setfsuid(uid)) != uid) {
    setfsuid(static_cast<uid_t>(previous_uid_));
    setfsgid(static_cast<gid_t>(previous_gid_));
    throw Poco::SystemException("cannot take the identity of " + user + " for file access");
  }
#else
  previous_gid_ = getegid();
  previous_uid_ = geteuid();
  if (setegid(gid) != 0) {
    throw Poco::SystemException("cannot take the group of " + user + ": " + std::strerror(errno));
  }
  if (seteuid(uid) != 0) {
    const int saved = errno;
    (void)!setegid(static_cast<gid_t>(previous_gid_));
    throw Poco::SystemException("cannot take the identity of " + user + ": " +
                                std::strerror(saved));
  }
#endif
}

FileIdentity::~FileIdentity() {
#if defined(__linux__)
  setfsuid(static_cast<uid_t>(previous_uid_));
  setfsgid(static_cast<gid_t>(previous_gid_));
#else
  // Nothing to do about a failure here; a destructor must not throw.
  (void)!seteuid(static_cast<uid_t>(previous_uid_));
  (void)!setegid(static_cast<gid_t>(previous_gid_));
#endif
}

}  // namespace crontopus::core::platform
