// Fire times across daylight-saving transitions: Debian cron's rule (job-manifest-v1, Schedule).
// Fixed-time jobs: a skipped local time runs once at the first minute after the jump; a repeated
// local time runs only at its first occurrence. Wildcard jobs follow the wall clock.
#include <date/tz.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "crontopus/sdk/CronExpression.h"

namespace crontopus::sdk {
namespace {

std::chrono::sys_seconds utc(int y, unsigned mo, unsigned d, unsigned h = 0, unsigned mi = 0) {
  return date::sys_days{date::year{y} / date::month{mo} / date::day{d}} + std::chrono::hours{h} +
         std::chrono::minutes{mi};
}

// Fire times as local wall-clock text with the offset, e.g. "2026-03-29 03:00 +0200".
std::vector<std::string> fires(const std::string& text, const std::string& zone,
                               std::chrono::sys_seconds after, std::size_t count) {
  CronExpression e;
  CronError error;
  EXPECT_TRUE(CronExpression::parse(text, e, error)) << error.message;
  std::vector<std::chrono::sys_seconds> times;
  std::string zone_error;
  EXPECT_TRUE(e.nextFireTimes(after, zone, count, times, zone_error)) << zone_error;
  std::vector<std::string> out;
  for (auto t : times) {
    out.push_back(date::format("%F %R %z", date::make_zoned(zone, t)));
    // firesAt agrees with nextFireTimes, for the minute and for any second within it.
    EXPECT_TRUE(e.firesAt(t, zone, zone_error)) << text << " " << out.back();
    EXPECT_TRUE(e.firesAt(t + std::chrono::seconds(59), zone, zone_error)) << out.back();
  }
  return out;
}

using V = std::vector<std::string>;

TEST(CronDst, BerlinSpringForwardFixedTime) {
  // 2026-03-29 02:00 CET becomes 03:00 CEST.
  EXPECT_EQ(fires("30 2 * * *", "Europe/Berlin", utc(2026, 3, 27, 12), 3),
            (V{"2026-03-28 02:30 +0100", "2026-03-29 03:00 +0200", "2026-03-30 02:30 +0200"}));
  // Several skipped minutes and the landing minute still make one run.
  EXPECT_EQ(fires("0,15,59 2,3 29 3 *", "Europe/Berlin", utc(2026, 3, 28), 4),
            (V{"2026-03-29 03:00 +0200", "2026-03-29 03:15 +0200", "2026-03-29 03:59 +0200",
               "2027-03-29 02:00 +0200"}));
  // Just before and after the gap: untouched.
  EXPECT_EQ(fires("59 1 * * *", "Europe/Berlin", utc(2026, 3, 28, 12), 2),
            (V{"2026-03-29 01:59 +0100", "2026-03-30 01:59 +0200"}));
  // Starting inside the landing minute: the catch-up run is already past.
  EXPECT_EQ(fires("30 2 * * *", "Europe/Berlin", utc(2026, 3, 29, 1, 0), 1),
            (V{"2026-03-30 02:30 +0200"}));
  // Starting one second before it: it is next.
  EXPECT_EQ(fires("30 2 * * *", "Europe/Berlin", utc(2026, 3, 29, 1) - std::chrono::seconds(1), 1),
            (V{"2026-03-29 03:00 +0200"}));
}

TEST(CronDst, BerlinSpringForwardWildcard) {
  EXPECT_EQ(fires("*/30 2 * * *", "Europe/Berlin", utc(2026, 3, 28, 12), 3),
            (V{"2026-03-30 02:00 +0200", "2026-03-30 02:30 +0200", "2026-03-31 02:00 +0200"}));
  EXPECT_EQ(fires("30 * * * *", "Europe/Berlin", utc(2026, 3, 28, 23), 3),
            (V{"2026-03-29 00:30 +0100", "2026-03-29 01:30 +0100", "2026-03-29 03:30 +0200"}));
  EXPECT_EQ(fires("@hourly", "Europe/Berlin", utc(2026, 3, 28, 23, 30), 3),
            (V{"2026-03-29 01:00 +0100", "2026-03-29 03:00 +0200", "2026-03-29 04:00 +0200"}));
}

TEST(CronDst, BerlinFallBack) {
  // 2026-10-25 03:00 CEST becomes 02:00 CET; 02:00-02:59 happens twice.
  EXPECT_EQ(fires("30 2 * * *", "Europe/Berlin", utc(2026, 10, 24, 12), 2),
            (V{"2026-10-25 02:30 +0200", "2026-10-26 02:30 +0100"}));
  EXPECT_EQ(fires("*/30 2 * * *", "Europe/Berlin", utc(2026, 10, 24, 12), 5),
            (V{"2026-10-25 02:00 +0200", "2026-10-25 02:30 +0200", "2026-10-25 02:00 +0100",
               "2026-10-25 02:30 +0100", "2026-10-26 02:00 +0100"}));
  EXPECT_EQ(fires("* * * * *", "Europe/Berlin", utc(2026, 10, 25, 0, 58), 4),
            (V{"2026-10-25 02:59 +0200", "2026-10-25 02:00 +0100", "2026-10-25 02:01 +0100",
               "2026-10-25 02:02 +0100"}));
  // Starting during the second pass: the fixed-time job does not run again that day.
  EXPECT_EQ(fires("45 2 * * *", "Europe/Berlin", utc(2026, 10, 25, 1, 10), 1),
            (V{"2026-10-26 02:45 +0100"}));
  EXPECT_EQ(fires("0 3 * * *", "Europe/Berlin", utc(2026, 10, 25, 1, 10), 1),
            (V{"2026-10-25 03:00 +0100"}));
}

TEST(CronDst, NewYork) {
  // 2026-03-08 02:00 EST becomes 03:00 EDT; 2026-11-01 02:00 EDT becomes 01:00 EST.
  EXPECT_EQ(fires("0,30 2 * * *", "America/New_York", utc(2026, 3, 7), 3),
            (V{"2026-03-07 02:00 -0500", "2026-03-07 02:30 -0500", "2026-03-08 03:00 -0400"}));
  EXPECT_EQ(fires("*/30 2 8 3 *", "America/New_York", utc(2026, 3, 7), 1),
            (V{"2027-03-08 02:00 -0500"}));
  EXPECT_EQ(fires("30 1 * * *", "America/New_York", utc(2026, 10, 31, 12), 2),
            (V{"2026-11-01 01:30 -0400", "2026-11-02 01:30 -0500"}));
  EXPECT_EQ(fires("30 * * * *", "America/New_York", utc(2026, 11, 1, 4), 4),
            (V{"2026-11-01 00:30 -0400", "2026-11-01 01:30 -0400", "2026-11-01 01:30 -0500",
               "2026-11-01 02:30 -0500"}));
  // A DOM/DOW job on the transition day (`*` in day-of-month: both must match: the 1st, 8th, ...
  // and a Sunday).
  EXPECT_EQ(fires("15 2 */7 3 0", "America/New_York", utc(2026, 3, 1, 12), 1),
            (V{"2026-03-08 03:00 -0400"}));
}

TEST(CronDst, LordHoweHalfHourShift) {
  // 2026-04-05 02:00 +11 becomes 01:30 +1030 (01:30-01:59 twice);
  // 2026-10-04 02:00 +1030 becomes 02:30 +11 (02:00-02:29 skipped).
  EXPECT_EQ(fires("45 1 * * *", "Australia/Lord_Howe", utc(2026, 4, 4, 12), 2),
            (V{"2026-04-05 01:45 +1100", "2026-04-06 01:45 +1030"}));
  EXPECT_EQ(fires("*/20 1 * * *", "Australia/Lord_Howe", utc(2026, 4, 4, 12), 5),
            (V{"2026-04-05 01:00 +1100", "2026-04-05 01:20 +1100", "2026-04-05 01:40 +1100",
               "2026-04-05 01:40 +1030", "2026-04-06 01:00 +1030"}));
  EXPECT_EQ(fires("15 1 * * *", "Australia/Lord_Howe", utc(2026, 4, 4, 12), 2),
            (V{"2026-04-05 01:15 +1100", "2026-04-06 01:15 +1030"}));
  EXPECT_EQ(fires("15 2 * * *", "Australia/Lord_Howe", utc(2026, 10, 3, 12), 2),
            (V{"2026-10-04 02:30 +1100", "2026-10-05 02:15 +1100"}));
  EXPECT_EQ(fires("45 2 * * *", "Australia/Lord_Howe", utc(2026, 10, 3, 12), 2),
            (V{"2026-10-04 02:45 +1100", "2026-10-05 02:45 +1100"}));
  EXPECT_EQ(fires("*/15 2 * * *", "Australia/Lord_Howe", utc(2026, 10, 3, 12), 3),
            (V{"2026-10-04 02:30 +1100", "2026-10-04 02:45 +1100", "2026-10-05 02:00 +1100"}));
}

TEST(CronDst, KolkataHalfHourOffsetAndWartimeTransitions) {
  // No daylight saving today: +0530 all year, every day runs.
  EXPECT_EQ(fires("30 2 * * *", "Asia/Kolkata", utc(2026, 3, 28, 12), 2),
            (V{"2026-03-29 02:30 +0530", "2026-03-30 02:30 +0530"}));
  EXPECT_EQ(fires("*/45 2 25 10 *", "Asia/Kolkata", utc(2026, 10, 1), 2),
            (V{"2026-10-25 02:00 +0530", "2026-10-25 02:45 +0530"}));
  // 1942-09-01 00:00 IST became 01:00 +0630 (a gap at midnight, across the date change).
  EXPECT_EQ(fires("30 0 * * *", "Asia/Kolkata", utc(1942, 8, 31, 12), 2),
            (V{"1942-09-01 01:00 +0630", "1942-09-02 00:30 +0630"}));
  EXPECT_EQ(fires("30 * * * *", "Asia/Kolkata", utc(1942, 8, 31, 17), 3),
            (V{"1942-08-31 23:30 +0530", "1942-09-01 01:30 +0630", "1942-09-01 02:30 +0630"}));
  // 1945-10-15 00:00 +0630 became 23:00 IST on the 14th (23:00-23:59 twice).
  EXPECT_EQ(fires("30 23 * * *", "Asia/Kolkata", utc(1945, 10, 14, 12), 2),
            (V{"1945-10-14 23:30 +0630", "1945-10-15 23:30 +0530"}));
  EXPECT_EQ(fires("30 23 * * *", "Asia/Kolkata", utc(1945, 10, 14, 17, 40), 1),
            (V{"1945-10-15 23:30 +0530"}));
  EXPECT_EQ(fires("30 * * * *", "Asia/Kolkata", utc(1945, 10, 14, 16), 3),
            (V{"1945-10-14 23:30 +0630", "1945-10-14 23:30 +0530", "1945-10-15 00:30 +0530"}));
}

TEST(CronDst, FiresAtRejectsSkippedAndRepeatedMinutes) {
  CronExpression e;
  CronError error;
  std::string zone_error;
  ASSERT_TRUE(CronExpression::parse("30 2 * * *", e, error));
  // Second occurrence of 02:30 on the fall-back day (01:30 UTC) is not a fire instant.
  EXPECT_TRUE(e.firesAt(utc(2026, 10, 25, 0, 30), "Europe/Berlin", zone_error));
  EXPECT_FALSE(e.firesAt(utc(2026, 10, 25, 1, 30), "Europe/Berlin", zone_error));
  // Skipped 02:30 runs at 03:00 CEST (01:00 UTC), not at 01:30 UTC.
  EXPECT_TRUE(e.firesAt(utc(2026, 3, 29, 1, 0), "Europe/Berlin", zone_error));
  EXPECT_FALSE(e.firesAt(utc(2026, 3, 29, 1, 30), "Europe/Berlin", zone_error));
  ASSERT_TRUE(CronExpression::parse("30 * * * *", e, error));
  EXPECT_TRUE(e.firesAt(utc(2026, 10, 25, 1, 30), "Europe/Berlin", zone_error));
  EXPECT_FALSE(e.firesAt(utc(2026, 3, 29, 1, 0), "Europe/Berlin", zone_error));
}

TEST(CronZones, UnknownZoneAndHostZone) {
  CronExpression e;
  CronError error;
  ASSERT_TRUE(CronExpression::parse("0 12 * * *", e, error));
  std::vector<std::chrono::sys_seconds> times;
  std::string zone_error;
  EXPECT_FALSE(e.nextFireTimes(utc(2026, 1, 1), "Mars/Olympus_Mons", 1, times, zone_error));
  EXPECT_NE(zone_error.find("Mars/Olympus_Mons"), std::string::npos) << zone_error;
  zone_error.clear();
  EXPECT_FALSE(e.firesAt(utc(2026, 1, 1), "../../etc/passwd", zone_error));
  EXPECT_FALSE(zone_error.empty());
  std::string superset;
  EXPECT_FALSE(e.hostSuperset("Nowhere/Land", "UTC", utc(2026, 1, 1), superset, zone_error));

  // Empty zone = the host's zone (date::current_zone()).
  const date::time_zone* host = date::current_zone();
  std::vector<std::chrono::sys_seconds> in_host;
  ASSERT_TRUE(e.nextFireTimes(utc(2026, 1, 1), "", 5, times, zone_error)) << zone_error;
  ASSERT_TRUE(e.nextFireTimes(utc(2026, 1, 1), host->name(), 5, in_host, zone_error));
  EXPECT_EQ(times, in_host);
  EXPECT_EQ(times.size(), 5u);
}

TEST(CronZones, InstantsOutsideYears1To9999AreErrors) {
  CronExpression e;
  CronError error;
  ASSERT_TRUE(CronExpression::parse("* * * * *", e, error));
  std::vector<std::chrono::sys_seconds> times;
  std::string zone_error;
  const std::chrono::sys_seconds far{std::chrono::seconds{std::int64_t{1} << 62}};
  EXPECT_FALSE(e.nextFireTimes(far, "UTC", 1, times, zone_error));
  EXPECT_NE(zone_error.find("1-9999"), std::string::npos);
  EXPECT_FALSE(e.firesAt(std::chrono::sys_seconds{-far.time_since_epoch()}, "UTC", zone_error));
  std::string superset;
  EXPECT_FALSE(e.hostSuperset("UTC", "Europe/Berlin", far, superset, zone_error));
  ASSERT_TRUE(e.nextFireTimes(utc(9998, 12, 31, 23, 58), "UTC", 1, times, zone_error));
  EXPECT_EQ(times, (std::vector<std::chrono::sys_seconds>{utc(9998, 12, 31, 23, 59)}));
}

TEST(CronZones, RebootNeverFiresHere) {
  CronExpression e;
  CronError error;
  ASSERT_TRUE(CronExpression::parse("@reboot", e, error));
  std::vector<std::chrono::sys_seconds> times{utc(2000, 1, 1)};
  std::string zone_error;
  EXPECT_TRUE(e.nextFireTimes(utc(2026, 1, 1), "UTC", 5, times, zone_error));
  EXPECT_TRUE(times.empty());
  EXPECT_FALSE(e.firesAt(utc(2026, 1, 1), "UTC", zone_error));
  std::string superset;
  EXPECT_TRUE(e.hostSuperset("Europe/Berlin", "UTC", utc(2026, 1, 1), superset, zone_error));
  EXPECT_EQ(superset, "@reboot");
}

TEST(CronZones, UnreachableExpressionsReturnEmptyQuickly) {
  const char* corpus[] = {"0 0 30 2 *",        "0 0 31 2 *",      "0 0 31 4 *",
                          "0 0 31 4,6,9,11 *", "*/5 * 30,31 2 *", "0 0 31 2-4/2 *"};
  for (const char* zone : {"UTC", "Europe/Berlin", "Australia/Lord_Howe"}) {
    for (const char* text : corpus) {
      CronExpression e;
      CronError error;
      ASSERT_TRUE(CronExpression::parse(text, e, error)) << text;
      std::vector<std::chrono::sys_seconds> times;
      std::string zone_error;
      auto start = std::chrono::steady_clock::now();
      ASSERT_TRUE(e.nextFireTimes(utc(2026, 11, 26), zone, 10, times, zone_error));
      auto elapsed = std::chrono::steady_clock::now() - start;
      EXPECT_TRUE(times.empty()) << text;
      EXPECT_LT(elapsed, std::chrono::milliseconds(50)) << text << " in " << zone;
      EXPECT_FALSE(e.firesAt(utc(2027, 2, 28), zone, zone_error));
    }
  }
  // Rare but reachable: the next leap day, and 30 years still reach it.
  CronExpression e;
  CronError error;
  ASSERT_TRUE(CronExpression::parse("0 0 29 2 *", e, error));
  std::vector<std::chrono::sys_seconds> times;
  std::string zone_error;
  ASSERT_TRUE(e.nextFireTimes(utc(2026, 11, 26), "UTC", 3, times, zone_error));
  EXPECT_EQ(times, (std::vector<std::chrono::sys_seconds>{utc(2028, 2, 29), utc(2032, 2, 29),
                                                          utc(2036, 2, 29)}));
  // 2100 is not a leap year: from 2096-03 the next one is 2104.
  ASSERT_TRUE(e.nextFireTimes(utc(2096, 3, 1), "UTC", 1, times, zone_error));
  EXPECT_EQ(times, (std::vector<std::chrono::sys_seconds>{utc(2104, 2, 29)}));
  ASSERT_TRUE(CronExpression::parse("0 0 29 2 1", e, error));  // or any Monday in February
  ASSERT_TRUE(e.nextFireTimes(utc(2026, 11, 26), "UTC", 1, times, zone_error));
  EXPECT_EQ(times, (std::vector<std::chrono::sys_seconds>{utc(2027, 2, 1)}));
}

}  // namespace
}  // namespace crontopus::sdk
