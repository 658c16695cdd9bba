#pragma once

#include <string>

namespace crontopus::plugins::git {

// Puts directory `fresh` at `target` in one step. If `target` exists it is exchanged atomically
// (Linux renameat2 RENAME_EXCHANGE) so that `target` always names a complete directory, and the
// old content ends up at `fresh` for the caller to delete. Returns "" or why it failed. Where
// there is no exchange (other POSIX systems, Windows) `target` is missing between two renames:
// see the platform's source for what a reader sees then.
std::string swapDirectoryInto(const std::string& fresh, const std::string& target);

// Points `link` at `target` atomically (a new link renamed over the old one), so that a reader
// sees the old or the new target. On Windows, where a symlink needs a privilege, `link` is a
// small file holding the target path instead: read it with readLinkTarget, not as a symlink.
std::string replaceSymlink(const std::string& target, const std::string& link);

// The target that `link` points at, as given to replaceSymlink; "" when there is none.
std::string readLinkTarget(const std::string& link);

}  // namespace crontopus::plugins::git
