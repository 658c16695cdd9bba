#include "AtomicSwap.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

namespace crontopus::plugins::git {

std::string swapDirectoryInto(const std::string& fresh, const std::string& target) {
  if (::rename(fresh.c_str(), target.c_str()) == 0) {
    return {};  // target did not exist (or was an empty directory)
  }
  if (errno != ENOTEMPTY && errno != EEXIST) {
    return "cannot rename " + fresh + " to " + target + ": " + std::strerror(errno);
  }
#if defined(__linux__)
  if (::renameat2(AT_FDCWD, fresh.c_str(), AT_FDCWD, target.c_str(), RENAME_EXCHANGE) == 0) {
    return {};
  }
  return "cannot exchange " + fresh + " with " + target + ": " + std::strerror(errno);
#else
  // Without an exchange primitive: move the old one aside, then the new one in. The gap is two
  // renames long; readers use the per-revision checkout path, which never changes content.
  std::string aside = fresh + ".old";
  if (::rename(target.c_str(), aside.c_str()) != 0) {
    return "cannot move " + target + " aside: " + std::strerror(errno);
  }
  if (::rename(fresh.c_str(), target.c_str()) != 0) {
    std::string why = std::strerror(errno);
    ::rename(aside.c_str(), target.c_str());
    return "cannot rename " + fresh + " to " + target + ": " + why;
  }
  if (::rename(aside.c_str(), fresh.c_str()) != 0) {
    return "cannot rename " + aside + ": " + std::strerror(errno);
  }
  return {};
#endif
}

std::string replaceSymlink(const std::string& target, const std::string& link) {
  std::string tmp = link + ".tmp-" + std::to_string(::getpid());
  ::unlink(tmp.c_str());
  if (::symlink(target.c_str(), tmp.c_str()) != 0) {
    return "cannot create symlink " + tmp + ": " + std::strerror(errno);
  }
  if (::rename(tmp.c_str(), link.c_str()) != 0) {
    std::string why = std::strerror(errno);
    ::unlink(tmp.c_str());
    return "cannot replace symlink " + link + ": " + why;
  }
  return {};
}

std::string readLinkTarget(const std::string& link) {
  std::error_code ec;
  std::string target = std::filesystem::read_symlink(link, ec).string();
  return ec ? std::string() : target;
}

}  // namespace crontopus::plugins::git
