// The cron backend's `user` option end to end, as root: the agent installs a throwaway user's
// crontab, writes that job's run spec under the user's home (owned by the user, closed to
// everyone else), and the entry, run as the user exactly as cron would run it, runs the job as
// that user and records the run in the user's run log. The root agent's own state directory
// never holds the run spec, a symlink the user plants in its run directory leads root nowhere, and
// a system user whose home root owns works too. Runs the entry's command itself, as the user in
// cron's environment (deterministic, no wait for the daemon's minute).
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>

#include <gtest/gtest.h>

#include "InstallCopy.h"
#include "TestSupport.h"

namespace crontopus::tests {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

std::string joined(const std::vector<std::string>& argv) {
  std::string s;
  for (const auto& a : argv)
    s += (s.empty() ? "" : " ") + a;
  return s;
}

// Live processes owned by `uid` (from /proc: a fresh Debian image has no pgrep).
bool hasProcesses(uid_t uid) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/proc", ec)) {
    const std::string pid = e.path().filename().string();
    if (pid.find_first_not_of("0123456789") != std::string::npos)
      continue;
    struct stat st {};
    if (stat(e.path().c_str(), &st) != 0 || st.st_uid != uid)
      continue;
    std::ifstream stat_file(e.path() / "stat");
    std::string text((std::istreambuf_iterator<char>(stat_file)), std::istreambuf_iterator<char>());
    const auto close = text.rfind(')');
    if (close != std::string::npos && close + 2 < text.size() &&
        (text[close + 2] == 'Z' || text[close + 2] == 'X')) {
      continue;
    }
    return true;
  }
  return false;
}

// A user made for this test (useradd -m), removed with its crontab and home afterwards, also when
// the test fails.
class ThrowawayUser {
 public:
  ThrowawayUser() {
    std::random_device rd;
    name_ = "ctpuo" + std::to_string(getpid()) + "x" + std::to_string(rd() % 100000);
  }
  ~ThrowawayUser() {
    if (!created_)
      return;
    runProcess({"crontab", "-u", name_, "-r"});
    // A cron daemon may have started the entry meanwhile; userdel refuses a user with processes.
    if (uid_ != 0)
      waitFor([&] { return !hasProcesses(uid_); }, 30s, 200ms);
    if (runProcess({"userdel", "-r", name_}).exit_code != 0)
      runProcess({"userdel", "-f", "-r", name_});
  }
  ThrowawayUser(const ThrowawayUser&) = delete;
  ThrowawayUser& operator=(const ThrowawayUser&) = delete;

  // useradd -m (a home of its own), or with `home`: that existing directory, left as it is (a
  // system user's home that root owns).
  ::testing::AssertionResult create(const std::string& home = {}) {
    const auto r = home.empty() ? runProcess({"useradd", "-m", "-s", "/bin/sh", name_})
                                : runProcess({"useradd", "-M", "-d", home, "-s", "/bin/sh", name_});
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

  // Runs `argv` as the user with cron's environment (what cron gives a job: HOME from the
  // password database, LOGNAME, SHELL, PATH; nothing of root's), from the user's home as cron does.
  ProcessResult run(const std::vector<std::string>& argv) const {
    std::vector<std::string> full = {"runuser",       "-u",
                                     name_,           "--",
                                     "env",           "-i",
                                     "HOME=" + home_, "LOGNAME=" + name_,
                                     "SHELL=/bin/sh", "PATH=/usr/bin:/bin"};
    full.insert(full.end(), argv.begin(), argv.end());
    return runProcess(full, {}, {}, home_);
  }

  void mkdir(const std::string& path) const {
    fs::create_directories(path);
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

std::string readOr(const std::string& path, const std::string& fallback = {}) {
  try {
    return readFile(path);
  } catch (const std::exception&) {
    return fallback;
  }
}

// A job that records who ran it: HOME, the user name and the working directory.
std::string manifest(const std::string& name, const std::string& out,
                     const std::string& working_dir) {
  std::string m =
      "apiVersion: v1\n"
      "kind: Job\n"
      "metadata:\n"
      "  name: " +
      name +
      "\n"
      "  tenant: uo\n"
      "spec:\n"
      "  schedule: \"* * * * *\"\n"
      "  command: |-\n"
      "    printf '%s|%s|%s\\n' \"$HOME\" \"$(id -un)\" \"$(pwd)\" > " +
      out + ".tmp && mv " + out + ".tmp " + out + "\n";
  if (!working_dir.empty())
    m += "  workingDir: " + working_dir + "\n";
  return m;
}

// The user, owner and mode of a path (lstat: a symlink is reported as one).
::testing::AssertionResult ownedPrivately(const std::string& path, uid_t uid, bool directory,
                                          unsigned exact_mode = 0) {
  struct stat st {};
  if (lstat(path.c_str(), &st) != 0)
    return ::testing::AssertionFailure() << path << " is missing";
  if (directory ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode)) {
    return ::testing::AssertionFailure()
           << path << " is not a " << (directory ? "directory" : "regular file");
  }
  if (st.st_uid != uid)
    return ::testing::AssertionFailure() << path << " is owned by uid " << st.st_uid;
  if ((st.st_mode & 077) != 0) {
    return ::testing::AssertionFailure()
           << path << " is open to group or others: mode " << std::oct << (st.st_mode & 07777);
  }
  if (exact_mode != 0 && (st.st_mode & 07777) != exact_mode) {
    return ::testing::AssertionFailure()
           << path << " has mode " << std::oct << (st.st_mode & 07777) << ", not " << exact_mode;
  }
  return ::testing::AssertionSuccess();
}

// Every regular file under `dir` whose name ends in ".json" below a "jobs" directory.
std::vector<std::string> runSpecsUnder(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    const std::string p = it->path().string();
    if (it->path().extension() == ".json" && p.find("/jobs/") != std::string::npos)
      out.push_back(p);
  }
  return out;
}

// The agent path for the user's entries: the build tree when the user can run it from there,
// else a copy in `prefix` (the build tree may sit where the user cannot go).
std::string agentFor(const ThrowawayUser& user, const TempDir& prefix) {
  const auto probe = user.run({AGENT_BIN, "plugins"});
  if (probe.exit_code == 0 && probe.out.find("cron") != std::string::npos &&
      std::getenv("CRONTOPUS_E2E_COPY") == nullptr) {
    return AGENT_BIN;
  }
  const std::string agent = installCopy(AGENT_BIN, prefix / "usr");
  const auto again = user.run({agent, "plugins"});
  EXPECT_EQ(again.exit_code, 0) << again.out << again.err;
  return agent;
}

// The command cron runs for the managed entry of `identity` in `crontab`: the line after its
// marker without the schedule's five fields, with cron's `\%` unescaping. Empty when missing.
std::string entryCommand(const std::string& crontab, const std::string& identity) {
  const std::string marker = "# CRONTOPUS:" + identity + "\n";
  const auto at = crontab.find(marker);
  if (at == std::string::npos)
    return {};
  const auto start = at + marker.size();
  const std::string line = crontab.substr(start, crontab.find('\n', start) - start);
  std::size_t pos = 0;
  for (int field = 0; field < 5; ++field) {
    pos = line.find(' ', pos);
    if (pos == std::string::npos)
      return {};
    pos = line.find_first_not_of(' ', pos);
  }
  std::string command;
  for (std::size_t i = pos; i < line.size(); ++i) {
    if (line[i] == '\\' && i + 1 < line.size() && line[i + 1] == '%')
      continue;
    command += line[i];
  }
  return command;
}

// A file:// manifest repository owned by root, committed with `git` as root.
class Repo {
 public:
  explicit Repo(std::string path) : path_(std::move(path)) {
    std::filesystem::create_directories(path_ + "/uo");
    git({"init", "-q", "-b", "main"});
  }
  void git(const std::vector<std::string>& args) const {
    std::vector<std::string> argv = {
        "git", "-C", path_, "-c", "user.name=uo", "-c", "user.email=uo@example.invalid"};
    argv.insert(argv.end(), args.begin(), args.end());
    const auto g = runProcess(argv);
    EXPECT_EQ(g.exit_code, 0) << joined(argv) << ": " << g.err;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A root-owned agent configuration: state in `state` (made 0700), jobs for `user`.
std::string writeConfig(const std::string& dir, const std::string& state, const Repo& repo,
                        const std::string& user) {
  std::filesystem::create_directories(state);
  chmod(state.c_str(), 0700);
  const std::string config = dir + "/agent.yaml";
  writeFile(config,
            "agent:\n  state_dir: " + state + "\ngit:\n  url: file://" + repo.path() +
                "\n  local_path: " + state + "/job-manifests\nscheduler:\n  backend: cron\n" +
                "  options:\n    user: " + user + "\n",
            0600);
  return config;
}

ProcessResult agentAsRoot(const std::string& agent, const std::string& config,
                          const std::vector<std::string>& args) {
  std::vector<std::string> argv = {agent, "--config", config};
  argv.insert(argv.end(), args.begin(), args.end());
  return runProcess(argv, {}, {{"HOME", "/root"}}, "/");
}

TEST(CronUserOption, JobsOfAnotherUserRunAsThatUserWithRunSpecsInItsHome) {
  if (geteuid() != 0) {
    FAIL() << "this test needs root: it creates a throwaway user (useradd), runs the agent as "
              "root with scheduler.options.user set to that user (crontab -u) and runs the entry "
              "as that user (runuser); run it as root (scripts/test does)";
  }
  const auto began = std::chrono::steady_clock::now();
  ThrowawayUser user;
  ASSERT_TRUE(user.create());
  const std::string home = user.home();
  const std::string run_dir = home + "/.crontopus";
  std::cerr << "throwaway user " << user.name() << " (" << home << ")\n";

  // The entry calls the agent by absolute path, as the user: copy it to a prefix the user can
  // execute when the build tree is out of its reach.
  TempDir prefix;
  const std::string agent = agentFor(user, prefix);

  // The user's own crontab lines, which must come through byte for byte.
  const std::string foreign =
      "# the user's own crontab\n"
      "MAILTO=\"\"\n"
      "\n"
      "#Ansible: backup\n"
      "30 2 * * *\t/bin/true   # odd  spacing\n"
      "@reboot /bin/echo up\n";
  auto r = runProcess({"crontab", "-u", user.name(), "-"}, foreign);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto crontab = [&] {
    auto l = runProcess({"crontab", "-u", user.name(), "-l"});
    EXPECT_EQ(l.exit_code, 0) << l.err;
    return l.out;
  };
  ASSERT_EQ(crontab(), foreign);

  // Root's side: a private state directory and a manifest repository nobody else needs to read.
  TempDir root_tmp;
  const std::string state = root_tmp / "state";
  Repo repo(root_tmp / "repo");
  auto git = [&](const std::vector<std::string>& args) { repo.git(args); };
  const std::string out = home + "/out";
  user.mkdir(out);
  user.mkdir(home + "/wd");
  writeFile(repo.path() + "/uo/at-home.yaml", manifest("at-home", out + "/at-home.txt", ""));
  writeFile(repo.path() + "/uo/in-wd.yaml", manifest("in-wd", out + "/in-wd.txt", home + "/wd"));
  git({"add", "-A"});
  git({"commit", "-q", "-m", "two jobs for the user"});
  const std::string config = writeConfig(root_tmp.path(), state, repo, user.name());
  auto agentDo = [&](const std::vector<std::string>& args) {
    return agentAsRoot(agent, config, args);
  };

  // apply: the entries go into the user's crontab and point run at the user's state directory.
  r = agentDo({"apply"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  // The entries call crontopus-run, installed beside the agent (makePluginContext).
  const std::string wrapper = (fs::path(agent).parent_path() / "crontopus-run").string();
  auto block = [&](const std::string& name) {
    return "# CRONTOPUS:uo/" + name + "\n* * * * * '" + wrapper + "' run --state-dir '" + run_dir +
           "' 'uo/" + name + "'\n";
  };
  const std::string installed = crontab();
  ASSERT_EQ(installed, foreign + block("at-home") + block("in-wd"));
  EXPECT_EQ(agentDo({"plan", "--exit-code"}).exit_code, 0) << "nothing left to do after apply";

  // The run specs: the user's, mode 0600, in directories only the user can enter.
  EXPECT_TRUE(ownedPrivately(run_dir, user.uid(), true));
  EXPECT_TRUE(ownedPrivately(run_dir + "/jobs", user.uid(), true));
  EXPECT_TRUE(ownedPrivately(run_dir + "/jobs/uo", user.uid(), true));
  for (const auto& name : {"at-home", "in-wd"}) {
    EXPECT_TRUE(ownedPrivately(run_dir + "/jobs/uo/" + name + ".json", user.uid(), false, 0600));
  }
  EXPECT_EQ(runSpecsUnder(run_dir).size(), 2u);
  // Root's state directory stays root's and private, and holds no run spec for them.
  EXPECT_TRUE(ownedPrivately(state, 0, true, 0700));
  EXPECT_TRUE(runSpecsUnder(state).empty()) << runSpecsUnder(state).front();

  // What cron would run: the entry's command (the line after the schedule's five fields, with
  // cron's `\%` unescaping) through /bin/sh, as the user, in cron's environment.
  struct Expect {
    std::string name;
    std::string working_dir;
  };
  for (const Expect& e : {Expect{"at-home", home}, Expect{"in-wd", home + "/wd"}}) {
    const std::string command = entryCommand(crontab(), "uo/" + e.name);
    ASSERT_FALSE(command.empty()) << "no entry for uo/" << e.name << " in\n" << crontab();
    const auto ran = user.run({"/bin/sh", "-c", command});
    EXPECT_EQ(ran.exit_code, 0) << command << "\n" << ran.out << ran.err;
    const std::string result = out + "/" + e.name + ".txt";
    EXPECT_EQ(readOr(result, "(missing)"), home + "|" + user.name() + "|" + e.working_dir + "\n")
        << "uo/" << e.name << " must run as " << user.name() << " with its HOME and working dir";
    struct stat st {};
    ASSERT_EQ(stat(result.c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, user.uid()) << "written by the job, as the user";
  }

  // The run log and the per-job files the wrapper wrote are the user's too.
  const std::string runs = run_dir + "/runs.log";
  EXPECT_TRUE(ownedPrivately(runs, user.uid(), false, 0600));
  {
    std::istringstream lines(readOr(runs));
    std::string line;
    int records = 0;
    for (const auto& name : {"at-home", "in-wd"}) {
      bool found = false;
      std::istringstream again(readOr(runs));
      while (std::getline(again, line)) {
        if (line.find("\"job\":\"uo/" + std::string(name) + "\"") != std::string::npos) {
          found = true;
          EXPECT_NE(line.find("\"exit_code\":0"), std::string::npos) << line;
          EXPECT_NE(line.find("\"status\":\"success\""), std::string::npos) << line;
        }
      }
      EXPECT_TRUE(found) << "no run record for uo/" << name << " in " << runs << ":\n"
                         << readOr(runs);
    }
    while (std::getline(lines, line))
      ++records;
    EXPECT_EQ(records, 2) << readOr(runs);
  }
  for (const auto& e : fs::directory_iterator(run_dir + "/jobs/uo")) {
    EXPECT_TRUE(ownedPrivately(e.path().string(), user.uid(), false)) << "written by the wrapper";
  }
  EXPECT_FALSE(fs::exists(state + "/runs.log")) << "the user's runs are not logged in root's dir";

  // A second apply with nothing changed rewrites nothing and keeps ownership.
  r = agentDo({"apply"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(crontab(), installed);
  EXPECT_TRUE(ownedPrivately(run_dir + "/jobs/uo/at-home.json", user.uid(), false, 0600));

  // The user controls its home: a symlink planted where the run specs go must not make root
  // write into (or give away) a directory of root's. The agent works there with the user's
  // rights, so the write fails and root's directory stays as it was.
  const std::string victim = root_tmp / "victim";
  fs::create_directories(victim);
  ASSERT_EQ(chmod(victim.c_str(), 0700), 0);
  fs::remove_all(run_dir + "/jobs/uo");
  fs::create_symlink(victim, run_dir + "/jobs/uo");
  writeFile(repo.path() + "/uo/at-home.yaml", manifest("at-home", out + "/at-home2.txt", ""));
  git({"commit", "-q", "-a", "-m", "new command for at-home"});
  r = agentDo({"apply"});
  EXPECT_NE(r.exit_code, 0) << "writing through the user's symlink must fail: " << r.out << r.err;
  EXPECT_NE(r.err.find("Permission denied"), std::string::npos) << r.err;
  EXPECT_TRUE(ownedPrivately(victim, 0, true, 0700)) << "root's directory was given away";
  EXPECT_TRUE(fs::is_empty(victim)) << "root wrote into its own directory for the user";
  EXPECT_EQ(crontab(), installed) << "a failed run spec write installs nothing";
  // The user removes its symlink: the next apply puts everything back, the user's again.
  fs::remove(run_dir + "/jobs/uo");
  r = agentDo({"apply"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(crontab(), installed);
  for (const auto& name : {"at-home", "in-wd"}) {
    EXPECT_TRUE(ownedPrivately(run_dir + "/jobs/uo/" + name + ".json", user.uid(), false, 0600));
  }
  EXPECT_TRUE(ownedPrivately(run_dir + "/jobs/uo", user.uid(), true));

  // One manifest removed: its entry and run spec go, the other job and the user's lines stay.
  git({"rm", "-q", "uo/in-wd.yaml"});
  git({"commit", "-q", "-m", "remove in-wd"});
  r = agentDo({"apply"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("remove"), std::string::npos) << r.out;
  EXPECT_EQ(crontab(), foreign + block("at-home"));
  EXPECT_FALSE(fs::exists(run_dir + "/jobs/uo/in-wd.json")) << "its run spec is removed";
  EXPECT_TRUE(fs::exists(run_dir + "/jobs/uo/at-home.json"));

  // The last manifest removed: the user's crontab is exactly its own lines again.
  git({"rm", "-q", "uo/at-home.yaml"});
  git({"commit", "-q", "-m", "remove at-home"});
  r = agentDo({"apply"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(crontab(), foreign) << "the user's own lines must be byte-identical";
  EXPECT_TRUE(runSpecsUnder(run_dir).empty()) << runSpecsUnder(run_dir).front();

  // uninstall takes the entries and the run specs out of the user's home as well.
  writeFile(repo.path() + "/uo/at-home.yaml", manifest("at-home", out + "/at-home.txt", ""));
  git({"add", "-A"});
  git({"commit", "-q", "-m", "at-home again"});
  r = agentDo({"apply"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(crontab(), foreign + block("at-home"));
  EXPECT_TRUE(ownedPrivately(run_dir + "/jobs/uo/at-home.json", user.uid(), false, 0600));
  r = agentDo({"uninstall"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(crontab(), foreign);
  EXPECT_TRUE(runSpecsUnder(run_dir).empty()) << runSpecsUnder(run_dir).front();
  EXPECT_TRUE(runSpecsUnder(state).empty()) << runSpecsUnder(state).front();

  std::cerr << "user option test took "
            << std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - began)
                   .count()
            << " ms\n";
}

// A system user whose home is root's (the user cannot write it): root makes <home>/.crontopus
// and gives it to the user; everything below is still made with the user's rights.
TEST(CronUserOption, SystemUserWithARootOwnedHome) {
  if (geteuid() != 0) {
    FAIL() << "this test needs root: it creates a throwaway user (useradd) and runs the agent "
              "as root for it; run it as root (scripts/test does)";
  }
  TempDir root_tmp;
  const std::string home = root_tmp / "syshome";
  fs::create_directories(home);
  ASSERT_EQ(chmod(home.c_str(), 0755), 0);
  ThrowawayUser user;
  ASSERT_TRUE(user.create(home));
  ASSERT_EQ(user.home(), home);
  TempDir prefix;
  const std::string agent = agentFor(user, prefix);
  const std::string out = root_tmp / "out";
  user.mkdir(out);

  Repo repo(root_tmp / "repo");
  writeFile(repo.path() + "/uo/sys.yaml", manifest("sys", out + "/sys.txt", ""));
  repo.git({"add", "-A"});
  repo.git({"commit", "-q", "-m", "a job for the system user"});
  const std::string config = writeConfig(root_tmp.path(), root_tmp / "state", repo, user.name());

  auto r = agentAsRoot(agent, config, {"apply"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const std::string run_dir = home + "/.crontopus";
  EXPECT_TRUE(ownedPrivately(run_dir, user.uid(), true, 0700));
  EXPECT_TRUE(ownedPrivately(run_dir + "/jobs/uo", user.uid(), true));
  EXPECT_TRUE(ownedPrivately(run_dir + "/jobs/uo/sys.json", user.uid(), false, 0600));
  struct stat st {};
  ASSERT_EQ(stat(home.c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 0u) << "the home stays root's";

  const auto l = runProcess({"crontab", "-u", user.name(), "-l"});
  ASSERT_EQ(l.exit_code, 0) << l.err;
  const std::string command = entryCommand(l.out, "uo/sys");
  ASSERT_NE(command.find("--state-dir '" + run_dir + "'"), std::string::npos) << l.out;
  const auto ran = user.run({"/bin/sh", "-c", command});
  EXPECT_EQ(ran.exit_code, 0) << command << "\n" << ran.out << ran.err;
  EXPECT_EQ(readOr(out + "/sys.txt", "(missing)"), home + "|" + user.name() + "|" + home + "\n");
  EXPECT_NE(readOr(run_dir + "/runs.log").find("\"status\":\"success\""), std::string::npos)
      << readOr(run_dir + "/runs.log", "(no run log)");

  r = agentAsRoot(agent, config, {"uninstall"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_FALSE(fs::exists(run_dir + "/jobs/uo/sys.json")) << "uninstall removes the run spec";
  EXPECT_EQ(runProcess({"crontab", "-u", user.name(), "-l"}).out.find("CRONTOPUS"),
            std::string::npos);
}

}  // namespace
}  // namespace crontopus::tests
