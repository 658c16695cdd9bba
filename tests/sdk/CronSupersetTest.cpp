// hostSuperset: the expression the cron backend installs in the host's zone for a job in another
// zone must fire at every instant the job fires (run then drops extra minutes with firesAt).
#include <date/tz.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "crontopus/sdk/CronExpression.h"

namespace crontopus::sdk {
namespace {

std::chrono::sys_seconds utc(int y, unsigned mo, unsigned d, unsigned h = 0, unsigned mi = 0) {
  return date::sys_days{date::year{y} / date::month{mo} / date::day{d}} + std::chrono::hours{h} +
         std::chrono::minutes{mi};
}

// Checks that `superset` (read in host_zone) fires at every fire instant of `job` in job_zone
// during the 13 months after `from`; returns how many instants were checked.
std::size_t expectCovers(const CronExpression& job, const std::string& job_zone,
                         const std::string& host_zone, std::chrono::sys_seconds from,
                         const std::string& superset_text) {
  CronExpression superset;
  CronError error;
  EXPECT_TRUE(CronExpression::parse(superset_text, superset, error))
      << superset_text << ": " << error.message;
  const auto until = from + date::months(13);
  std::vector<std::chrono::sys_seconds> times;
  std::string zone_error;
  std::size_t checked = 0;
  auto after = from;
  while (after < until) {
    EXPECT_TRUE(job.nextFireTimes(after, job_zone, 5000, times, zone_error)) << zone_error;
    if (times.empty()) {
      break;
    }
    for (auto t : times) {
      if (t > until) {
        break;
      }
      ++checked;
      EXPECT_TRUE(superset.firesAt(t, host_zone, zone_error))
          << job.canonical() << " in " << job_zone << " at "
          << date::format("%F %R %z", date::make_zoned(job_zone, t)) << " = "
          << date::format("%F %R %z", date::make_zoned(host_zone, t)) << " not covered by "
          << superset_text << " in " << host_zone;
    }
    after = times.back();
  }
  return checked;
}

TEST(CronSuperset, CoversEveryFireInstantAcrossZonePairs) {
  const char* jobs[] = {
      "30 2 * * *",
      "0 0 1 * *",
      "45 1 * * *",
      "*/20 1-3 * * 0",
      "15 * * * *",
      "0 0 * * 1-5",
      "0,30 0-3 25-31 3,10 *",
      "@daily",
      "@hourly",
      "@weekly",
      "5 4 13 * 5",
      "0 12 */2 * 1",
      "59 23 31 12 *",
      "10 2 * 4,10 0",
  };
  const char* job_zones[] = {"Europe/Berlin", "Australia/Lord_Howe", "Asia/Kolkata",
                             "America/New_York", "UTC"};
  const char* host_zones[] = {"UTC", "America/New_York", "Australia/Lord_Howe"};
  const std::chrono::sys_seconds starts[] = {utc(2026, 1, 1), utc(2026, 9, 15, 7, 30)};
  std::size_t total = 0;
  for (const char* text : jobs) {
    CronExpression job;
    CronError error;
    ASSERT_TRUE(CronExpression::parse(text, job, error)) << text;
    for (const char* job_zone : job_zones) {
      for (const char* host_zone : host_zones) {
        for (auto from : starts) {
          std::string superset;
          std::string zone_error;
          ASSERT_TRUE(job.hostSuperset(job_zone, host_zone, from, superset, zone_error))
              << zone_error;
          if (std::string(job_zone) == host_zone) {
            EXPECT_EQ(superset, job.canonical());
          }
          total += expectCovers(job, job_zone, host_zone, from, superset);
        }
      }
    }
  }
  EXPECT_GT(total, 100000u);
}

TEST(CronSuperset, ShapesOfTheResult) {
  struct Case {
    const char* job;
    const char* job_zone;
    const char* host_zone;
    const char* expected;
  };
  const Case cases[] = {
      // 02:30 Berlin is 01:30 or 00:30 UTC; the skipped 02:30 in March runs at 03:00 CEST,
      // 01:00 UTC.
      {"30 2 * * *", "Europe/Berlin", "UTC", "0,30 0,1 * * *"},
      {"0 9 * * 1-5", "Asia/Kolkata", "UTC", "30 3 * * 1-5"},
      {"0 * * * *", "UTC", "Australia/Lord_Howe", "0,30 * * * *"},
      {"0 0 1 * *", "Europe/Berlin", "UTC", "0 22,23 28,30,31 * *"},
      // 05:30 and 06:30 UTC on 2026-11-01 are both 01:30 in New York, the second time in the
      // repeated hour, which host cron runs only for an entry whose hour begins with `*`.
      {"30 5,6 * * *", "UTC", "America/New_York", "30 * * * *"},
      {"30 5,6 * * *", "UTC", "Asia/Kolkata", "0 11,12 * * *"},
      // Same zone, or the same clock under another name: the job's own text.
      {"*/7 1-5 * * MON", "Europe/Berlin", "Europe/Berlin", "*/7 1-5 * * 1"},
      {"*/7 1-5 * * MON", "UTC", "Etc/UTC", "*/7 1-5 * * 1"},
      {"*/7 1-5 * * MON", "Europe/Berlin", "Europe/Paris", "*/7 1-5 * * 1"},
      // Never fires: stays never.
      {"0 0 30 2 *", "Europe/Berlin", "UTC", "0 0 30 2 *"},
      // The next fire is more than 13 months away: the window reaches it.
      {"0 12 29 2 *", "Asia/Kolkata", "UTC", "30 6 29 2 *"},
  };
  for (const Case& c : cases) {
    CronExpression job;
    CronError error;
    ASSERT_TRUE(CronExpression::parse(c.job, job, error)) << c.job;
    std::string superset;
    std::string zone_error;
    ASSERT_TRUE(job.hostSuperset(c.job_zone, c.host_zone, utc(2026, 1, 1), superset, zone_error))
        << zone_error;
    EXPECT_EQ(superset, c.expected) << c.job << " " << c.job_zone << " -> " << c.host_zone;
    expectCovers(job, c.job_zone, c.host_zone, utc(2026, 1, 1), superset);
  }
}

TEST(CronSuperset, EveryMinuteJobIsFastEnough) {
  CronExpression job;
  CronError error;
  ASSERT_TRUE(CronExpression::parse("* * * * *", job, error));
  std::string superset;
  std::string zone_error;
  auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(
      job.hostSuperset("Australia/Lord_Howe", "UTC", utc(2026, 1, 1), superset, zone_error));
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(superset, "* * * * *");
  EXPECT_LT(elapsed, std::chrono::seconds(2));
}

}  // namespace
}  // namespace crontopus::sdk
