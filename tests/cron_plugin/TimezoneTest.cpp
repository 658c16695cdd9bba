#include <gtest/gtest.h>

#include "TestSupport.h"
#include "crontopus/sdk/CronExpression.h"

namespace crontopus::plugins::cron::test {
namespace {

using std::chrono::sys_days;
using std::chrono::sys_seconds;

// The rule for a job whose zone is not the host's: cron fires the installed host-zone superset,
// and `run` keeps exactly the minutes where CronExpression::firesAt() is true in the job's zone.
// Simulated over a year (both daylight-saving changes of each zone) with the cron library: the
// kept minutes must be exactly the job's own fire instants, no more and no fewer.
struct Case {
  const char* job_zone;
  const char* host_zone;
  const char* schedule;
};

std::vector<sys_seconds> firesBetween(const sdk::CronExpression& expression,
                                      const std::string& zone, sys_seconds from,
                                      sys_seconds until) {
  std::vector<sys_seconds> out;
  std::string error;
  sys_seconds after = from - std::chrono::seconds(1);
  for (;;) {
    std::vector<sys_seconds> batch;
    EXPECT_TRUE(expression.nextFireTimes(after, zone, 4096, batch, error)) << error;
    for (sys_seconds t : batch) {
      if (t >= until) {
        return out;
      }
      out.push_back(t);
    }
    if (batch.size() < 4096) {
      return out;
    }
    after = batch.back();
  }
}

TEST(CronTimezone, SupersetPlusFiresAtGivesExactlyTheJobsInstants) {
  const std::vector<Case> cases = {
      {"Europe/Berlin", "Etc/UTC", "30 2 * * *"},  // 02:30 is skipped in March
      {"Europe/Berlin", "Etc/UTC", "*/20 * * * *"},
      {"America/New_York", "Europe/London", "0 9 * * 1-5"},
      {"America/New_York", "Europe/London", "30 1 * * 0"},  // 01:30 repeats in November
      {"Etc/UTC", "Europe/Berlin", "30 2 * * *"},           // host zone with daylight saving
      {"Australia/Lord_Howe", "Etc/UTC", "0 2 1 * *"},      // half-hour daylight saving
      {"Asia/Kolkata", "America/Los_Angeles", "45 23 * * *"},
      {"Europe/Berlin", "Europe/Berlin", "15 3 * * *"},
  };
  const sys_seconds from{sys_days{std::chrono::year{2026} / 11 / 1}};
  const sys_seconds until{sys_days{std::chrono::year{2027} / 11 / 1}};

  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.job_zone) + " on a " + c.host_zone + " host: " + c.schedule);
    CronScheduler plugin;
    plugin.setHostZoneForTesting(c.host_zone);
    plugin.setNowForTesting(sys_days{std::chrono::year{2026} / 11 / 26});
    plugin.setStoreForTesting(
        std::make_unique<MemoryStore>(std::make_shared<MemoryStore::State>()));
    ASSERT_TRUE(plugin.configure(makeContext()).ok());
    sdk::Job job = makeJob("ns", "job", c.schedule);
    job.timezone = c.job_zone;
    sdk::RenderedEntry rendered;
    ASSERT_TRUE(plugin.render(job, rendered).ok());
    const std::size_t start = rendered.text.find('\n') + 1;
    const std::string installed =
        rendered.text.substr(start, rendered.text.find(" '/usr/bin") - start);
    EXPECT_EQ(std::string(c.job_zone) == c.host_zone, rendered.report.empty()) << rendered.report;

    sdk::CronExpression job_expression, host_expression;
    sdk::CronError error;
    ASSERT_TRUE(sdk::CronExpression::parse(c.schedule, job_expression, error));
    ASSERT_TRUE(sdk::CronExpression::parse(installed, host_expression, error)) << installed;

    const auto wanted = firesBetween(job_expression, c.job_zone, from, until);
    ASSERT_FALSE(wanted.empty());
    std::vector<sys_seconds> kept;
    std::string message;
    for (sys_seconds t : firesBetween(host_expression, c.host_zone, from, until)) {
      if (job_expression.firesAt(t, c.job_zone, message)) {
        kept.push_back(t);
      }
    }
    EXPECT_EQ(kept, wanted) << "installed: " << installed;
  }
}

}  // namespace
}  // namespace crontopus::plugins::cron::test
