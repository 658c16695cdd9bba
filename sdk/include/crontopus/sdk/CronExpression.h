#pragma once

#include <bitset>
#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "crontopus/sdk/Export.h"

namespace crontopus::sdk {

// Why an expression was rejected. `field` is one of "minute", "hour", "day-of-month", "month",
// "day-of-week", or "expression" for whole-expression problems (field count, unknown macro,
// control characters).
struct CronError {
  std::string field;
  std::string message;  // names the offending text and what is allowed
};

// A broken-down local wall-clock time (the zone is the caller's business).
struct LocalTime {
  int year = 1970;
  unsigned month = 1;    // 1..12
  unsigned day = 1;      // 1..31
  unsigned hour = 0;     // 0..23
  unsigned minute = 0;   // 0..59
  unsigned weekday = 4;  // 0..6, Sunday = 0
};

// The 5-field cron dialect of job-manifest-v1 (Debian/Vixie cron semantics), plus macros.
//
// Immutable after parse; safe to share between threads. No method throws.
class CRONTOPUS_SDK_API CronExpression {
 public:
  // Parses `text`. On success fills `out` and returns true; else fills `error`, returns false.
  static bool parse(std::string_view text, CronExpression& out, CronError& error);

  // Normalised form that Debian's crontab accepts and that means the same: names become
  // numbers, `a/n` becomes `a-<max>/n`, macros other than @reboot become their five fields, and
  // a field that begins with `*` still begins with `*` (it changes the day-of-month/day-of-week
  // rule). Equal schedules written differently may still differ here; equal text means equal
  // schedule.
  const std::string& canonical() const noexcept { return canonical_; }
  const std::string& original() const noexcept { return original_; }

  bool isReboot() const noexcept { return reboot_; }
  // Neither the minute nor the hour field begins with `*` (and not @hourly): the daylight-saving
  // rule for fixed-time jobs applies.
  bool isFixedTime() const noexcept { return !reboot_ && !minute_star_ && !hour_star_; }

  const std::bitset<60>& minutes() const noexcept { return minutes_; }
  const std::bitset<24>& hours() const noexcept { return hours_; }
  const std::bitset<32>& daysOfMonth() const noexcept { return days_; }    // bits 1..31
  const std::bitset<13>& months() const noexcept { return months_; }       // bits 1..12
  const std::bitset<7>& daysOfWeek() const noexcept { return weekdays_; }  // 0..6, Sunday = 0
  bool minuteStar() const noexcept { return minute_star_; }
  bool hourStar() const noexcept { return hour_star_; }
  bool dayOfMonthStar() const noexcept { return dom_star_; }  // field begins with `*`
  bool dayOfWeekStar() const noexcept { return dow_star_; }

  // Whether the schedule selects this local date (cron's day-of-month/day-of-week rule).
  bool matchesDay(int year, unsigned month, unsigned day, unsigned weekday) const noexcept;
  // Whether the schedule selects this local minute (no daylight-saving adjustment).
  bool matchesLocal(const LocalTime& t) const noexcept;

  // Up to `count` fire instants strictly after `after`, evaluated in IANA zone `zone` (empty = the
  // host's local zone), following the spec's daylight-saving rule (Debian cron's). Returns fewer
  // (possibly none) when the schedule never fires again within the search horizon (about 30 years),
  // e.g. `0 0 30 2 *`; that answer comes quickly. Returns false with `error` for an unknown zone.
  // @reboot never fires here.
  bool nextFireTimes(std::chrono::sys_seconds after, std::string_view zone, std::size_t count,
                     std::vector<std::chrono::sys_seconds>& out, std::string& error) const;

  // Whether `minute` (any second within it) is a fire instant in `zone`, by the same rule.
  bool firesAt(std::chrono::sys_seconds minute, std::string_view zone, std::string& error) const;

  // A five-field expression, read in zone `host_zone`, that fires at every instant this one fires
  // at in `job_zone` (and possibly more) during the ~13 months after `from`. The cron backend
  // installs it for jobs whose zone differs from the host's and lets `run` drop the extra
  // minutes with firesAt(). Equals canonical() when both zones are the same zone.
  bool hostSuperset(std::string_view job_zone, std::string_view host_zone,
                    std::chrono::sys_seconds from, std::string& out, std::string& error) const;

 private:
  std::string original_;
  std::string canonical_;
  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<32> days_;
  std::bitset<13> months_;
  std::bitset<7> weekdays_;
  bool minute_star_ = false;
  bool hour_star_ = false;
  bool dom_star_ = false;
  bool dow_star_ = false;
  bool reboot_ = false;
};

}  // namespace crontopus::sdk
