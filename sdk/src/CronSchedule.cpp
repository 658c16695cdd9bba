// Fire-time computation for CronExpression in IANA zones, with Debian cron's daylight-saving rule.
//
// The search walks the zone's UTC-offset intervals (date::sys_info) in UTC order. Inside one
// interval local time is UTC plus a constant, so the next matching local minute is found by
// skipping whole months, days and hours that cannot match, and instants come out already sorted.
// At an interval boundary the offset changes, and that is where cron(8)'s rule applies
// ("clock changed by less than 3 hours"):
//  - forward jump: wildcard jobs (minute or hour field begins with `*`) simply never see the
//    skipped local minutes; fixed-time jobs run once at the first minute after the jump if any
//    skipped minute matches (cron runs each skipped virtual minute's fixed-time jobs then);
//  - backward jump: wildcard jobs see the repeated minutes again; fixed-time jobs do not run until
//    local time has passed the latest minute already seen.
// Jumps of 3 hours or more are not daylight saving to cron: it resets its clock and every job
// follows the wall clock. Two details of cron(8) are deliberately not modelled: it runs a
// fixed-time job once per matching skipped minute, all within the landing minute (we report that
// minute once, as the spec says "runs once"); and forward jumps under 5 minutes (19th-century
// local-mean-time changes only) also catch up wildcard jobs.
//
// Known limit: date 3.0.1 reads only the explicit transitions of the system's TZif files, which
// end in 2037; later instants keep the last offset (standard time in DST zones).
// nextFireTimes replaces the contents of `out`.
#include <date/tz.h>

#include <algorithm>
#include <cstdint>
#include <exception>
#include <optional>

#include "crontopus/sdk/CronExpression.h"

namespace crontopus::sdk {
namespace {

using std::chrono::seconds;
using SysSeconds = std::chrono::sys_seconds;

constexpr std::int64_t kMinutesPerDay = 1440;
constexpr std::int64_t kDstLimit = 3 * 3600;                  // seconds; cron's "less than 3 hours"
constexpr auto kHorizon = std::chrono::hours(24 * 366 * 31);  // "about 30 years"
constexpr auto kSupersetWindow = std::chrono::hours(24 * 403);  // at least 13 calendar months

std::int64_t floorDiv(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) {
    --q;
  }
  return q;
}

std::int64_t ceilDiv(std::int64_t a, std::int64_t b) {
  return -floorDiv(-a, b);
}

std::int64_t secondsOf(SysSeconds t) {
  return t.time_since_epoch().count();
}

struct Civil {
  int year;
  unsigned month;
  unsigned day;
  unsigned weekday;  // Sunday = 0
};

Civil civilFromDay(std::int64_t day) {
  date::sys_days sd{date::days{static_cast<int>(day)}};
  date::year_month_day ymd{sd};
  return {static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
          static_cast<unsigned>(ymd.day()),
          static_cast<unsigned>(((day % 7) + 7 + 4) % 7)};  // 1970-01-01 was a Thursday
}

std::int64_t dayFromCivil(int year, unsigned month, unsigned day) {
  date::sys_days sd{date::year{year} / date::month{month} / date::day{day}};
  return sd.time_since_epoch().count();
}

// The first local minute (minutes since the local epoch) in [from, end) that the schedule
// selects, ignoring daylight saving; nullopt if none.
std::optional<std::int64_t> nextLocalMinute(const CronExpression& e, std::int64_t from,
                                            std::int64_t end) {
  std::int64_t l = from;
  while (l < end) {
    std::int64_t day = floorDiv(l, kMinutesPerDay);
    auto of_day = static_cast<unsigned>(l - day * kMinutesPerDay);
    Civil c = civilFromDay(day);
    if (!e.months()[c.month]) {
      l = (c.month == 12 ? dayFromCivil(c.year + 1, 1, 1) : dayFromCivil(c.year, c.month + 1, 1)) *
          kMinutesPerDay;
      continue;
    }
    if (!e.matchesDay(c.year, c.month, c.day, c.weekday)) {
      l = (day + 1) * kMinutesPerDay;
      continue;
    }
    unsigned hour = of_day / 60;
    unsigned minute = of_day % 60;
    while (hour < 24 && !e.hours()[hour]) {
      ++hour;
      minute = 0;
    }
    if (hour == 24) {
      l = (day + 1) * kMinutesPerDay;
      continue;
    }
    while (minute < 60 && !e.minutes()[minute]) {
      ++minute;
    }
    if (minute == 60) {
      l = day * kMinutesPerDay + (hour + 1) * 60;
      continue;
    }
    std::int64_t found = day * kMinutesPerDay + hour * 60 + minute;
    if (found < end) {
      return found;
    }
    break;
  }
  return std::nullopt;
}

// Calls emit(t) for each fire instant t with after < t <= until, in increasing order, until emit
// returns false. The zone's first interval (beginning at the start of time) has no predecessor.
template <class Emit>
void walk(const CronExpression& e, const date::time_zone& tz, SysSeconds after, SysSeconds until,
          Emit&& emit) {
  if (e.isReboot()) {
    return;
  }
  const bool fixed = e.isFixedTime();
  std::optional<std::int64_t> last;
  SysSeconds cursor = after + seconds(1);
  while (cursor <= until) {
    date::sys_info info = tz.get_info(cursor);
    const std::int64_t off = info.offset.count();
    const std::int64_t begin = secondsOf(info.begin);
    // First local minute whose instant is after `after` and inside this interval.
    std::int64_t start =
        std::max(floorDiv(secondsOf(after) + off, 60) + 1, ceilDiv(begin + off, 60));
    if (info.begin > SysSeconds(date::sys_days(date::year::min() / 1 / 1))) {
      date::sys_info prev = tz.get_info(info.begin - seconds(1));
      const std::int64_t prev_off = prev.offset.count();
      const std::int64_t shift = off - prev_off;
      if (fixed && shift > 0 && shift < kDstLimit && info.begin > after) {
        // Skipped local minutes [begin + prev_off, begin + off): run once at the jump.
        if (nextLocalMinute(e, ceilDiv(begin + prev_off, 60), ceilDiv(begin + off, 60))) {
          if (!emit(info.begin)) {
            return;
          }
          last = begin;
        }
      } else if (fixed && shift < 0 && -shift < kDstLimit) {
        // Repeated local minutes: only their first occurrence, in the previous interval, runs.
        start = std::max(start, ceilDiv(begin + prev_off, 60));
      }
    }
    const std::int64_t stop = std::min(secondsOf(info.end), secondsOf(until) + 1);
    const std::int64_t end = ceilDiv(stop + off, 60);  // local minutes l with l*60 - off < stop
    for (auto l = nextLocalMinute(e, start, end); l; l = nextLocalMinute(e, *l + 1, end)) {
      std::int64_t t = *l * 60 - off;
      if (last && t <= *last) {
        continue;  // the landing minute of a jump already fired for the skipped minutes
      }
      if (!emit(SysSeconds(seconds(t)))) {
        return;
      }
      last = t;
    }
    cursor = info.end;
  }
}

// Instants the calendar arithmetic supports with room for the search horizon.
bool inRange(SysSeconds t, std::string& error) {
  static const SysSeconds kFirst{date::sys_days{date::year{1} / 1 / 1}};
  static const SysSeconds kLast{date::sys_days{date::year{9999} / 1 / 1}};
  if (t < kFirst || t > kLast) {
    error = "instant outside the supported years 1-9999";
    return false;
  }
  return true;
}

const date::time_zone* resolveZone(std::string_view zone, std::string& error) {
  try {
    if (zone.empty()) {
      return date::current_zone();
    }
    return date::locate_zone(std::string(zone));
  } catch (const std::exception& e) {
    error = zone.empty() ? std::string("cannot determine the host's time zone: ") + e.what()
                         : "unknown time zone '" + std::string(zone) + "': " + e.what();
    return nullptr;
  }
}

// Whether both zones show the same local time at every instant in [from - 1 day, until], so that
// a schedule means the same in either (including the daylight-saving rule).
bool sameClock(const date::time_zone& a, const date::time_zone& b, SysSeconds from,
               SysSeconds until) {
  SysSeconds t = from - std::chrono::hours(24);
  while (t <= until) {
    date::sys_info ia = a.get_info(t);
    date::sys_info ib = b.get_info(t);
    if (ia.offset != ib.offset) {
      return false;
    }
    SysSeconds next = std::min(ia.end, ib.end);
    if (next <= t) {
      return false;
    }
    t = next;
  }
  return true;
}

// A cron list for the set bits in [lo, hi], with runs of three or more written as ranges.
template <std::size_t N>
std::string listText(const std::bitset<N>& bits, unsigned lo, unsigned hi) {
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
    if (!text.empty()) {
      text += ',';
    }
    text += std::to_string(v);
    if (run_end >= v + 2) {
      text += '-' + std::to_string(run_end);
    } else if (run_end == v + 1) {
      text += ',' + std::to_string(run_end);
    }
    v = run_end + 1;
  }
  return text;
}

}  // namespace

bool CronExpression::nextFireTimes(std::chrono::sys_seconds after, std::string_view zone,
                                   std::size_t count, std::vector<std::chrono::sys_seconds>& out,
                                   std::string& error) const {
  out.clear();
  if (!inRange(after, error)) {
    return false;
  }
  const date::time_zone* tz = resolveZone(zone, error);
  if (tz == nullptr) {
    return false;
  }
  if (count == 0) {
    return true;
  }
  try {
    walk(*this, *tz, after, after + kHorizon, [&](SysSeconds t) {
      out.push_back(t);
      return out.size() < count;
    });
  } catch (const std::exception& e) {
    error = std::string("time zone data for '") + tz->name() + "': " + e.what();
    return false;
  }
  return true;
}

bool CronExpression::firesAt(std::chrono::sys_seconds minute, std::string_view zone,
                             std::string& error) const {
  if (!inRange(minute, error)) {
    return false;
  }
  const date::time_zone* tz = resolveZone(zone, error);
  if (tz == nullptr) {
    return false;
  }
  auto start =
      std::chrono::time_point_cast<seconds>(std::chrono::floor<std::chrono::minutes>(minute));
  bool found = false;
  try {
    walk(*this, *tz, start - seconds(1), start + seconds(59), [&](SysSeconds) {
      found = true;
      return false;
    });
  } catch (const std::exception& e) {
    error = std::string("time zone data for '") + tz->name() + "': " + e.what();
    return false;
  }
  return found;
}

bool CronExpression::hostSuperset(std::string_view job_zone, std::string_view host_zone,
                                  std::chrono::sys_seconds from, std::string& out,
                                  std::string& error) const {
  if (!inRange(from, error)) {
    return false;
  }
  const date::time_zone* job_tz = resolveZone(job_zone, error);
  if (job_tz == nullptr) {
    return false;
  }
  const date::time_zone* host_tz = resolveZone(host_zone, error);
  if (host_tz == nullptr) {
    return false;
  }
  if (reboot_ || job_tz == host_tz || job_tz->name() == host_tz->name()) {
    out = canonical_;
    return true;
  }
  try {
    // The window is the 13 months after `from`, or after the next fire instant when that comes
    // later (a leap-day job), so the result is never an expression that fires nowhere.
    std::optional<SysSeconds> first;
    walk(*this, *job_tz, from, from + kHorizon, [&](SysSeconds t) {
      first = t;
      return false;
    });
    if (!first) {
      out = canonical_;  // never fires: the same text never fires in the host's zone either
      return true;
    }
    const SysSeconds until = *first + kSupersetWindow;
    if (sameClock(*job_tz, *host_tz, from, until)) {
      out = canonical_;
      return true;
    }

    std::bitset<60> minutes;
    std::bitset<24> hours;
    std::bitset<32> days;
    std::bitset<13> months;
    std::bitset<7> weekdays;
    bool hour_star = false;
    std::optional<date::sys_info> host_info;
    std::int64_t host_prev_off = 0;
    walk(*this, *job_tz, from, until, [&](SysSeconds t) {
      if (!host_info || t < host_info->begin || t >= host_info->end) {
        host_info = host_tz->get_info(t);
        host_prev_off = host_tz->get_info(host_info->begin - seconds(1)).offset.count();
      }
      const std::int64_t off = host_info->offset.count();
      const std::int64_t local = secondsOf(t) + off;
      const std::int64_t l = floorDiv(local, 60);
      const std::int64_t day = floorDiv(l, kMinutesPerDay);
      const auto of_day = static_cast<unsigned>(l - day * kMinutesPerDay);
      Civil c = civilFromDay(day);
      minutes.set(of_day % 60);
      hours.set(of_day / 60);
      days.set(c.day);
      months.set(c.month);
      weekdays.set(c.weekday);
      // The second occurrence of a repeated host minute runs under cron only for an entry whose
      // minute or hour field begins with `*`.
      const std::int64_t shift = off - host_prev_off;
      if (shift < 0 && -shift < kDstLimit && local < secondsOf(host_info->begin) + host_prev_off) {
        hour_star = true;
      }
      return true;
    });

    std::string result = minutes.all() ? "*" : listText(minutes, 0, 59);
    result += ' ';
    result += (hour_star || hours.all()) ? "*" : listText(hours, 0, 23);
    // Either day set alone already covers every instant; the other field is written `*` so that
    // cron ANDs them, and we keep the one that selects fewer days.
    const bool all_days = days.count() == 31;
    const bool all_weekdays = weekdays.all();
    if (all_days && all_weekdays) {
      result += " * ";
      result += months.count() == 12 ? "*" : listText(months, 1, 12);
      result += " *";
    } else if (days.count() * 7 <= weekdays.count() * 31) {
      result += ' ' + listText(days, 1, 31) + ' ';
      result += months.count() == 12 ? "*" : listText(months, 1, 12);
      result += " *";
    } else {
      result += " * ";
      result += months.count() == 12 ? "*" : listText(months, 1, 12);
      result += ' ' + listText(weekdays, 0, 6);
    }
    out = std::move(result);
  } catch (const std::exception& e) {
    error = std::string("time zone data: ") + e.what();
    return false;
  }
  return true;
}

}  // namespace crontopus::sdk
