// What the plugin writes, checked with systemd's own offline tools: systemd-analyze verify on
// every unit, and systemctl --root for enablement (systemd need not be PID 1).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <date/date.h>

#include <filesystem>
#include <map>

#include "SystemdTimerScheduler.h"
#include "TestCorpus.h"
#include "TestSupport.h"
#include "UnitFiles.h"

namespace crontopus::plugins::systemd_timer {
namespace {

using tests::readFile;
using tests::runProcess;
using tests::TempDir;
using tests::writeFile;

sdk::Job job(const std::string& ns, const std::string& name, const std::string& schedule,
             const std::string& zone, bool paused = false) {
  sdk::Job j;
  j.ns = ns;
  j.name = name;
  j.schedule = schedule;
  j.timezone = zone;
  j.paused = paused;
  return j;
}

std::unique_ptr<SystemdTimerScheduler> makeScheduler(const std::string& unit_dir,
                                                     const std::string& systemctl,
                                                     const std::string& state_dir,
                                                     const std::string& root = {}) {
  auto s = std::make_unique<SystemdTimerScheduler>();
  sdk::PluginContext context;
  // verify checks that ExecStart='s program exists and is executable.
  context.agent_path = "/bin/true";
  context.agent_state_dir = state_dir;
  context.options = {
      {"scope", "system"},     {"unit_dir", unit_dir}, {"systemctl_command", systemctl},
      {"persistent", "false"}, {"accuracy", "1s"},     {"root", root}};
  s->setNowForTesting(date::sys_days{date::year{2026} / 3 / 1});
  EXPECT_TRUE(s->configure(context).ok());
  return s;
}

sdk::Change change(SystemdTimerScheduler& s, sdk::ChangeKind kind, const sdk::Job& j) {
  sdk::Change c;
  c.kind = kind;
  c.identity = j.identity();
  c.paused = j.paused;
  if (kind != sdk::ChangeKind::kRemove) {
    sdk::RenderedEntry entry;
    const sdk::Result r = s.render(j, entry);
    EXPECT_TRUE(r.ok()) << r.message();
    c.text = entry.text;
  }
  return c;
}

std::vector<std::string> unitFiles(const std::string& dir) {
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.is_regular_file()) {
      files.push_back(entry.path().string());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

tests::ProcessResult verify(const std::vector<std::string>& files) {
  std::vector<std::string> argv = {"systemd-analyze", "verify", "--man=no"};
  argv.insert(argv.end(), files.begin(), files.end());
  return runProcess(argv);
}

TEST(SystemdVerify, CatchesBrokenUnitsHere) {
  // Guards the test below against a verify that silently checks nothing in this environment.
  TempDir dir;
  writeFile(dir / "broken.timer", "[Timer]\nOnCalendar=not a calendar\n");
  writeFile(dir / "broken.service", "[Service]\nType=oneshot\nExecStart=/nonexistent/x\n");
  const auto result = verify({dir / "broken.timer", dir / "broken.service"});
  EXPECT_NE(result.exit_code, 0);
  EXPECT_NE(result.err.find("calendar"), std::string::npos) << result.err;
}

TEST(SystemdVerify, EveryGeneratedUnitPairPasses) {
  TempDir dir;
  const auto corpus = tests::systemd_timer::cronCorpus(1100, true);
  const char* zones[] = {"", "UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe"};
  auto jobFor = [&](std::size_t i) {
    return job(i % 2 ? "prod" : "default", "job-" + std::to_string(i), corpus[i], zones[i % 5],
               i % 7 == 0);
  };

  // Through apply(), as the agent writes them (atomic writes with fsync: a sample keeps it fast).
  // The state dir needs quoting and '%' / '$' escaping in ExecStart=.
  const std::string applied = dir / "applied";
  auto s = makeScheduler(applied, "/bin/true", "/var/lib/crontopus state/100%/$HOME");
  std::vector<sdk::Change> changes;
  for (std::size_t i = 0; i < corpus.size(); i += 20) {
    changes.push_back(change(*s, sdk::ChangeKind::kAdd, jobFor(i)));
  }
  const sdk::Result r = s->apply(changes);
  ASSERT_TRUE(r.ok()) << r.message();

  // The whole corpus, rendered and written out as apply() would write it.
  const std::string rendered = dir / "rendered";
  std::filesystem::create_directories(rendered);
  for (std::size_t i = 0; i < corpus.size(); ++i) {
    sdk::RenderedEntry entry;
    ASSERT_TRUE(s->render(jobFor(i), entry).ok()) << corpus[i];
    EntryParts parts;
    std::string error;
    ASSERT_TRUE(parseEntry(entry.text, parts, error)) << error;
    for (const auto& file : parts.files) {
      writeFile(rendered + "/" + file.name, file.content);
    }
  }

  for (const auto& [unit_dir, pairs] :
       {std::pair{applied, changes.size()}, std::pair{rendered, corpus.size()}}) {
    const auto files = unitFiles(unit_dir);
    ASSERT_EQ(files.size(), 2 * pairs);
    const auto result = verify(files);
    EXPECT_EQ(result.exit_code, 0);
    EXPECT_EQ(result.out + result.err, "");
    std::cout << "systemd-analyze verify: " << files.size() << " unit files in " << unit_dir
              << ", clean\n";
  }
}

class SystemctlRoot : public ::testing::Test {
 protected:
  void SetUp() override {
    units_ = root_ / "etc/systemd/system";
    std::filesystem::create_directories(units_);
    log_ = shim_dir_ / "calls.log";
    // Records every call and hands it to the real systemctl, which works offline with --root.
    shim_ = shim_dir_ / "systemctl-shim";
    writeFile(shim_, "#!/bin/sh\nprintf '%s\\n' \"$*\" >> '" + log_ + "'\nexec systemctl \"$@\"\n",
              0755);
    // The `root` option: units in <root>/etc/systemd/system, systemctl --root, no --now.
    scheduler_ = makeScheduler("", shim_, "/var/lib/crontopus", root_.path());
    ASSERT_EQ(scheduler_->unitDir(), units_);
    ASSERT_TRUE(scheduler_->support().supported);
  }

  bool linked(const std::string& timer) {
    struct stat st {};
    return ::lstat((units_ + "/timers.target.wants/" + timer).c_str(), &st) == 0;
  }

  void applyOk(const std::vector<sdk::Change>& changes) {
    const sdk::Result r = scheduler_->apply(changes);
    ASSERT_TRUE(r.ok()) << r.message();
  }

  void expectInSync(const std::vector<sdk::Job>& jobs) {
    std::vector<sdk::InstalledEntry> entries;
    ASSERT_TRUE(scheduler_->listOwned(entries).ok());
    ASSERT_EQ(entries.size(), jobs.size());
    std::map<std::string, sdk::InstalledEntry> by_identity;
    for (auto& e : entries) {
      by_identity[e.identity] = e;
    }
    for (const auto& j : jobs) {
      sdk::RenderedEntry rendered;
      ASSERT_TRUE(scheduler_->render(j, rendered).ok());
      EXPECT_EQ(by_identity[j.identity()].text, rendered.text) << j.identity();
      EXPECT_EQ(by_identity[j.identity()].paused, j.paused) << j.identity();
    }
  }

  TempDir root_;
  TempDir shim_dir_;
  std::string units_;
  std::string log_;
  std::string shim_;
  std::unique_ptr<SystemdTimerScheduler> scheduler_;
};

TEST_F(SystemctlRoot, PausedAndResumedJobsHaveTheRightWantsLinks) {
  // A foreign timer, enabled by systemctl itself, must survive everything below.
  writeFile(units_ + "/foreign.timer",
            "[Timer]\nOnCalendar=daily\n[Install]\nWantedBy=timers.target\n");
  writeFile(units_ + "/foreign.service", "[Service]\nExecStart=/bin/true\n");
  ASSERT_EQ(
      runProcess({"systemctl", "--root=" + root_.path(), "enable", "foreign.timer"}).exit_code, 0);

  const std::string ta = "crontopus-default-backup\\x2ddb.timer";
  const std::string tb = "crontopus-prod-report.timer";
  sdk::Job a = job("default", "backup-db", "30 2 * * *", "Europe/Berlin");
  sdk::Job b = job("prod", "report", "0 9 * * mon-fri", "America/New_York", true);
  applyOk({change(*scheduler_, sdk::ChangeKind::kAdd, a),
           change(*scheduler_, sdk::ChangeKind::kAdd, b)});
  EXPECT_TRUE(linked(ta));
  EXPECT_FALSE(linked(tb));
  expectInSync({a, b});

  a.paused = true;
  b.paused = false;
  applyOk({change(*scheduler_, sdk::ChangeKind::kPause, a),
           change(*scheduler_, sdk::ChangeKind::kResume, b)});
  EXPECT_FALSE(linked(ta));
  EXPECT_TRUE(linked(tb));
  EXPECT_TRUE(std::filesystem::exists(units_ + "/" + ta));  // paused keeps its files
  expectInSync({a, b});

  applyOk({change(*scheduler_, sdk::ChangeKind::kRemove, b)});
  EXPECT_FALSE(linked(tb));
  EXPECT_FALSE(std::filesystem::exists(units_ + "/" + tb));
  expectInSync({a});

  EXPECT_TRUE(linked("foreign.timer"));
  EXPECT_EQ(readFile(units_ + "/foreign.timer"),
            "[Timer]\nOnCalendar=daily\n[Install]\nWantedBy=timers.target\n");
  const std::string r = "--root=" + root_.path() + " ";
  EXPECT_EQ(readFile(log_), r + "enable " + ta + "\n" + r + "disable " + ta + "\n" + r + "enable " +
                                tb + "\n" + r + "disable " + tb + "\n");
  // What systemctl itself says about enablement agrees with the links.
  const auto state = runProcess({"systemctl", "--root=" + root_.path(), "is-enabled", ta});
  EXPECT_EQ(state.out, "disabled\n");
}

}  // namespace
}  // namespace crontopus::plugins::systemd_timer
