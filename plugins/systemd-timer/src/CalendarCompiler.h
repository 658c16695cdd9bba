#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "crontopus/sdk/CronExpression.h"

namespace crontopus::plugins::systemd_timer {

// How long ahead daylight-saving compensation is computed: at least 13 calendar months, so that
// every transition of the coming year is covered even right before the unit is next rewritten.
inline constexpr std::chrono::hours kCompensationWindow{24 * 397};

// The [Timer] triggers for one schedule.
struct CalendarPlan {
  // OnCalendar= values, in this order: the regular lines (one, or two when day-of-month and
  // day-of-week are both restricted), then the dated compensation lines in time order.
  std::vector<std::string> on_calendar;
  bool on_boot = false;  // @reboot: OnBootSec= instead of any OnCalendar=
  // Instants the regular lines fire at although the schedule does not (none are known for the
  // systemd evaluation model; non-empty means the unit would not be exact).
  std::vector<std::chrono::sys_seconds> extra;
  std::string report;  // what the compiler did beyond a plain translation; may be empty
};

// Compiles `expression` into OnCalendar= lines that fire at exactly the instants
// CronExpression::nextFireTimes() gives in `zone` (empty = the host's local zone, which systemd
// also uses when a line names no zone), for every instant in [now, now + kCompensationWindow).
//
// The regular lines carry the fields as lists (cron's day-of-month/day-of-week OR becomes two
// lines, since systemd ANDs them) and the zone suffix. systemd evaluates them on the wall clock:
// a local time that does not exist is skipped, a repeated one fires at its first occurrence. The
// spec's daylight-saving rule differs around transitions, so the compiler compares both models
// minute by minute near each transition in the window and adds the missing instants as dated
// lines in UTC ("2027-03-28 01:00:00 UTC"), which are unambiguous.
//
// Pure: depends only on its arguments and the tz database. Returns false with `error` for an
// unknown zone.
bool compileCalendar(const sdk::CronExpression& expression, std::string_view zone,
                     std::chrono::sys_seconds now, CalendarPlan& out, std::string& error);

}  // namespace crontopus::plugins::systemd_timer
