// The whole agent against Debian's real cron daemon: a throwaway user, a local Git repository,
// `apply`, and cron itself running the wrapper at minute boundaries.
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <random>

#include <gtest/gtest.h>

#include "InstallCopy.h"
#include "TestSupport.h"

namespace crontopus::tests {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

// cron fires at minute boundaries and reads a changed crontab at the next one: a job installed
// just after a boundary runs about 60 s later.
constexpr auto kCronMinute = 75s;

std::string joined(const std::vector<std::string>& argv) {
  std::string s;
  for (const auto& a : argv)
    s += (s.empty() ? "" : " ") + a;
  return s;
}

// Live (not zombie) processes whose name (/proc/PID/comm) is `name` and, when `uid` is given, whose
// owner is `uid`. Reads /proc itself: a fresh Debian image has no pgrep (procps).
std::vector<pid_t> processes(const std::string& name, std::optional<uid_t> uid = std::nullopt) {
  std::vector<pid_t> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/proc", ec)) {
    const std::string pid = e.path().filename().string();
    if (pid.find_first_not_of("0123456789") != std::string::npos)
      continue;
    struct stat st {};
    if (stat(e.path().c_str(), &st) != 0)
      continue;
    if (uid && st.st_uid != *uid)
      continue;
    // /proc/PID/stat: "PID (COMM) STATE ...". A zombie is not a running daemon (and some
    // containers' PID 1 never reaps orphans).
    std::ifstream stat_file(e.path() / "stat");
    std::string text((std::istreambuf_iterator<char>(stat_file)), std::istreambuf_iterator<char>());
    const auto open = text.find('(');
    const auto close = text.rfind(')');
    if (open == std::string::npos || close == std::string::npos || close + 2 >= text.size())
      continue;
    const char state = text[close + 2];
    if (state == 'Z' || state == 'X')
      continue;
    if (name.empty() || text.substr(open + 1, close - open - 1) == name)
      out.push_back(static_cast<pid_t>(std::stol(pid)));
  }
  return out;
}

// Debian's cron, started if none is running (it daemonizes; it is left running for whoever
// comes next). A running one is reused: two daemons would run every job twice.
::testing::AssertionResult ensureCronRunning() {
  if (!processes("cron").empty())
    return ::testing::AssertionSuccess();
  if (!fs::exists("/usr/sbin/cron")) {
    return ::testing::AssertionFailure()
           << "/usr/sbin/cron is missing: install Debian's cron (scripts/packages.txt)";
  }
  // Through sh so that the daemon's stdio is /dev/null, not runProcess's pipes.
  const auto r = runProcess({"/bin/sh", "-c", "/usr/sbin/cron </dev/null >/dev/null 2>&1"});
  if (r.exit_code != 0)
    return ::testing::AssertionFailure() << "/usr/sbin/cron exited " << r.exit_code;
  if (!waitFor([] { return !processes("cron").empty(); }, 10s)) {
    return ::testing::AssertionFailure() << "started /usr/sbin/cron but no cron process appeared";
  }
  std::cerr << "started /usr/sbin/cron (left running)\n";
  return ::testing::AssertionSuccess();
}

// A user made for this test (useradd -m) and removed with its home and crontab afterwards, also
// when the test fails.
class ThrowawayUser {
 public:
  ThrowawayUser() {
    std::random_device rd;
    name_ = "ctpe2e" + std::to_string(getpid()) + "x" + std::to_string(rd() % 100000);
  }
  ~ThrowawayUser() {
    if (!created_)
      return;
    runProcess({"crontab", "-u", name_, "-r"});
    // A wrapper cron started may still be finishing; userdel refuses a user with processes.
    if (uid_ != 0)
      waitFor([&] { return processes("", uid_).empty(); }, 30s, 200ms);
    if (runProcess({"userdel", "-r", name_}).exit_code != 0)
      runProcess({"userdel", "-f", "-r", name_});
  }
  ThrowawayUser(const ThrowawayUser&) = delete;
  ThrowawayUser& operator=(const ThrowawayUser&) = delete;

  ::testing::AssertionResult create() {
    const auto r = runProcess({"useradd", "-m", "-s", "/bin/sh", name_});
    if (r.exit_code != 0)
      return ::testing::AssertionFailure() << "useradd " << name_ << ": " << r.err;
    created_ = true;
    const struct passwd* pw = getpwnam(name_.c_str());
    if (pw == nullptr)
      return ::testing::AssertionFailure() << "getpwnam(" << name_ << ") after useradd";
    uid_ = pw->pw_uid;
    gid_ = pw->pw_gid;
    home_ = pw->pw_dir;
    return ::testing::AssertionSuccess();
  }

  // Runs `argv` as the user, with a clean login-like environment (no root HOME leaking in).
  ProcessResult run(const std::vector<std::string>& argv, const std::string& input = {}) const {
    std::vector<std::string> full = {"runuser",
                                     "-u",
                                     name_,
                                     "--",
                                     "env",
                                     "-i",
                                     "HOME=" + home_,
                                     "USER=" + name_,
                                     "LOGNAME=" + name_,
                                     "PATH=/usr/local/bin:/usr/bin:/bin"};
    full.insert(full.end(), argv.begin(), argv.end());
    return runProcess(full, input, {}, home_);
  }

  // Writes a file the user owns (root writes it, then hands it over).
  void write(const std::string& path, const std::string& text) const {
    writeFile(path, text, 0644);
    own(path);
  }
  void mkdir(const std::string& path) const {
    fs::create_directories(path);
    own(path);
  }
  void own(const std::string& path) const {
    if (chown(path.c_str(), uid_, gid_) != 0)
      throw std::runtime_error("chown " + path);
  }

  const std::string& name() const { return name_; }
  const std::string& home() const { return home_; }
  uid_t uid() const { return uid_; }

 private:
  std::string name_;
  bool created_ = false;
  uid_t uid_ = 0;
  gid_t gid_ = 0;
  std::string home_;
};

std::string manifest(const ThrowawayUser& u, const std::string& version) {
  const std::string out = u.home() + "/out";
  return "apiVersion: v1\n"
         "kind: Job\n"
         "metadata:\n"
         "  name: writer\n"
         "  tenant: e2e\n"
         "spec:\n"
         "  schedule: \"* * * * *\"\n"
         "  command: |-\n"
         "    printf '%s|%s|%s\\n' " +
         version + " \"$MYVAR\" \"$(pwd)\" > " + out + "/result.tmp && mv " + out + "/result.tmp " +
         out +
         "/result.txt\n"
         "  workingDir: " +
         u.home() +
         "/wd\n"
         "  env:\n"
         "    MYVAR: hello from the manifest\n";
}

std::string readOr(const std::string& path, const std::string& fallback = {}) {
  try {
    return readFile(path);
  } catch (const std::exception&) {
    return fallback;
  }
}

struct timespec mtimeOf(const std::string& path) {
  struct stat st {};
  stat(path.c_str(), &st);
  return st.st_mtim;
}

TEST(CronE2E, JobRunsIsUpdatedAndRemovedOnARealCronDaemon) {
  if (geteuid() != 0) {
    FAIL() << "this test needs root: it creates a throwaway user (useradd), installs that user's "
              "crontab and may start /usr/sbin/cron; run it as root (scripts/test does)";
  }
  const auto began = std::chrono::steady_clock::now();
  ASSERT_TRUE(ensureCronRunning());
  ThrowawayUser user;
  ASSERT_TRUE(user.create());
  const std::string home = user.home();
  std::cerr << "throwaway user " << user.name() << " (" << home << ")\n";

  // The crontab entry calls the agent by absolute path, as the user: the build tree may sit
  // where that user cannot go (e.g. under /root). Then run a copy from a world-readable prefix.
  TempDir prefix;
  std::string agent = AGENT_BIN;
  const auto probe = user.run({agent, "plugins"});
  const bool reachable = probe.exit_code == 0 && probe.out.find("cron") != std::string::npos &&
                         probe.out.find("git") != std::string::npos;
  if (!reachable || std::getenv("CRONTOPUS_E2E_COPY") != nullptr) {
    agent = installCopy(AGENT_BIN, prefix / "usr");
    const auto again = user.run({agent, "plugins"});
    ASSERT_EQ(again.exit_code, 0) << again.out << again.err;
  }
  std::cerr << "agent for the user: " << agent << (reachable ? "" : " (copied)") << "\n";

  // The user's own crontab, which the agent must never change.
  const std::string foreign =
      "# my own crontab, hands off\n"
      "MAILTO=\"\"\n"
      "SHELL=/bin/sh\n"
      "\n"
      "#Ansible: rotate logs\n"
      "0 5 * * *\t/bin/true   # tab and   odd spacing\n"
      "@reboot /bin/echo booted\n";
  auto r = runProcess({"crontab", "-u", user.name(), "-"}, foreign);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto crontab = [&] {
    auto l = runProcess({"crontab", "-u", user.name(), "-l"});
    EXPECT_EQ(l.exit_code, 0) << l.err;
    return l.out;
  };
  ASSERT_EQ(crontab(), foreign);

  // The manifest repository, owned and committed by the user.
  const std::string repo = home + "/repo";
  const std::string state = home + "/state";
  user.mkdir(repo);
  user.mkdir(repo + "/e2e");
  user.mkdir(home + "/out");
  user.mkdir(home + "/wd");
  auto git = [&](std::vector<std::string> args) {
    std::vector<std::string> argv = {
        "git", "-C", repo, "-c", "user.name=e2e", "-c", "user.email=e2e@example.invalid"};
    argv.insert(argv.end(), args.begin(), args.end());
    const auto g = user.run(argv);
    EXPECT_EQ(g.exit_code, 0) << joined(argv) << ": " << g.err;
  };
  git({"init", "-q", "-b", "main"});
  user.write(repo + "/README.md", "manifests for the e2e test\n");
  user.write(repo + "/e2e/writer.yaml", manifest(user, "v1"));
  git({"add", "-A"});
  git({"commit", "-q", "-m", "writer v1"});

  const std::string config = home + "/agent.yaml";
  user.write(config, "agent:\n  state_dir: " + state + "\ngit:\n  url: file://" + repo +
                         "\n  local_path: " + state +
                         "/job-manifests\nscheduler:\n  backend: cron\n");
  auto agentDo = [&](const std::vector<std::string>& args) {
    std::vector<std::string> argv = {agent, "--config", config};
    argv.insert(argv.end(), args.begin(), args.end());
    return user.run(argv);
  };

  // Phase 1: apply; cron runs the wrapper, which runs the job with its env and workingDir.
  r = agentDo({"apply"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  // The entry calls crontopus-run, installed beside the agent (makePluginContext).
  const std::string wrapper = (fs::path(agent).parent_path() / "crontopus-run").string();
  const std::string block = "# CRONTOPUS:e2e/writer\n* * * * * '" + wrapper +
                            "' run --state-dir '" + state + "' 'e2e/writer'\n";
  const std::string installed = crontab();
  ASSERT_EQ(installed, foreign + block);
  EXPECT_EQ(agentDo({"plan", "--exit-code"}).exit_code, 0) << "nothing left to do after apply";
  const std::string spool = "/var/spool/cron/crontabs/" + user.name();
  const auto installed_mtime = mtimeOf(spool);
  const std::string spec = state + "/jobs/e2e/writer.json";
  {
    struct stat st {};
    ASSERT_EQ(stat(spec.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_EQ(st.st_uid, user.uid());
  }

  const std::string result = home + "/out/result.txt";
  const std::string want_v1 = "v1|hello from the manifest|" + home + "/wd\n";
  const auto phase1 = std::chrono::steady_clock::now();
  EXPECT_TRUE(waitFor([&] { return readOr(result) == want_v1; }, kCronMinute, 250ms))
      << "cron did not run the job within " << kCronMinute.count() << " s; result: \""
      << readOr(result, "(missing)") << "\"; runs.log: " << readOr(state + "/runs.log");
  std::cerr << "phase 1: job ran after "
            << std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() -
                                                                phase1)
                   .count()
            << " s\n";
  {
    struct stat st {};
    ASSERT_EQ(stat(result.c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, user.uid()) << "written by the user's cron job";
  }
  EXPECT_TRUE(waitFor(
      [&] {
        return readOr(state + "/runs.log").find("\"job\":\"e2e/writer\"") != std::string::npos;
      },
      10s))
      << "the wrapper records each run";
  EXPECT_NE(readOr(state + "/runs.log").find("\"status\":\"success\""), std::string::npos)
      << readOr(state + "/runs.log");
  EXPECT_EQ(crontab(), installed);

  // Phase 2: a new command in Git; only the run spec changes, the crontab is not rewritten.
  user.write(repo + "/e2e/writer.yaml", manifest(user, "v2"));
  git({"commit", "-q", "-a", "-m", "writer v2"});
  r = agentDo({"apply"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("command changed"), std::string::npos) << r.out;
  EXPECT_EQ(crontab(), installed);
  const auto after_update = mtimeOf(spool);
  EXPECT_TRUE(after_update.tv_sec == installed_mtime.tv_sec &&
              after_update.tv_nsec == installed_mtime.tv_nsec)
      << "a command-only change must not rewrite the crontab";
  const std::string want_v2 = "v2|hello from the manifest|" + home + "/wd\n";
  const auto phase2 = std::chrono::steady_clock::now();
  EXPECT_TRUE(waitFor([&] { return readOr(result) == want_v2; }, kCronMinute, 250ms))
      << "the next run did not use the new command; result: \"" << readOr(result, "(missing)")
      << "\"";
  std::cerr << "phase 2: new command ran after "
            << std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() -
                                                                phase2)
                   .count()
            << " s\n";
  EXPECT_EQ(crontab(), installed);

  // Paused in Git: the entry stays, commented out, and nothing else moves.
  user.write(repo + "/e2e/writer.yaml", manifest(user, "v2") + "  paused: true\n");
  git({"commit", "-q", "-a", "-m", "pause writer"});
  r = agentDo({"apply"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("pause "), std::string::npos) << r.out;
  const std::string paused = crontab();
  EXPECT_EQ(paused, foreign + "# CRONTOPUS:e2e/writer\n#" + block.substr(block.find('\n') + 1));

  // A broken manifest for the installed job: the entry is kept, the job is in error, exit 1.
  user.write(repo + "/e2e/writer.yaml",
             "apiVersion: v1\nkind: Job\nmetadata:\n  name: writer\n"
             "  tenant: e2e\nspec:\n  schedule: \"61 * * * *\"\n"
             "  command: /bin/true\n");
  git({"commit", "-q", "-a", "-m", "break writer"});
  r = agentDo({"apply"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("spec.schedule"), std::string::npos) << r.out;
  EXPECT_EQ(crontab(), paused);
  EXPECT_TRUE(fs::exists(spec)) << "a kept job keeps its run spec";
  r = agentDo({"status"});
  EXPECT_NE(r.out.find("e2e/writer"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(" error "), std::string::npos) << r.out;

  // Phase 3: the manifest is deleted; the entry and its run spec go, the user's lines stay.
  git({"rm", "-q", "e2e/writer.yaml"});
  git({"commit", "-q", "-m", "remove writer"});
  r = agentDo({"apply"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("remove"), std::string::npos) << r.out;
  EXPECT_EQ(crontab(), foreign);
  EXPECT_FALSE(fs::exists(spec));
  r = agentDo({"status"});
  EXPECT_NE(r.out.find("jobs:            0"), std::string::npos) << r.out;

  std::cerr << "e2e took "
            << std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() -
                                                                began)
                   .count()
            << " s\n";
}

}  // namespace
}  // namespace crontopus::tests
