#pragma once

#include <string>

// Operating-system facts the agent needs. One implementation per OS under platform/<os>/,
// chosen by CMake; the rest of the code never tests the platform with #ifdef.
namespace crontopus::core::platform {

// "linux", "darwin" or "windows", detected at run time where that differs from the build.
std::string platformName();
// Absolute path of the running executable.
std::string executablePath();
// Home directory of the current user (HOME, else the password database).
std::string homeDirectory();
std::string currentUserName();
// Whether the agent runs with administrative rights (root on Unix).
bool isPrivileged();
std::string hostName();
// The raw OS machine id (Linux /etc/machine-id, ...), trimmed; empty when unknown.
std::string rawMachineId();
// Refuses (returns a reason) a path that others than its owner (or root) could modify:
// group/other-writable, or owned by another non-root user. Empty string = safe.
std::string unsafePermissions(const std::string& path);
// Home directory of `user` from the password database; throws Poco::NotFoundException.
std::string homeDirectoryOf(const std::string& user);
// Returns freed heap memory to the operating system where the allocator allows it (glibc).
void releaseFreeMemory();
// Gives `path` to `user` (and the user's primary group); throws Poco::SystemException.
void changeOwner(const std::string& path, const std::string& user);

// While it lives, the calling thread creates, reads and removes files as `user` (its uid and
// primary group): what it creates belongs to the user, and it reaches only what the user can, so
// a symlink the user planted in its own directories leads nowhere the user could not go itself.
// For root working in another user's home (root writing and chowning there follows the user's
// symlinks into root's own files). Linux: setfsuid/setfsgid, this thread only (root's
// supplementary groups still count); elsewhere the effective ids of the whole process. Throws
// Poco::NotFoundException (no such user) or Poco::SystemException.
class FileIdentity {
 public:
  explicit FileIdentity(const std::string& user);
  ~FileIdentity();
  FileIdentity(const FileIdentity&) = delete;
  FileIdentity& operator=(const FileIdentity&) = delete;

 private:
  unsigned previous_uid_ = 0;
  unsigned previous_gid_ = 0;
};

}  // namespace crontopus::core::platform
