// Parsing, rejection and canonical form of cron expressions.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "crontopus/sdk/CronExpression.h"

namespace crontopus::sdk {
namespace {

struct Rejected {
  std::string text;
  std::string field;
  std::string offending;  // must appear in the message
};

TEST(CronParse, RejectsWithFieldNamed) {
  const std::vector<Rejected> corpus = {
      {"", "expression", "empty"},
      {"   \t ", "expression", "empty"},
      {"* * * *", "expression", "got 4"},
      {"0 0 * * * *", "expression", "got 6"},
      {"0 0 0 * * * 2026", "expression", "got 7"},
      {"@every 5m", "expression", "@every"},
      {"@DAILY", "expression", "@DAILY"},
      {"@daily extra", "expression", "@daily"},
      {"@reboot 0", "expression", "@reboot"},
      {"0 0 * * *\n", "expression", "control character"},
      {"0 0\n* * *", "expression", "control character"},
      {"0 0 * * *\r", "expression", "control character"},
      {std::string("0 0 * * \0", 9), "expression", "control character"},
      {"0 0 * * \x7f", "expression", "control character"},
      {"0 0 * * \x1b", "expression", "control character"},
      {"60 * * * *", "minute", "'60'"},
      {"-1 * * * *", "minute", "'-'"},
      {"0 24 * * *", "hour", "'24'"},
      {"0 0 0 * *", "day-of-month", "'0'"},
      {"0 0 32 * *", "day-of-month", "'32'"},
      {"0 0 * 0 *", "month", "'0'"},
      {"0 0 * 13 *", "month", "'13'"},
      {"0 0 * * 8", "day-of-week", "'8'"},
      {"0 0 * * 99999999999999999999", "day-of-week", "'99999999999999999999'"},
      {"10-5 * * * *", "minute", "'10-5'"},
      {"0 0 * DEC-JAN *", "month", "'DEC-JAN'"},
      {"0 0 * * FRI-MON", "day-of-week", "'FRI-MON'"},
      {"*/0 * * * *", "minute", "step 0"},
      {"0 1-5/0 * * *", "hour", "step 0"},
      {"0 0 1/00 * *", "day-of-month", "step 0"},
      {"*/ * * * *", "minute", "'*/'"},
      {"*/x * * * *", "minute", "'*/x'"},
      {"*/-1 * * * *", "minute", "'*/-1'"},
      {"1,,2 * * * *", "minute", "'1,,2'"},
      {",1 * * * *", "minute", "',1'"},
      {"1, * * * *", "minute", "'1,'"},
      {"0 , * * *", "hour", "','"},
      {"0 0 L * *", "day-of-month", "'L'"},
      {"0 0 15W * *", "day-of-month", "'15W'"},
      {"0 0 LW * *", "day-of-month", "'LW'"},
      {"0 0 ? * *", "day-of-month", "'?'"},
      {"0 0 * * ?", "day-of-week", "'?'"},
      {"0 0 * * 5L", "day-of-week", "'5L'"},
      {"0 0 * * 5#3", "day-of-week", "'5#3'"},
      {"0 0 * * MON#1", "day-of-week", "'MON#1'"},
      {"0 0 * JANUARY *", "month", "'JANUARY'"},
      {"0 0 * * MONDAY", "day-of-week", "'MONDAY'"},
      {"0 0 * * JAN", "day-of-week", "'JAN'"},
      {"0 0 * MON *", "month", "'MON'"},
      {"0 0 JAN * *", "day-of-month", "'JAN'"},
      {"0 MON * * *", "hour", "'MON'"},
      {"5x * * * *", "minute", "'5x'"},
      {"** * * * *", "minute", "'**'"},
      {"*-5 * * * *", "minute", "'*-5'"},
      {"1-2-3 * * * *", "minute", "'1-2-3'"},
      {"1-5/2/3 * * * *", "minute", "'1-5/2/3'"},
      {"1- * * * *", "minute", "'1-'"},
      {"+5 * * * *", "minute", "'+'"},
      {"5.0 * * * *", "minute", "'5.0'"},
      {"0 0 * * 1-7/8x", "day-of-week", "'1-7/8x'"},
      {"0\xc2\xa0 0 * * *", "minute", "0\xc2\xa0"},
      {"*/1000 * * * *", "minute", "'1000'"},
  };
  for (const Rejected& r : corpus) {
    CronExpression expr;
    CronError error;
    EXPECT_FALSE(CronExpression::parse(r.text, expr, error)) << "accepted: " << r.text;
    EXPECT_EQ(error.field, r.field) << r.text << ": " << error.message;
    EXPECT_NE(error.message.find(r.offending), std::string::npos)
        << r.text << ": message does not name " << r.offending << ": " << error.message;
  }
}

TEST(CronParse, CanonicalForms) {
  const std::vector<std::pair<std::string, std::string>> corpus = {
      {"* * * * *", "* * * * *"},
      {"  0\t2  *  * *  ", "0 2 * * *"},
      {"00 002 01 01 00", "0 2 1 1 0"},
      {"*/15 */2 */3 */4 */5", "*/15 */2 */3 */4 */5"},
      {"*/015 * * * *", "*/15 * * * *"},
      {"5/10 * * * *", "5-59/10 * * * *"},
      {"0 3/6 * * *", "0 3-23/6 * * *"},
      {"0 0 2/7 * *", "0 0 2-31/7 * *"},
      {"0 0 * 2/3 *", "0 0 * 2-12/3 *"},
      {"0 0 * * 1/2", "0 0 * * 1-7/2"},
      {"0 0 * jan-Mar mon-FRI", "0 0 * 1-3 1-5"},
      {"0 0 * DEC sun", "0 0 * 12 0"},
      {"0 0 * * SUN-7", "0 0 * * 0-7"},
      {"0 0 * * 7", "0 0 * * 7"},
      {"1,2,3-5,10-20/5,*/30 * * * *", "1,2,3-5,10-20/5,*/30 * * * *"},
      {"5,* * * * *", "5,* * * * *"},
      {"*,5 * * * *", "*,5 * * * *"},
      {"*/60 * * * *", "*/60 * * * *"},
      {"5-5/2 * * * *", "5-5/2 * * * *"},
      {"@yearly", "0 0 1 1 *"},
      {"@annually", "0 0 1 1 *"},
      {"@monthly", "0 0 1 * *"},
      {"@weekly", "0 0 * * 0"},
      {"@daily", "0 0 * * *"},
      {"@midnight", "0 0 * * *"},
      {"@hourly", "0 * * * *"},
      {" @reboot ", "@reboot"},
  };
  for (const auto& [text, canonical] : corpus) {
    CronExpression expr;
    CronError error;
    ASSERT_TRUE(CronExpression::parse(text, expr, error)) << text << ": " << error.message;
    EXPECT_EQ(expr.canonical(), canonical) << text;
    EXPECT_EQ(expr.original(), text);
    // The canonical form is a fixed point and means the same.
    CronExpression again;
    ASSERT_TRUE(CronExpression::parse(expr.canonical(), again, error)) << canonical;
    EXPECT_EQ(again.canonical(), canonical);
    EXPECT_EQ(again.minutes(), expr.minutes());
    EXPECT_EQ(again.hours(), expr.hours());
    EXPECT_EQ(again.daysOfMonth(), expr.daysOfMonth());
    EXPECT_EQ(again.months(), expr.months());
    EXPECT_EQ(again.daysOfWeek(), expr.daysOfWeek());
    EXPECT_EQ(again.dayOfMonthStar(), expr.dayOfMonthStar());
    EXPECT_EQ(again.dayOfWeekStar(), expr.dayOfWeekStar());
    EXPECT_EQ(again.isFixedTime(), expr.isFixedTime());
    EXPECT_EQ(again.isReboot(), expr.isReboot());
  }
}

TEST(CronParse, BitsAndFlags) {
  CronExpression e;
  CronError error;
  ASSERT_TRUE(CronExpression::parse("10-20/5,59 */6 1,15 FEB-apr/2 5-7", e, error))
      << error.message;
  EXPECT_EQ(e.minutes(),
            std::bitset<60>((1ULL << 10) | (1ULL << 15) | (1ULL << 20) | (1ULL << 59)));
  EXPECT_EQ(e.hours(), std::bitset<24>((1 << 0) | (1 << 6) | (1 << 12) | (1 << 18)));
  EXPECT_EQ(e.daysOfMonth(), std::bitset<32>((1 << 1) | (1 << 15)));
  EXPECT_EQ(e.months(), std::bitset<13>((1 << 2) | (1 << 4)));
  EXPECT_EQ(e.daysOfWeek(), std::bitset<7>((1 << 0) | (1 << 5) | (1 << 6)));
  EXPECT_FALSE(e.minuteStar());
  EXPECT_TRUE(e.hourStar());
  EXPECT_FALSE(e.dayOfMonthStar());
  EXPECT_FALSE(e.dayOfWeekStar());
  EXPECT_FALSE(e.isFixedTime());
  EXPECT_FALSE(e.isReboot());

  ASSERT_TRUE(CronExpression::parse("30 2 * * *", e, error));
  EXPECT_TRUE(e.isFixedTime());
  EXPECT_TRUE(e.dayOfMonthStar());
  EXPECT_TRUE(e.dayOfWeekStar());
  EXPECT_EQ(e.daysOfMonth().count(), 31u);
  EXPECT_FALSE(e.daysOfMonth()[0]);
  EXPECT_EQ(e.months().count(), 12u);
  EXPECT_FALSE(e.months()[0]);
  EXPECT_EQ(e.daysOfWeek().count(), 7u);

  // Day-of-week `*/2` covers 0-7 by 2 as in Vixie cron: Sunday, Tuesday, Thursday, Saturday.
  ASSERT_TRUE(CronExpression::parse("0 0 * * */2", e, error));
  EXPECT_EQ(e.daysOfWeek(), std::bitset<7>(0b1010101));
  ASSERT_TRUE(CronExpression::parse("0 0 * * 1/2", e, error));
  EXPECT_EQ(e.daysOfWeek(), std::bitset<7>(0b0101011));  // 1,3,5,7 (= Sunday)

  ASSERT_TRUE(CronExpression::parse("@hourly", e, error));
  EXPECT_FALSE(e.isFixedTime());
  EXPECT_TRUE(e.hourStar());
  ASSERT_TRUE(CronExpression::parse("@daily", e, error));
  EXPECT_TRUE(e.isFixedTime());
  ASSERT_TRUE(CronExpression::parse("@weekly", e, error));
  EXPECT_TRUE(e.dayOfMonthStar());
  EXPECT_FALSE(e.dayOfWeekStar());
  ASSERT_TRUE(CronExpression::parse("@reboot", e, error));
  EXPECT_TRUE(e.isReboot());
  EXPECT_FALSE(e.isFixedTime());
  EXPECT_TRUE(e.minutes().none());
  EXPECT_FALSE(e.matchesLocal(LocalTime{}));
}

TEST(CronParse, DayRuleFollowsVixieCron) {
  CronExpression e;
  CronError error;
  // Neither field begins with `*`: either matches.
  ASSERT_TRUE(CronExpression::parse("0 0 13 * 5", e, error));
  EXPECT_TRUE(e.matchesDay(2026, 11, 13, 5));   // Friday the 13th
  EXPECT_TRUE(e.matchesDay(2026, 11, 20, 5));   // a Friday
  EXPECT_TRUE(e.matchesDay(2026, 12, 13, 0));   // a 13th, Sunday
  EXPECT_FALSE(e.matchesDay(2026, 11, 14, 6));  // neither
  // Day-of-month begins with `*`: both must match.
  ASSERT_TRUE(CronExpression::parse("0 0 */2 * 5", e, error));
  EXPECT_TRUE(e.matchesDay(2026, 11, 13, 5));
  EXPECT_FALSE(e.matchesDay(2026, 11, 20, 5));
  EXPECT_FALSE(e.matchesDay(2026, 11, 15, 0));
  // Day-of-week begins with `*`.
  ASSERT_TRUE(CronExpression::parse("0 0 1 * */1", e, error));
  EXPECT_TRUE(e.matchesDay(2026, 11, 1, 0));
  EXPECT_FALSE(e.matchesDay(2026, 11, 2, 1));
  // A list with `*` later does not count as beginning with `*`.
  ASSERT_TRUE(CronExpression::parse("0 0 1,* * 5", e, error));
  EXPECT_TRUE(e.matchesDay(2026, 11, 2, 1));
  // A day field listing every value is still not `*` (croniter gets this wrong; cron ORs).
  ASSERT_TRUE(CronExpression::parse("0 0 1 * 0-6", e, error));
  EXPECT_TRUE(e.matchesDay(2026, 11, 2, 1));
  ASSERT_TRUE(CronExpression::parse("0 0 1-31 * 5", e, error));
  EXPECT_TRUE(e.matchesDay(2026, 11, 2, 1));
  ASSERT_TRUE(CronExpression::parse("0 0 */1 * 5", e, error));
  EXPECT_FALSE(e.matchesDay(2026, 11, 2, 1));
  // Month gates both.
  ASSERT_TRUE(CronExpression::parse("0 0 13 2 5", e, error));
  EXPECT_FALSE(e.matchesDay(2026, 11, 13, 5));

  ASSERT_TRUE(CronExpression::parse("30 2 * * 1-5", e, error));
  LocalTime t{2026, 11, 26, 2, 30, 4};
  EXPECT_TRUE(e.matchesLocal(t));
  t.minute = 31;
  EXPECT_FALSE(e.matchesLocal(t));
  t = LocalTime{2026, 11, 29, 2, 30, 0};
  EXPECT_FALSE(e.matchesLocal(t));
}

}  // namespace
}  // namespace crontopus::sdk
