// crontopus-run, the lean `run` wrapper: where the agent points its entries, that it answers
// exactly as `crontopus-agent run` does, and that entries written before it existed are rewritten
// once to call it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>

#include "PluginHost.h"
#include "TestSupport.h"

using crontopus::tests::git;
using crontopus::tests::readFile;
using crontopus::tests::runProcess;
using crontopus::tests::TempDir;
using crontopus::tests::writeFile;
using testing::HasSubstr;
namespace fs = std::filesystem;

namespace {

const std::string kAgent = AGENT_BIN;
const std::string kRun = RUN_BIN;

// Log lines start with a local timestamp; the rest must be the same from both executables.
std::string withoutTimestamps(const std::string& text) {
  return std::regex_replace(text, std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4} )"), "");
}

}  // namespace

TEST(RunWrapper, EntriesCallCrontopusRunWhenItIsBesideTheAgent) {
  TempDir dir;
  const std::string agent = dir / "crontopus-agent";
  writeFile(agent, "", 0755);
  EXPECT_EQ(crontopus::core::runWrapperPath(agent), agent);
  writeFile(dir / "crontopus-run", "", 0755);
  EXPECT_EQ(crontopus::core::runWrapperPath(agent), dir / "crontopus-run");
  // The build tree has both, as an install does.
  EXPECT_EQ(crontopus::core::runWrapperPath(fs::canonical(kAgent).string()),
            (fs::canonical(kAgent).parent_path() / "crontopus-run").string());
}

TEST(RunWrapper, AnswersExactlyAsTheAgentDoes) {
  TempDir dir;
  const std::string state = dir / "state";
  fs::create_directories(state);
  const std::vector<std::vector<std::string>> cases = {
      {"run", "--state-dir", state, "ns/missing"},          // no run spec: the runner's error
      {"run", "--state-dir", state, "not-an-identity"},     // usage error from `run`
      {"run", "--state-dir", state, "ns/missing", "more"},  // usage error from the parser
      {"--log-level", "bogus", "run", "--state-dir", state, "ns/x"},
      {"--version"},
      {"--help"},
  };
  for (const auto& args : cases) {
    std::vector<std::string> a = {kAgent}, r = {kRun};
    a.insert(a.end(), args.begin(), args.end());
    r.insert(r.end(), args.begin(), args.end());
    const auto from_agent = runProcess(a);
    const auto from_run = runProcess(r);
    const std::string what = args.back();
    EXPECT_EQ(from_run.exit_code, from_agent.exit_code) << what;
    EXPECT_EQ(from_run.out, from_agent.out) << what;
    EXPECT_EQ(withoutTimestamps(from_run.err), withoutTimestamps(from_agent.err)) << what;
  }
}

TEST(RunWrapper, RunsAJobAndRecordsItLikeTheAgent) {
  TempDir dir;
  const std::string repo = dir / "repo";
  fs::create_directories(repo + "/prod");
  git(repo, {"init", "-q", "-b", "main"});
  writeFile(
      repo + "/prod/a.yaml",
      "apiVersion: v1\nkind: Job\nmetadata:\n  name: a\n  tenant: t\nspec:\n"
      "  schedule: \"0 3 * * *\"\n  command: /bin/sh\n  args: [\"-c\", \"echo hi; exit 3\"]\n");
  git(repo, {"add", "-A"});
  git(repo, {"commit", "-q", "-m", "one job"});

  // An install made before crontopus-run existed: the agent alone in bin/.
  const fs::path build = fs::canonical(kAgent).parent_path().parent_path();
  const std::string prefix = dir / "usr";
  fs::create_directories(prefix + "/bin");
  fs::create_directories(prefix + "/lib/crontopus/plugins");
  fs::copy_file(kAgent, prefix + "/bin/crontopus-agent");
  for (const auto& e : fs::directory_iterator(build / "lib")) {
    if (e.path().filename().string().rfind("libcrontopus-sdk.so", 0) == 0)
      fs::copy(e.path(), prefix + "/lib/" + e.path().filename().string(),
               fs::copy_options::copy_symlinks);
  }
  for (const auto& e : fs::directory_iterator(build / "lib/crontopus/plugins")) {
    if (e.path().extension() == ".so")
      fs::copy_file(e.path(), prefix + "/lib/crontopus/plugins/" + e.path().filename().string());
  }
  const std::string agent = prefix + "/bin/crontopus-agent";
  const std::string wrapper = prefix + "/bin/crontopus-run";
  const std::string cron_file = dir / "crontopus";
  const std::string config = dir / "config.yaml";
  writeFile(config,
            "agent:\n  state_dir: " + dir / "state" + "\ngit:\n  url: " + repo +
                "\nscheduler:\n  backend: cron\n  options:\n    cron_file: " + cron_file + "\n",
            0600);
  auto agentDo = [&](const std::vector<std::string>& args) {
    std::vector<std::string> argv = {agent, "--config", config};
    argv.insert(argv.end(), args.begin(), args.end());
    return runProcess(argv);
  };
  auto r = agentDo({"apply"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(readFile(cron_file), HasSubstr("'" + agent + "' run --state-dir"));

  // The package now brings crontopus-run: the entry is rewritten once to call it.
  fs::copy_file(kRun, wrapper);
  r = agentDo({"plan", "--exit-code"});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("agent path")) << r.out;
  r = agentDo({"apply"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const std::string entries = readFile(cron_file);
  EXPECT_THAT(entries,
              HasSubstr("'" + wrapper + "' run --state-dir '" + dir / "state" + "' 'prod/a'"));
  EXPECT_EQ(entries.find("crontopus-agent"), std::string::npos) << entries;
  r = agentDo({"plan", "--exit-code"});
  EXPECT_EQ(r.exit_code, 0) << "rewritten once: " << r.out << r.err;

  // What the entry runs: the job's exit code, and the same run log line as the agent writes.
  const auto by_wrapper = runProcess({wrapper, "run", "--state-dir", dir / "state", "prod/a"});
  EXPECT_EQ(by_wrapper.exit_code, 3) << by_wrapper.err;
  const auto by_agent = runProcess({agent, "run", "--state-dir", dir / "state", "prod/a"});
  EXPECT_EQ(by_agent.exit_code, 3) << by_agent.err;
  EXPECT_EQ(withoutTimestamps(by_wrapper.err), withoutTimestamps(by_agent.err));
}
