#pragma once

#include <string>

namespace crontopus::plugins::git {

// Puts directory `fresh` at `target` in one step. If `target` exists it is exchanged atomically
// (Linux renameat2 RENAME_EXCHANGE) so that `target` always names a complete directory, and the
// old content ends up at `fresh` for the caller to delete. Returns "" or why it failed.
std::string swapDirectoryInto(const std::string& fresh, const std::string& target);

// Points symlink `link` at `target` atomically (a new link renamed over the old one).
std::string replaceSymlink(const std::string& target, const std::string& link);

}  // namespace crontopus::plugins::git
