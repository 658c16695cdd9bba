// Where the agent's log goes (log.target, log.file) and what gets through (log.level,
// --log-level), through a real `plan` cycle: a local git repository, a fake crontab.
#include <filesystem>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "TestSupport.h"

using crontopus::tests::readFile;
using crontopus::tests::runProcess;
using crontopus::tests::TempDir;
using crontopus::tests::writeFile;
using testing::HasSubstr;
using testing::Not;

namespace {

const std::string kAgent = AGENT_BIN;

// A repository with one manifest that fails to parse (an Error line), a config with an unknown
// key (a Warning line); the clone itself is an Information line.
class LoggingTest : public testing::Test {
 protected:
  void SetUp() override {
    const std::string repo = dir_ / "repo";
    writeFile(dir_ / "crontab", "#!/bin/sh\n[ \"$1\" = -l ] && exit 0\ncat >/dev/null\n", 0755);
    ASSERT_EQ(runProcess({"git", "init", "-q", "-b", "main", repo}).exit_code, 0);
    writeFile(repo + "/default/broken.yaml", "apiVersion: v1\nkind: Job\nmetadata: {name: x}\n");
    ASSERT_EQ(runProcess({"git", "-C", repo, "add", "."}).exit_code, 0);
    auto r = runProcess({"git", "-C", repo, "-c", "user.name=t", "-c", "user.email=t@example.com",
                         "commit", "-q", "-m", "one broken manifest"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  std::string config(const std::string& log_section) {
    writeFile(dir_ / "config.yaml", "agent: {state_dir: " + (dir_ / "state") +
                                        "}\n"
                                        "git: {url: " +
                                        (dir_ / "repo") +
                                        "}\n"
                                        "scheduler: {backend: cron, options: {crontab_command: " +
                                        (dir_ / "crontab") + "}}\n" + "log: " + log_section +
                                        "\n"
                                        "no_such_key: 1\n");
    return dir_ / "config.yaml";
  }

  TempDir dir_;
};

}  // namespace

TEST_F(LoggingTest, FileTargetGetsEveryLineAndTheConsoleNone) {
  const std::string log = dir_ / "agent.log";
  auto r = runProcess({kAgent, "--config", config("{target: file, file: " + log + "}"), "plan"});
  EXPECT_THAT(r.out, HasSubstr("default/broken.yaml"));  // the report itself is still stdout
  EXPECT_EQ(r.err, "");
  const std::string text = readFile(log);
  EXPECT_THAT(text, HasSubstr(" Warning crontopus: " + (dir_ / "config.yaml") +
                              ":5:1: no_such_key: unknown key"));
  EXPECT_THAT(text, HasSubstr(" Information crontopus.plugin.git: git: cloned "));
  EXPECT_THAT(text, HasSubstr(" Error crontopus: default/broken.yaml:"));

  // A second run appends.
  runProcess({kAgent, "--config", dir_ / "config.yaml", "plan"});
  const std::string again = readFile(log);
  EXPECT_EQ(again.substr(0, text.size()), text);
  EXPECT_GT(again.size(), text.size());
}

TEST_F(LoggingTest, LevelFromTheConfigFiltersAndTheCommandLineOverridesIt) {
  const std::string log = dir_ / "agent.log";
  const std::string cfg = config("{level: warning, target: file, file: " + log + "}");
  auto r = runProcess({kAgent, "--config", cfg, "plan"});
  EXPECT_EQ(r.err, "");
  std::string text = readFile(log);
  EXPECT_THAT(text, HasSubstr(" Warning crontopus: "));
  EXPECT_THAT(text, HasSubstr(" Error crontopus: "));
  EXPECT_THAT(text, Not(HasSubstr(" Information ")));

  std::filesystem::remove(log);
  runProcess({kAgent, "--config", cfg, "--log-level", "error", "plan"});
  text = readFile(log);
  EXPECT_THAT(text, HasSubstr(" Error crontopus: "));
  EXPECT_THAT(text, Not(HasSubstr(" Warning ")));

  std::filesystem::remove(log);
  std::filesystem::remove_all(dir_ / "state");  // a fresh clone logs it at information
  runProcess({kAgent, "--config", cfg, "--log-level", "information", "plan"});
  EXPECT_THAT(readFile(log), HasSubstr(" Information crontopus.plugin.git: "));
}

TEST_F(LoggingTest, ConsoleIsTheDefaultTarget) {
  auto r = runProcess({kAgent, "--config", config("{level: information}"), "plan"});
  EXPECT_THAT(r.err, HasSubstr(" Warning crontopus: "));
  EXPECT_THAT(r.err, HasSubstr(" Information crontopus.plugin.git: "));
  EXPECT_THAT(r.err, HasSubstr(" Error crontopus: default/broken.yaml:"));
}

TEST_F(LoggingTest, AnUnwritableLogFileIsAConfigurationError) {
  const std::string log = dir_ / "no/such/dir/agent.log";
  auto r = runProcess({kAgent, "--config", config("{target: file, file: " + log + "}"), "plan"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("log.file: cannot open " + log));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "state"));  // refused before anything was done
}
