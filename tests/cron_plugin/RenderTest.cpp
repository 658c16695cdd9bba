#include <gtest/gtest.h>

#include "TestSupport.h"
#include "crontopus/sdk/CronExpression.h"

namespace crontopus::plugins::cron::test {
namespace {

std::unique_ptr<CronScheduler> configured(sdk::OptionValues options = {},
                                          sdk::PluginContext context = makeContext()) {
  auto plugin = std::make_unique<CronScheduler>();
  plugin->setHostZoneForTesting("Etc/UTC");
  plugin->setNowForTesting(std::chrono::sys_days{std::chrono::year{2026} / 11 / 26});
  plugin->setStoreForTesting(std::make_unique<MemoryStore>(std::make_shared<MemoryStore::State>()));
  context.options = std::move(options);
  sdk::Result ok = plugin->configure(context);
  EXPECT_TRUE(ok.ok()) << ok.message();
  return plugin;
}

std::string renderText(const CronScheduler& plugin, const sdk::Job& job) {
  sdk::RenderedEntry out;
  sdk::Result ok = plugin.render(job, out);
  EXPECT_TRUE(ok.ok()) << ok.message();
  return out.text;
}

TEST(CronRender, ExactEntryFormat) {
  auto owner = configured();
  CronScheduler& plugin = *owner;
  sdk::Job job = makeJob("production", "daily-backup", "0 2 * * *");
  job.id = "3f6c8e1a-0000-4000-8000-abcdefabcdef";
  EXPECT_EQ(renderText(plugin, job),
            "# CRONTOPUS:production/daily-backup id=3f6c8e1a-0000-4000-8000-abcdefabcdef\n"
            "0 2 * * * '/usr/bin/crontopus-agent' run --state-dir '/var/lib/crontopus' "
            "'production/daily-backup'\n");
  job.id.clear();
  job.paused = true;
  EXPECT_EQ(renderText(plugin, job),
            "# CRONTOPUS:production/daily-backup\n"
            "#0 2 * * * '/usr/bin/crontopus-agent' run --state-dir '/var/lib/crontopus' "
            "'production/daily-backup'\n");
}

TEST(CronRender, WritesTheCanonicalScheduleNeverTheRawText) {
  auto owner = configured();
  CronScheduler& plugin = *owner;
  auto scheduleOf = [&](const std::string& schedule) {
    const std::string text = renderText(plugin, makeJob("ns", "job", schedule));
    const std::size_t start = text.find('\n') + 1;
    return text.substr(start, text.find(" '/usr/bin") - start);
  };
  EXPECT_EQ(scheduleOf("0 2 * * MON"), "0 2 * * 1");
  EXPECT_EQ(scheduleOf("@daily"), "0 0 * * *");
  EXPECT_EQ(scheduleOf("@reboot"), "@reboot");
  EXPECT_EQ(scheduleOf("5/15 * * JAN *"), "5-59/15 * * 1 *");
}

TEST(CronRender, RejectsAnUnparsableSchedule) {
  auto owner = configured();
  CronScheduler& plugin = *owner;
  for (const char* schedule : {"61 * * * *", "* * * *", "0 0 L * *", "* * * * *\n* * * * * evil"}) {
    sdk::Job job = makeJob("ns", "job", schedule);
    job.source_file = "ns/job.yaml";
    sdk::RenderedEntry out;
    sdk::Result result = plugin.render(job, out);
    EXPECT_EQ(result.code(), sdk::ErrorCode::kConfig) << schedule;
    EXPECT_NE(result.message().find("ns/job.yaml"), std::string::npos) << result.message();
    EXPECT_TRUE(out.text.empty());
  }
}

TEST(CronRender, NoSecretAndDeterministic) {
  auto owner = configured();
  CronScheduler& plugin = *owner;
  const sdk::Job job = makeJob("ns", "job");
  const std::string first = renderText(plugin, job);
  EXPECT_EQ(renderText(plugin, job), first);
  for (const char* secret : {"secret-command", "secret-env", "secret-checkin", "TOKEN"}) {
    EXPECT_EQ(first.find(secret), std::string::npos) << secret;
  }
}

TEST(CronRender, OddPathsStayOneLineAndQuoted) {
  sdk::PluginContext context = makeContext();
  context.agent_path = "/opt/it's 100%/crontopus-agent";
  context.agent_state_dir = "/var/lib/x'; echo pwned; '";
  auto owner = configured({}, context);
  CronScheduler& plugin = *owner;
  const std::string text = renderText(plugin, makeJob("ns", "job"));
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 2);
  EXPECT_NE(text.find("'/opt/it'\\''s 100\\%/crontopus-agent' run --state-dir "
                      "'/var/lib/x'\\''; echo pwned; '\\''' 'ns/job'"),
            std::string::npos)
      << text;

  sdk::PluginContext bad = makeContext();
  bad.agent_path = "/opt/agent\n* * * * * evil";
  CronScheduler rejected;
  rejected.setStoreForTesting(
      std::make_unique<MemoryStore>(std::make_shared<MemoryStore::State>()));
  EXPECT_EQ(rejected.configure(bad).code(), sdk::ErrorCode::kConfig);

  for (auto [ns, name] : {std::pair{"ns", "a b"}, std::pair{"n\ns", "x"}, std::pair{"", "x"},
                          std::pair{"a/b", "c"}}) {
    sdk::RenderedEntry out;
    EXPECT_EQ(plugin.render(makeJob(ns, name), out).code(), sdk::ErrorCode::kConfig) << name;
  }
}

TEST(CronRender, CronFileModeAddsTheUserField) {
  TempDir dir;
  auto owner = configured({{"cron_file", dir.file("crontopus")}, {"user", "alice"}});
  CronScheduler& plugin = *owner;
  EXPECT_EQ(renderText(plugin, makeJob("ns", "job", "1 2 * * *")),
            "# CRONTOPUS:ns/job\n"
            "1 2 * * * alice '/usr/bin/crontopus-agent' run --state-dir '/var/lib/crontopus' "
            "'ns/job'\n");
  EXPECT_EQ(plugin.runUser(), "alice");
}

TEST(CronRender, CronFileNameMustBeOneCronReads) {
  CronScheduler plugin;
  EXPECT_EQ(plugin.configure(makeContext({{"cron_file", "/etc/cron.d/crontopus.cron"}})).code(),
            sdk::ErrorCode::kConfig);
  EXPECT_EQ(plugin.configure(makeContext({{"cron_file", "relative"}})).code(),
            sdk::ErrorCode::kConfig);
  EXPECT_EQ(plugin.configure(makeContext({{"user", "bad user"}})).code(), sdk::ErrorCode::kConfig);
}

TEST(CronRender, OptionsAndSupport) {
  CronScheduler plugin;
  auto specs = plugin.optionSpecs();
  ASSERT_EQ(specs.size(), 3u);
  EXPECT_EQ(specs[0].key, "user");
  EXPECT_EQ(specs[1].key, "crontab_command");
  EXPECT_EQ(specs[1].default_value, "crontab");
  EXPECT_EQ(specs[2].key, "cron_file");
  ASSERT_TRUE(plugin.configure(makeContext({{"crontab_command", "/no/such/crontab"}})).ok());
  EXPECT_FALSE(plugin.support().supported);
  EXPECT_NE(plugin.support().reason.find("/no/such/crontab"), std::string::npos);
  EXPECT_TRUE(plugin.runUser().empty());
  ASSERT_TRUE(
      plugin.configure(makeContext({{"crontab_command", "/bin/sh"}, {"user", "bob"}})).ok());
  EXPECT_TRUE(plugin.support().supported) << plugin.support().reason;
  EXPECT_EQ(plugin.runUser(), "bob");
}

TEST(CronRender, ZoneOtherThanTheHostsGetsAHostZoneSuperset) {
  auto owner = configured();
  CronScheduler& plugin = *owner;
  sdk::Job job = makeJob("ns", "job", "30 2 * * *");
  job.timezone = "Europe/Berlin";
  sdk::RenderedEntry out;
  ASSERT_TRUE(plugin.render(job, out).ok());
  const std::size_t start = out.text.find('\n') + 1;
  const std::string schedule = out.text.substr(start, out.text.find(" '/usr/bin") - start);
  EXPECT_NE(schedule, "30 2 * * *");
  EXPECT_NE(out.report.find("superset"), std::string::npos) << out.report;
  EXPECT_NE(out.report.find("Europe/Berlin"), std::string::npos) << out.report;

  // Every fire instant in the job's zone, across both daylight-saving changes of the next year,
  // is a minute the installed (host-zone) schedule fires at.
  sdk::CronExpression job_expression, host_expression;
  sdk::CronError error;
  ASSERT_TRUE(sdk::CronExpression::parse("30 2 * * *", job_expression, error));
  ASSERT_TRUE(sdk::CronExpression::parse(schedule, host_expression, error)) << error.message;
  std::vector<std::chrono::sys_seconds> fires;
  std::string message;
  const std::chrono::sys_seconds from{std::chrono::sys_days{std::chrono::year{2026} / 11 / 1}};
  ASSERT_TRUE(job_expression.nextFireTimes(from, "Europe/Berlin", 365, fires, message)) << message;
  ASSERT_EQ(fires.size(), 365u);
  for (auto t : fires) {
    EXPECT_TRUE(host_expression.firesAt(t, "Etc/UTC", message)) << t.time_since_epoch().count();
  }

  // Same zone as the host: the canonical schedule, no note.
  job.timezone = "Etc/UTC";
  ASSERT_TRUE(plugin.render(job, out).ok());
  EXPECT_NE(out.text.find("\n30 2 * * * '"), std::string::npos) << out.text;
  EXPECT_TRUE(out.report.empty()) << out.report;

  // The agent's default zone applies to jobs without spec.timezone.
  sdk::PluginContext context = makeContext();
  context.default_timezone = "Europe/Berlin";
  auto berlin_owner = configured({}, context);
  job.timezone.clear();
  ASSERT_TRUE(berlin_owner->render(job, out).ok());
  EXPECT_NE(out.report.find("superset"), std::string::npos) << out.report;

  job.timezone = "Mars/Olympus_Mons";
  EXPECT_EQ(plugin.render(job, out).code(), sdk::ErrorCode::kConfig);
}

}  // namespace
}  // namespace crontopus::plugins::cron::test
