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

}  // namespace crontopus::core::platform
