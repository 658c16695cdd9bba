// Crash safety: the agent is killed with SIGKILL at random moments of `apply` cycles that each
// change the scheduler (three revisions of a repository of 30 jobs, 8 for systemd, applied in
// turn; each revision adds, removes, updates, pauses and resumes), at least 500 times for each of
// the cron file, the user crontab (through a crontab(1) stand-in) and systemd units in an offline
// root. After every kill: the scheduler holds exactly the old or exactly the new version (the
// crontab as a whole; each unit file for systemd, which has no whole-directory swap), state.json,
// last-cycle.json and every run spec parse, nothing was set aside as corrupt; then the next `apply`
// converges to exactly what an uninterrupted apply writes, with no duplicate entry and no orphan
// run spec.

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <random>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include <Poco/JSON/Parser.h>

#include "AgentHarness.h"
#include "RunSpec.h"
#include "TestSupport.h"

namespace crontopus::tests {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Jobs per repository: 30 for cron; 8 for systemd, where each enablement change is one run of
// `systemctl --root` (tens of milliseconds), so that a changing cycle stays short.
int jobCount(bool systemd) {
  return systemd ? 8 : 30;
}
constexpr int kRevisions = 3;
constexpr int kKills = 500;

// Revision r of the repository: about four fifths of the jobs, schedules that move with r,
// some paused; going from one revision to the next adds, removes, updates, pauses and resumes.
std::map<std::string, std::string> revision(int r, int jobs) {
  std::map<std::string, std::string> files;
  for (int j = 0; j < jobs; ++j) {
    if ((j + r) % 5 == 0)
      continue;
    const std::string name = "job-" + std::to_string(j);
    const std::string schedule =
        std::to_string((j * 7 + r * 11) % 60) + " " + std::to_string((j + r) % 24) + " * * *";
    files["crash/" + name + ".yaml"] = jobManifest(name, schedule, (j + r) % 7 == 0);
  }
  files["README.md"] = "revision " + std::to_string(r) + "\n";
  return files;
}

std::set<std::string> jobsOf(int r, int jobs) {
  std::set<std::string> ids;
  for (int j = 0; j < jobs; ++j) {
    if ((j + r) % 5 != 0)
      ids.insert("crash/job-" + std::to_string(j));
  }
  return ids;
}

enum class Mode { kCronFile, kCrontabCommand, kSystemdRoot };

struct Target {
  std::string config;
  std::string watched;  // the file (cron) or unit directory (systemd) the scheduler reads
  bool per_file = false;
};

// A crontab(1) stand-in with Debian's behaviour: -l prints the crontab or says "no crontab for";
// `-` reads standard input to its end, refuses text whose last line lacks its newline, and
// installs by rename.
std::string crontabShim(const std::string& dir) {
  const std::string tab = dir + "/user-crontab";
  const std::string shim = dir + "/crontab-shim";
  writeFile(
      shim,
      "#!/bin/sh\n"
      "tab='" +
          tab +
          "'\n"
          "case \"$1\" in\n"
          "  -l) [ -f \"$tab\" ] || { echo \"no crontab for $(id -un)\" >&2; exit 1; }\n"
          "      exec cat \"$tab\" ;;\n"
          "  -) t=$(mktemp \"$tab.new.XXXXXX\") || exit 1\n"
          "     cat > \"$t\" || { rm -f \"$t\"; exit 1; }\n"
          "     if [ -s \"$t\" ] && [ -n \"$(tail -c 1 \"$t\")\" ]; then\n"
          "       echo 'new crontab file is missing newline before EOF, can'\"'\"'t install.' >&2\n"
          "       rm -f \"$t\"; exit 1\n"
          "     fi\n"
          "     exec mv \"$t\" \"$tab\" ;;\n"
          "  *) echo \"crontab-shim: unsupported $*\" >&2; exit 2 ;;\n"
          "esac\n",
      0755);
  return shim;
}

Target prepare(Mode mode, const TmpfsMount& dir, const std::string& repo) {
  Target s;
  std::ostringstream c;
  c << "agent:\n  state_dir: " << dir / "state"
    << "\n"
    << "git:\n  url: " << repo << "\n  branch: main\n  sync_interval: 3600\n"
    << "scheduler:\n";
  // What was there before the agent: never to be touched.
  std::string foreign =
      "# kept by hand\nMAILTO=ops@example.invalid\n17 3 * * * /usr/bin/true foreign\n";
  switch (mode) {
    case Mode::kCronFile:
      s.watched = dir / "cron.d/crontopus";
      writeFile(s.watched, foreign);
      c << "  backend: cron\n  options:\n    cron_file: " << s.watched << "\n";
      break;
    case Mode::kCrontabCommand: {
      // Over 64 KiB, more than a pipe holds: a kill while the agent feeds `crontab -` would cut
      // it short if the agent fed it from its own memory.
      for (int i = 0; i < 500; ++i) {
        foreign += "# " + std::to_string(i) + " " + std::string(150, 'x') + "\n";
      }
      s.watched = dir / "user-crontab";
      writeFile(s.watched, foreign);
      c << "  backend: cron\n  options:\n    crontab_command: " << crontabShim(dir.path()) << "\n";
      break;
    }
    case Mode::kSystemdRoot:
      s.watched = dir / "root/etc/systemd/system";
      s.per_file = true;
      writeFile(s.watched + "/foreign.service", "[Service]\nExecStart=/usr/bin/true\n");
      writeFile(s.watched + "/foreign.timer",
                "[Timer]\nOnCalendar=daily\n[Install]\nWantedBy=timers.target\n");
      c << "  backend: systemd-timer\n  options:\n    scope: system\n    root: " << dir / "root"
        << "\n";
      break;
  }
  s.config = dir / "config.yaml";
  writeFile(s.config, c.str(), 0600);
  return s;
}

using Tree = std::map<std::string, std::string>;

// Agent temporaries (dot files) are not part of what the scheduler reads: cron skips names with
// a dot in cron.d, systemd only loads known unit suffixes.
Tree schedulerView(const Target& s) {
  Tree all = snapshotTree(s.watched);
  Tree out;
  for (auto& [name, text] : all) {
    if (fs::path(name).filename().string().rfind('.', 0) != 0)
      out[name] = text;
  }
  return out;
}

// Order-free form: each file's lines sorted (a cron block's place depends on what was there).
Tree canonical(const Tree& tree) {
  Tree out;
  for (const auto& [name, text] : tree) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
      lines.push_back(line);
    std::sort(lines.begin(), lines.end());
    std::string joined;
    for (const auto& l : lines)
      joined += l + "\n";
    out[name] = joined;
  }
  return out;
}

// What was there before the agent is still there, byte for byte (a crontab's foreign lines stay
// first, in order; foreign unit files as they were).
std::string foreignChanges(const Tree& now, const Tree& foreign, bool per_file) {
  for (const auto& [name, text] : foreign) {
    auto it = now.find(name);
    if (it == now.end())
      return name + " is gone";
    if (per_file ? it->second != text : it->second.rfind(text, 0) != 0)
      return name + ": foreign content changed:\n" + it->second;
  }
  return {};
}

// Per file: absent or present exactly as in `before` or in `after`.
std::string perFileMix(const Tree& now, const Tree& before, const Tree& after) {
  std::set<std::string> names;
  for (const Tree* t : {&now, &before, &after}) {
    for (const auto& [n, _] : *t)
      names.insert(n);
  }
  for (const auto& n : names) {
    auto value = [&](const Tree& t) -> std::optional<std::string> {
      auto it = t.find(n);
      return it == t.end() ? std::nullopt : std::optional<std::string>(it->second);
    };
    if (value(now) != value(before) && value(now) != value(after))
      return n + " is neither the old nor the new version:\n" + value(now).value_or("(absent)");
  }
  return {};
}

std::string duplicateMarkers(const Tree& tree) {
  for (const auto& [name, text] : tree) {
    std::map<std::string, int> seen;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind("# CRONTOPUS:", 0) == 0 && ++seen[line.substr(0, line.find(' ', 2))] > 1)
        return name + ": " + line + " twice";
    }
  }
  return {};
}

// state.json, last-cycle.json and every run spec parse; nothing was set aside as corrupt.
std::string stateProblems(const std::string& state) {
  std::error_code ec;
  for (const char* f : {"state.json", "last-cycle.json"}) {
    const std::string path = state + "/" + f;
    if (!fs::exists(path, ec))
      continue;
    try {
      Poco::JSON::Parser().parse(readFile(path));
    } catch (const std::exception& e) {
      return path + " does not parse: " + e.what();
    }
  }
  for (auto it = fs::recursive_directory_iterator(state, ec); it != fs::end(it); it.increment(ec)) {
    const std::string path = it->path().string();
    if (path.find(".corrupt") != std::string::npos)
      return path + " was set aside";
    if (path.find("/job-manifests") != std::string::npos)
      it.disable_recursion_pending();
    if (it->is_regular_file() && path.find(state + "/jobs/") == 0 &&
        it->path().filename().string().front() != '.') {
      try {
        core::runSpecFromJson(readFile(path), path);
      } catch (const std::exception& e) {
        return path + " does not parse: " + e.what();
      }
    }
  }
  return {};
}

std::set<std::string> runSpecIdentities(const std::string& state) {
  std::set<std::string> ids;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(state + "/jobs", ec); it != fs::end(it);
       it.increment(ec)) {
    if (it->is_regular_file() && it->path().filename().string().front() != '.') {
      const auto spec = core::runSpecFromJson(readFile(it->path().string()), it->path().string());
      ids.insert(spec.identity());
    }
  }
  return ids;
}

std::string stateRevision(const std::string& state) {
  auto o = Poco::JSON::Parser()
               .parse(readFile(state + "/state.json"))
               .extract<Poco::JSON::Object::Ptr>();
  return o->optValue<std::string>("revision", "");
}

// Agent temporaries left behind anywhere it writes (state directory, scheduler directory).
std::vector<std::string> strayTemporaries(const std::vector<std::string>& dirs) {
  std::vector<std::string> out;
  for (const auto& d : dirs) {
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(d, ec); it != fs::end(it); it.increment(ec)) {
      const std::string name = it->path().filename().string();
      if (it->path().string().find("/job-manifests") != std::string::npos)
        continue;  // the git plugin's own clone (its own crash handling)
      if (name.rfind('.', 0) == 0 && it->is_regular_file())
        out.push_back(it->path().string());
    }
  }
  return out;
}

// Who has `path` open (pid: command line), for failure messages.
std::string holders(const std::string& path) {
  std::string out;
  std::error_code ec;
  for (const auto& p : fs::directory_iterator("/proc", ec)) {
    std::error_code ec2;
    for (const auto& fd : fs::directory_iterator(p.path() / "fd", ec2)) {
      std::error_code ec3;
      if (fs::read_symlink(fd.path(), ec3) == path) {
        out +=
            p.path().filename().string() + ": " + readFile((p.path() / "cmdline").string()) + "\n";
      }
    }
  }
  return out.empty() ? "(nobody)" : out;
}

class CrashTest : public ::testing::TestWithParam<Mode> {};

TEST_P(CrashTest, SigkillAnywhereLeavesOldOrNewAndTheNextApplyConverges) {
  TempDir scratch;
  // On a tmpfs: a kill needs no fsync to be survived, and the disks here are busy; this keeps
  // a changing cycle in the tens of milliseconds, so 500 kills fit in a minute or two.
  TmpfsMount dir(scratch / "fs", 256);
  const std::string repo = dir / "repo";
  const int jobs = jobCount(GetParam() == Mode::kSystemdRoot);
  std::vector<std::map<std::string, std::string>> trees;
  for (int r = 0; r < kRevisions; ++r)
    trees.push_back(revision(r, jobs));
  const auto commits = makeRevisions(repo, trees);
  const Target s = prepare(GetParam(), dir, repo);
  const std::string state = dir / "state";
  const std::string log = dir / "agent.log";
  const std::vector<std::string> apply = {"--config", s.config, "apply"};

  // Uninterrupted applies: what each revision holds (order aside: where a block goes depends on
  // what was there), and how long a changing cycle takes.
  std::vector<Tree> expected(kRevisions);
  std::vector<double> durations;
  const Tree foreign = schedulerView(s);
  for (int round = 0; round < 2 * kRevisions + 1; ++round) {
    const int r = round % kRevisions;
    moveMain(repo, commits[static_cast<std::size_t>(r)]);
    const auto start = Clock::now();
    ASSERT_EQ(reap(spawnAgent(apply, log)), 0) << readFile(log);
    if (round > 0)
      durations.push_back(std::chrono::duration<double>(Clock::now() - start).count());
    const Tree now = canonical(schedulerView(s));
    if (round >= kRevisions) {
      ASSERT_EQ(now, expected[static_cast<std::size_t>(r)]) << "uninterrupted applies differ";
    }
    expected[static_cast<std::size_t>(r)] = now;
  }
  for (int r = 0; r < kRevisions; ++r) {
    ASSERT_NE(expected[static_cast<std::size_t>(r)],
              expected[static_cast<std::size_t>((r + 1) % kRevisions)]);
  }
  std::sort(durations.begin(), durations.end());
  const double cycle = durations[durations.size() / 2];
  // And how long one lives that has nothing to change (what follows a kill that came late).
  std::vector<double> idle;
  for (int i = 0; i < 3; ++i) {
    const auto start = Clock::now();
    ASSERT_EQ(reap(spawnAgent(apply, log)), 0) << readFile(log);
    idle.push_back(std::chrono::duration<double>(Clock::now() - start).count());
  }
  std::sort(idle.begin(), idle.end());
  // The kill falls anywhere in the life of the process, from its start to its exit: the first
  // of a chain within a changing cycle, the others within the shorter of the two.
  std::mt19937 random(static_cast<unsigned>(::getpid()));
  std::uniform_real_distribution<double> delay(0, cycle);
  std::uniform_real_distribution<double> later_delay(0, std::min(cycle, idle[1]));

  int kills = 0, finished = 0, saw_old = 0, saw_new = 0, saw_mixed_files = 0;
  int current = 0;  // round 2 * kRevisions ended on revision 0
  Tree before = schedulerView(s);
  const auto deadline = Clock::now() + 110s;
  // Each new revision is applied by one to six killed agents in a row, then by one that runs
  // to the end (the "next apply"). Every kill must leave the old or the new version; the new
  // version is what the finishing apply leaves (had a kill left anything else, that apply would
  // have changed it).
  std::uniform_int_distribution<int> chain(1, 6);
  while (kills < kKills && Clock::now() < deadline) {
    const int next = (current + 1) % kRevisions;
    moveMain(repo, commits[static_cast<std::size_t>(next)]);
    std::vector<Tree> left;
    for (int n = chain(random), first = 1; n > 0; --n, first = 0) {
      const pid_t pid = spawnAgent(apply, log);
      std::this_thread::sleep_for(
          std::chrono::duration<double>(first ? delay(random) : later_delay(random)));
      const bool alive = running(pid);
      ::kill(pid, SIGKILL);
      const int status = reap(pid);
      ASSERT_TRUE(awaitProcessGroupGone(pid, 30s)) << "commands of the killed agent still run";
      if (alive && status == 128 + SIGKILL) {
        ++kills;
      } else {
        ASSERT_EQ(status, 0) << readFile(log);
        ++finished;
      }
      left.push_back(schedulerView(s));
      ASSERT_EQ(stateProblems(state), "") << "after kill " << kills;
      ASSERT_EQ(foreignChanges(left.back(), foreign, s.per_file), "") << "after kill " << kills;
    }

    ASSERT_EQ(reap(spawnAgent(apply, log)), 0)
        << "after kill " << kills << ":\n"
        << readFile(log) << "\nholding the lock: " << holders(state + "/agent.lock");
    const Tree after = schedulerView(s);
    ASSERT_EQ(canonical(after), expected[static_cast<std::size_t>(next)])
        << "after kill " << kills << " the next apply did not converge";
    ASSERT_EQ(duplicateMarkers(after), "");
    ASSERT_EQ(stateProblems(state), "");
    ASSERT_EQ(stateRevision(state), commits[static_cast<std::size_t>(next)]);
    ASSERT_EQ(runSpecIdentities(state), jobsOf(next, jobs)) << "after kill " << kills;
    for (const Tree& now : left) {
      if (s.per_file) {
        ASSERT_EQ(perFileMix(now, before, after), "") << "after kill " << kills;
        saw_mixed_files += now != before && now != after;
      } else {
        ASSERT_TRUE(now == before || now == after)
            << "around kill " << kills << " the crontab was neither the old nor the new version:\n"
            << now.begin()->second << "\nold:\n"
            << before.begin()->second << "\nnew:\n"
            << after.begin()->second;
      }
      saw_old += now == before;
      saw_new += now == after;
    }
    before = after;
    current = next;
  }
  const auto stray =
      strayTemporaries(std::vector<std::string>{state, fs::path(s.watched).parent_path().string()});
  std::cout << "cycle " << cycle * 1000 << " ms (nothing to change " << idle[1] * 1000 << " ms); "
            << kills << " kills, " << finished
            << " applies finished before the kill; after a kill: old " << saw_old << ", new "
            << saw_new << ", per-file mix " << saw_mixed_files << "; stray temporaries "
            << stray.size() << "\n";
  EXPECT_GE(kills, kKills) << "too slow: only " << kills << " kills within the deadline";
  // Both outcomes were seen: the kills fell before and after the scheduler was written.
  EXPECT_GT(saw_old, 0);
  EXPECT_GT(saw_new, 0);
  EXPECT_EQ(stray, std::vector<std::string>{});
}

INSTANTIATE_TEST_SUITE_P(Backends, CrashTest,
                         ::testing::Values(Mode::kCronFile, Mode::kCrontabCommand,
                                           Mode::kSystemdRoot),
                         [](const auto& info) {
                           switch (info.param) {
                             case Mode::kCronFile:
                               return std::string("CronFile");
                             case Mode::kCrontabCommand:
                               return std::string("CrontabCommand");
                             default:
                               return std::string("SystemdRoot");
                           }
                         });

}  // namespace
}  // namespace crontopus::tests
