#include <gtest/gtest.h>
#include <unistd.h>

#include <random>

#include "Platform.h"
#include "TestSupport.h"

namespace crontopus::plugins::cron::test {
namespace {

platform::ProcessOutput run(const std::vector<std::string>& argv, const std::string& input = {}) {
  platform::ProcessOutput output;
  sdk::Result ok = platform::runProcess(argv, input, std::chrono::seconds(60), output);
  EXPECT_TRUE(ok.ok()) << ok.message();
  return output;
}

// A user that exists only for one test: created with useradd, its crontab and the user removed
// in the destructor, so also when the test fails.
class ThrowawayUser {
 public:
  ThrowawayUser() {
    std::random_device random;
    name_ = "ctpcron" + std::to_string(::getpid()) + "x" + std::to_string(random() % 100000);
    auto added = run({"useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", name_});
    created_ = added.exit_code == 0;
    EXPECT_TRUE(created_) << "useradd " << name_ << ": " << added.err;
  }
  ThrowawayUser(const ThrowawayUser&) = delete;
  ThrowawayUser& operator=(const ThrowawayUser&) = delete;
  ~ThrowawayUser() {
    if (!created_) {
      return;
    }
    run({"crontab", "-u", name_, "-r"});  // fails harmlessly when there is no crontab
    auto removed = run({"userdel", name_});
    EXPECT_EQ(removed.exit_code, 0) << "userdel " << name_ << ": " << removed.err;
  }
  const std::string& name() const { return name_; }
  bool created() const { return created_; }

 private:
  std::string name_;
  bool created_ = false;
};

class RealCrontab : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::geteuid(), 0u)
        << "these tests install crontabs for a throwaway user with Debian's crontab -u and "
           "useradd/userdel: run them as root";
    ASSERT_FALSE(platform::findExecutable("crontab").empty())
        << "Debian's crontab is missing: apt-get install cron";
    user_ = std::make_unique<ThrowawayUser>();
    ASSERT_TRUE(user_->created());
  }
  void TearDown() override { user_.reset(); }

  std::unique_ptr<CronScheduler> plugin(sdk::PluginContext context = makeContext()) {
    auto plugin = std::make_unique<CronScheduler>();
    context.options["user"] = user_->name();
    sdk::Result ok = plugin->configure(context);
    EXPECT_TRUE(ok.ok()) << ok.message();
    EXPECT_TRUE(plugin->support().supported) << plugin->support().reason;
    return plugin;
  }

  std::string installedText() {
    auto listed = run({"crontab", "-u", user_->name(), "-l"});
    EXPECT_EQ(listed.exit_code, 0) << listed.err;
    return listed.out;
  }

  std::unique_ptr<ThrowawayUser> user_;
};

TEST_F(RealCrontab, RenderedEntriesInstallAndReadBackIdentically) {
  sdk::PluginContext context = makeContext();
  context.agent_path = "/opt/crontopus 100%/bin/crontopus-agent";
  context.agent_state_dir = "/var/lib/it's \\%state";
  auto cron = plugin(context);

  const std::string foreign =
      "# their comment\nMAILTO=\"\"\n@reboot /bin/true\n\t*/10\t* * * *  /bin/true # odd\n";
  ASSERT_EQ(run({"crontab", "-u", user_->name(), "-"}, foreign).exit_code, 0);

  std::map<std::string, sdk::Job> desired;
  auto add = [&](sdk::Job job) { desired[job.identity()] = job; };
  add(makeJob("prod", "every-five"));
  sdk::Job paused = makeJob("prod", "paused", "0 2 * * MON-FRI");
  paused.paused = true;
  add(paused);
  sdk::Job with_id = makeJob("ops", "with-id", "@weekly");
  with_id.id = "3f6c id with spaces\nand a newline";
  add(with_id);
  add(makeJob("ops", "at-boot", "@reboot"));
  add(makeJob("ops", "stepped", "5/15 * * JAN-MAR *"));

  auto changes = planChanges(*cron, desired);
  ASSERT_EQ(changes.size(), desired.size());
  sdk::Result applied = cron->apply(changes);
  ASSERT_TRUE(applied.ok()) << applied.message();

  std::string expected = foreign;
  for (const auto& [identity, job] : desired) {
    sdk::RenderedEntry rendered;
    ASSERT_TRUE(cron->render(job, rendered).ok());
    expected += rendered.text;
  }
  EXPECT_EQ(installedText(), expected);
  // In sync: the plan is empty and listOwned gives back exactly the rendered text.
  EXPECT_TRUE(planChanges(*cron, desired).empty());
  std::vector<sdk::InstalledEntry> installed;
  ASSERT_TRUE(cron->listOwned(installed).ok());
  ASSERT_EQ(installed.size(), desired.size());
  for (const auto& entry : installed) {
    EXPECT_EQ(entry.paused, entry.identity == "prod/paused") << entry.identity;
  }

  // Removing every job leaves the user's own lines exactly as they were.
  ASSERT_TRUE(cron->apply(planChanges(*cron, {})).ok());
  EXPECT_EQ(installedText(), foreign);
}

TEST_F(RealCrontab, NoCrontabIsEmptyAndOtherFailuresAreErrors) {
  auto cron = plugin();
  std::vector<sdk::InstalledEntry> installed;
  ASSERT_TRUE(cron->listOwned(installed).ok());
  EXPECT_TRUE(installed.empty());

  auto missing = std::make_unique<CronScheduler>();
  ASSERT_TRUE(missing->configure(makeContext({{"user", "no-such-user-ctp"}})).ok());
  sdk::Result listed = missing->listOwned(installed);
  EXPECT_EQ(listed.code(), sdk::ErrorCode::kIo);
  EXPECT_NE(listed.message().find("no-such-user-ctp"), std::string::npos) << listed.message();
}

TEST_F(RealCrontab, LineLimitMatchesDebiansCrontab) {
  std::string lines;
  for (int i = 0; i < 9998; ++i) {
    lines += "# filler\n";
  }
  // Debian's crontab takes exactly 10,000 lines and refuses 10,001.
  ASSERT_EQ(run({"crontab", "-u", user_->name(), "-"}, lines + "# 9999\n# 10000\n").exit_code, 0);
  auto refused = run({"crontab", "-u", user_->name(), "-"}, lines + "# a\n# b\n# c\n");
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("10000"), std::string::npos) << refused.err;

  ASSERT_EQ(run({"crontab", "-u", user_->name(), "-"}, lines).exit_code, 0);
  auto cron = plugin();
  ASSERT_TRUE(cron->apply(planChanges(*cron, {{"ns/a", makeJob("ns", "a")}})).ok());
  EXPECT_EQ(
      installedText(), lines + [&] {
        sdk::RenderedEntry rendered;
        EXPECT_TRUE(cron->render(makeJob("ns", "a"), rendered).ok());
        return rendered.text;
      }());
  sdk::Result result =
      cron->apply(planChanges(*cron, {{"ns/a", makeJob("ns", "a")}, {"ns/b", makeJob("ns", "b")}}));
  EXPECT_EQ(result.code(), sdk::ErrorCode::kLimit) << result.message();
}

}  // namespace
}  // namespace crontopus::plugins::cron::test
