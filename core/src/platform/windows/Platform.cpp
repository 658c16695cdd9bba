#include "platform/Platform.h"

// clang-format off
#include <winsock2.h>
#include <windows.h>
#include <lmcons.h>
#include <shlobj.h>
#include <knownfolders.h>
// clang-format on

#include <cstdlib>
#include <filesystem>
#include <vector>

#include <Poco/Exception.h>
#include <Poco/Net/Net.h>
#include <Poco/Process.h>
#include <Poco/UnicodeConverter.h>

#include "platform/windows/WindowsSecurity.h"

namespace crontopus::core::platform {

namespace {

std::string utf8(const std::wstring& w) {
  std::string s;
  Poco::UnicodeConverter::convert(w, s);
  return s;
}

std::string environment(const wchar_t* name) {
  std::vector<wchar_t> buf(32768);
  const DWORD n = GetEnvironmentVariableW(name, buf.data(), static_cast<DWORD>(buf.size()));
  if (n == 0 || n >= buf.size())
    return {};
  return utf8(std::wstring(buf.data(), n));
}

bool g_service = false;

}  // namespace

void setRunningAsService(bool service) {
  g_service = service;
}

void initializeProcess() {
  // With static Poco the linker drops Poco's automatic Winsock start-up: every socket would
  // fail with "Net subsystem not initialized".
  Poco::Net::initializeNetwork();
  // date/tz finds the IANA text data shipped in <prefix>\share\crontopus\tzdata by itself
  // (scripts/windows/patches/date-tzdata-beside-program.patch).
}

std::string platformName() {
  return "windows";
}

std::string executableName(const std::string& name) {
  return name + ".exe";
}

int execProgram(const std::string& path, const std::vector<std::string>& args, std::string& error) {
  try {
    std::vector<std::string> rest(args.begin() + (args.empty() ? 0 : 1), args.end());
    Poco::ProcessHandle child = Poco::Process::launch(path, rest);
    return child.wait();
  } catch (const Poco::Exception& e) {
    error = e.displayText();
    return 127;
  }
}

std::string executablePath() {
  std::vector<wchar_t> buf(MAX_PATH);
  while (true) {
    const DWORD n = GetModuleFileNameW(nullptr, buf.data(), static_cast<DWORD>(buf.size()));
    if (n == 0)
      throw Poco::SystemException("cannot determine the agent's executable path");
    if (n < buf.size())
      return utf8(std::wstring(buf.data(), n));
    buf.resize(buf.size() * 2);
  }
}

std::string homeDirectory() {
  std::string home = environment(L"USERPROFILE");
  if (home.empty())
    home = environment(L"HOME");
  if (home.empty())
    throw Poco::SystemException("cannot determine the home directory: USERPROFILE is unset");
  return home;
}

std::string currentUserName() {
  wchar_t name[UNLEN + 1];
  DWORD size = UNLEN + 1;
  if (GetUserNameW(name, &size) && size > 0)
    return utf8(std::wstring(name, size - 1));
  return "unknown";
}

bool isPrivileged() {
  return windows::isLocalSystem() || windows::isAdministrator();
}

long processId() {
  return static_cast<long>(GetCurrentProcessId());
}

std::string hostName() {
  wchar_t name[MAX_COMPUTERNAME_LENGTH + 1];
  DWORD size = MAX_COMPUTERNAME_LENGTH + 1;
  if (GetComputerNameW(name, &size))
    return utf8(std::wstring(name, size));
  return "localhost";
}

std::string rawMachineId() {
  // The 64-bit view: a 32-bit process would otherwise read a redirected key.
  wchar_t value[128];
  DWORD size = sizeof value;
  if (RegGetValueW(HKEY_LOCAL_MACHINE, L"SOFTWARE\\Microsoft\\Cryptography", L"MachineGuid",
                   RRF_RT_REG_SZ | RRF_SUBKEY_WOW6464KEY, nullptr, value, &size) != ERROR_SUCCESS)
    return {};
  return utf8(value);
}

std::string unsafePermissions(const std::string& path) {
  return windows::writableByOthers(path);
}

std::string homeDirectoryOf(const std::string& user) {
  throw Poco::NotFoundException("cannot run jobs as another user (\"" + user +
                                "\") on Windows; use the Task Scheduler's own principal");
}

void releaseFreeMemory() {}

void changeOwner(const std::string& path, const std::string& user) {
  throw Poco::NotImplementedException("cannot give " + path + " to " + user +
                                      ": not supported on Windows");
}

FileIdentity::FileIdentity(const std::string& user) {
  throw Poco::NotImplementedException("cannot act as " + user + " on Windows");
}

FileIdentity::~FileIdentity() = default;

std::string defaultStateDirectory() {
  // A service (LocalSystem) keeps its state in %ProgramData%, a user's agent in %LOCALAPPDATA%.
  // The known-folder API, not the environment: a service's environment may lack %ProgramData%.
  const bool machine = g_service || windows::isLocalSystem();
  PWSTR folder = nullptr;
  if (FAILED(SHGetKnownFolderPath(machine ? FOLDERID_ProgramData : FOLDERID_LocalAppData, 0,
                                  nullptr, &folder)))
    throw Poco::SystemException(std::string("cannot determine the state directory: no ") +
                                (machine ? "ProgramData" : "LocalAppData") + " folder");
  const std::string base = utf8(folder);
  CoTaskMemFree(folder);
  return base + "\\Crontopus";
}

std::string defaultConfigFile() {
  return defaultStateDirectory() + "\\config.yaml";
}

std::map<std::string, std::string> baseJobEnvironment(std::string& home) {
  try {
    home = homeDirectory();
  } catch (const Poco::Exception&) {
    home = environment(L"SystemRoot");
  }
  std::map<std::string, std::string> env = {{"USERNAME", currentUserName()}, {"USERPROFILE", home}};
  // What cmd.exe and most programs need to start at all.
  for (const wchar_t* name :
       {L"SystemRoot", L"windir", L"SystemDrive", L"ComSpec", L"PATH", L"PATHEXT", L"TEMP", L"TMP",
        L"ProgramData", L"ProgramFiles", L"LOCALAPPDATA", L"APPDATA"}) {
    const std::string value = environment(name);
    if (!value.empty())
      env[utf8(name)] = value;
  }
  return env;
}

}  // namespace crontopus::core::platform
