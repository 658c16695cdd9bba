#include <gtest/gtest.h>

#include <date/date.h>

#include <chrono>

#include "CalendarCompiler.h"
#include "TestCorpus.h"

namespace crontopus::plugins::systemd_timer {
namespace {

using Lines = std::vector<std::string>;

std::chrono::sys_seconds at(const char* text) {
  return tests::systemd_timer::utcTime(text);
}

CalendarPlan compile(const std::string& expr, const std::string& zone,
                     const char* now = "2026-06-01 00:00:00") {
  sdk::CronExpression e;
  sdk::CronError cron_error;
  EXPECT_TRUE(sdk::CronExpression::parse(expr, e, cron_error))
      << expr << ": " << cron_error.message;
  CalendarPlan plan;
  std::string error;
  EXPECT_TRUE(compileCalendar(e, zone, at(now), plan, error)) << error;
  return plan;
}

TEST(CalendarCompiler, FieldsBecomeListsAndRanges) {
  EXPECT_EQ(compile("0 2 * * *", "UTC").on_calendar, Lines{"*-*-* 02:00:00 UTC"});
  EXPECT_EQ(compile("*/15 9-17 * * mon-fri", "UTC").on_calendar,
            Lines{"Mon..Fri *-*-* 09..17:00,15,30,45:00 UTC"});
  EXPECT_EQ(compile("5,6 1,2,3 1-2 jan,mar-may *", "UTC").on_calendar,
            Lines{"*-01,03..05-01,02 01..03:05,06:00 UTC"});
  EXPECT_EQ(compile("0 0 * * sat,sun", "UTC").on_calendar, Lines{"Sat,Sun *-*-* 00:00:00 UTC"});
  EXPECT_EQ(compile("0 0 * * 0-6", "UTC").on_calendar, Lines{"*-*-* 00:00:00 UTC"});
}

TEST(CalendarCompiler, BothDayFieldsRestrictedBecomeTwoLines) {
  // cron ORs day-of-month and day-of-week here; systemd ANDs within one line.
  EXPECT_EQ(compile("0 0 13 * 5", "UTC").on_calendar,
            (Lines{"*-*-13 00:00:00 UTC", "Fri *-*-* 00:00:00 UTC"}));
  // A leading `*` (or `*/n`) keeps cron's AND: one line.
  EXPECT_EQ(compile("0 0 */10 * 5", "UTC").on_calendar, Lines{"Fri *-*-01,11,21,31 00:00:00 UTC"});
  EXPECT_EQ(compile("0 0 13 * */3", "UTC").on_calendar, Lines{"Wed,Sat,Sun *-*-13 00:00:00 UTC"});
  // Every weekday without `*`: OR with "every day" is every day.
  EXPECT_EQ(compile("0 0 1 * 0-6", "UTC").on_calendar,
            (Lines{"*-*-01 00:00:00 UTC", "*-*-* 00:00:00 UTC"}));
}

TEST(CalendarCompiler, MacrosAndReboot) {
  EXPECT_EQ(compile("@hourly", "UTC").on_calendar, Lines{"*-*-* *:00:00 UTC"});
  EXPECT_EQ(compile("@daily", "UTC").on_calendar, Lines{"*-*-* 00:00:00 UTC"});
  EXPECT_EQ(compile("@midnight", "UTC").on_calendar, Lines{"*-*-* 00:00:00 UTC"});
  EXPECT_EQ(compile("@weekly", "UTC").on_calendar, Lines{"Sun *-*-* 00:00:00 UTC"});
  EXPECT_EQ(compile("@monthly", "UTC").on_calendar, Lines{"*-*-01 00:00:00 UTC"});
  EXPECT_EQ(compile("@yearly", "UTC").on_calendar, Lines{"*-01-01 00:00:00 UTC"});
  EXPECT_EQ(compile("@annually", "UTC").on_calendar, Lines{"*-01-01 00:00:00 UTC"});
  const CalendarPlan reboot = compile("@reboot", "Europe/Berlin");
  EXPECT_TRUE(reboot.on_boot);
  EXPECT_TRUE(reboot.on_calendar.empty());
}

TEST(CalendarCompiler, NoZoneMeansNoSuffix) {
  EXPECT_EQ(compile("0 2 * * *", "").on_calendar.front(), "*-*-* 02:00:00");
}

TEST(CalendarCompiler, SpringForwardFixedTimeRunsAtTheJump) {
  // Berlin skips 02:00-03:00 local on 2026-03-29 and 2027-03-28 (01:00 UTC); the spec runs a
  // fixed-time job scheduled in the gap once, at the jump. systemd would skip it.
  const CalendarPlan plan = compile("30 2 * * *", "Europe/Berlin", "2026-03-01 00:00:00");
  EXPECT_EQ(plan.on_calendar, (Lines{"*-*-* 02:30:00 Europe/Berlin", "2026-03-29 01:00:00 UTC",
                                     "2027-03-28 01:00:00 UTC"}));
  EXPECT_TRUE(plan.extra.empty());
  EXPECT_NE(plan.report.find("daylight-saving"), std::string::npos);
}

TEST(CalendarCompiler, FallBackWildcardRunsBothOccurrences) {
  // Berlin repeats 02:00-03:00 local on 2026-10-25; systemd fires the repeated minutes once (at
  // the first occurrence), the spec runs a wildcard job on both.
  const CalendarPlan plan = compile("*/30 * * * *", "Europe/Berlin", "2026-10-01 00:00:00");
  EXPECT_EQ(plan.on_calendar, (Lines{"*-*-* *:00,30:00 Europe/Berlin", "2026-10-25 01:00,30:00 UTC",
                                     "2027-10-31 01:00,30:00 UTC"}));
}

TEST(CalendarCompiler, FallBackFixedTimeNeedsNothing) {
  // Both run a fixed-time job once, at the first occurrence: nothing for 2026-10-25, only the
  // next spring-forward gets a line.
  EXPECT_EQ(compile("30 2 * * *", "Europe/Berlin", "2026-10-01 00:00:00").on_calendar,
            (Lines{"*-*-* 02:30:00 Europe/Berlin", "2027-03-28 01:00:00 UTC"}));
}

TEST(CalendarCompiler, CompensationOnlyInsideTheWindow) {
  // From 2026-04-01 the next spring-forward is 2027-03-28, inside 397 days; the one after is not.
  EXPECT_EQ(compile("30 2 * * *", "Europe/Berlin", "2026-04-01 00:00:00").on_calendar,
            (Lines{"*-*-* 02:30:00 Europe/Berlin", "2027-03-28 01:00:00 UTC"}));
  // Days the schedule never selects need no compensation.
  EXPECT_EQ(compile("30 2 * 6 *", "Europe/Berlin", "2026-01-01 00:00:00").on_calendar,
            Lines{"*-06-* 02:30:00 Europe/Berlin"});
}

TEST(CalendarCompiler, LinesChangeOnlyWhenTheWindowGainsOrLosesAnInstant) {
  // Rendering every cycle must not rewrite the unit every cycle.
  const Lines may = compile("30 2 * * *", "Europe/Berlin", "2026-05-01 00:00:00").on_calendar;
  EXPECT_EQ(compile("30 2 * * *", "Europe/Berlin", "2026-05-20 13:07:00").on_calendar, may);
  // Once the compensated instant has passed, its line goes.
  EXPECT_NE(compile("30 2 * * *", "Europe/Berlin", "2026-03-29 00:59:00").on_calendar,
            compile("30 2 * * *", "Europe/Berlin", "2026-03-29 01:00:01").on_calendar);
}

TEST(CalendarCompiler, UnknownZoneIsAnError) {
  sdk::CronExpression e;
  sdk::CronError cron_error;
  ASSERT_TRUE(sdk::CronExpression::parse("0 0 * * *", e, cron_error));
  CalendarPlan plan;
  std::string error;
  EXPECT_FALSE(compileCalendar(e, "Mars/Olympus", at("2026-01-01 00:00:00"), plan, error));
  EXPECT_NE(error.find("Mars/Olympus"), std::string::npos);
}

TEST(CalendarCompiler, NoCorpusScheduleNeedsAnExtraFireTime) {
  // The compiler's model of systemd never fires where the schedule does not; the integration
  // test checks that model against systemd-analyze itself.
  for (const auto& expr : tests::systemd_timer::cronCorpus(300)) {
    for (const char* zone : {"Europe/Berlin", "America/New_York", "Australia/Lord_Howe"}) {
      const CalendarPlan plan = compile(expr, zone, "2026-02-01 00:00:00");
      EXPECT_TRUE(plan.extra.empty()) << expr << " in " << zone << ": " << plan.report;
    }
  }
}

}  // namespace
}  // namespace crontopus::plugins::systemd_timer
