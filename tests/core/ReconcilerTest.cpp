#include "Reconciler.h"

#include <gtest/gtest.h>

namespace crontopus::core {
namespace {

using sdk::ChangeKind;

// A fake "render": the entry text says everything the reconciler may compare (schedule, pause
// state), as the cron plugin's entries do.
std::string entryFor(const std::string& id, const std::string& schedule, bool paused) {
  return "# CRONTOPUS:" + id + "\n" + (paused ? "#" : "") + schedule + " agent run '" + id + "'\n";
}

sdk::Job makeJob(const std::string& ns, const std::string& name, const std::string& schedule,
                 const std::string& command = "/bin/true") {
  sdk::Job j;
  j.ns = ns;
  j.name = name;
  j.schedule = schedule;
  j.command = command;
  j.source_file = ns + "/" + name + ".yaml";
  return j;
}

// The reconciler's three inputs plus the previous state, built up per test.
class ReconcilerTest : public ::testing::Test {
 protected:
  // The manifest asks for `job`.
  void want(const sdk::Job& job) {
    manifests_.jobs[job.identity()] = job;
    DesiredJob d = desiredJobFor(job);
    d.text = entryFor(job.identity(), job.schedule, job.paused);
    desired_[job.identity()] = d;
  }

  // The scheduler holds `text` for `id`.
  void installed(const std::string& id, const std::string& text, bool paused = false) {
    installed_.push_back({id, text, paused});
  }

  // The agent remembers having installed `job` (rendered as entryFor would).
  void remembered(const sdk::Job& job) {
    JobState s;
    s.hash = sha256Hex(entryFor(job.identity(), job.schedule, job.paused));
    s.status = job.paused ? "paused" : "scheduled";
    s.source_file = job.source_file;
    s.schedule = job.schedule;
    s.command = originalCommand(job);
    s.paused = job.paused;
    previous_.jobs[job.identity()] = s;
  }

  // The common "in sync" starting point: installed and remembered exactly as rendered.
  void inSync(const sdk::Job& job) {
    installed(job.identity(), entryFor(job.identity(), job.schedule, job.paused), job.paused);
    remembered(job);
  }

  Plan plan() const { return reconcile(desired_, manifests_, installed_, previous_); }

  std::map<std::string, DesiredJob> desired_;
  ManifestSet manifests_;
  std::vector<sdk::InstalledEntry> installed_;
  AgentState previous_;
};

TEST_F(ReconcilerTest, NewJobIsAddedWithItsRenderedText) {
  const auto job = makeJob("prod", "backup", "0 2 * * *");
  want(job);
  const Plan p = plan();
  ASSERT_EQ(p.items.size(), 1u);
  EXPECT_EQ(p.items[0].kind, ChangeKind::kAdd);
  EXPECT_EQ(p.items[0].identity, "prod/backup");
  EXPECT_NE(p.items[0].reason.find("prod/backup.yaml"), std::string::npos) << p.items[0].reason;
  EXPECT_TRUE(p.items[0].scheduler_change);
  ASSERT_EQ(p.changes.size(), 1u);
  EXPECT_EQ(p.changes[0].kind, ChangeKind::kAdd);
  EXPECT_EQ(p.changes[0].text, entryFor("prod/backup", "0 2 * * *", false));
  EXPECT_FALSE(p.changes[0].paused);
  ASSERT_EQ(p.jobs_after.count("prod/backup"), 1u);
  const JobState& s = p.jobs_after.at("prod/backup");
  EXPECT_EQ(s.status, "scheduled");
  EXPECT_EQ(s.hash, sha256Hex(entryFor("prod/backup", "0 2 * * *", false)));
  EXPECT_EQ(s.schedule, "0 2 * * *");
  EXPECT_EQ(s.source_file, "prod/backup.yaml");
  EXPECT_TRUE(p.hasChanges());
}

TEST_F(ReconcilerTest, JobInSyncIsUnchanged) {
  const auto job = makeJob("prod", "backup", "0 2 * * *");
  want(job);
  inSync(job);
  const Plan p = plan();
  EXPECT_TRUE(p.items.empty());
  EXPECT_TRUE(p.changes.empty());
  EXPECT_EQ(p.unchanged, 1u);
  EXPECT_FALSE(p.hasChanges());
  EXPECT_EQ(p.jobs_after.at("prod/backup").status, "scheduled");
}

TEST_F(ReconcilerTest, ScheduleChangeIsAnUpdateNamingOldAndNewSchedule) {
  const auto old_job = makeJob("prod", "backup", "0 1 * * *");
  inSync(old_job);
  want(makeJob("prod", "backup", "0 2 * * *"));
  const Plan p = plan();
  ASSERT_EQ(p.items.size(), 1u);
  EXPECT_EQ(p.items[0].kind, ChangeKind::kUpdate);
  EXPECT_TRUE(p.items[0].scheduler_change);
  EXPECT_EQ(p.items[0].reason, "schedule changed from \"0 1 * * *\" to \"0 2 * * *\"");
  ASSERT_EQ(p.changes.size(), 1u);
  EXPECT_EQ(p.changes[0].kind, ChangeKind::kUpdate);
  EXPECT_EQ(p.changes[0].text, entryFor("prod/backup", "0 2 * * *", false));
  EXPECT_EQ(p.jobs_after.at("prod/backup").schedule, "0 2 * * *");
}

TEST_F(ReconcilerTest, ScheduleAndCommandChangeNamesBoth) {
  inSync(makeJob("prod", "backup", "0 1 * * *", "/bin/old"));
  want(makeJob("prod", "backup", "0 2 * * *", "/bin/new"));
  const Plan p = plan();
  ASSERT_EQ(p.items.size(), 1u);
  EXPECT_EQ(p.items[0].kind, ChangeKind::kUpdate);
  EXPECT_NE(p.items[0].reason.find("schedule changed"), std::string::npos) << p.items[0].reason;
  EXPECT_NE(p.items[0].reason.find("command changed"), std::string::npos) << p.items[0].reason;
}

TEST_F(ReconcilerTest, CommandOnlyChangeTouchesTheRunSpecNotTheScheduler) {
  inSync(makeJob("prod", "backup", "0 2 * * *", "/bin/old"));
  auto job = makeJob("prod", "backup", "0 2 * * *", "/bin/new");
  job.args = {"--flag", "with space"};
  want(job);
  const Plan p = plan();
  ASSERT_EQ(p.items.size(), 1u);
  EXPECT_EQ(p.items[0].kind, ChangeKind::kUpdate);
  EXPECT_FALSE(p.items[0].scheduler_change);
  EXPECT_EQ(p.items[0].reason, "command changed (run spec only)");
  EXPECT_TRUE(p.changes.empty()) << "the entry text did not change: nothing for the plugin";
  EXPECT_TRUE(p.hasChanges());
  EXPECT_EQ(p.jobs_after.at("prod/backup").command, "/bin/new '--flag' 'with space'");
}

TEST_F(ReconcilerTest, PauseAndResume) {
  {
    inSync(makeJob("prod", "backup", "0 2 * * *"));
    auto paused = makeJob("prod", "backup", "0 2 * * *");
    paused.paused = true;
    want(paused);
    const Plan p = plan();
    ASSERT_EQ(p.items.size(), 1u);
    EXPECT_EQ(p.items[0].kind, ChangeKind::kPause);
    EXPECT_NE(p.items[0].reason.find("paused: true"), std::string::npos) << p.items[0].reason;
    ASSERT_EQ(p.changes.size(), 1u);
    EXPECT_EQ(p.changes[0].kind, ChangeKind::kPause);
    EXPECT_TRUE(p.changes[0].paused);
    EXPECT_EQ(p.changes[0].text, entryFor("prod/backup", "0 2 * * *", true));
    EXPECT_EQ(p.jobs_after.at("prod/backup").status, "paused");
    EXPECT_TRUE(p.jobs_after.at("prod/backup").paused);
  }
  desired_.clear();
  manifests_ = {};
  installed_.clear();
  previous_ = {};
  {
    auto paused = makeJob("prod", "backup", "0 2 * * *");
    paused.paused = true;
    inSync(paused);
    want(makeJob("prod", "backup", "0 2 * * *"));
    const Plan p = plan();
    ASSERT_EQ(p.items.size(), 1u);
    EXPECT_EQ(p.items[0].kind, ChangeKind::kResume);
    EXPECT_NE(p.items[0].reason.find("paused: false"), std::string::npos) << p.items[0].reason;
    ASSERT_EQ(p.changes.size(), 1u);
    EXPECT_FALSE(p.changes[0].paused);
    EXPECT_EQ(p.changes[0].text, entryFor("prod/backup", "0 2 * * *", false));
    EXPECT_EQ(p.jobs_after.at("prod/backup").status, "scheduled");
  }
}

TEST_F(ReconcilerTest, PauseWithScheduleChangeIsOneUpdateNamingBoth) {
  inSync(makeJob("prod", "backup", "0 1 * * *"));
  auto job = makeJob("prod", "backup", "0 2 * * *");
  job.paused = true;
  want(job);
  const Plan p = plan();
  ASSERT_EQ(p.items.size(), 1u);
  EXPECT_EQ(p.items[0].kind, ChangeKind::kUpdate);
  EXPECT_NE(p.items[0].reason.find("schedule changed"), std::string::npos) << p.items[0].reason;
  EXPECT_NE(p.items[0].reason.find("paused"), std::string::npos) << p.items[0].reason;
  EXPECT_TRUE(p.changes.at(0).paused);
}

TEST_F(ReconcilerTest, ManifestRemovedFromCompleteTreeRemovesTheEntry) {
  inSync(makeJob("prod", "backup", "0 2 * * *"));
  const Plan p = plan();
  ASSERT_EQ(p.items.size(), 1u);
  EXPECT_EQ(p.items[0].kind, ChangeKind::kRemove);
  EXPECT_EQ(p.items[0].reason, "manifest removed from the repository");
  ASSERT_EQ(p.changes.size(), 1u);
  EXPECT_EQ(p.changes[0].kind, ChangeKind::kRemove);
  EXPECT_EQ(p.changes[0].identity, "prod/backup");
  EXPECT_TRUE(p.changes[0].text.empty());
  EXPECT_EQ(p.jobs_after.count("prod/backup"), 0u) << "a removed job leaves the inventory";
}

TEST_F(ReconcilerTest, EntryFoundByMarkerButUnknownToStateIsRemovedWhenNotWanted) {
  // The state file was lost: the marker alone says we own it.
  installed("prod/old", entryFor("prod/old", "0 3 * * *", false));
  const Plan p = plan();
  ASSERT_EQ(p.changes.size(), 1u);
  EXPECT_EQ(p.changes[0].kind, ChangeKind::kRemove);
}

TEST_F(ReconcilerTest, NothingRemovedWhenTheTreeWasNotReadCompletely) {
  inSync(makeJob("prod", "backup", "0 2 * * *"));
  want(makeJob("prod", "fresh", "*/5 * * * *"));
  manifests_.tree_complete = false;
  const Plan p = plan();
  // Additions still happen; the absent job stays.
  ASSERT_EQ(p.changes.size(), 1u);
  EXPECT_EQ(p.changes[0].kind, ChangeKind::kAdd);
  EXPECT_EQ(p.changes[0].identity, "prod/fresh");
  ASSERT_EQ(p.kept.size(), 1u);
  EXPECT_EQ(p.kept[0].identity, "prod/backup");
  EXPECT_NE(p.kept[0].reason.find("not read completely"), std::string::npos) << p.kept[0].reason;
  ASSERT_EQ(p.jobs_after.count("prod/backup"), 1u) << "kept jobs stay in the inventory";
  EXPECT_EQ(p.jobs_after.at("prod/backup").status, "scheduled");
  EXPECT_EQ(p.jobs_after.at("prod/backup").hash,
            sha256Hex(entryFor("prod/backup", "0 2 * * *", false)));
}

TEST_F(ReconcilerTest, EnabledFalseRemovesTheEntry) {
  inSync(makeJob("prod", "backup", "0 2 * * *"));
  auto job = makeJob("prod", "backup", "0 2 * * *");
  job.enabled = false;
  want(job);
  const Plan p = plan();
  ASSERT_EQ(p.changes.size(), 1u);
  EXPECT_EQ(p.changes[0].kind, ChangeKind::kRemove);
  EXPECT_EQ(p.items.at(0).reason, "enabled: false in prod/backup.yaml");
  EXPECT_EQ(p.jobs_after.count("prod/backup"), 0u);
}

TEST_F(ReconcilerTest, EnabledFalseWithNothingInstalledDoesNothing) {
  auto job = makeJob("prod", "backup", "0 2 * * *");
  job.enabled = false;
  want(job);
  const Plan p = plan();
  EXPECT_TRUE(p.items.empty());
  EXPECT_TRUE(p.changes.empty());
  EXPECT_TRUE(p.jobs_after.empty());
}

TEST_F(ReconcilerTest, SelectorThatNoLongerMatchesRemovesTheEntry) {
  inSync(makeJob("prod", "backup", "0 2 * * *"));
  manifests_.unselected.insert("prod/backup");
  manifests_.tree_complete = false;  // even then: the manifest was read and says "not here"
  const Plan p = plan();
  ASSERT_EQ(p.changes.size(), 1u);
  EXPECT_EQ(p.changes[0].kind, ChangeKind::kRemove);
  EXPECT_NE(p.items.at(0).reason.find("selector"), std::string::npos) << p.items.at(0).reason;
}

TEST_F(ReconcilerTest, EditedEntryIsDriftRestoredToTheRenderedText) {
  const auto job = makeJob("prod", "backup", "0 2 * * *");
  want(job);
  remembered(job);
  installed("prod/backup", "# CRONTOPUS:prod/backup\n0 3 * * * agent run 'prod/backup'\n");
  const Plan p = plan();
  ASSERT_EQ(p.items.size(), 1u);
  EXPECT_EQ(p.items[0].kind, ChangeKind::kDrift);
  EXPECT_NE(p.items[0].reason.find("edited outside the agent"), std::string::npos)
      << p.items[0].reason;
  ASSERT_EQ(p.changes.size(), 1u);
  EXPECT_EQ(p.changes[0].kind, ChangeKind::kDrift);
  EXPECT_EQ(p.changes[0].text, entryFor("prod/backup", "0 2 * * *", false));
  EXPECT_EQ(p.jobs_after.at("prod/backup").hash, sha256Hex(p.changes[0].text));
}

TEST_F(ReconcilerTest, DeletedEntryIsDriftPutBack) {
  const auto job = makeJob("prod", "backup", "0 2 * * *");
  want(job);
  remembered(job);
  const Plan p = plan();
  ASSERT_EQ(p.items.size(), 1u);
  EXPECT_EQ(p.items[0].kind, ChangeKind::kDrift);
  EXPECT_NE(p.items[0].reason.find("removed from the scheduler outside the agent"),
            std::string::npos)
      << p.items[0].reason;
  ASSERT_EQ(p.changes.size(), 1u);
  EXPECT_EQ(p.changes[0].text, entryFor("prod/backup", "0 2 * * *", false));
}

TEST_F(ReconcilerTest, InvalidManifestForInstalledJobKeepsTheEntryWithStatusError) {
  const auto job = makeJob("prod", "backup", "0 2 * * *");
  inSync(job);
  manifests_.failed_files.insert("prod/backup.yaml");
  manifests_.failed_file_identity["prod/backup.yaml"] = "prod/backup";
  manifests_.held_identities.insert("prod/backup");
  manifests_.errors.push_back({"prod/backup.yaml", 7, 13, "spec.schedule", "bad minute"});
  const Plan p = plan();
  EXPECT_TRUE(p.items.empty());
  EXPECT_TRUE(p.changes.empty()) << "nothing may touch the installed entry";
  ASSERT_EQ(p.kept.size(), 1u);
  EXPECT_EQ(p.kept[0].identity, "prod/backup");
  EXPECT_NE(p.kept[0].reason.find("prod/backup.yaml:7: spec.schedule: bad minute"),
            std::string::npos)
      << p.kept[0].reason;
  ASSERT_EQ(p.jobs_after.count("prod/backup"), 1u);
  const JobState& s = p.jobs_after.at("prod/backup");
  EXPECT_EQ(s.status, "error");
  EXPECT_EQ(s.error, p.kept[0].reason);
  EXPECT_EQ(s.hash, sha256Hex(entryFor("prod/backup", "0 2 * * *", false)));
  EXPECT_EQ(s.schedule, "0 2 * * *") << "the last good manifest's facts are kept";
}

TEST_F(ReconcilerTest, UnreadableManifestIsMatchedThroughTheRememberedSourceFile) {
  // So broken that no identity could be read: only the state knows which file it came from.
  inSync(makeJob("prod", "backup", "0 2 * * *"));
  manifests_.failed_files.insert("prod/backup.yaml");
  manifests_.errors.push_back({"prod/backup.yaml", 0, 0, "", "not YAML"});
  const Plan p = plan();
  EXPECT_TRUE(p.changes.empty());
  ASSERT_EQ(p.kept.size(), 1u);
  EXPECT_NE(p.kept[0].reason.find("prod/backup.yaml: not YAML"), std::string::npos)
      << p.kept[0].reason;
  EXPECT_EQ(p.jobs_after.at("prod/backup").status, "error");
}

TEST_F(ReconcilerTest, DuplicateIdentityKeepsWhatIsInstalled) {
  inSync(makeJob("prod", "backup", "0 2 * * *"));
  // Two files claim prod/backup: neither is applied (the parser leaves it out of `jobs`).
  manifests_.held_identities.insert("prod/backup");
  const Plan p = plan();
  EXPECT_TRUE(p.changes.empty());
  ASSERT_EQ(p.kept.size(), 1u);
  EXPECT_NE(p.kept[0].reason.find("more than one manifest"), std::string::npos) << p.kept[0].reason;
  EXPECT_EQ(p.jobs_after.at("prod/backup").status, "error");
}

TEST_F(ReconcilerTest, DuplicateIdentityNotInstalledInstallsNothing) {
  manifests_.held_identities.insert("prod/backup");
  const Plan p = plan();
  EXPECT_TRUE(p.changes.empty());
  EXPECT_TRUE(p.jobs_after.empty());
}

TEST_F(ReconcilerTest, RenderFailureKeepsTheInstalledEntry) {
  inSync(makeJob("prod", "backup", "0 2 * * *"));
  auto job = makeJob("prod", "backup", "@reboot");
  want(job);
  desired_["prod/backup"].text.clear();
  desired_["prod/backup"].render_error = "backend cannot express @reboot";
  const Plan p = plan();
  EXPECT_TRUE(p.changes.empty());
  ASSERT_EQ(p.kept.size(), 1u);
  EXPECT_NE(p.kept[0].reason.find("@reboot"), std::string::npos) << p.kept[0].reason;
  EXPECT_EQ(p.jobs_after.at("prod/backup").status, "error");
}

TEST_F(ReconcilerTest, RenderFailureOfANewJobIsReportedNotDroppedSilently) {
  want(makeJob("prod", "backup", "@reboot"));
  desired_["prod/backup"].text.clear();
  desired_["prod/backup"].render_error = "backend cannot express @reboot";
  const Plan p = plan();
  EXPECT_TRUE(p.changes.empty());
  ASSERT_EQ(p.kept.size(), 1u) << "apply must see the job in error (and exit 1)";
  EXPECT_EQ(p.kept[0].identity, "prod/backup");
  EXPECT_NE(p.kept[0].reason.find("backend cannot express @reboot"), std::string::npos)
      << p.kept[0].reason;
  EXPECT_EQ(p.kept[0].reason.find("keeping the installed"), std::string::npos)
      << "nothing is installed: " << p.kept[0].reason;
  EXPECT_TRUE(p.jobs_after.empty()) << "never installed: a later success is an add, not drift";
}

TEST_F(ReconcilerTest, ManyJobsComeOutInIdentityOrderAsOneBatch) {
  inSync(makeJob("b", "gone", "0 1 * * *"));
  inSync(makeJob("a", "same", "0 1 * * *"));
  want(makeJob("a", "same", "0 1 * * *"));
  want(makeJob("c", "new", "0 1 * * *"));
  want(makeJob("a", "added", "0 1 * * *"));
  const Plan p = plan();
  ASSERT_EQ(p.changes.size(), 3u);
  EXPECT_EQ(p.changes[0].identity, "a/added");
  EXPECT_EQ(p.changes[1].identity, "b/gone");
  EXPECT_EQ(p.changes[1].kind, ChangeKind::kRemove);
  EXPECT_EQ(p.changes[2].identity, "c/new");
  EXPECT_EQ(p.unchanged, 1u);
  EXPECT_EQ(p.jobs_after.size(), 3u);
  EXPECT_EQ(p.jobs_after.count("b/gone"), 0u);
}

}  // namespace
}  // namespace crontopus::core
