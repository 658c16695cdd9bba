#include <gtest/gtest.h>

#include "TriggerCompiler.h"

namespace crontopus::plugins::taskscheduler {
namespace {

CompiledSchedule compile(const std::string& text, const std::string& zone = "UTC",
                         const std::string& host = "UTC") {
  sdk::CronExpression expr;
  sdk::CronError parse_error;
  EXPECT_TRUE(sdk::CronExpression::parse(text, expr, parse_error)) << parse_error.message;
  CompiledSchedule out;
  std::string error;
  EXPECT_TRUE(compileSchedule(expr, zone, host, out, error)) << error;
  return out;
}

TEST(TriggerCompiler, QuarterHoursDuringTheDayAreOneTrigger) {
  CompiledSchedule c = compile("*/15 9-17 * * *");
  EXPECT_EQ(c.form, ScheduleForm::kNative);
  ASSERT_EQ(c.triggers.size(), 1U);
  const Trigger& t = c.triggers[0];
  EXPECT_EQ(t.kind, TriggerKind::kByDay);
  EXPECT_EQ(t.start.hour, 9U);
  EXPECT_EQ(t.start.minute, 0U);
  EXPECT_FALSE(t.start.utc);
  ASSERT_TRUE(t.has_repetition);
  EXPECT_EQ(t.repetition.interval_seconds, 15 * 60);
  // Last start 17:45; the window ends between it and the next step (18:00).
  EXPECT_GT(t.repetition.duration_seconds, (8 * 60 + 45) * 60);
  EXPECT_LT(t.repetition.duration_seconds, 9 * 3600);
  EXPECT_FALSE(c.needs_gate);
  EXPECT_FALSE(c.needs_dedupe);
}

TEST(TriggerCompiler, TwoMinutesEveryOtherHourAreTwoTriggers) {
  CompiledSchedule c = compile("5,35 */2 * * *");
  EXPECT_EQ(c.form, ScheduleForm::kNative);
  ASSERT_EQ(c.triggers.size(), 2U);
  EXPECT_EQ(c.triggers[0].repetition.interval_seconds, 2 * 3600);
}

TEST(TriggerCompiler, EveryMinuteWindowStopsBeforeMidnight) {
  CompiledSchedule c = compile("* * * * *");
  ASSERT_EQ(c.triggers.size(), 1U);
  EXPECT_EQ(c.triggers[0].repetition.interval_seconds, 60);
  EXPECT_EQ(c.triggers[0].repetition.duration_seconds, 1439 * 60 + 30);
}

TEST(TriggerCompiler, DayOfMonthOrDayOfWeekIsTwoSetsWithDedupe) {
  CompiledSchedule c = compile("0 0 13 * 5");
  EXPECT_EQ(c.form, ScheduleForm::kNative);
  ASSERT_EQ(c.triggers.size(), 2U);
  EXPECT_EQ(c.triggers[0].kind, TriggerKind::kByMonth);
  EXPECT_EQ(c.triggers[1].kind, TriggerKind::kByWeek);
  EXPECT_TRUE(c.needs_dedupe);
  EXPECT_NE(c.report.find("once however many triggers"), std::string::npos);
}

TEST(TriggerCompiler, RestrictedMonthsUseMonthDayOfWeekWithLast) {
  CompiledSchedule c = compile("0 12 * 2,8 1-5");
  ASSERT_EQ(c.triggers.size(), 1U);
  const Trigger& t = c.triggers[0];
  EXPECT_EQ(t.kind, TriggerKind::kByMonthDayOfWeek);
  EXPECT_EQ(t.weeks.count(), 4U);
  EXPECT_TRUE(t.last_week);
  EXPECT_TRUE(t.months[2] && t.months[8]);
  EXPECT_EQ(t.months.count(), 2U);
}

TEST(TriggerCompiler, DayOfMonthAndWeekdayAsWholeWeeksIsExact) {
  CompiledSchedule c = compile("0 12 1-7 * */2");  // `*/2` makes it AND: 1st-7th on Sun/Tue/Thu/Sat
  EXPECT_EQ(c.form, ScheduleForm::kNative);
  ASSERT_EQ(c.triggers.size(), 1U);
  EXPECT_EQ(c.triggers[0].kind, TriggerKind::kByMonthDayOfWeek);
  EXPECT_TRUE(c.triggers[0].weeks[0]);
  EXPECT_EQ(c.triggers[0].weeks.count(), 1U);
}

TEST(TriggerCompiler, DayOfMonthAndWeekdayOtherwiseIsGated) {
  CompiledSchedule c = compile("0 0 */2 * 5");  // Fridays with an odd day of month
  EXPECT_EQ(c.form, ScheduleForm::kNativeGated);
  EXPECT_TRUE(c.needs_gate);
  ASSERT_EQ(c.triggers.size(), 1U);
  EXPECT_EQ(c.triggers[0].kind, TriggerKind::kByMonth);
}

TEST(TriggerCompiler, TimesInDaylightSavingHoursGetGatedUtcTriggers) {
  // 02:30 in Berlin is 00:30 or 01:30 UTC, and a skipped 02:30 runs at 01:00 UTC (03:00 CEST).
  CompiledSchedule c = compile("30 2 * * *", "Europe/Berlin", "Europe/Berlin");
  EXPECT_EQ(c.form, ScheduleForm::kNativeGated);
  EXPECT_TRUE(c.needs_gate);
  EXPECT_TRUE(c.needs_dedupe);
  ASSERT_EQ(c.triggers.size(), 1U);
  const Trigger& t = c.triggers[0];
  EXPECT_EQ(t.kind, TriggerKind::kByDay);
  EXPECT_TRUE(t.start.utc);
  EXPECT_EQ(t.start.hour * 60 + t.start.minute, 30U);
  EXPECT_EQ(t.repetition.interval_seconds, 30 * 60);
  EXPECT_NE(c.report.find("02:00-03:00"), std::string::npos) << c.report;
}

TEST(TriggerCompiler, QuarterHoursInBerlinSplitAroundTheChangeHour) {
  CompiledSchedule c = compile("*/15 * * * *", "Europe/Berlin", "Europe/Berlin");
  EXPECT_EQ(c.form, ScheduleForm::kNativeGated);
  ASSERT_EQ(c.triggers.size(), 3U);  // 00:00-01:45 and 03:00-23:45 local, 00:00-01:45 UTC
  EXPECT_FALSE(c.triggers[0].start.utc);
  EXPECT_FALSE(c.triggers[1].start.utc);
  EXPECT_TRUE(c.triggers[2].start.utc);
}

TEST(TriggerCompiler, WindowsKeepClearOfDaylightSavingHours) {
  // 00:00, 01:00, 03:00, ... in Berlin: the 02:00-03:00 hour splits the progression.
  CompiledSchedule c = compile("0 0,1,3-23 * * *", "Europe/Berlin", "Europe/Berlin");
  EXPECT_EQ(c.form, ScheduleForm::kNative);
  EXPECT_EQ(c.triggers.size(), 2U);
}

TEST(TriggerCompiler, ForeignZoneIsEveryMinute) {
  CompiledSchedule c = compile("0 9 * * *", "Asia/Tokyo", "Europe/Berlin");
  EXPECT_EQ(c.form, ScheduleForm::kEveryMinute);
  EXPECT_EQ(c.fallback_cause, FallbackCause::kForeignZone);
  ASSERT_EQ(c.triggers.size(), 1U);
  EXPECT_EQ(c.triggers[0].kind, TriggerKind::kTime);
  EXPECT_TRUE(c.triggers[0].start.utc);
  EXPECT_EQ(c.triggers[0].repetition.interval_seconds, 60);
  EXPECT_EQ(c.triggers[0].repetition.duration_seconds, 0);
  EXPECT_TRUE(c.needs_gate);
}

TEST(TriggerCompiler, UtcJobOnLocalHostUsesUtcBoundaries) {
  CompiledSchedule c = compile("30 2 * * *", "Etc/UTC", "Europe/Berlin");
  EXPECT_EQ(c.form, ScheduleForm::kNative);
  ASSERT_EQ(c.triggers.size(), 1U);
  EXPECT_TRUE(c.triggers[0].start.utc);
}

TEST(TriggerCompiler, RunsStayWholeWhenFolding) {
  // 25 progressions: 00:25 every hour, and 28-59 within each hour.
  CompiledSchedule c = compile("25,28-59 * * * *");
  EXPECT_EQ(c.form, ScheduleForm::kNative);
  EXPECT_EQ(c.triggers.size(), 25U);
}

TEST(TriggerCompiler, TooManyTriggersFallBack) {
  // The same times on the 20th OR on Thursdays: 2 x 25 triggers, more than 48.
  CompiledSchedule c = compile("25,28-59 * 20 * 4");
  EXPECT_EQ(c.form, ScheduleForm::kEveryMinute);
  EXPECT_EQ(c.fallback_cause, FallbackCause::kTriggerLimit);
  EXPECT_NE(c.report.find("more than the schema's 48"), std::string::npos) << c.report;
}

TEST(TriggerCompiler, RebootIsABootTrigger) {
  CompiledSchedule c = compile("@reboot");
  EXPECT_EQ(c.form, ScheduleForm::kBoot);
  ASSERT_EQ(c.triggers.size(), 1U);
  EXPECT_EQ(c.triggers[0].kind, TriggerKind::kBoot);
}

TEST(TriggerCompiler, UnknownZoneIsAnError) {
  sdk::CronExpression expr;
  sdk::CronError parse_error;
  ASSERT_TRUE(sdk::CronExpression::parse("0 0 * * *", expr, parse_error));
  CompiledSchedule out;
  std::string error;
  EXPECT_FALSE(compileSchedule(expr, "Mars/Olympus", "UTC", out, error));
  EXPECT_NE(error.find("Mars/Olympus"), std::string::npos);
}

}  // namespace
}  // namespace crontopus::plugins::taskscheduler
