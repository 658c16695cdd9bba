#include "FileLock.h"

#include <fcntl.h>
#include <io.h>
#include <sys/stat.h>
#include <windows.h>

#include <filesystem>
#include <system_error>
#include <thread>

namespace crontopus::plugins::git {
namespace {

std::string lastErrorText(DWORD code) {
  return std::system_category().message(static_cast<int>(code));
}

}  // namespace

FileLock::~FileLock() {
  if (fd_ >= 0) {
    ::_close(fd_);  // closing the handle releases the lock
  }
}

std::string FileLock::acquire(const std::string& path,
                              std::chrono::steady_clock::time_point deadline) {
  // A CRT descriptor keeps the header's `int` member; LockFileEx works on its OS handle.
  // _wopen shares the file for reading and writing, so a waiting process can open it too.
  fd_ = ::_wopen(std::filesystem::path(path).c_str(), _O_RDWR | _O_CREAT | _O_BINARY | _O_NOINHERIT,
                 _S_IREAD | _S_IWRITE);
  if (fd_ < 0) {
    return "cannot open lock file " + path + ": " + lastErrorText(::GetLastError());
  }
  auto handle = reinterpret_cast<HANDLE>(::_get_osfhandle(fd_));
  for (;;) {
    OVERLAPPED whole_file{};
    if (::LockFileEx(handle, LOCKFILE_EXCLUSIVE_LOCK | LOCKFILE_FAIL_IMMEDIATELY, 0, MAXDWORD,
                     MAXDWORD, &whole_file)) {
      return {};
    }
    DWORD error = ::GetLastError();
    if (error != ERROR_LOCK_VIOLATION && error != ERROR_IO_PENDING) {
      return "cannot lock " + path + ": " + lastErrorText(error);
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return "another crontopus process holds " + path + " (it is syncing the same local_path)";
    }
    // A blocking LockFileEx cannot be bounded by a deadline; a short back-off can.
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace crontopus::plugins::git
