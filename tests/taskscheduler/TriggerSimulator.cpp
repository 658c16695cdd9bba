#include "TriggerSimulator.h"

#include <date/date.h>
#include <date/tz.h>

#include <algorithm>
#include <optional>

namespace crontopus::plugins::taskscheduler::test {
namespace {

using std::chrono::seconds;
using SysSeconds = std::chrono::sys_seconds;

bool selects(const Trigger& t, date::sys_days day, date::sys_days boundary_day) {
  date::year_month_day ymd{day};
  auto weekday = static_cast<std::size_t>(date::weekday{day}.c_encoding());
  auto dom = static_cast<unsigned>(ymd.day());
  auto month = static_cast<unsigned>(ymd.month());
  unsigned month_length =
      static_cast<unsigned>(date::year_month_day_last{ymd.year() / ymd.month() / date::last}.day());
  switch (t.kind) {
    case TriggerKind::kByDay:
      return (day - boundary_day).count() % t.interval == 0;
    case TriggerKind::kByWeek: {
      // Weeks counted from the week (Sunday-based) holding the boundary's date.
      auto week_of = [](date::sys_days d) {
        return (d - date::days{date::weekday{d}.c_encoding()}).time_since_epoch().count() / 7;
      };
      return t.days_of_week[weekday] && (week_of(day) - week_of(boundary_day)) % t.interval == 0;
    }
    case TriggerKind::kByMonth:
      return t.months[month] &&
             (t.days_of_month[dom] || (t.last_day_of_month && dom == month_length));
    case TriggerKind::kByMonthDayOfWeek: {
      if (!t.months[month] || !t.days_of_week[weekday]) {
        return false;
      }
      unsigned week = (dom - 1) / 7;  // 0..4
      return (week < 4 && t.weeks[week]) || (t.last_week && dom + 7 > month_length);
    }
    case TriggerKind::kTime:
    case TriggerKind::kBoot:
      return false;
  }
  return false;
}

}  // namespace

Simulation simulate(const std::vector<Trigger>& triggers, const std::string& host_zone,
                    SysSeconds from, SysSeconds to) {
  Simulation sim;
  const date::time_zone* tz = date::locate_zone(host_zone);
  auto note = [&](const std::string& what) {
    if (sim.undocumented++ == 0) {
      sim.first_undocumented = what;
    }
  };
  // Local wall-clock seconds -> instant; nullopt (and counted) where the zone skips or repeats it.
  auto toSys = [&](date::local_seconds local, bool utc) -> std::optional<SysSeconds> {
    if (utc) {
      return SysSeconds{local.time_since_epoch()};
    }
    date::local_info info = tz->get_info(local);
    if (info.result != date::local_info::unique) {
      note("local start " + date::format("%F %T", local) + " is skipped or repeated in " +
           host_zone);
      return std::nullopt;
    }
    return SysSeconds{local.time_since_epoch() - info.first.offset};
  };
  for (const Trigger& t : triggers) {
    if (!t.enabled || t.kind == TriggerKind::kBoot) {
      continue;
    }
    const date::sys_days boundary_day{date::year{t.start.year} / t.start.month / t.start.day};
    const seconds time_of_day{t.start.hour * 3600L + t.start.minute * 60L};
    const auto boundary_local = date::local_seconds{boundary_day.time_since_epoch() + time_of_day};
    auto boundary = toSys(boundary_local, t.start.utc);
    if (!boundary) {
      continue;
    }
    auto emit = [&](SysSeconds start) {
      if (start < *boundary) {
        return;
      }
      if (!t.has_repetition) {
        if (start >= from && start < to) {
          sim.starts.push_back(start);
        }
        return;
      }
      const seconds interval{t.repetition.interval_seconds};
      const SysSeconds end = t.repetition.duration_seconds > 0
                                 ? start + seconds{t.repetition.duration_seconds}
                                 : SysSeconds::max();
      if (!t.start.utc && t.repetition.duration_seconds > 0) {
        date::sys_info info = tz->get_info(start);
        if (info.end <= end) {
          note("repetition window from " + date::format("%F %T UTC", start) +
               " contains an offset change of " + host_zone);
          return;
        }
      }
      SysSeconds s = start;
      if (s < from) {
        s += ((from - s + interval - seconds(1)) / interval) * interval;
      }
      for (; s <= end && s < to; s += interval) {
        sim.starts.push_back(s);
      }
    };
    if (t.kind == TriggerKind::kTime) {
      emit(*boundary);
      continue;
    }
    // The trigger's own calendar: the host's local dates, or UTC dates for a Z boundary.
    auto localDay = [&](SysSeconds instant) {
      if (t.start.utc) {
        return date::floor<date::days>(instant);
      }
      return date::sys_days{date::floor<date::days>(tz->to_local(instant)).time_since_epoch()};
    };
    const long window = t.has_repetition ? t.repetition.duration_seconds : 0;
    for (date::sys_days day = localDay(from - seconds(window)) - date::days{1};
         day <= localDay(to) + date::days{1}; day += date::days{1}) {
      if (!selects(t, day, boundary_day)) {
        continue;
      }
      auto start = toSys(date::local_seconds{day.time_since_epoch() + time_of_day}, t.start.utc);
      if (start) {
        emit(*start);
      }
    }
  }
  std::sort(sim.starts.begin(), sim.starts.end());
  return sim;
}

}  // namespace crontopus::plugins::taskscheduler::test
