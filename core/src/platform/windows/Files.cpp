#include "platform/Files.h"

// clang-format off
#include <winsock2.h>
#include <windows.h>
#include <sddl.h>
// clang-format on

#include <cstdlib>
#include <filesystem>
#include <random>

#include <Poco/Exception.h>

#include "platform/windows/WindowsSecurity.h"

namespace crontopus::core::platform {

namespace {

[[noreturn]] void fail(const std::string& what, const std::string& path, DWORD code) {
  throw Poco::FileException(what + " " + path + ": " + windows::errorText(code));
}

// Security attributes for a new file or directory: owner-only when `mode` gives group and
// others nothing (0600, 0700), else inherited from the parent directory.
class Security {
 public:
  explicit Security(unsigned mode) {
    if ((mode & 077) != 0)
      return;
    if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(
            windows::ownerOnlySddl().c_str(), SDDL_REVISION_1, &descriptor_, nullptr))
      throw Poco::SystemException("cannot build an owner-only ACL: " +
                                  windows::errorText(GetLastError()));
    attributes_.nLength = sizeof attributes_;
    attributes_.lpSecurityDescriptor = descriptor_;
    attributes_.bInheritHandle = FALSE;
  }
  ~Security() {
    if (descriptor_ != nullptr)
      LocalFree(descriptor_);
  }
  Security(const Security&) = delete;
  Security& operator=(const Security&) = delete;
  SECURITY_ATTRIBUTES* get() { return descriptor_ != nullptr ? &attributes_ : nullptr; }

 private:
  PSECURITY_DESCRIPTOR descriptor_ = nullptr;
  SECURITY_ATTRIBUTES attributes_{};
};

}  // namespace

void makeDirectories(const std::string& path, unsigned mode) {
  Security security(mode);
  std::filesystem::path current;
  for (const auto& part : std::filesystem::path(windows::wide(path))) {
    current /= part;
    if (current.empty() || current == current.root_path() || current == current.root_name())
      continue;
    if (!CreateDirectoryW(current.c_str(), security.get())) {
      const DWORD code = GetLastError();
      if (code != ERROR_ALREADY_EXISTS)
        fail("cannot create directory", windows::utf8(current.wstring()), code);
    }
  }
}

namespace {

// Creates `file` (which must not exist) with owner-only security for `mode` and writes `content`
// to it; removes it and throws on failure.
void createAndWrite(const std::filesystem::path& file, const std::string& content, unsigned mode,
                    bool synced) {
  Security security(mode);
  HANDLE handle = CreateFileW(file.c_str(), GENERIC_WRITE, 0, security.get(), CREATE_NEW,
                              FILE_ATTRIBUTE_NORMAL, nullptr);
  if (handle == INVALID_HANDLE_VALUE)
    fail("cannot create", windows::utf8(file.wstring()), GetLastError());
  const auto abandon = [&](const char* what) {
    const DWORD code = GetLastError();
    CloseHandle(handle);
    DeleteFileW(file.c_str());
    fail(what, windows::utf8(file.wstring()), code);
  };
  const char* data = content.data();
  std::size_t left = content.size();
  while (left > 0) {
    DWORD written = 0;
    const DWORD chunk = static_cast<DWORD>(std::min<std::size_t>(left, 1 << 20));
    if (!WriteFile(handle, data, chunk, &written, nullptr))
      abandon("cannot write");
    data += written;
    left -= written;
  }
  if (synced && !FlushFileBuffers(handle))
    abandon("cannot sync");
  CloseHandle(handle);
}

}  // namespace

void writeFileAtomic(const std::string& path, const std::string& content, unsigned mode,
                     Durability durability) {
  const std::filesystem::path target(windows::wide(path));
  std::random_device rd;
  std::filesystem::path tmp = target;
  tmp.replace_filename(L"." + target.filename().wstring() + L".tmp" +
                       std::to_wstring(GetCurrentProcessId()) + L"-" + std::to_wstring(rd()));
  createAndWrite(tmp, content, mode, durability == Durability::kSynced);
  if (!MoveFileExW(tmp.c_str(), target.c_str(),
                   MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH)) {
    const DWORD code = GetLastError();
    DeleteFileW(tmp.c_str());
    fail("cannot replace", path, code);
  }
}

void writeNewFile(const std::string& path, const std::string& content, unsigned mode) {
  createAndWrite(std::filesystem::path(windows::wide(path)), content, mode, false);
}

int removeStaleTemporaries(const std::string& dir) {
  int removed = 0;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(windows::wide(dir), ec), end; !ec && it != end;
       it.increment(ec)) {
    // ".NAME.tmpPID-N", as writeFileAtomic names them.
    const std::string name = windows::utf8(it->path().filename().wstring());
    const std::size_t tmp = name.rfind(".tmp");
    if (name.size() < 2 || name[0] != '.' || tmp == std::string::npos || tmp == 0)
      continue;
    const std::size_t dash = name.find('-', tmp + 4);
    if (dash == std::string::npos || dash == tmp + 4 || dash + 1 == name.size() ||
        name.find_first_not_of("0123456789", tmp + 4) != dash ||
        name.find_first_not_of("0123456789", dash + 1) != std::string::npos)
      continue;
    const unsigned long pid = std::strtoul(name.c_str() + tmp + 4, nullptr, 10);
    // A process that still exists (or cannot be asked about) keeps its temporary.
    if (HANDLE process = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, pid)) {
      CloseHandle(process);
      continue;
    }
    if (GetLastError() != ERROR_INVALID_PARAMETER)
      continue;
    std::error_code rm;
    if (it->is_regular_file(rm) && !it->is_symlink(rm) && std::filesystem::remove(it->path(), rm))
      ++removed;
  }
  return removed;
}

void syncFileSystem(const std::string&) {
  // Flushing a whole volume needs administrative rights on Windows; kDeferred writes rely on
  // MoveFileEx's write-through and the file system's own journal.
}

std::string appendToFile(const std::string& path, const std::string& data, unsigned mode) {
  Security security(mode);
  HANDLE file = CreateFileW(windows::wide(path).c_str(), FILE_APPEND_DATA,
                            FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, security.get(),
                            OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL, nullptr);
  if (file == INVALID_HANDLE_VALUE)
    return "cannot append to " + path + ": " + windows::errorText(GetLastError());
  DWORD written = 0;
  std::string error;
  if (!WriteFile(file, data.data(), static_cast<DWORD>(data.size()), &written, nullptr) ||
      written != data.size())
    error = "short write to " + path;
  CloseHandle(file);
  return error;
}

bool readDenied(const std::string& path) {
  HANDLE file = CreateFileW(windows::wide(path).c_str(), GENERIC_READ,
                            FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, nullptr,
                            OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, nullptr);
  if (file != INVALID_HANDLE_VALUE) {
    CloseHandle(file);
    return false;
  }
  return GetLastError() == ERROR_ACCESS_DENIED;
}

ReadStatus readRegularFile(const std::string& path, std::size_t max_bytes, std::string& text,
                           std::string& error) {
  // FILE_FLAG_OPEN_REPARSE_POINT: a symbolic link (or junction) is opened itself, not followed,
  // and then refused as not a regular file.
  HANDLE file = CreateFileW(windows::wide(path).c_str(), GENERIC_READ,
                            FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, nullptr,
                            OPEN_EXISTING, FILE_FLAG_OPEN_REPARSE_POINT, nullptr);
  if (file == INVALID_HANDLE_VALUE) {
    const DWORD code = GetLastError();
    if (code == ERROR_FILE_NOT_FOUND || code == ERROR_PATH_NOT_FOUND)
      return ReadStatus::kMissing;
    error = "cannot open: " + windows::errorText(code);
    return ReadStatus::kRefused;
  }
  BY_HANDLE_FILE_INFORMATION info{};
  const bool regular =
      GetFileInformationByHandle(file, &info) &&
      (info.dwFileAttributes & (FILE_ATTRIBUTE_DIRECTORY | FILE_ATTRIBUTE_REPARSE_POINT)) == 0 &&
      GetFileType(file) == FILE_TYPE_DISK && info.nFileSizeHigh == 0 &&
      info.nFileSizeLow <= max_bytes;
  text.clear();
  if (regular) {
    char buffer[16384];
    DWORD n = 0;
    while (ReadFile(file, buffer, sizeof buffer, &n, nullptr) && n > 0)
      text.append(buffer, n);
  }
  CloseHandle(file);
  if (!regular) {
    error = "not a regular file of at most " + std::to_string(max_bytes) + " bytes";
    return ReadStatus::kRefused;
  }
  return ReadStatus::kOk;
}

FileLock::FileLock(std::string path) : path_(std::move(path)) {}

FileLock::~FileLock() {
  if (fd_ >= 0)
    CloseHandle(reinterpret_cast<HANDLE>(static_cast<intptr_t>(fd_)));
}

namespace {

HANDLE openLockFile(const std::string& path) {
  HANDLE file = CreateFileW(windows::wide(path).c_str(), GENERIC_READ | GENERIC_WRITE,
                            FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, nullptr,
                            OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL, nullptr);
  if (file == INVALID_HANDLE_VALUE)
    fail("cannot open lock file", path, GetLastError());
  return file;
}

}  // namespace

// The handle is kept in fd_ (Windows handles fit in 32 bits). The lock is released when the
// handle is closed or the process ends.
void FileLock::lock() {
  if (fd_ < 0)
    fd_ = static_cast<int>(reinterpret_cast<intptr_t>(openLockFile(path_)));
  OVERLAPPED overlapped{};
  if (!LockFileEx(reinterpret_cast<HANDLE>(static_cast<intptr_t>(fd_)), LOCKFILE_EXCLUSIVE_LOCK, 0,
                  1, 0, &overlapped))
    fail("cannot lock", path_, GetLastError());
}

bool FileLock::tryLock() {
  if (fd_ < 0)
    fd_ = static_cast<int>(reinterpret_cast<intptr_t>(openLockFile(path_)));
  OVERLAPPED overlapped{};
  if (LockFileEx(reinterpret_cast<HANDLE>(static_cast<intptr_t>(fd_)),
                 LOCKFILE_EXCLUSIVE_LOCK | LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, &overlapped))
    return true;
  const DWORD code = GetLastError();
  if (code == ERROR_LOCK_VIOLATION || code == ERROR_IO_PENDING)
    return false;
  fail("cannot lock", path_, code);
}

}  // namespace crontopus::core::platform
