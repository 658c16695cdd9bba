#include "platform/SecretFile.h"

// clang-format off
#include <winsock2.h>
#include <windows.h>
#include <dpapi.h>
// clang-format on

#include <Poco/Exception.h>

#include "platform/Files.h"
#include "platform/windows/WindowsSecurity.h"

namespace crontopus::core::platform {

namespace {

// Marks our DPAPI files, so that a plain JSON file left by hand is told apart from a damaged one.
const std::string kMagic = "CRONTOPUS-DPAPI-1\n";

DWORD scopeFlags() {
  // LocalSystem has no user profile worth tying the key to: machine scope.
  return CRYPTPROTECT_UI_FORBIDDEN | (windows::isLocalSystem() ? CRYPTPROTECT_LOCAL_MACHINE : 0);
}

}  // namespace

std::optional<std::string> readSecretFile(const std::string& path, const std::string& what) {
  std::string blob;
  std::string error;
  switch (readRegularFile(path, 65536, blob, error)) {
    case ReadStatus::kMissing:
      return std::nullopt;
    case ReadStatus::kRefused:
      throw Poco::FileAccessDeniedException("cannot read " + what + " " + path + ": " + error +
                                            " (it must be a file readable by the user the agent "
                                            "runs as)");
    case ReadStatus::kOk:
      break;
  }
  const std::string exposed = windows::readableByOthers(path);
  if (!exposed.empty()) {
    throw Poco::FileAccessDeniedException(what + " " + path + " is " + exposed +
                                          " (and consider re-enrolling if it was exposed)");
  }
  if (blob.compare(0, kMagic.size(), kMagic) != 0) {
    throw Poco::FileAccessDeniedException(what + " " + path +
                                          " is not DPAPI-protected by the agent; delete it to "
                                          "enroll again with backend.enrollment_token");
  }
  DATA_BLOB in{static_cast<DWORD>(blob.size() - kMagic.size()),
               reinterpret_cast<BYTE*>(blob.data() + kMagic.size())};
  DATA_BLOB out{};
  if (!CryptUnprotectData(&in, nullptr, nullptr, nullptr, nullptr, scopeFlags(), &out)) {
    throw Poco::FileAccessDeniedException(
        "cannot decrypt " + what + " " + path + ": " + windows::errorText(GetLastError()) +
        " (it was written by another user or machine); delete it to enroll again");
  }
  std::string text(reinterpret_cast<const char*>(out.pbData), out.cbData);
  SecureZeroMemory(out.pbData, out.cbData);
  LocalFree(out.pbData);
  return text;
}

void writeSecretFile(const std::string& path, const std::string& content) {
  DATA_BLOB in{static_cast<DWORD>(content.size()),
               reinterpret_cast<BYTE*>(const_cast<char*>(content.data()))};
  DATA_BLOB out{};
  if (!CryptProtectData(&in, L"crontopus agent token", nullptr, nullptr, nullptr, scopeFlags(),
                        &out)) {
    throw Poco::FileException("cannot encrypt " + path +
                              " with DPAPI: " + windows::errorText(GetLastError()));
  }
  std::string blob = kMagic;
  blob.append(reinterpret_cast<const char*>(out.pbData), out.cbData);
  LocalFree(out.pbData);
  writeFileAtomic(path, blob, 0600);  // owner-only ACL from creation on
}

}  // namespace crontopus::core::platform
