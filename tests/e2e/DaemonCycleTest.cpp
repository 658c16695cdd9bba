// The daemon's unchanged cycles (no command: the loop) with a cron.d-format file: a cycle that
// finds nothing changed writes nothing, and what someone deletes or edits behind the agent's
// back (a run spec, a whole run-spec directory, an entry) is put back by the next cycle.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <Poco/Process.h>

#include <filesystem>
#include <memory>
#include <sstream>

#include "TestSupport.h"

namespace crontopus::tests {
namespace {

using namespace std::chrono_literals;

std::string manifest(const std::string& name) {
  return "apiVersion: v1\nkind: Job\nmetadata:\n  name: " + name +
         "\n  tenant: t\nspec:\n  schedule: \"0 3 * * *\"\n  command: /bin/true\n";
}

std::string readIfAny(const std::string& path) {
  try {
    return readFile(path);
  } catch (const std::exception&) {
    return {};
  }
}

struct FileStamp {
  ino_t inode = 0;
  std::int64_t mtime_ns = 0;
  bool operator==(const FileStamp&) const = default;
};

FileStamp stamp(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return {};
  return {st.st_ino, std::int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
}

class Daemon {
 public:
  Daemon(const std::string& config, const std::string& log) {
    handle_ = std::make_unique<Poco::ProcessHandle>(Poco::Process::launch(
        "/bin/sh", {"-c", std::string("exec '") + AGENT_BIN + "' --config '" + config +
                              "' --log-level debug 2>>'" + log + "'"}));
  }
  ~Daemon() {
    ::kill(handle_->id(), SIGTERM);
    handle_->wait();
  }

 private:
  std::unique_ptr<Poco::ProcessHandle> handle_;
};

TEST(DaemonCycle, UnchangedCyclesWriteNothingAndDeletedRunSpecsAndEditedEntriesComeBack) {
  TempDir dir;
  const std::string repo = dir / "repo";
  std::filesystem::create_directories(repo + "/prod");
  std::filesystem::create_directories(repo + "/batch");
  git(repo, {"init", "-q", "-b", "main"});
  writeFile(repo + "/prod/a.yaml", manifest("a"));
  writeFile(repo + "/prod/b.yaml", manifest("b"));
  writeFile(repo + "/batch/c.yaml", manifest("c"));
  git(repo, {"add", "-A"});
  git(repo, {"commit", "-q", "-m", "three jobs"});
  const std::string cron_file = dir / "crontopus";
  writeFile(cron_file, "# a line of someone else's\n");
  std::ostringstream c;
  c << "agent:\n  state_dir: " << dir / "state"
    << "\n"
    << "git:\n  url: " << repo << "\n  sync_interval: 1\n"
    << "scheduler:\n  backend: cron\n  options:\n    cron_file: " << cron_file << "\n";
  writeFile(dir / "config.yaml", c.str(), 0600);

  const std::string spec_a = dir / "state/jobs/prod/a.json";
  const std::string spec_c = dir / "state/jobs/batch/c.json";
  const std::string last_cycle = dir / "state/last-cycle.json";
  Daemon agent(dir / "config.yaml", dir / "agent.log");
  ASSERT_TRUE(
      waitFor([&] { return readIfAny(cron_file).find("'batch/c'") != std::string::npos; }, 30s))
      << readIfAny(dir / "agent.log");
  ASSERT_TRUE(waitFor([&] { return !readIfAny(last_cycle).empty(); }, 10s));

  // A few unchanged cycles: neither the cron file nor any run spec is rewritten.
  const FileStamp cron_before = stamp(cron_file), a_before = stamp(spec_a),
                  c_before = stamp(spec_c);
  for (int cycles = 0; cycles < 3; ++cycles) {
    const std::string seen = readIfAny(last_cycle);
    ASSERT_TRUE(waitFor([&] { return readIfAny(last_cycle) != seen; }, 10s));
  }
  EXPECT_EQ(stamp(cron_file), cron_before);
  EXPECT_EQ(stamp(spec_a), a_before);
  EXPECT_EQ(stamp(spec_c), c_before);

  // Deleted behind the agent's back: one run spec, then a whole directory of them.
  const std::string spec_a_text = readFile(spec_a);
  std::filesystem::remove(spec_a);
  ASSERT_TRUE(waitFor([&] { return readIfAny(spec_a) == spec_a_text; }, 10s))
      << readIfAny(dir / "agent.log");
  const std::string spec_c_text = readFile(spec_c);
  std::filesystem::remove_all(dir / "state/jobs/batch");
  ASSERT_TRUE(waitFor([&] { return readIfAny(spec_c) == spec_c_text; }, 10s))
      << readIfAny(dir / "agent.log");
  EXPECT_EQ(stamp(cron_file), cron_before);

  // An entry edited by hand is drift: restored, the foreign line kept.
  const std::string installed = readFile(cron_file);
  std::string edited = installed;
  const auto at = edited.find("0 3 * * *");
  ASSERT_NE(at, std::string::npos) << edited;
  edited.replace(at, 9, "5 5 * * *");
  writeFile(cron_file, edited);
  ASSERT_TRUE(waitFor([&] { return readIfAny(cron_file) == installed; }, 10s))
      << readIfAny(cron_file) << readIfAny(dir / "agent.log");
  EXPECT_EQ(installed.rfind("# a line of someone else's\n", 0), 0u) << installed;
}

}  // namespace
}  // namespace crontopus::tests
