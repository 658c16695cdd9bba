#include "TreeWatch.h"

namespace crontopus::plugins::git {

// No watch on Windows (ReadDirectoryChangesW would need a handle per tree kept open, which also
// stops the tree from being renamed or deleted): every poll compares the published tree with
// its commit instead, as the POSIX build does when inotify is unavailable.

TreeWatch::~TreeWatch() {
  reset();
}

void TreeWatch::reset() {
  fd_ = -1;
}

bool TreeWatch::watch(const std::vector<std::string>& roots) {
  (void)roots;
  reset();
  return false;
}

TreeWatch::State TreeWatch::poll() {
  return State::kUnknown;
}

}  // namespace crontopus::plugins::git
