#pragma once

// Windows security helpers shared by the platform sources (Windows only; not a public header of
// the platform layer).
#include <string>

namespace crontopus::core::platform::windows {

// The process runs as LocalSystem (a service's default account).
bool isLocalSystem();
// The process token is a member of BUILTIN\Administrators (elevated).
bool isAdministrator();
// The string SID of the process's user ("S-1-5-18" for LocalSystem).
std::wstring currentUserSid();
// An SDDL DACL granting full control to the process's user only, not inherited from the parent
// directory: the Windows equivalent of mode 0600/0700.
std::wstring ownerOnlySddl();
// Empty when only the owner, SYSTEM and Administrators can change `path`; else the reason and
// the icacls command that fixes it.
std::string writableByOthers(const std::string& path);
// Empty when only the process's user and SYSTEM can read `path`; else the reason and the fix.
std::string readableByOthers(const std::string& path);
// UTF-8 <-> UTF-16.
std::wstring wide(const std::string& s);
std::string utf8(const std::wstring& s);
// The message of a Windows error code.
std::string errorText(unsigned long code);

}  // namespace crontopus::core::platform::windows
