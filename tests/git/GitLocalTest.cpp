#include <malloc.h>
#include <sys/stat.h>

#include <cstdlib>
#include <set>

#include "GitSyncFixture.h"

namespace crontopus::plugins::git::test {
namespace {

namespace fs = std::filesystem;
using sdk::ErrorCode;

// Relative paths of every file below `root`, with their content.
std::map<std::string, std::string> treeOf(const fs::path& root) {
  std::map<std::string, std::string> files;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (fs::is_regular_file(entry.path())) {  // follows symlinks: their target's content
      files[entry.path().lexically_relative(root).string()] = readFile(entry.path());
    }
  }
  return files;
}

class GitLocalTest : public GitSyncFixture {};

TEST_F(GitLocalTest, ClonesFromALocalPathThenReportsUnchanged) {
  std::string first = origin_->commit({{"jobs/a.yaml", "a: 1\n"}, {"b.yaml", "b: 1\n"}});
  sdk::SyncResult out;
  auto r = sync(out);
  ASSERT_TRUE(r) << r.message();
  EXPECT_EQ(out.revision, first);
  EXPECT_TRUE(out.changed);
  EXPECT_GT(out.commit_time, 0);
  EXPECT_EQ(treeOf(out.checkout_path),
            (std::map<std::string, std::string>{{"jobs/a.yaml", "a: 1\n"}, {"b.yaml", "b: 1\n"}}));

  struct stat before {};
  ASSERT_EQ(::stat((fs::path(out.checkout_path) / "b.yaml").c_str(), &before), 0);
  sdk::SyncResult again;
  ASSERT_TRUE(sync(again));
  EXPECT_EQ(again.revision, first);
  EXPECT_FALSE(again.changed);
  EXPECT_EQ(again.checkout_path, out.checkout_path);
  EXPECT_EQ(again.commit_time, out.commit_time);
  // The tree was not rebuilt: an unchanged poll leaves the published files alone.
  struct stat after {};
  ASSERT_EQ(::stat((fs::path(again.checkout_path) / "b.yaml").c_str(), &after), 0);
  EXPECT_EQ(before.st_ino, after.st_ino);
}

TEST_F(GitLocalTest, FollowsNewCommitsOverFileUrls) {
  request_.url = "file://" + origin_->bare().string();
  origin_->commit({{"a.yaml", "v1\n"}, {"gone.yaml", "x\n"}});
  sdk::SyncResult out;
  ASSERT_TRUE(sync(out));
  std::string second = origin_->commit({{"a.yaml", "v2\n"}, {"new.yaml", "n\n"}});
  origin_->removeAndCommit("gone.yaml");
  std::string third = origin_->git({"rev-parse", "HEAD"});
  third.pop_back();
  sdk::SyncResult next;
  auto r = sync(next);
  ASSERT_TRUE(r) << r.message();
  EXPECT_TRUE(next.changed);
  EXPECT_EQ(next.revision, third);
  EXPECT_EQ(treeOf(next.checkout_path),
            (std::map<std::string, std::string>{{"a.yaml", "v2\n"}, {"new.yaml", "n\n"}}));
  EXPECT_TRUE(fs::is_symlink(fs::path(request_.local_path) / "current"));
  EXPECT_EQ(fs::canonical(fs::path(request_.local_path) / "current"),
            fs::canonical(next.checkout_path));
}

TEST_F(GitLocalTest, DiscardsLocalEditsOnAnUnchangedPoll) {
  origin_->commit({{"a.yaml", "v1\n"}, {"dir/sub/c.yaml", "c\n"}});
  const std::map<std::string, std::string> exact = {{"a.yaml", "v1\n"}, {"dir/sub/c.yaml", "c\n"}};
  sdk::SyncResult out;
  ASSERT_TRUE(sync(out));
  sdk::SyncResult quiet;
  ASSERT_TRUE(sync(quiet));
  EXPECT_EQ(treeOf(quiet.checkout_path), exact);

  writeFile(fs::path(out.checkout_path) / "dir/sub/c.yaml", "edited\n");
  sdk::SyncResult after_edit;
  ASSERT_TRUE(sync(after_edit));
  EXPECT_FALSE(after_edit.changed);
  EXPECT_EQ(after_edit.revision, out.revision);
  EXPECT_EQ(treeOf(after_edit.checkout_path), exact);

  writeFile(fs::path(after_edit.checkout_path) / "dir/stray.yaml", "stray\n");
  sdk::SyncResult after_add;
  ASSERT_TRUE(sync(after_add));
  EXPECT_EQ(treeOf(after_add.checkout_path), exact);

  fs::remove(fs::path(after_add.checkout_path) / "a.yaml");
  sdk::SyncResult after_delete;
  ASSERT_TRUE(sync(after_delete));
  EXPECT_EQ(treeOf(after_delete.checkout_path), exact);
}

TEST_F(GitLocalTest, DiscardsLocalModificationsAndUntrackedFiles) {
  origin_->commit({{"a.yaml", "v1\n"}, {"b.yaml", "b\n"}});
  sdk::SyncResult out;
  ASSERT_TRUE(sync(out));
  writeFile(fs::path(out.checkout_path) / "a.yaml", "edited locally\n");
  writeFile(fs::path(out.checkout_path) / "untracked.yaml", "stray\n");
  fs::remove(fs::path(out.checkout_path) / "b.yaml");

  // A new agent process (a new plugin object) rebuilds the tree from the object database.
  plugin_ = newPlugin();
  sdk::SyncResult restarted;
  ASSERT_TRUE(sync(restarted));
  EXPECT_FALSE(restarted.changed);
  EXPECT_EQ(treeOf(restarted.checkout_path),
            (std::map<std::string, std::string>{{"a.yaml", "v1\n"}, {"b.yaml", "b\n"}}));

  // And a moved head always yields a fresh, exact tree.
  writeFile(fs::path(restarted.checkout_path) / "untracked.yaml", "stray\n");
  origin_->commit({{"c.yaml", "c\n"}});
  sdk::SyncResult moved;
  ASSERT_TRUE(sync(moved));
  EXPECT_EQ(treeOf(moved.checkout_path),
            (std::map<std::string, std::string>{
                {"a.yaml", "v1\n"}, {"b.yaml", "b\n"}, {"c.yaml", "c\n"}}));
}

ino_t inodeOf(const fs::path& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_ino;
}

TEST_F(GitLocalTest, ANewProcessAdoptsAnIntactTreeWithoutRewritingIt) {
  origin_->commit({{"a.yaml", "v1\n"}, {"dir/b.yaml", "b\n"}});
  sdk::SyncResult out;
  ASSERT_TRUE(sync(out));
  const ino_t a = inodeOf(fs::path(out.checkout_path) / "a.yaml");
  const ino_t b = inodeOf(fs::path(out.checkout_path) / "dir/b.yaml");

  // A restart (a new plugin object): the tree on disk matches its commit, so it is kept as is.
  plugin_ = newPlugin();
  sdk::SyncResult restarted;
  ASSERT_TRUE(sync(restarted));
  EXPECT_FALSE(restarted.changed);
  EXPECT_EQ(restarted.checkout_path, out.checkout_path);
  EXPECT_EQ(restarted.commit_time, out.commit_time);
  EXPECT_EQ(inodeOf(fs::path(restarted.checkout_path) / "a.yaml"), a);

  // Trusted from then on: the next commit links the unchanged file instead of writing it, and an
  // edit after the restart is still noticed and undone.
  origin_->commit({{"a.yaml", "v2\n"}});
  sdk::SyncResult moved;
  ASSERT_TRUE(sync(moved));
  EXPECT_EQ(treeOf(moved.checkout_path),
            (std::map<std::string, std::string>{{"a.yaml", "v2\n"}, {"dir/b.yaml", "b\n"}}));
  EXPECT_EQ(inodeOf(fs::path(moved.checkout_path) / "dir/b.yaml"), b);
  writeFile(fs::path(moved.checkout_path) / "dir/b.yaml", "edited\n");
  sdk::SyncResult undone;
  ASSERT_TRUE(sync(undone));
  EXPECT_EQ(treeOf(undone.checkout_path),
            (std::map<std::string, std::string>{{"a.yaml", "v2\n"}, {"dir/b.yaml", "b\n"}}));
}

TEST_F(GitLocalTest, WithoutAWatchEveryPollComparesTheTreeWithItsCommit) {
  origin_->commit({{"a.yaml", "v1\n"}, {"dir/b.yaml", "b\n"}});
  const std::map<std::string, std::string> exact = {{"a.yaml", "v1\n"}, {"dir/b.yaml", "b\n"}};
  GitSync sync(logger_, &stop_);
  sync.disableWatchForTesting();
  sdk::SyncResult out;
  ASSERT_TRUE(sync.sync(request_, out));
  const ino_t a = inodeOf(fs::path(out.checkout_path) / "a.yaml");
  sdk::SyncResult quiet;
  ASSERT_TRUE(sync.sync(request_, quiet));
  EXPECT_EQ(inodeOf(fs::path(quiet.checkout_path) / "a.yaml"), a);  // intact: kept

  writeFile(fs::path(out.checkout_path) / "dir/b.yaml", "edited\n");
  sdk::SyncResult edited;
  ASSERT_TRUE(sync.sync(request_, edited));
  EXPECT_FALSE(edited.changed);
  EXPECT_EQ(treeOf(edited.checkout_path), exact);

  writeFile(fs::path(edited.checkout_path) / "stray.yaml", "stray\n");
  sdk::SyncResult added;
  ASSERT_TRUE(sync.sync(request_, added));
  EXPECT_EQ(treeOf(added.checkout_path), exact);

  // A restarted process without a watch checks the adopted tree the same way.
  fs::remove(fs::path(added.checkout_path) / "a.yaml");
  GitSync restarted(logger_, &stop_);
  restarted.disableWatchForTesting();
  sdk::SyncResult again;
  ASSERT_TRUE(restarted.sync(request_, again));
  EXPECT_EQ(treeOf(again.checkout_path), exact);
}

TEST_F(GitLocalTest, RepeatedSyncsDoNotGrowTheHeap) {
  // libgit2 1.5 with pcre2 >= 10.41 leaks 20 KiB for every config entry a glob lookup does not
  // match, several per sync through the repository's and the user's git config; the plugin gives
  // its mirror an empty config instead. With the leak, 60 syncs grow the heap by megabytes.
  origin_->commit({{"a.yaml", "v1\n"}});
  sdk::SyncResult out;
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(sync(out));
  const std::size_t before = mallinfo2().uordblks;
  for (int i = 0; i < 60; ++i)
    ASSERT_TRUE(sync(out));
  const std::size_t after = mallinfo2().uordblks;
  EXPECT_LT(after, before + 256 * 1024) << "heap in use grew from " << before << " to " << after;
}

TEST_F(GitLocalTest, ANewTreeLinksUnchangedFilesAndWritesChangedOnes) {
  writeFile(origin_->work() / "bin/run.sh", "#!/bin/sh\n");
  fs::permissions(origin_->work() / "bin/run.sh", fs::perms::owner_exec, fs::perm_options::add);
  origin_->git({"add", "bin/run.sh"});
  origin_->commit({{"a.yaml", "1\n"}, {"dir/b.yaml", "b\n"}, {"dir/c.yaml", "c\n"}});
  origin_->git({"rm", "-q", "dir/c.yaml"});
  mustRun({"/bin/ln", "-s", "a.yaml", (origin_->work() / "link.yaml").string()});
  sdk::SyncResult first;
  ASSERT_TRUE(sync(first));
  origin_->commit({{"a.yaml", "2\n"}, {"new.yaml", "n\n"}});
  sdk::SyncResult second;
  ASSERT_TRUE(sync(second));
  const fs::path old_tree = first.checkout_path;
  const fs::path new_tree = second.checkout_path;
  EXPECT_EQ(treeOf(new_tree), (std::map<std::string, std::string>{{"a.yaml", "2\n"},
                                                                  {"bin/run.sh", "#!/bin/sh\n"},
                                                                  {"dir/b.yaml", "b\n"},
                                                                  {"link.yaml", "2\n"},
                                                                  {"new.yaml", "n\n"}}));
  EXPECT_TRUE(fs::is_symlink(new_tree / "link.yaml"));
  EXPECT_EQ(fs::read_symlink(new_tree / "link.yaml"), "a.yaml");
  EXPECT_NE(fs::status(new_tree / "bin/run.sh").permissions() & fs::perms::owner_exec,
            fs::perms::none);
  // Unchanged files share the previous tree's inode; the previous tree is intact.
  EXPECT_TRUE(fs::equivalent(new_tree / "dir/b.yaml", old_tree / "dir/b.yaml"));
  EXPECT_TRUE(fs::equivalent(new_tree / "bin/run.sh", old_tree / "bin/run.sh"));
  EXPECT_FALSE(fs::equivalent(new_tree / "a.yaml", old_tree / "a.yaml"));
  EXPECT_EQ(readFile(old_tree / "a.yaml"), "1\n");

  // An edit through the previous tree's path reaches the shared inode: noticed too.
  writeFile(old_tree / "bin/run.sh", "#!/bin/sh\nexit 1\n");
  sdk::SyncResult after_old_edit;
  ASSERT_TRUE(sync(after_old_edit));
  EXPECT_EQ(readFile(fs::path(after_old_edit.checkout_path) / "bin/run.sh"), "#!/bin/sh\n");

  // An edit in place is noticed; the rebuilt tree owns fresh, exact files.
  writeFile(new_tree / "dir/b.yaml", "edited\n");
  sdk::SyncResult rebuilt;
  ASSERT_TRUE(sync(rebuilt));
  EXPECT_EQ(readFile(fs::path(rebuilt.checkout_path) / "dir/b.yaml"), "b\n");
  EXPECT_FALSE(
      fs::equivalent(fs::path(rebuilt.checkout_path) / "dir/b.yaml", old_tree / "dir/b.yaml"));
}

TEST_F(GitLocalTest, FollowsAForcePush) {
  origin_->commit({{"a.yaml", "1\n"}});
  origin_->commit({{"a.yaml", "2\n"}});
  sdk::SyncResult out;
  ASSERT_TRUE(sync(out));
  origin_->git({"reset", "-q", "--hard", "HEAD~1"});
  std::string rewritten = origin_->commit({{"a.yaml", "rewritten\n"}}, "rewrite history");
  sdk::SyncResult after;
  auto r = sync(after);
  ASSERT_TRUE(r) << r.message();
  EXPECT_TRUE(after.changed);
  EXPECT_EQ(after.revision, rewritten);
  EXPECT_EQ(readFile(fs::path(after.checkout_path) / "a.yaml"), "rewritten\n");
}

TEST_F(GitLocalTest, AMissingBranchIsAClearNotFound) {
  origin_->commit({{"a.yaml", "1\n"}});
  request_.branch = "does-not-exist";
  sdk::SyncResult out;
  auto r = sync(out);
  EXPECT_EQ(r.code(), ErrorCode::kNotFound);
  EXPECT_NE(r.message().find("'does-not-exist'"), std::string::npos) << r.message();
  EXPECT_NE(r.message().find("main"), std::string::npos) << r.message();
}

TEST_F(GitLocalTest, ADeletedBranchIsAClearNotFoundAndKeepsTheLastTree) {
  origin_->commit({{"a.yaml", "1\n"}});
  mustRun({"/usr/bin/git", "-C", origin_->bare().string(), "branch", "deploy", "main"});
  request_.branch = "deploy";
  sdk::SyncResult out;
  ASSERT_TRUE(sync(out));
  mustRun({"/usr/bin/git", "-C", origin_->bare().string(), "branch", "-D", "deploy"});
  sdk::SyncResult after;
  auto r = sync(after);
  EXPECT_EQ(r.code(), ErrorCode::kNotFound);
  EXPECT_NE(r.message().find("deploy"), std::string::npos);
  EXPECT_TRUE(fs::exists(fs::path(out.checkout_path) / "a.yaml"));
}

TEST_F(GitLocalTest, ReclonesACorruptRepository) {
  origin_->commit({{"a.yaml", "1\n"}});
  sdk::SyncResult out;
  ASSERT_TRUE(sync(out));
  // Damage every object file of the mirror.
  for (const auto& entry :
       fs::recursive_directory_iterator(fs::path(request_.local_path) / "repo" / "objects")) {
    if (entry.is_regular_file()) {
      fs::permissions(entry.path(), fs::perms::owner_all, fs::perm_options::add);
      writeFile(entry.path(), "garbage");
    }
  }
  std::string next = origin_->commit({{"a.yaml", "2\n"}});
  sdk::SyncResult after;
  auto r = sync(after);
  ASSERT_TRUE(r) << r.message();
  EXPECT_EQ(after.revision, next);
  EXPECT_EQ(readFile(fs::path(after.checkout_path) / "a.yaml"), "2\n");

  // A restarted agent on a corrupt but unchanged mirror recovers too.
  for (const auto& entry :
       fs::recursive_directory_iterator(fs::path(request_.local_path) / "repo" / "objects")) {
    if (entry.is_regular_file()) {
      fs::permissions(entry.path(), fs::perms::owner_all, fs::perm_options::add);
      writeFile(entry.path(), "garbage");
    }
  }
  plugin_ = newPlugin();
  sdk::SyncResult restarted;
  r = sync(restarted);
  ASSERT_TRUE(r) << r.message();
  EXPECT_EQ(restarted.revision, next);
  EXPECT_EQ(readFile(fs::path(restarted.checkout_path) / "a.yaml"), "2\n");
  EXPECT_NE(channel_->text().find("cloning it again"), std::string::npos) << channel_->text();
}

TEST_F(GitLocalTest, NeverTouchesAnExistingDirectoryThatIsNotItsClone) {
  origin_->commit({{"a.yaml", "1\n"}});
  writeFile(fs::path(request_.local_path) / "precious.txt", "keep me\n");
  sdk::SyncResult out;
  auto r = sync(out);
  EXPECT_EQ(r.code(), ErrorCode::kConfig);
  EXPECT_NE(r.message().find(request_.local_path), std::string::npos) << r.message();
  EXPECT_NE(r.message().find("move it"), std::string::npos) << r.message();
  EXPECT_EQ(readFile(fs::path(request_.local_path) / "precious.txt"), "keep me\n");
  EXPECT_EQ(std::distance(fs::directory_iterator(request_.local_path), fs::directory_iterator()),
            1);
}

TEST_F(GitLocalTest, RefusesATreeOverTheSizeLimit) {
  origin_->commit({{"big.bin", std::string(2 * 1024 * 1024, 'x')}});
  request_.max_size_mb = 1;
  sdk::SyncResult out;
  auto r = sync(out);
  EXPECT_EQ(r.code(), ErrorCode::kLimit);
  EXPECT_NE(r.message().find("max_size_mb"), std::string::npos) << r.message();
}

TEST_F(GitLocalTest, SyncsOverTheGitProtocol) {
  std::string head = origin_->commit({{"a.yaml", "1\n"}});
  int port = freePort();
  ServerProcess daemon(
      {"/usr/bin/git", "daemon", "--reuseaddr", "--export-all", "--base-path=" + dir_.str(),
       "--listen=127.0.0.1", "--port=" + std::to_string(port), dir_.str()},
      {}, (dir_.path() / "daemon.log").string());
  ASSERT_TRUE(waitForPort(port));
  request_.url = "git://127.0.0.1:" + std::to_string(port) + "/origin.git";
  sdk::SyncResult out;
  auto r = sync(out);
  ASSERT_TRUE(r) << r.message() << readFile(dir_.path() / "daemon.log");
  EXPECT_EQ(out.revision, head);
  std::string next = origin_->commit({{"a.yaml", "2\n"}});
  sdk::SyncResult after;
  ASSERT_TRUE(sync(after));
  EXPECT_EQ(after.revision, next);
  EXPECT_EQ(readFile(fs::path(after.checkout_path) / "a.yaml"), "2\n");
}

TEST_F(GitLocalTest, ExpandsTildeInPaths) {
  std::string head = origin_->commit({{"a.yaml", "1\n"}});
  const char* old_home = std::getenv("HOME");
  std::string saved = old_home != nullptr ? old_home : "";
  ::setenv("HOME", dir_.str().c_str(), 1);
  request_.local_path = "~/tilde-mirror";
  sdk::SyncResult out;
  auto r = sync(out);
  if (old_home != nullptr) {
    ::setenv("HOME", saved.c_str(), 1);
  } else {
    ::unsetenv("HOME");
  }
  ASSERT_TRUE(r) << r.message();
  EXPECT_EQ(out.revision, head);
  EXPECT_TRUE(fs::exists(dir_.path() / "tilde-mirror" / ".crontopus-git"));
}

TEST_F(GitLocalTest, RejectsInvalidConfiguration) {
  sdk::SyncResult out;
  request_.branch = "bad..name";
  EXPECT_EQ(sync(out).code(), ErrorCode::kConfig);
  request_.branch = "main";
  request_.url = "http://git.example.com/repo.git";
  EXPECT_EQ(sync(out).code(), ErrorCode::kConfig);
  request_.url = origin_->bare().string();
  request_.auth.type = "ssh";
  EXPECT_EQ(sync(out).code(), ErrorCode::kConfig);
}

}  // namespace
}  // namespace crontopus::plugins::git::test
