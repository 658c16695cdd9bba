#include "CalendarCompiler.h"

#include <date/date.h>
#include <date/tz.h>

#include <algorithm>
#include <cstdio>
#include <exception>
#include <map>
#include <tuple>

namespace crontopus::plugins::systemd_timer {
namespace {

using std::chrono::seconds;
using SysSeconds = std::chrono::sys_seconds;

// Transitions change local time by at most a few hours; both models agree farther away.
constexpr auto kTransitionReach = std::chrono::hours(6);

std::string twoDigits(unsigned v) {
  char buffer[8];
  std::snprintf(buffer, sizeof buffer, "%02u", v);
  return buffer;
}

// A systemd list of the set bits in [lo, hi]: "*" when all are set, runs of three or more as
// "a..b". Values are zero-padded as systemd's normalized form prints them.
template <std::size_t N>
std::string listText(const std::bitset<N>& bits, unsigned lo, unsigned hi) {
  bool all = true;
  for (unsigned v = lo; v <= hi; ++v) {
    all = all && bits[v];
  }
  if (all) {
    return "*";
  }
  std::string text;
  unsigned v = lo;
  while (v <= hi) {
    if (!bits[v]) {
      ++v;
      continue;
    }
    unsigned run_end = v;
    while (run_end + 1 <= hi && bits[run_end + 1]) {
      ++run_end;
    }
    text += (text.empty() ? "" : ",") + twoDigits(v);
    if (run_end >= v + 2) {
      text += ".." + twoDigits(run_end);
    } else if (run_end == v + 1) {
      text += "," + twoDigits(run_end);
    }
    v = run_end + 1;
  }
  return text;
}

// systemd orders weekdays Monday first; ranges are written in that order so they never wrap.
std::string weekdayText(const std::bitset<7>& cron_days) {
  static constexpr const char* kNames[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
  std::bitset<7> days;  // Monday = 0
  for (unsigned d = 0; d < 7; ++d) {
    days[d] = cron_days[(d + 1) % 7];
  }
  if (days.all()) {
    return {};
  }
  std::string text;
  unsigned v = 0;
  while (v < 7) {
    if (!days[v]) {
      ++v;
      continue;
    }
    unsigned run_end = v;
    while (run_end + 1 < 7 && days[run_end + 1]) {
      ++run_end;
    }
    text += text.empty() ? "" : ",";
    text += kNames[v];
    if (run_end >= v + 2) {
      text += std::string("..") + kNames[run_end];
    } else if (run_end == v + 1) {
      text += std::string(",") + kNames[run_end];
    }
    v = run_end + 1;
  }
  return text + " ";
}

std::vector<std::string> regularLines(const sdk::CronExpression& e, std::string_view zone) {
  const std::string time = listText(e.hours(), 0, 23) + ":" + listText(e.minutes(), 0, 59) + ":00";
  const std::string months = listText(e.months(), 1, 12);
  const std::string days = listText(e.daysOfMonth(), 1, 31);
  const std::string suffix = zone.empty() ? std::string() : " " + std::string(zone);
  std::vector<std::string> lines;
  if (e.dayOfMonthStar() || e.dayOfWeekStar()) {
    // cron ANDs the two day fields here, as systemd does within one line.
    lines.push_back(weekdayText(e.daysOfWeek()) + "*-" + months + "-" + days + " " + time + suffix);
  } else {
    // cron ORs them: one line per field, systemd fires at the union.
    lines.push_back("*-" + months + "-" + days + " " + time + suffix);
    std::string by_weekday = weekdayText(e.daysOfWeek()) + "*-" + months + "-* " + time + suffix;
    if (by_weekday != lines.front()) {
      lines.push_back(by_weekday);
    }
  }
  return lines;
}

sdk::LocalTime localTimeOf(date::local_seconds local) {
  const auto day = date::floor<date::days>(local);
  const date::year_month_day ymd{day};
  const date::hh_mm_ss<seconds> tod{local - day};
  sdk::LocalTime t;
  t.year = static_cast<int>(ymd.year());
  t.month = static_cast<unsigned>(ymd.month());
  t.day = static_cast<unsigned>(ymd.day());
  t.hour = static_cast<unsigned>(tod.hours().count());
  t.minute = static_cast<unsigned>(tod.minutes().count());
  t.weekday = date::weekday{day}.c_encoding();
  return t;
}

// systemd's reading of the regular lines at UTC minute `u`: the wall-clock time there matches,
// and `u` is its first occurrence (a repeated local time fires once, at the earlier instant).
bool systemdFires(const sdk::CronExpression& e, const date::time_zone& tz, SysSeconds u) {
  const date::sys_info info = tz.get_info(u);
  const date::local_seconds local{u.time_since_epoch() + info.offset};
  if (!e.matchesLocal(localTimeOf(local))) {
    return false;
  }
  const date::local_info li = tz.get_info(local);
  if (li.result == date::local_info::ambiguous) {
    return local - li.first.offset == date::local_seconds{u.time_since_epoch()};
  }
  return true;
}

// Whether a local date within reach of the transition between `before` and `after` is selected
// by the schedule; if none is, both models agree there and the minute-by-minute scan is skipped.
bool touchesSelectedDay(const sdk::CronExpression& e, const date::sys_info& before,
                        const date::sys_info& after) {
  const SysSeconds t = after.begin;
  for (auto offset : {before.offset, after.offset}) {
    const auto first = date::floor<date::days>(
        date::local_seconds{(t - kTransitionReach).time_since_epoch() + offset});
    const auto last = date::floor<date::days>(
        date::local_seconds{(t + kTransitionReach).time_since_epoch() + offset});
    for (auto day = first; day <= last; day += date::days(1)) {
      const date::year_month_day ymd{day};
      if (e.months()[static_cast<unsigned>(ymd.month())] &&
          e.matchesDay(static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                       static_cast<unsigned>(ymd.day()), date::weekday{day}.c_encoding())) {
        return true;
      }
    }
  }
  return false;
}

std::string utcLine(int year, unsigned month, unsigned day, unsigned hour,
                    const std::vector<unsigned>& minutes, unsigned second) {
  std::string text = std::to_string(year) + "-" + twoDigits(month) + "-" + twoDigits(day) + " " +
                     twoDigits(hour) + ":";
  for (std::size_t i = 0; i < minutes.size(); ++i) {
    text += (i ? "," : "") + twoDigits(minutes[i]);
  }
  return text + ":" + twoDigits(second) + " UTC";
}

std::string instantText(SysSeconds t) {
  return date::format("%Y-%m-%d %H:%M UTC", t);
}

}  // namespace

bool compileCalendar(const sdk::CronExpression& expression, std::string_view zone,
                     std::chrono::sys_seconds now, CalendarPlan& out, std::string& error) {
  out = CalendarPlan{};
  if (expression.isReboot()) {
    out.on_boot = true;
    out.report = "@reboot: OnBootSec=0 (runs once when the host boots)";
    return true;
  }
  const date::time_zone* tz = nullptr;
  try {
    tz = zone.empty() ? date::current_zone() : date::locate_zone(std::string(zone));
  } catch (const std::exception& e) {
    error = zone.empty() ? std::string("cannot determine the host's time zone: ") + e.what()
                         : "unknown time zone '" + std::string(zone) + "': " + e.what();
    return false;
  }
  out.on_calendar = regularLines(expression, zone);

  const SysSeconds end = now + kCompensationWindow;
  std::vector<SysSeconds> missing;
  try {
    date::sys_info info = tz->get_info(now - kTransitionReach);
    while (info.end < end + kTransitionReach) {
      const SysSeconds transition = info.end;
      const date::sys_info next = tz->get_info(transition);
      if (next.offset != info.offset && touchesSelectedDay(expression, info, next)) {
        SysSeconds from = std::max(now, transition - kTransitionReach);
        from = std::chrono::ceil<std::chrono::minutes>(from);
        const SysSeconds to = std::min(end, transition + kTransitionReach);
        for (SysSeconds u = from; u < to; u += std::chrono::minutes(1)) {
          std::string fire_error;
          const bool cron = expression.firesAt(u, zone, fire_error);
          if (!fire_error.empty()) {
            error = fire_error;
            return false;
          }
          const bool systemd = systemdFires(expression, *tz, u);
          if (cron && !systemd) {
            std::vector<SysSeconds> exact;
            if (!expression.nextFireTimes(u - seconds(1), zone, 1, exact, error)) {
              return false;
            }
            missing.push_back(exact.empty() ? u : exact.front());
          } else if (systemd && !cron) {
            out.extra.push_back(u);
          }
        }
      }
      info = next;
    }
  } catch (const std::exception& e) {
    error = std::string("time zone data for '") + tz->name() + "': " + e.what();
    return false;
  }

  // Windows of transitions closer than twice the reach overlap; an instant is listed once.
  std::sort(missing.begin(), missing.end());
  missing.erase(std::unique(missing.begin(), missing.end()), missing.end());
  // One line per UTC hour keeps the unit short when a wildcard job repeats a whole hour.
  std::map<std::tuple<int, unsigned, unsigned, unsigned, unsigned>, std::vector<unsigned>> groups;
  for (SysSeconds t : missing) {
    const auto day = std::chrono::floor<std::chrono::days>(t);
    const date::year_month_day ymd{date::sys_days{day.time_since_epoch()}};
    const date::hh_mm_ss<seconds> tod{t - day};
    groups[{static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
            static_cast<unsigned>(ymd.day()), static_cast<unsigned>(tod.hours().count()),
            static_cast<unsigned>(tod.seconds().count())}]
        .push_back(static_cast<unsigned>(tod.minutes().count()));
  }
  for (const auto& [key, minutes] : groups) {
    const auto& [year, month, day, hour, second] = key;
    out.on_calendar.push_back(utcLine(year, month, day, hour, minutes, second));
  }

  if (!missing.empty()) {
    out.report = "daylight-saving transitions in " +
                 (zone.empty() ? tz->name() : std::string(zone)) + ": " +
                 std::to_string(missing.size()) +
                 " fire time(s) systemd's wall-clock evaluation would miss are added as dated "
                 "OnCalendar= lines (first " +
                 instantText(missing.front()) + ")";
  }
  if (!out.extra.empty()) {
    out.report += std::string(out.report.empty() ? "" : "; ") +
                  "warning: systemd would also fire at " + std::to_string(out.extra.size()) +
                  " instant(s) the schedule does not (first " + instantText(out.extra.front()) +
                  ")";
  }
  return true;
}

}  // namespace crontopus::plugins::systemd_timer
