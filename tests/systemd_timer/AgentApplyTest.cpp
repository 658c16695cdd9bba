// The whole agent with `scheduler.backend: systemd-timer`: `apply` on the example repository into
// a unit directory under a temporary root; the units pass systemd-analyze verify, fire exactly
// when the manifests' schedules do (systemd-analyze calendar), and enablement follows `paused`.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <set>
#include <sstream>

#include "TestCorpus.h"
#include "TestSupport.h"
#include "crontopus/sdk/CronExpression.h"

namespace {

namespace fs = std::filesystem;
using crontopus::tests::readFile;
using crontopus::tests::runProcess;
using crontopus::tests::TempDir;
using crontopus::tests::writeFile;
using std::chrono::sys_seconds;

// The lines as the unit carries them, zone suffix included (systemd evaluates it natively).
std::vector<sys_seconds> analyzeFires(const std::vector<std::string>& lines, sys_seconds base,
                                      std::size_t iterations) {
  std::vector<std::string> argv = {
      "systemd-analyze", "calendar", "--iterations=" + std::to_string(iterations),
      "--base-time=@" + std::to_string(base.time_since_epoch().count())};
  argv.insert(argv.end(), lines.begin(), lines.end());
  const auto result = runProcess(argv, {}, {{"TZ", "UTC"}});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  std::set<sys_seconds> fires;
  std::istringstream in(result.out);
  for (std::string line; std::getline(in, line);) {
    if ((line.find("Next elapse:") != std::string::npos ||
         line.find("Iter. #") != std::string::npos) &&
        line.size() > 23 && line.compare(line.size() - 4, 4, " UTC") == 0) {
      fires.insert(crontopus::tests::systemd_timer::utcTime(line.substr(line.size() - 23, 19)));
    }
  }
  return {fires.begin(), fires.end()};
}

bool linked(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

TEST(AgentApply, ExampleRepositoryBecomesVerifiedEquivalentUnits) {
  TempDir dir;
  const std::string repo = dir / "repo";
  fs::copy(EXAMPLES_DIR, repo, fs::copy_options::recursive);
  auto git = [&](std::vector<std::string> args) {
    std::vector<std::string> argv = {
        "git", "-C", repo, "-c", "user.name=t", "-c", "user.email=t@example.invalid"};
    argv.insert(argv.end(), args.begin(), args.end());
    const auto r = runProcess(argv);
    ASSERT_EQ(r.exit_code, 0) << r.err;
  };
  git({"init", "-q", "-b", "main"});
  git({"add", "-A"});
  git({"commit", "-q", "-m", "examples"});

  const std::string root = dir / "root";
  const std::string units = root + "/etc/systemd/system";
  fs::create_directories(units);
  const std::string log = dir / "systemctl.log";
  const std::string shim = dir / "systemctl-shim";
  // systemd is not PID 1 here; the `root` option provisions the temporary root offline through
  // the real systemctl --root. The shim only records the calls.
  writeFile(shim, "#!/bin/sh\nprintf '%s\\n' \"$*\" >> '" + log + "'\nexec systemctl \"$@\"\n",
            0755);
  const std::string state = dir / "state";
  const std::string config = dir / "config.yaml";
  writeFile(config, "agent:\n  state_dir: " + state + "\ngit:\n  url: file://" + repo +
                        "\n  branch: main\n  local_path: " + state +
                        "/job-manifests\nscheduler:\n  backend: systemd-timer\n  options:\n"
                        "    scope: system\n    root: " +
                        root + "\n    systemctl_command: " + shim + "\n");
  const std::map<std::string, std::string> env = {{"CRONTOPUS_CHECKIN_SECRET", "s3cret"}};

  const auto plugins = runProcess({AGENT_BIN, "plugins"}, {}, env);
  EXPECT_NE(plugins.out.find("systemd-timer"), std::string::npos) << plugins.out << plugins.err;

  const auto apply = runProcess({AGENT_BIN, "--config", config, "apply"}, {}, env);
  ASSERT_EQ(apply.exit_code, 0) << apply.out << apply.err;
  const auto plan = runProcess({AGENT_BIN, "--config", config, "plan", "--exit-code"}, {}, env);
  EXPECT_EQ(plan.exit_code, 0) << "changes left after apply:\n" << plan.out << plan.err;

  std::vector<std::string> files;
  std::vector<std::string> timers;
  for (const auto& entry : fs::directory_iterator(units)) {
    if (entry.is_regular_file()) {
      files.push_back(entry.path().string());
      if (entry.path().extension() == ".timer") {
        timers.push_back(entry.path().string());
      }
    }
  }
  ASSERT_GE(timers.size(), 4u);
  std::vector<std::string> argv = {"systemd-analyze", "verify", "--man=no"};
  argv.insert(argv.end(), files.begin(), files.end());
  const auto verify = runProcess(argv);
  EXPECT_EQ(verify.exit_code, 0);
  EXPECT_EQ(verify.out + verify.err, "");

  // Paused jobs keep their files without a wants link; jobs with enabled: false get none.
  const std::string wants = units + "/timers.target.wants/";
  EXPECT_TRUE(linked(wants + "crontopus-production-db\\x2dbackup.timer"));
  EXPECT_TRUE(fs::exists(units + "/crontopus-staging-smoke\\x2dtest.timer"));
  EXPECT_FALSE(linked(wants + "crontopus-staging-smoke\\x2dtest.timer"));
  EXPECT_FALSE(fs::exists(units + "/crontopus-staging-legacy\\x2dexport.timer"));
  const std::string calls = readFile(log);
  EXPECT_NE(calls.find("--root=" + root + " enable crontopus-production-db\\x2dbackup.timer\n"),
            std::string::npos)
      << calls;
  EXPECT_EQ(calls.find("staging-smoke"), std::string::npos) << calls;

  // Each timer fires exactly when its schedule does, over the next year or 200 fire times.
  const auto now =
      std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
  for (const auto& timer : timers) {
    const std::string text = readFile(timer);
    std::istringstream in(text);
    std::string schedule, zone;
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("OnCalendar=", 0) == 0) {
        lines.push_back(line.substr(11));
      } else if (line.rfind("Description=", 0) == 0) {
        std::string d = line.substr(line.find(": ") + 2);
        if (d.back() == ')') {
          zone = d.substr(d.rfind(" (") + 2, d.size() - d.rfind(" (") - 3);
          d = d.substr(0, d.rfind(" ("));
        }
        schedule = d;
      }
    }
    crontopus::sdk::CronExpression expr;
    crontopus::sdk::CronError cron_error;
    ASSERT_TRUE(crontopus::sdk::CronExpression::parse(schedule, expr, cron_error)) << schedule;
    if (expr.isReboot()) {
      continue;
    }
    std::vector<sys_seconds> cron;
    std::string error;
    ASSERT_TRUE(expr.nextFireTimes(now, zone, 200, cron, error)) << error;
    sys_seconds end = now + std::chrono::hours(24 * 365);
    if (cron.size() == 200) {
      end = cron.back();
    }
    std::vector<sys_seconds> systemd;
    for (auto t : analyzeFires(lines, now, 201)) {
      if (t > now && t <= end) {
        systemd.push_back(t);
      }
    }
    std::vector<sys_seconds> expected;
    for (auto t : cron) {
      if (t <= end) {
        expected.push_back(t);
      }
    }
    EXPECT_EQ(systemd, expected) << timer << ": '" << schedule << "' in '" << zone << "'";
  }
}

}  // namespace
