#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <date/date.h>

#include <filesystem>
#include <memory>
#include <sstream>

#include "SystemdTimerScheduler.h"
#include "TestSupport.h"

namespace crontopus::plugins::systemd_timer {
namespace {

using tests::readFile;
using tests::TempDir;
using tests::writeFile;
using Commands = std::vector<std::string>;

// Records every systemctl call and plays systemctl's part in the unit directory: enable/disable
// add and remove the timers.target.wants link, so listOwned() sees the result.
class FakeSystemctl : public CommandRunner {
 public:
  FakeSystemctl(std::string unit_dir, std::shared_ptr<Commands> log)
      : unit_dir_(std::move(unit_dir)), log_(std::move(log)) {}
  int run(const std::vector<std::string>& argv, std::string& output) override {
    std::string line;
    for (std::size_t i = 1; i < argv.size(); ++i) {
      line += (i > 1 ? " " : "") + argv[i];
    }
    log_->push_back(line);
    const std::string unit = argv.back();
    const std::string wants = unit_dir_ + "/timers.target.wants";
    if (line.find("enable") == 0) {
      std::filesystem::create_directories(wants);
      std::error_code ignored;
      std::filesystem::create_symlink(unit_dir_ + "/" + unit, wants + "/" + unit, ignored);
    } else if (line.find("disable") == 0) {
      std::filesystem::remove(wants + "/" + unit);
    }
    output.clear();
    return fail_on_ == line ? 1 : 0;
  }
  std::string fail_on_;

 private:
  std::string unit_dir_;
  std::shared_ptr<Commands> log_;
};

sdk::Job job(const std::string& name, const std::string& schedule = "0 2 * * *",
             bool paused = false) {
  sdk::Job j;
  j.ns = "default";
  j.name = name;
  j.schedule = schedule;
  j.timezone = "UTC";
  j.paused = paused;
  return j;
}

std::string timer(const std::string& name) {
  return "crontopus-default-" + name + ".timer";
}

class SchedulerTest : public ::testing::Test {
 protected:
  void SetUp() override { configure({}); }

  void configure(sdk::OptionValues options) {
    scheduler_ = std::make_unique<SystemdTimerScheduler>();
    log_ = std::make_shared<Commands>();
    auto fake = std::make_unique<FakeSystemctl>(dir_.path(), log_);
    fake_ = fake.get();
    scheduler_->setCommandRunnerForTesting(std::move(fake));
    scheduler_->setNowForTesting(date::sys_days{date::year{2026} / 6 / 1});
    sdk::PluginContext context;
    context.agent_path = "/bin/true";
    context.agent_state_dir = "/var/lib/crontopus";
    context.options = std::move(options);
    if (context.options.count("unit_dir") == 0) {
      context.options["unit_dir"] = dir_.path();
    }
    if (context.options.count("scope") == 0) {
      context.options["scope"] = "system";
    }
    ASSERT_TRUE(scheduler_->configure(context).ok());
  }

  sdk::Change change(sdk::ChangeKind kind, const sdk::Job& j) {
    sdk::Change c;
    c.kind = kind;
    c.identity = j.identity();
    c.paused = j.paused;
    if (kind != sdk::ChangeKind::kRemove) {
      sdk::RenderedEntry entry;
      EXPECT_TRUE(scheduler_->render(j, entry).ok());
      c.text = entry.text;
    }
    return c;
  }

  void applyOk(const std::vector<sdk::Change>& changes) {
    const sdk::Result r = scheduler_->apply(changes);
    ASSERT_TRUE(r.ok()) << r.message();
  }

  std::map<std::string, sdk::InstalledEntry> installed() {
    std::vector<sdk::InstalledEntry> entries;
    const sdk::Result r = scheduler_->listOwned(entries);
    EXPECT_TRUE(r.ok()) << r.message();
    std::map<std::string, sdk::InstalledEntry> by_identity;
    for (auto& e : entries) {
      by_identity[e.identity] = e;
    }
    return by_identity;
  }

  bool linked(const std::string& name) {
    struct stat st {};
    return ::lstat((dir_ / ("timers.target.wants/" + timer(name))).c_str(), &st) == 0;
  }

  TempDir dir_;
  std::unique_ptr<SystemdTimerScheduler> scheduler_;
  std::shared_ptr<Commands> log_;
  FakeSystemctl* fake_ = nullptr;
};

TEST_F(SchedulerTest, AppliedEntriesListBackAsRendered) {
  const sdk::Job a = job("a");
  const sdk::Job b = job("b", "@reboot", true);
  applyOk({change(sdk::ChangeKind::kAdd, a), change(sdk::ChangeKind::kAdd, b)});
  auto entries = installed();
  ASSERT_EQ(entries.size(), 2u);
  sdk::RenderedEntry ra, rb;
  ASSERT_TRUE(scheduler_->render(a, ra).ok());
  ASSERT_TRUE(scheduler_->render(b, rb).ok());
  EXPECT_EQ(entries["default/a"].text, ra.text);
  EXPECT_FALSE(entries["default/a"].paused);
  EXPECT_EQ(entries["default/b"].text, rb.text);
  EXPECT_TRUE(entries["default/b"].paused);
  EXPECT_TRUE(std::filesystem::exists(dir_ / "crontopus-default-a.service"));
  EXPECT_EQ(*log_, (Commands{"daemon-reload", "enable --now " + timer("a")}));
}

TEST_F(SchedulerTest, CommandSequenceIsOneReloadThenMinimalEnablement) {
  applyOk(
      {change(sdk::ChangeKind::kAdd, job("update")), change(sdk::ChangeKind::kAdd, job("pause")),
       change(sdk::ChangeKind::kAdd, job("resume", "0 2 * * *", true)),
       change(sdk::ChangeKind::kAdd, job("remove")), change(sdk::ChangeKind::kAdd, job("same"))});
  log_->clear();
  applyOk({
      change(sdk::ChangeKind::kAdd, job("new")),
      change(sdk::ChangeKind::kAdd, job("new-paused", "0 3 * * *", true)),
      change(sdk::ChangeKind::kUpdate, job("update", "0 4 * * *")),
      change(sdk::ChangeKind::kPause, job("pause", "0 2 * * *", true)),
      change(sdk::ChangeKind::kResume, job("resume")),
      change(sdk::ChangeKind::kRemove, job("remove")),
  });
  EXPECT_EQ(*log_, (Commands{
                       "disable --now " + timer("remove"),
                       "daemon-reload",
                       "enable --now " + timer("new"),
                       "disable --now " + timer("pause"),
                       "enable --now " + timer("resume"),
                   }));
  EXPECT_FALSE(std::filesystem::exists(dir_ / timer("remove")));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "crontopus-default-remove.service"));
  EXPECT_TRUE(std::filesystem::exists(dir_ / timer("pause")));  // paused keeps its files
  EXPECT_FALSE(linked("pause"));
  EXPECT_TRUE(linked("resume"));
  EXPECT_TRUE(linked("same"));
  EXPECT_EQ(installed().size(), 6u);
}

TEST_F(SchedulerTest, PauseAloneNeedsNoReload) {
  applyOk({change(sdk::ChangeKind::kAdd, job("a"))});
  log_->clear();
  applyOk({change(sdk::ChangeKind::kPause, job("a", "0 2 * * *", true))});
  EXPECT_EQ(*log_, Commands{"disable --now " + timer("a")});
  EXPECT_TRUE(installed()["default/a"].paused);
}

TEST_F(SchedulerTest, UserScopeAddsUser) {
  configure({{"scope", "user"}});
  applyOk({change(sdk::ChangeKind::kAdd, job("a"))});
  EXPECT_EQ(*log_, (Commands{"--user daemon-reload", "--user enable --now " + timer("a")}));
}

TEST_F(SchedulerTest, OfflineRootNeedsNoRunningManager) {
  // Provisioning an image: no daemon-reload and no --now, since no manager runs there.
  configure({{"root", dir_.path() + "/"}, {"unit_dir", ""}});
  EXPECT_EQ(scheduler_->unitDir(), dir_.path() + "/etc/systemd/system");
  EXPECT_TRUE(scheduler_->support().supported);
  applyOk({change(sdk::ChangeKind::kAdd, job("a")),
           change(sdk::ChangeKind::kAdd, job("b", "0 2 * * *", true))});
  applyOk({change(sdk::ChangeKind::kPause, job("a", "0 2 * * *", true)),
           change(sdk::ChangeKind::kRemove, job("b"))});
  const std::string root = "--root=" + dir_.path() + " ";
  EXPECT_EQ(*log_, (Commands{root + "enable " + timer("a"), root + "disable " + timer("b"),
                             root + "disable " + timer("a")}));
  EXPECT_TRUE(std::filesystem::exists(dir_ / ("etc/systemd/system/" + timer("a"))));
  EXPECT_FALSE(std::filesystem::exists(dir_ / ("etc/systemd/system/" + timer("b"))));
}

TEST_F(SchedulerTest, RebootTimersAreEnabledWithoutStarting) {
  applyOk({change(sdk::ChangeKind::kAdd, job("boot", "@reboot"))});
  EXPECT_EQ(*log_, (Commands{"daemon-reload", "enable " + timer("boot")}));
  EXPECT_NE(readFile(dir_ / timer("boot")).find("\nOnBootSec=0\n"), std::string::npos);
}

TEST_F(SchedulerTest, ForeignUnitsAreNeverTouched) {
  const std::string foreign_service = "[Service]\nExecStart=/bin/true\n";
  const std::string foreign_timer = "[Timer]\nOnCalendar=daily\n";
  // A foreign file that even uses our naming scheme, and one that mentions the marker later on.
  writeFile(dir_ / "backup.service", foreign_service);
  writeFile(dir_ / "crontopus-default-other.timer", foreign_timer);
  writeFile(dir_ / "notes.timer", "[Unit]\n# CRONTOPUS:default/a\n");
  applyOk({change(sdk::ChangeKind::kAdd, job("a"))});
  EXPECT_EQ(installed().size(), 1u);
  applyOk({change(sdk::ChangeKind::kRemove, job("a"))});
  EXPECT_TRUE(installed().empty());
  EXPECT_EQ(readFile(dir_ / "backup.service"), foreign_service);
  EXPECT_EQ(readFile(dir_ / "crontopus-default-other.timer"), foreign_timer);
  EXPECT_EQ(readFile(dir_ / "notes.timer"), "[Unit]\n# CRONTOPUS:default/a\n");

  // Adding a job whose unit name is taken by a foreign file is refused before anything changes.
  log_->clear();
  const sdk::Result r = scheduler_->apply(
      {change(sdk::ChangeKind::kAdd, job("b")), change(sdk::ChangeKind::kAdd, job("other"))});
  EXPECT_EQ(r.code(), sdk::ErrorCode::kConflict);
  EXPECT_NE(r.message().find("crontopus-default-other.timer"), std::string::npos);
  EXPECT_EQ(readFile(dir_ / "crontopus-default-other.timer"), foreign_timer);
  EXPECT_FALSE(std::filesystem::exists(dir_ / timer("b")));
  EXPECT_TRUE(log_->empty());
}

TEST_F(SchedulerTest, HandEditIsDriftAndGetsRestored) {
  const sdk::Job a = job("a");
  applyOk({change(sdk::ChangeKind::kAdd, a)});
  sdk::RenderedEntry rendered;
  ASSERT_TRUE(scheduler_->render(a, rendered).ok());

  const std::string path = dir_ / timer("a");
  std::string edited = readFile(path);
  edited.replace(edited.find("02:00:00"), 8, "03:00:00");
  writeFile(path, edited);
  EXPECT_NE(installed()["default/a"].text, rendered.text);

  log_->clear();
  applyOk({change(sdk::ChangeKind::kDrift, a)});
  EXPECT_EQ(installed()["default/a"].text, rendered.text);
  EXPECT_EQ(*log_, Commands{"daemon-reload"});

  // A deleted .timer and a removed enablement link are drift too.
  std::filesystem::remove(path);
  std::filesystem::remove(dir_ / ("timers.target.wants/" + timer("a")));
  const auto entry = installed()["default/a"];
  EXPECT_NE(entry.text, rendered.text);
  EXPECT_TRUE(entry.paused);
  log_->clear();
  applyOk({change(sdk::ChangeKind::kDrift, a)});
  EXPECT_EQ(installed()["default/a"].text, rendered.text);
  EXPECT_EQ(*log_, (Commands{"daemon-reload", "enable --now " + timer("a")}));
}

TEST_F(SchedulerTest, StrayOwnedCopiesAreDriftAndRemoved) {
  const sdk::Job a = job("a");
  applyOk({change(sdk::ChangeKind::kAdd, a)});
  writeFile(dir_ / "copy-of-a.timer", readFile(dir_ / timer("a")));
  sdk::RenderedEntry rendered;
  ASSERT_TRUE(scheduler_->render(a, rendered).ok());
  EXPECT_NE(installed()["default/a"].text, rendered.text);
  applyOk({change(sdk::ChangeKind::kDrift, a)});
  EXPECT_FALSE(std::filesystem::exists(dir_ / "copy-of-a.timer"));
  EXPECT_EQ(installed()["default/a"].text, rendered.text);
}

TEST_F(SchedulerTest, OwnedCopyUnderAnotherJobsNameIsReplaced) {
  // A hand-made copy of a's timer under b's name is ours (it has a marker): adding b replaces
  // it, and a does not delete it as a stray in the same batch.
  const sdk::Job a = job("a");
  const sdk::Job b = job("b", "0 5 * * *");
  applyOk({change(sdk::ChangeKind::kAdd, a)});
  writeFile(dir_ / timer("b"), readFile(dir_ / timer("a")));
  applyOk({change(sdk::ChangeKind::kDrift, a), change(sdk::ChangeKind::kAdd, b)});
  auto entries = installed();
  sdk::RenderedEntry ra, rb;
  ASSERT_TRUE(scheduler_->render(a, ra).ok());
  ASSERT_TRUE(scheduler_->render(b, rb).ok());
  EXPECT_EQ(entries["default/a"].text, ra.text);
  EXPECT_EQ(entries["default/b"].text, rb.text);
}

TEST_F(SchedulerTest, FailingSystemctlIsReported) {
  fake_->fail_on_ = "daemon-reload";
  const sdk::Result r = scheduler_->apply({change(sdk::ChangeKind::kAdd, job("a"))});
  EXPECT_EQ(r.code(), sdk::ErrorCode::kIo);
  EXPECT_NE(r.message().find("daemon-reload"), std::string::npos);
  EXPECT_EQ(*log_, Commands{"daemon-reload"});
}

TEST_F(SchedulerTest, RenderRejectsBadInput) {
  sdk::RenderedEntry out;
  EXPECT_EQ(scheduler_->render(job("a", "61 * * * *"), out).code(), sdk::ErrorCode::kConfig);
  sdk::Job zoned = job("a");
  zoned.timezone = "Nowhere/Special";
  EXPECT_EQ(scheduler_->render(zoned, out).code(), sdk::ErrorCode::kConfig);
}

TEST_F(SchedulerTest, ZoneFallsBackToTheAgentDefault) {
  sdk::PluginContext context;
  context.agent_path = "/bin/true";
  context.default_timezone = "Asia/Tokyo";
  context.options = {{"unit_dir", dir_.path()}, {"scope", "system"}};
  SystemdTimerScheduler s;
  ASSERT_TRUE(s.configure(context).ok());
  sdk::Job j = job("a");
  j.timezone.clear();
  sdk::RenderedEntry out;
  ASSERT_TRUE(s.render(j, out).ok());
  EXPECT_NE(out.text.find("OnCalendar=*-*-* 02:00:00 Asia/Tokyo\n"), std::string::npos);
}

TEST(SchedulerOptions, InvalidValuesAreConfigErrors) {
  for (const auto& [key, value] :
       std::vector<std::pair<std::string, std::string>>{{"scope", "global"},
                                                        {"accuracy", "5s"},
                                                        {"persistent", "yes"},
                                                        {"unit_dir", "rel"},
                                                        {"systemctl_command", " "},
                                                        {"root", "relative/root"}}) {
    SystemdTimerScheduler s;
    sdk::PluginContext context;
    context.options = {{"scope", "system"}, {"unit_dir", "/tmp"}};
    context.options[key] = value;
    EXPECT_EQ(s.configure(context).code(), sdk::ErrorCode::kConfig) << key << "=" << value;
  }
}

TEST(SchedulerOptions, RootIsForSystemScope) {
  SystemdTimerScheduler s;
  sdk::PluginContext context;
  context.options = {{"scope", "user"}, {"root", "/srv/image"}};
  EXPECT_EQ(s.configure(context).code(), sdk::ErrorCode::kConfig);
}

TEST(SchedulerOptions, DefaultsFollowTheScope) {
  SystemdTimerScheduler s;
  sdk::PluginContext context;
  context.options = {{"scope", "system"}};
  ASSERT_TRUE(s.configure(context).ok());
  EXPECT_EQ(s.unitDir(), "/etc/systemd/system");
  EXPECT_FALSE(s.userScope());
  bool has_default = false;
  for (const auto& spec : s.optionSpecs()) {
    has_default = has_default || (spec.key == "accuracy" && spec.default_value == "1s");
  }
  EXPECT_TRUE(has_default);
}

TEST(SchedulerSupport, UnsupportedWithoutSystemdAsInit) {
  SystemdTimerScheduler s;
  const sdk::Support support = s.support();
  if (std::filesystem::is_directory("/run/systemd/system")) {
    EXPECT_TRUE(support.supported);
  } else {
    EXPECT_FALSE(support.supported);
    EXPECT_EQ(support.reason, "systemd is not running (PID 1)");
  }
}

}  // namespace
}  // namespace crontopus::plugins::systemd_timer
