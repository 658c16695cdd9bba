#pragma once

#include <map>
#include <string>
#include <vector>

// Operating-system facts the agent needs. One implementation per OS under platform/<os>/,
// chosen by CMake; the rest of the code never tests the platform with #ifdef.
namespace crontopus::core::platform {

// Process-wide start-up, first thing in main(): on Unix (glibc) one malloc arena for all threads
// (see posix/Platform.cpp); on Windows the Winsock start-up (static Poco drops its automatic one)
// and the location of the shipped time zone data.
void initializeProcess();

// Tells the platform layer that the process runs as a system service (Windows Service; set by
// Agent::initialize from Poco's application.runAsService). Only Windows uses it, for the
// default configuration and state locations.
void setRunningAsService(bool service);

// The configuration file when --config is not given: /etc/crontopus/config.yaml as root, else
// ~/.crontopus/config.yaml; Windows: config.yaml in defaultStateDirectory().
std::string defaultConfigFile();

// agent.state_dir when the configuration does not set it: ~/.crontopus; Windows:
// %ProgramData%\Crontopus for a service (or LocalSystem), else %LOCALAPPDATA%\Crontopus.
std::string defaultStateDirectory();

// The environment a job starts from, before the manifest's env, and the user's home (the
// default working directory): cron's minimal environment on Unix (HOME, LOGNAME, USER, SHELL,
// PATH; home from the password database); on Windows what cmd.exe and programs need
// (SystemRoot, ComSpec, PATH, TEMP, ...) plus USERNAME and USERPROFILE.
std::map<std::string, std::string> baseJobEnvironment(std::string& home);

// "linux", "darwin" or "windows", detected at run time where that differs from the build.
std::string platformName();
// A program's file name: `name` on Unix, `name.exe` on Windows.
std::string executableName(const std::string& name);

// Runs `path` with `args` (args[0] first) in place of this process. Unix: execv, which returns
// only when it fails (returns 127, `error` says why). Windows has no exec: starts it with the
// same standard handles, waits, and returns its exit code (127 and `error` when it cannot start).
int execProgram(const std::string& path, const std::vector<std::string>& args, std::string& error);

// Absolute path of the running executable.
std::string executablePath();
// Home directory of the current user (HOME, else the password database).
std::string homeDirectory();
std::string currentUserName();
// Whether the agent runs with administrative rights (root on Unix).
bool isPrivileged();
std::string hostName();
long processId();
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
