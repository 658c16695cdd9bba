#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "TreeWatch.h"
#include "crontopus/sdk/Result.h"
#include "crontopus/sdk/SourcePlugin.h"

struct git_repository;

namespace Poco {
class Logger;
}

namespace crontopus::plugins::git {

// Brings a mirror of one branch up to date and publishes its tree.
//
// Layout under request.local_path (a directory this class owns, marked by `.crontopus-git`):
//   repo/            bare repository: objects, and refs/remotes/origin/<branch> = last fetched head
//   trees/<commit>/  the exact tree of one commit, written into trees/.tmp-* and renamed into
//                    place when complete, so a reader never sees a half-written tree
//   current          symlink to the tree last published (for people; the agent uses the path
//                    returned in SyncResult::checkout_path)
//   .lock            flock held for the whole sync
//
// Each sync connects once, reads the ref advertisement, and downloads only when the branch head
// is not already in the repository. A tree is rebuilt from the object database whenever the head
// moved (unchanged files hard-linked from an intact previous tree) and whenever the published
// tree is not intact. Intact: the TreeWatch saw no edit since this object built or checked it;
// a tree adopted from an earlier process, or one that no watch covers (no inotify, or its limits
// reached), is compared with its commit file by file instead. So the tree is exactly the commit
// after every sync. A corrupt repository is re-cloned into repo.new-* and exchanged with repo/
// atomically.
//
// Threading: one sync at a time per object; objects for different local paths may run in
// parallel. Errors: never throws; see sdk::SourcePlugin for the error classes.
class GitSync {
 public:
  GitSync(Poco::Logger* logger, const std::atomic<bool>* stop_requested);

  sdk::Result sync(const sdk::SourceRequest& request, sdk::SyncResult& out);

  // Behave as where inotify is unavailable (tests of that path on Linux).
  void disableWatchForTesting() { watch_disabled_ = true; }

 private:
  sdk::Result syncImpl(const sdk::SourceRequest& request, sdk::SyncResult& out);
  void watchTree();
  void adoptPublishedTree(git_repository* repo, const std::string& root);
  bool publishedTreeIntact(git_repository* repo);

  Poco::Logger* logger_;
  const std::atomic<bool>* stop_requested_;
  // The tree published last (by this object, or adopted from an earlier process).
  std::string published_revision_;
  std::string published_path_;
  std::int64_t published_time_ = 0;
  // True once this object built the tree or compared it with its commit: from then on an
  // unchanged watch is enough.
  bool published_checked_ = false;
  bool watch_disabled_ = false;
  TreeWatch watch_;  // on published_path_
};

}  // namespace crontopus::plugins::git
