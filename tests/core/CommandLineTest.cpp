#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "CommandLine.h"
#include "TestSupport.h"

using crontopus::core::parseCommandLine;
using crontopus::core::UsageException;
using crontopus::tests::runProcess;
using crontopus::tests::TempDir;
using testing::HasSubstr;

namespace {
const std::string kAgent = AGENT_BIN;
}

TEST(CommandLine, ParsesGlobalOptionsInBothSpellingsAndAnywhere) {
  auto cl = parseCommandLine({"agent", "--config", "/a.yaml", "plugins", "--log-level=debug"});
  EXPECT_EQ(cl.config_path, "/a.yaml");
  EXPECT_EQ(cl.log_level, "debug");
  EXPECT_EQ(cl.command, "plugins");
  cl = parseCommandLine({"agent", "--config=/b.yaml", "--plugins-dir", "/p"});
  EXPECT_EQ(cl.config_path, "/b.yaml");
  EXPECT_EQ(cl.plugins_dir, "/p");
  EXPECT_EQ(cl.command, "");
}

TEST(CommandLine, CommandOptionsBelongToTheirCommand) {
  auto cl = parseCommandLine({"agent", "next", "*/5 * * * *", "--count", "3", "--tz=UTC"});
  EXPECT_EQ(cl.command, "next");
  ASSERT_EQ(cl.operands.size(), 1u);
  EXPECT_EQ(cl.operands[0], "*/5 * * * *");
  EXPECT_EQ(cl.get("count"), "3");
  EXPECT_EQ(cl.get("tz"), "UTC");
  EXPECT_THROW(parseCommandLine({"agent", "--count", "3", "next", "x"}), UsageException);
  EXPECT_THROW(parseCommandLine({"agent", "plugins", "--count", "3"}), UsageException);
}

TEST(CommandLine, RejectsUnknownCommandsOptionsAndOperandCounts) {
  EXPECT_THROW(parseCommandLine({"agent", "frobnicate"}), UsageException);
  EXPECT_THROW(parseCommandLine({"agent", "--frob"}), UsageException);
  EXPECT_THROW(parseCommandLine({"agent", "--config"}), UsageException);
  EXPECT_THROW(parseCommandLine({"agent", "validate"}), UsageException);
  EXPECT_THROW(parseCommandLine({"agent", "validate", "a", "b"}), UsageException);
  EXPECT_THROW(parseCommandLine({"agent", "--help=yes"}), UsageException);
}

TEST(CommandLine, DaemonSwitchesGoToServerApplication) {
  auto cl = parseCommandLine({"agent", "--daemon", "--pidfile", "/run/x.pid"});
  EXPECT_TRUE(cl.daemon);
  EXPECT_THAT(cl.server_args, testing::ElementsAre("agent", "--daemon", "--pidfile=/run/x.pid"));
}

TEST(AgentBinary, HelpPrintsUsageAndExitsZero) {
  auto r = runProcess({kAgent, "--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, HasSubstr("usage: crontopus-agent"));
  EXPECT_THAT(r.out, HasSubstr("plugins"));
  EXPECT_THAT(r.out, HasSubstr("--config"));
}

TEST(AgentBinary, VersionPrintsTheBuildVersion) {
  auto r = runProcess({kAgent, "--version"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, std::string("crontopus-agent ") + CRONTOPUS_VERSION + "\n");
}

TEST(AgentBinary, UnknownCommandOrOptionPrintsUsageToStderrAndExitsTwo) {
  auto r = runProcess({kAgent, "frobnicate"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("unknown command \"frobnicate\""));
  EXPECT_THAT(r.err, HasSubstr("usage:"));
  EXPECT_EQ(r.out, "");
  r = runProcess({kAgent, "--frobnicate"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("unknown option \"--frobnicate\""));
}

TEST(AgentBinary, BothConfigSpellingsAreHonoured) {
  TempDir dir;
  crontopus::tests::writeFile(dir / "config.yaml", "plugins_dir: " + dir.path() + "\n");
  for (const auto& args : std::vector<std::vector<std::string>>{
           {kAgent, "--config", dir / "config.yaml", "plugins"},
           {kAgent, "--config=" + (dir / "config.yaml"), "plugins"},
           {kAgent, "plugins", "--config", dir / "config.yaml"}}) {
    auto r = runProcess(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("plugins directory: " + dir.path())) << args[1];
  }
}

TEST(AgentBinary, InvalidConfigExitsOneWithThePosition) {
  TempDir dir;
  crontopus::tests::writeFile(dir / "config.yaml", "git:\n  sync_interval: -3\n");
  auto r = runProcess({kAgent, "--config", dir / "config.yaml", "plugins"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr(dir / "config.yaml" + ":2:18: git.sync_interval: must be between"));
}

TEST(AgentBinary, PluginsListsRefusedLibrariesWithTheirReason) {
  TempDir dir;
  crontopus::tests::writeFile(dir / "junk.so", "junk", 0644);
  auto r = runProcess({kAgent, "--plugins-dir", dir.path(), "plugins"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("refused"));
  EXPECT_THAT(r.out, HasSubstr("not a loadable library"));
}

TEST(AgentBinary, FindsAndLoadsTheInTreePluginsWithoutAFlag) {
  TempDir home;  // no config file there: built-in defaults
  auto r = runProcess({kAgent, "plugins"}, "", {{"HOME", home.path()}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* id : {"cron", "git", "systemd-timer", "taskscheduler"}) {
    EXPECT_THAT(r.out, testing::ContainsRegex(std::string("\n") + id + " +[a-z]+ +[0-9.]+ +loaded"))
        << id << " in:\n"
        << r.out;
  }
  EXPECT_THAT(r.out, HasSubstr("unsupported: Task Scheduler exists only on Windows"));
  EXPECT_THAT(r.out, testing::ContainsRegex("crontopus-cron.so\n +supported \\(selected\\)"));
  // Each scheduler's options are listed with their type, default and doc (the config_map idea).
  EXPECT_THAT(r.out, HasSubstr("option crontab_command (string, default \"crontab\"): "));
  EXPECT_THAT(r.out, HasSubstr("option cron_file (path, default \"\"): "));
}

TEST(AgentBinary, NextPrintsFireTimesWithOffsetsInTheGivenZone) {
  // 2026-03-29 is Berlin's spring-forward day: 02:00 does not exist, a fixed-time job runs at
  // 03:00.
  auto r = runProcess({kAgent, "next", "0 2 * * *", "--tz", "Europe/Berlin", "--from",
                       "2026-03-28T00:00:00Z", "--count", "3"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "2026-03-28T02:00:00+01:00\n2026-03-29T03:00:00+02:00\n2026-03-30T02:00:00+02:00\n");
  r = runProcess({kAgent, "next", "*/30 * * * *", "--tz=UTC", "--from=2026-01-01T00:10:00+01:00",
                  "--count=2"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "2025-12-31T23:30:00+00:00\n2026-01-01T00:00:00+00:00\n");
}

TEST(AgentBinary, NextRejectsBadExpressionsZonesAndInstants) {
  auto r = runProcess({kAgent, "next", "61 * * * *"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("minute"));
  r = runProcess({kAgent, "next", "* * * * *", "--tz", "Mars/Olympus"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("unknown time zone \"Mars/Olympus\""));
  r = runProcess({kAgent, "next", "* * * * *", "--from", "2026-03-28T00:00:00"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("--from must be ISO 8601 with Z or an offset"));
  r = runProcess({kAgent, "next", "0 0 30 2 *", "--tz", "UTC"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, HasSubstr("never"));
}

TEST(AgentBinary, ValidateTheExamplesPassesAndABrokenTreeFails) {
  auto r = runProcess({kAgent, "validate", std::string(SOURCE_DIR) + "/examples/job-manifests"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, testing::ContainsRegex("[0-9]+ jobs, 0 errors\n$"));
  TempDir dir;
  crontopus::tests::writeFile(dir / "prod/bad.yaml",
                              "apiVersion: v1\nkind: Job\nmetadata:\n  name: bad\n  tenant: t\n"
                              "spec:\n  schedule: \"* * * *\"\n  command: x\n");
  r = runProcess({kAgent, "validate", dir.path()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out, HasSubstr("prod/bad.yaml:7:"));
  EXPECT_THAT(r.out, HasSubstr("spec.schedule"));
  EXPECT_THAT(r.out, HasSubstr("0 jobs, 1 errors"));
  r = runProcess({kAgent, "validate", dir.path(), "--format", "json"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out, HasSubstr("\"field\":\"spec.schedule\""));
  EXPECT_THAT(r.out, HasSubstr("\"jobs\":0"));
}
