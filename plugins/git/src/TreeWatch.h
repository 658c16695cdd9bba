#pragma once

#include <string>
#include <vector>

namespace crontopus::plugins::git {

// Notices edits made inside a published tree between two polls, at the cost of one read() per
// poll (inotify on Linux), so that an unchanged poll can still guarantee an exact tree without
// checking every file.
//
// Threading: used by one thread at a time. Owns one descriptor, closed on destruction.
class TreeWatch {
 public:
  enum class State {
    kUnchanged,  // nothing below the root was modified, created, deleted or renamed
    kChanged,    // something was (or the kernel dropped events)
    kUnknown,    // not watching: no root yet, or the platform or limits do not allow it
  };

  TreeWatch() = default;
  ~TreeWatch();
  TreeWatch(const TreeWatch&) = delete;
  TreeWatch& operator=(const TreeWatch&) = delete;

  // Watches every directory below each root, replacing any previous watch. False if not
  // possible. Trees that share files through hard links must be watched together: an edit
  // through one path is reported only on that path's directory.
  bool watch(const std::vector<std::string>& roots);
  State poll();
  void reset();

 private:
  int fd_ = -1;
};

}  // namespace crontopus::plugins::git
