#include "platform/windows/WindowsSecurity.h"

// clang-format off
#include <winsock2.h>
#include <windows.h>
#include <aclapi.h>
#include <sddl.h>
// clang-format on

#include <memory>
#include <vector>

#include <Poco/UnicodeConverter.h>

namespace crontopus::core::platform::windows {

namespace {

std::vector<unsigned char> tokenUser() {
  HANDLE token = nullptr;
  if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token))
    return {};
  DWORD size = 0;
  GetTokenInformation(token, TokenUser, nullptr, 0, &size);
  std::vector<unsigned char> buf(size);
  if (size == 0 || !GetTokenInformation(token, TokenUser, buf.data(), size, &size))
    buf.clear();
  CloseHandle(token);
  return buf;
}

bool isWellKnown(PSID sid, WELL_KNOWN_SID_TYPE type) {
  return IsWellKnownSid(sid, type) != FALSE;
}

// Walks the DACL of `path`; returns the first allowed ACE granting `mask` to a SID that
// `trusted` does not accept, as a printable SID.
template <typename Trusted>
std::string firstUntrusted(const std::string& path, ACCESS_MASK mask, Trusted trusted,
                           std::string& error) {
  PACL dacl = nullptr;
  PSECURITY_DESCRIPTOR sd = nullptr;
  const DWORD rc =
      GetNamedSecurityInfoW(wide(path).c_str(), SE_FILE_OBJECT, DACL_SECURITY_INFORMATION, nullptr,
                            nullptr, &dacl, nullptr, &sd);
  if (rc != ERROR_SUCCESS) {
    error = "cannot read its security descriptor: " + errorText(rc);
    return {};
  }
  std::unique_ptr<void, decltype(&LocalFree)> guard(sd, &LocalFree);
  if (dacl == nullptr)
    return "Everyone (no DACL)";
  for (DWORD i = 0; i < dacl->AceCount; ++i) {
    void* ace = nullptr;
    if (!GetAce(dacl, i, &ace))
      continue;
    const auto* header = static_cast<ACE_HEADER*>(ace);
    if (header->AceType != ACCESS_ALLOWED_ACE_TYPE || (header->AceFlags & INHERIT_ONLY_ACE) != 0)
      continue;
    auto* allowed = static_cast<ACCESS_ALLOWED_ACE*>(ace);
    if ((allowed->Mask & mask) == 0)
      continue;
    PSID sid = &allowed->SidStart;
    if (trusted(sid))
      continue;
    LPWSTR text = nullptr;
    std::string name = "an unknown SID";
    if (ConvertSidToStringSidW(sid, &text)) {
      name = utf8(text);
      LocalFree(text);
    }
    return name;
  }
  return {};
}

}  // namespace

std::wstring wide(const std::string& s) {
  std::wstring w;
  Poco::UnicodeConverter::convert(s, w);
  return w;
}

std::string utf8(const std::wstring& w) {
  std::string s;
  Poco::UnicodeConverter::convert(w, s);
  return s;
}

std::string errorText(unsigned long code) {
  LPWSTR text = nullptr;
  const DWORD n = FormatMessageW(
      FORMAT_MESSAGE_ALLOCATE_BUFFER | FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS,
      nullptr, code, 0, reinterpret_cast<LPWSTR>(&text), 0, nullptr);
  std::string message = n > 0 ? utf8(std::wstring(text, n)) : "error " + std::to_string(code);
  if (text != nullptr)
    LocalFree(text);
  while (!message.empty() && (message.back() == '\n' || message.back() == '\r' ||
                              message.back() == ' ' || message.back() == '.'))
    message.pop_back();
  return message;
}

bool isLocalSystem() {
  const auto user = tokenUser();
  return !user.empty() &&
         isWellKnown(reinterpret_cast<const TOKEN_USER*>(user.data())->User.Sid, WinLocalSystemSid);
}

bool isAdministrator() {
  unsigned char sid_buf[SECURITY_MAX_SID_SIZE];
  DWORD size = sizeof sid_buf;
  if (!CreateWellKnownSid(WinBuiltinAdministratorsSid, nullptr, sid_buf, &size))
    return false;
  BOOL member = FALSE;
  return CheckTokenMembership(nullptr, sid_buf, &member) && member;
}

std::wstring currentUserSid() {
  const auto user = tokenUser();
  if (user.empty())
    return {};
  LPWSTR text = nullptr;
  if (!ConvertSidToStringSidW(reinterpret_cast<const TOKEN_USER*>(user.data())->User.Sid, &text))
    return {};
  std::wstring sid(text);
  LocalFree(text);
  return sid;
}

std::wstring ownerOnlySddl() {
  // P: protected (nothing inherited); one ACE: full access for the user. Objects created inside
  // a directory inherit it (OICI).
  return L"D:P(A;OICI;FA;;;" + currentUserSid() + L")";
}

std::string writableByOthers(const std::string& path) {
  const auto user = tokenUser();
  PSID self = user.empty() ? nullptr : reinterpret_cast<const TOKEN_USER*>(user.data())->User.Sid;
  std::string error;
  const std::string who = firstUntrusted(
      path,
      FILE_WRITE_DATA | FILE_APPEND_DATA | WRITE_DAC | WRITE_OWNER | GENERIC_WRITE | GENERIC_ALL |
          DELETE,
      [&](PSID sid) {
        return (self != nullptr && EqualSid(sid, self)) || isWellKnown(sid, WinLocalSystemSid) ||
               isWellKnown(sid, WinBuiltinAdministratorsSid) ||
               isWellKnown(sid, WinCreatorOwnerSid) || isWellKnown(sid, WinNtAuthoritySid) ||
               isWellKnown(sid, WinBuiltinDomainSid);
      },
      error);
  if (!error.empty())
    return error;
  if (who.empty())
    return {};
  return "writable by " + who + "; fix with: icacls \"" + path + "\" /remove:g " + who;
}

std::string readableByOthers(const std::string& path) {
  const auto user = tokenUser();
  PSID self = user.empty() ? nullptr : reinterpret_cast<const TOKEN_USER*>(user.data())->User.Sid;
  std::string error;
  const std::string who = firstUntrusted(
      path, FILE_READ_DATA | GENERIC_READ | GENERIC_ALL,
      [&](PSID sid) {
        return (self != nullptr && EqualSid(sid, self)) || isWellKnown(sid, WinLocalSystemSid);
      },
      error);
  if (!error.empty())
    return error;
  if (who.empty())
    return {};
  return "readable by " + who + "; fix with: icacls \"" + path +
         "\" /inheritance:r /grant:r %USERNAME%:F";
}

}  // namespace crontopus::core::platform::windows
