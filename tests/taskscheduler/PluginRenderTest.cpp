#include <gtest/gtest.h>

#include "TaskSchedulerPlugin.h"
#include "TaskXml.h"

namespace crontopus::plugins::taskscheduler {
namespace {

class PluginRender : public ::testing::Test {
 protected:
  void SetUp() override {
    sdk::PluginContext context;
    context.agent_path = "C:\\Program Files\\Crontopus\\crontopus-agent.exe";
    context.agent_state_dir = "C:\\ProgramData\\Crontopus\\";
    context.default_timezone = "UTC";
    context.options = {{"host_timezone", "UTC"}};
    ASSERT_TRUE(plugin_.configure(context));
    job_.ns = "team";
    job_.name = "backup";
    job_.schedule = "*/15 9-17 * * *";
    job_.source_file = "team/backup.yaml";
    job_.checkin.secret = "do-not-leak";
    job_.checkin.timeout_seconds = 1800;
    job_.env = {{"TOKEN", "do-not-leak-either"}};
  }
  TaskSchedulerPlugin plugin_;
  sdk::Job job_;
};

TEST_F(PluginRender, RendersTheCanonicalTaskAndAReport) {
  sdk::RenderedEntry entry;
  ASSERT_TRUE(plugin_.render(job_, entry));
  TaskDefinition task;
  std::string error;
  ASSERT_TRUE(parseTaskXml(entry.text, task, error)) << error;
  EXPECT_EQ(identityFromDescription(task.description), "team/backup");
  EXPECT_EQ(task.uri, "team/backup.yaml");
  EXPECT_EQ(task.command, "C:\\Program Files\\Crontopus\\crontopus-agent.exe");
  EXPECT_EQ(task.arguments, "run --state-dir C:\\ProgramData\\Crontopus\\ team/backup");
  EXPECT_EQ(task.multiple_instances_policy, "IgnoreNew");
  EXPECT_FALSE(task.start_when_available);
  EXPECT_TRUE(task.enabled);
  EXPECT_EQ(task.execution_time_limit_seconds, 1800);
  EXPECT_EQ(task.triggers.size(), 1U);
  EXPECT_EQ(entry.text.find("do-not-leak"), std::string::npos);
  EXPECT_NE(entry.report.find("\\Crontopus\\team\\backup"), std::string::npos) << entry.report;
  EXPECT_NE(entry.report.find("form: native, 1 trigger(s)"), std::string::npos) << entry.report;

  sdk::RenderedEntry again;
  ASSERT_TRUE(plugin_.render(job_, again));
  EXPECT_EQ(again.text, entry.text);  // deterministic: the reconciler compares texts
}

TEST_F(PluginRender, StateDirWithSpacesIsQuoted) {
  sdk::PluginContext context;
  context.agent_path = "C:\\a\\agent.exe";
  context.agent_state_dir = "C:\\Program Data\\state dir\\";
  context.options = {{"host_timezone", "UTC"}};
  TaskSchedulerPlugin plugin;
  ASSERT_TRUE(plugin.configure(context));
  TaskDefinition task;
  CompiledSchedule schedule;
  ASSERT_TRUE(buildTask(job_, context, "UTC", task, schedule));
  EXPECT_EQ(task.arguments, "run --state-dir \"C:\\Program Data\\state dir\\\\\" team/backup");
}

TEST_F(PluginRender, PausedJobIsADisabledTask) {
  job_.paused = true;
  sdk::RenderedEntry entry;
  ASSERT_TRUE(plugin_.render(job_, entry));
  EXPECT_NE(entry.text.find("<Enabled>false</Enabled>\n    <ExecutionTimeLimit>"),
            std::string::npos)
      << entry.text;
}

TEST_F(PluginRender, RefusesBadSchedulesAndNames) {
  sdk::RenderedEntry entry;
  job_.schedule = "61 * * * *";
  sdk::Result r = plugin_.render(job_, entry);
  EXPECT_EQ(r.code(), sdk::ErrorCode::kConfig);
  EXPECT_NE(r.message().find("minute"), std::string::npos) << r.message();
  job_.schedule = "0 0 * * *";
  job_.name = "a:b";
  EXPECT_EQ(plugin_.render(job_, entry).code(), sdk::ErrorCode::kConfig);
  job_.name = "backup";
  job_.timezone = "Nowhere/Land";
  r = plugin_.render(job_, entry);
  EXPECT_EQ(r.code(), sdk::ErrorCode::kConfig);
  EXPECT_NE(r.message().find("Nowhere/Land"), std::string::npos) << r.message();
}

TEST_F(PluginRender, UnsupportedOffWindows) {
#ifndef _WIN32
  EXPECT_FALSE(plugin_.support().supported);
  EXPECT_EQ(plugin_.support().reason, "Task Scheduler exists only on Windows");
  std::vector<sdk::InstalledEntry> entries;
  EXPECT_EQ(plugin_.listOwned(entries).code(), sdk::ErrorCode::kUnsupported);
  EXPECT_EQ(plugin_.apply({}).code(), sdk::ErrorCode::kUnsupported);
#endif
}

TEST(PluginConfigure, RejectsAnUnknownHostZone) {
  sdk::PluginContext context;
  context.options = {{"host_timezone", "Nowhere/Land"}};
  TaskSchedulerPlugin plugin;
  EXPECT_EQ(plugin.configure(context).code(), sdk::ErrorCode::kConfig);
}

TEST(TaskPath, FromIdentityAndMarker) {
  EXPECT_EQ(taskPathFor("team/backup"), "\\Crontopus\\team\\backup");
  EXPECT_EQ(identityFromDescription("CRONTOPUS:team/backup\nmore"), "team/backup");
  EXPECT_EQ(identityFromDescription("CRONTOPUS:team/backup"), "team/backup");
  EXPECT_EQ(identityFromDescription("someone else's task"), "");
}

}  // namespace
}  // namespace crontopus::plugins::taskscheduler
