#include "AtomicSwap.h"

#include <windows.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

namespace crontopus::plugins::git {
namespace {

namespace fs = std::filesystem;

std::string lastErrorText() {
  return std::system_category().message(static_cast<int>(::GetLastError()));
}

bool moveFile(const std::string& from, const std::string& to, DWORD flags = 0) {
  return ::MoveFileExW(fs::path(from).c_str(), fs::path(to).c_str(),
                       flags | MOVEFILE_WRITE_THROUGH) != 0;
}

}  // namespace

// Windows has no directory exchange and cannot rename onto a non-empty directory, so a
// `target` that exists is moved aside first and `fresh` moved in after it. Between those two
// renames `target` is missing: a reader in another process (the agent itself reads a tree only
// after its own sync returned) then fails to list it and changes nothing, and its next cycle
// reads the new tree. A crash in that gap leaves no `target`, which the next sync rebuilds (a
// tree) or clones again (the repository). The aside copy keeps the prefix of `fresh`
// (".tmp-*", "repo.new-*"), so the leftover clean-up at the next sync removes it if the last
// rename below fails.
std::string swapDirectoryInto(const std::string& fresh, const std::string& target) {
  if (moveFile(fresh, target)) {
    return {};
  }
  const DWORD error = ::GetLastError();
  if (error != ERROR_ALREADY_EXISTS && error != ERROR_FILE_EXISTS) {
    return "cannot rename " + fresh + " to " + target + ": " +
           std::system_category().message(static_cast<int>(error));
  }
  const std::string aside = fresh + ".old";
  if (!moveFile(target, aside)) {
    // Typically another process has a file in `target` open without sharing deletion.
    return "cannot move " + target + " aside: " + lastErrorText() +
           " (is a file in it open in another program?); the next sync tries again";
  }
  if (!moveFile(fresh, target)) {
    const std::string why = lastErrorText();
    moveFile(aside, target);
    return "cannot rename " + fresh + " to " + target + ": " + why;
  }
  // The caller deletes what is at `fresh`: the old content.
  moveFile(aside, fresh);
  return {};
}

// Creating a symlink on Windows needs SeCreateSymbolicLinkPrivilege (or developer mode), which
// the agent's account may lack: the link is a small file holding the target instead, replaced
// by a rename (MOVEFILE_REPLACE_EXISTING replaces a file atomically), so a reader sees the old
// or the new target, never a partial one.
std::string replaceSymlink(const std::string& target, const std::string& link) {
  const std::string tmp = link + ".tmp-" + std::to_string(::GetCurrentProcessId());
  {
    std::ofstream out(fs::path(tmp), std::ios::binary | std::ios::trunc);
    out << fs::path(target).generic_string();
    out.close();
    if (!out) {
      std::error_code ec;
      fs::remove(fs::path(tmp), ec);
      return "cannot write " + tmp;
    }
  }
  if (!moveFile(tmp, link, MOVEFILE_REPLACE_EXISTING)) {
    const std::string why = lastErrorText();
    std::error_code ec;
    fs::remove(fs::path(tmp), ec);
    return "cannot replace " + link + ": " + why;
  }
  return {};
}

std::string readLinkTarget(const std::string& link) {
  std::ifstream in(fs::path(link), std::ios::binary);
  if (!in) {
    return {};
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace crontopus::plugins::git
