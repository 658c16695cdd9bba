// Cron expression -> Task Scheduler 2.0 triggers.
//
// A cron schedule is (set of local times of day) x (set of days). Task Scheduler triggers are the
// same product, one time progression per trigger: a calendar trigger starts at its StartBoundary
// time of day on the days its schedule selects, and a Repetition repeats it every Interval within
// a window. So the compiler folds the time-of-day set into few arithmetic progressions, maps the
// day fields onto one or two schedule types, and emits their product. Whatever Task Scheduler
// does not document (repetition across a daylight-saving change, repeated local times), the
// compiler keeps away from, or it uses the gated form.
#include "TriggerCompiler.h"

#include <date/tz.h>

#include <algorithm>
#include <bitset>
#include <cstdio>
#include <exception>
#include <optional>

namespace crontopus::plugins::taskscheduler {
namespace {

constexpr int kMinutesPerDay = 1440;
using MinuteSet = std::bitset<kMinutesPerDay>;

// start, start + step, ..., start + (count - 1) * step, in minutes of the day.
struct Progression {
  int start = 0;
  int step = 60;
  int count = 1;

  int last() const { return start + (count - 1) * step; }
};

// The repetition window ends strictly between the last wanted start and the next step, so it does
// not matter whether Task Scheduler includes the window's end instant (it does).
long windowSeconds(const Progression& p) {
  long base = static_cast<long>(p.count - 1) * p.step * 60;
  int room = std::min(p.step / 2, kMinutesPerDay - 1 - p.last());
  return base + (room >= 1 ? room * 60L : 30L);
}

// Every minute of the day the window of `p` covers (its starts and the gaps between them).
bool windowTouches(const Progression& p, const MinuteSet& blocked) {
  if (blocked.none()) {
    return false;
  }
  long end_minute = p.start + (windowSeconds(p) + 59) / 60;
  for (long m = p.start; m <= end_minute && m < kMinutesPerDay; ++m) {
    if (blocked[static_cast<std::size_t>(m)]) {
      return true;
    }
  }
  return false;
}

// Greedy partition of `values` (bit i = value i, 0 <= i < n) into arithmetic progressions: the
// smallest value left must start some progression; take the longest one from it.
template <std::size_t N>
std::vector<Progression> greedyProgressions(std::bitset<N> values, int n, int default_step,
                                            const MinuteSet* blocked) {
  std::vector<Progression> out;
  for (int s = 0; s < n; ++s) {
    if (!values[static_cast<std::size_t>(s)]) {
      continue;
    }
    Progression best{s, default_step, 1};
    for (int d = 1; s + d < n; ++d) {
      int c = 1;
      while (s + c * d < n && values[static_cast<std::size_t>(s + c * d)]) {
        ++c;
      }
      if (c <= best.count) {
        continue;
      }
      Progression candidate{s, d, c};
      while (blocked != nullptr && candidate.count > 1 && windowTouches(candidate, *blocked)) {
        --candidate.count;
      }
      if (candidate.count > best.count) {
        best = candidate;
      }
    }
    for (int j = 0; j < best.count; ++j) {
      values.reset(static_cast<std::size_t>(best.start + j * best.step));
    }
    out.push_back(best);
  }
  return out;
}

// Another partition: maximal runs of consecutive values first (`28-59` stays one progression
// instead of lending its members to longer strided ones), then the greedy one for the rest.
template <std::size_t N>
std::vector<Progression> runsFirstProgressions(std::bitset<N> values, int n, int default_step,
                                               const MinuteSet* blocked) {
  std::vector<Progression> out;
  for (int s = 0; s < n;) {
    int e = s;
    while (e < n && values[static_cast<std::size_t>(e)]) {
      ++e;
    }
    if (e - s >= 2) {
      Progression run{s, 1, e - s};
      if (blocked == nullptr || !windowTouches(run, *blocked)) {
        out.push_back(run);
        for (int v = s; v < e; ++v) {
          values.reset(static_cast<std::size_t>(v));
        }
      }
    }
    s = e + 1;
  }
  for (const auto& p : greedyProgressions(values, n, default_step, blocked)) {
    out.push_back(p);
  }
  std::sort(out.begin(), out.end(),
            [](const Progression& a, const Progression& b) { return a.start < b.start; });
  return out;
}

template <std::size_t N>
std::vector<Progression> fieldProgressions(const std::bitset<N>& values, int n, int default_step,
                                           bool runs_first) {
  return runs_first ? runsFirstProgressions(values, n, default_step, nullptr)
                    : greedyProgressions(values, n, default_step, nullptr);
}

// Hours x minutes, each field split into progressions first: `*/15 9-17` is one progression of
// 36 starts; `5,35 */2` is two (one per minute, every 2 hours).
std::vector<Progression> structuredProgressions(const std::vector<Progression>& hours,
                                                const std::vector<Progression>& minutes) {
  std::vector<Progression> out;
  for (const auto& h : hours) {
    for (const auto& m : minutes) {
      if (h.count == 1 || (h.step == 1 && m.step * m.count == 60)) {
        int step = m.count == 1 ? 60 : m.step;
        out.push_back({h.start * 60 + m.start, step, h.count == 1 ? m.count : h.count * m.count});
      } else if (m.count <= h.count) {
        for (int j = 0; j < m.count; ++j) {
          out.push_back({h.start * 60 + m.start + j * m.step, h.step * 60, h.count});
        }
      } else {
        for (int j = 0; j < h.count; ++j) {
          out.push_back({(h.start + j * h.step) * 60 + m.start, m.step, m.count});
        }
      }
    }
  }
  return out;
}

// The fewest progressions any of the strategies finds whose windows keep clear of `blocked`.
// A minimum partition into progressions is hard in general; these cover what cron fields write.
std::vector<Progression> foldTimes(const sdk::CronExpression& expr, const MinuteSet& times,
                                   const MinuteSet& blocked) {
  std::vector<Progression> best = greedyProgressions(times, kMinutesPerDay, 60, &blocked);
  auto consider = [&](std::vector<Progression> candidate) {
    bool clear = std::none_of(candidate.begin(), candidate.end(), [&](const auto& p) {
      return p.count > 1 && windowTouches(p, blocked);
    });
    if (clear && candidate.size() < best.size()) {
      best = std::move(candidate);
    }
  };
  consider(runsFirstProgressions(times, kMinutesPerDay, 60, &blocked));
  for (bool hours_runs : {false, true}) {
    for (bool minutes_runs : {false, true}) {
      consider(structuredProgressions(fieldProgressions(expr.hours(), 24, 1, hours_runs),
                                      fieldProgressions(expr.minutes(), 60, 60, minutes_runs)));
    }
  }
  return best;
}

// A set of UTC minutes of the day (nothing to keep clear of) folded into progressions.
std::vector<Progression> foldSet(const MinuteSet& times) {
  std::vector<Progression> greedy = greedyProgressions(times, kMinutesPerDay, 60, nullptr);
  std::vector<Progression> runs = runsFirstProgressions(times, kMinutesPerDay, 60, nullptr);
  return runs.size() < greedy.size() ? runs : greedy;
}

date::sys_seconds yearStart(int year) {
  return date::sys_seconds{date::sys_days{date::year{year} / 1 / 1}};
}

std::string hhmm(int minute_of_day) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%02d:%02d", minute_of_day / 60, minute_of_day % 60);
  return buffer;
}

// What the UTC-offset changes of a zone between 2020 and 2050 do to its wall clock.
struct OffsetChanges {
  // Local minutes of the day some change skips or repeats: a repetition window that touches one,
  // or a start inside one, behaves in ways Task Scheduler does not document.
  MinuteSet local;
  // UTC minutes of the day at which a change takes effect (where cron runs the fixed-time jobs a
  // forward jump skipped).
  MinuteSet utc_instants;
  std::vector<long> offsets_minutes;  // every UTC offset in force, in minutes
  std::string ranges;                 // "02:00-03:00, ..." for the report
};

OffsetChanges offsetChanges(const date::time_zone& tz) {
  OffsetChanges out;
  const date::sys_seconds limit = yearStart(2050);
  date::sys_seconds t = yearStart(kStartYear);
  std::bitset<1440> seen_start;
  auto minuteOfDay = [](long long m) {
    return static_cast<std::size_t>(((m % kMinutesPerDay) + kMinutesPerDay) % kMinutesPerDay);
  };
  while (t < limit) {
    date::sys_info info = tz.get_info(t);
    long offset = static_cast<long>(info.offset.count() / 60);
    if (std::find(out.offsets_minutes.begin(), out.offsets_minutes.end(), offset) ==
        out.offsets_minutes.end()) {
      out.offsets_minutes.push_back(offset);
    }
    if (info.end >= limit) {
      break;
    }
    date::sys_info next = tz.get_info(info.end);
    if (next.offset != info.offset) {
      long long a = (info.end + info.offset).time_since_epoch().count();
      long long b = (info.end + next.offset).time_since_epoch().count();
      long long lo = std::min(a, b) / 60;
      long long hi = (std::max(a, b) + 59) / 60;
      if (hi - lo >= kMinutesPerDay) {
        out.local.set();
      } else {
        for (long long m = lo; m < hi; ++m) {
          out.local.set(minuteOfDay(m));
        }
      }
      out.utc_instants.set(minuteOfDay(info.end.time_since_epoch().count() / 60));
      std::size_t first = minuteOfDay(lo);
      if (!seen_start[first]) {
        seen_start.set(first);
        if (!out.ranges.empty()) {
          out.ranges += ", ";
        }
        out.ranges +=
            hhmm(static_cast<int>(first)) + "-" +
            hhmm(static_cast<int>((static_cast<long long>(first) + (hi - lo)) % kMinutesPerDay));
      }
    }
    t = info.end;
  }
  std::sort(out.offsets_minutes.begin(), out.offsets_minutes.end());
  return out;
}

bool utcLike(const date::time_zone& tz) {
  using namespace std::chrono;
  date::sys_info info = tz.get_info(yearStart(kStartYear));
  return info.offset == seconds(0) && info.end >= yearStart(2050);
}

bool allSet(const std::bitset<32>& days) {
  for (std::size_t d = 1; d <= 31; ++d) {
    if (!days[d]) {
      return false;
    }
  }
  return true;
}

bool allMonths(const std::bitset<13>& months) {
  for (std::size_t m = 1; m <= 12; ++m) {
    if (!months[m]) {
      return false;
    }
  }
  return true;
}

Trigger everyDay(const std::bitset<13>& months) {
  Trigger t;
  if (allMonths(months)) {
    t.kind = TriggerKind::kByDay;
  } else {
    t.kind = TriggerKind::kByMonth;
    for (std::size_t d = 1; d <= 31; ++d) {
      t.days_of_month.set(d);
    }
    t.months = months;
  }
  return t;
}

Trigger byDaysOfMonth(const std::bitset<32>& days, const std::bitset<13>& months) {
  Trigger t;
  t.kind = TriggerKind::kByMonth;
  t.days_of_month = days;
  t.days_of_month.reset(0);
  t.months = months;
  return t;
}

Trigger byDaysOfWeek(const std::bitset<7>& days, const std::bitset<13>& months) {
  Trigger t;
  t.days_of_week = days;
  if (allMonths(months)) {
    t.kind = TriggerKind::kByWeek;
  } else {
    t.kind = TriggerKind::kByMonthDayOfWeek;
    t.weeks.set(0).set(1).set(2).set(3);
    t.last_week = true;  // days 29-31 are always a weekday's last occurrence
    t.months = months;
  }
  return t;
}

// Day-of-month AND day-of-week (one field begins with `*`, both restrict): expressible exactly
// only when the days of the month are whole weeks of the month (1-7, 8-14, 15-21, 22-28, with
// 22-31 as week 4 plus Last).
std::optional<Trigger> byWeeksOfMonth(const std::bitset<32>& days, const std::bitset<7>& weekdays,
                                      const std::bitset<13>& months) {
  Trigger t;
  t.kind = TriggerKind::kByMonthDayOfWeek;
  t.days_of_week = weekdays;
  t.months = months;
  for (std::size_t week = 0; week < 4; ++week) {
    std::size_t in = 0;
    for (std::size_t d = week * 7 + 1; d <= week * 7 + 7; ++d) {
      in += days[d] ? 1 : 0;
    }
    if (in == 7) {
      t.weeks.set(week);
    } else if (in != 0) {
      return std::nullopt;
    }
  }
  std::size_t tail = (days[29] ? 1 : 0) + (days[30] ? 1 : 0) + (days[31] ? 1 : 0);
  if (tail == 3 && t.weeks[3]) {
    t.last_week = true;
  } else if (tail != 0) {
    return std::nullopt;
  }
  return t;
}

std::string describeDays(const Trigger& t) {
  static const char* const kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  auto weekdays = [&] {
    std::string s;
    for (std::size_t d = 0; d < 7; ++d) {
      if (t.days_of_week[d]) {
        s += (s.empty() ? "" : ",") + std::string(kDays[d]);
      }
    }
    return s;
  };
  auto months = [&] {
    if (allMonths(t.months)) {
      return std::string("every month");
    }
    std::string s = "months ";
    for (std::size_t m = 1; m <= 12; ++m) {
      if (t.months[m]) {
        s += (s.size() == 7 ? "" : ",") + std::to_string(m);
      }
    }
    return s;
  };
  switch (t.kind) {
    case TriggerKind::kByDay:
      return "every day";
    case TriggerKind::kByWeek:
      return "weekly on " + weekdays();
    case TriggerKind::kByMonth: {
      std::string s;
      for (std::size_t d = 1; d <= 31; ++d) {
        if (t.days_of_month[d]) {
          s += (s.empty() ? "" : ",") + std::to_string(d);
        }
      }
      return "days " + s + " of " + months();
    }
    case TriggerKind::kByMonthDayOfWeek: {
      std::string s;
      for (std::size_t w = 0; w < 4; ++w) {
        if (t.weeks[w]) {
          s += (s.empty() ? "" : ",") + std::to_string(w + 1);
        }
      }
      if (t.last_week) {
        s += (s.empty() ? "" : ",") + std::string("Last");
      }
      return weekdays() + " of weeks " + s + " of " + months();
    }
    case TriggerKind::kTime:
      return "from " + std::to_string(t.start.year);
    case TriggerKind::kBoot:
      return "at boot";
  }
  return {};
}

std::string describeTimes(const Progression& p, bool utc) {
  std::string zone = utc ? " UTC" : "";
  if (p.count == 1) {
    return "at " + hhmm(p.start) + zone;
  }
  return hhmm(p.start) + "-" + hhmm(p.last()) + zone + " every " + std::to_string(p.step) +
         " min (" + std::to_string(p.count) + " starts)";
}

void everyMinute(CompiledSchedule& out, FallbackCause cause, std::string reason) {
  Trigger t;
  t.kind = TriggerKind::kTime;
  t.start.utc = true;
  t.has_repetition = true;
  t.repetition.interval_seconds = 60;
  t.repetition.duration_seconds = 0;  // indefinitely
  out.form = ScheduleForm::kEveryMinute;
  out.fallback_cause = cause;
  out.triggers = {t};
  out.needs_gate = true;
  out.needs_dedupe = false;
  out.reason = std::move(reason);
}

}  // namespace

const char* scheduleFormName(ScheduleForm form) noexcept {
  switch (form) {
    case ScheduleForm::kNative:
      return "native";
    case ScheduleForm::kNativeGated:
      return "native-gated";
    case ScheduleForm::kEveryMinute:
      return "every-minute-gated";
    case ScheduleForm::kBoot:
      return "boot";
  }
  return "?";
}

bool compileSchedule(const sdk::CronExpression& expr, std::string_view job_zone,
                     std::string_view host_zone, CompiledSchedule& out, std::string& error) {
  out = CompiledSchedule{};
  try {
    const date::time_zone* job_tz = nullptr;
    const date::time_zone* host_tz = nullptr;
    try {
      job_tz = date::locate_zone(job_zone);
    } catch (const std::exception&) {
      error = "unknown time zone '" + std::string(job_zone) + "'";
      return false;
    }
    try {
      host_tz = date::locate_zone(host_zone);
    } catch (const std::exception&) {
      error = "unknown host time zone '" + std::string(host_zone) + "'";
      return false;
    }
    std::string head = "schedule `" + expr.canonical() + "` in " + job_tz->name() + " (host zone " +
                       host_tz->name() + ")\n";
    if (expr.isReboot()) {
      Trigger t;
      t.kind = TriggerKind::kBoot;
      out.form = ScheduleForm::kBoot;
      out.triggers = {t};
      out.reason = "@reboot: a boot trigger";
      out.report = head + "form: boot, 1 trigger(s)\nwhy: " + out.reason + "\n";
      return true;
    }

    const bool same_zone = job_tz == host_tz || job_tz->name() == host_tz->name() ||
                           (utcLike(*job_tz) && utcLike(*host_tz));
    const bool utc_job = !same_zone && utcLike(*job_tz);
    if (!same_zone && !utc_job) {
      everyMinute(out, FallbackCause::kForeignZone,
                  "the job's zone " + job_tz->name() + " is neither the host's zone (" +
                      host_tz->name() + ") nor UTC; Task Scheduler has local or UTC times only");
    } else {
      OffsetChanges changes = utc_job ? OffsetChanges{} : offsetChanges(*host_tz);
      const MinuteSet& blocked = changes.local;
      MinuteSet times;
      for (std::size_t h = 0; h < 24; ++h) {
        for (std::size_t m = 0; m < 60; ++m) {
          if (expr.hours()[h] && expr.minutes()[m]) {
            times.set(h * 60 + m);
          }
        }
      }
      // Local times an offset change skips or repeats get UTC triggers every day instead, at
      // each UTC time they can fall on, plus the instants the changes take effect (cron runs
      // skipped fixed-time jobs then); run's gate and dedupe make that exact.
      const MinuteSet risky = times & blocked;
      MinuteSet utc_times;
      for (std::size_t m = 0; m < kMinutesPerDay; ++m) {
        if (risky[m]) {
          for (long offset : changes.offsets_minutes) {
            long utc = static_cast<long>(m) - offset;
            utc_times.set(static_cast<std::size_t>(((utc % kMinutesPerDay) + kMinutesPerDay) %
                                                   kMinutesPerDay));
          }
        }
      }
      if (risky.any()) {
        utc_times |= changes.utc_instants;
      }
      times &= ~blocked;
      {
        // Days: one trigger template, or two for cron's day-of-month OR day-of-week.
        std::vector<Trigger> days;
        const auto& dom = expr.daysOfMonth();
        const auto& dow = expr.daysOfWeek();
        const auto& months = expr.months();
        const bool dom_all = allSet(dom);
        const bool dow_all = dow.all();
        const bool either = !expr.dayOfMonthStar() && !expr.dayOfWeekStar();
        std::string day_reason;
        bool gated = false;
        if ((either && (dom_all || dow_all)) || (dom_all && dow_all)) {
          days.push_back(everyDay(months));
        } else if (either) {
          days.push_back(byDaysOfMonth(dom, months));
          days.push_back(byDaysOfWeek(dow, months));
          out.needs_dedupe = true;
          day_reason = "; day-of-month OR day-of-week is two trigger sets";
        } else if (dom_all) {
          days.push_back(byDaysOfWeek(dow, months));
        } else if (dow_all) {
          days.push_back(byDaysOfMonth(dom, months));
        } else if (auto weeks = byWeeksOfMonth(dom, dow, months)) {
          days.push_back(*weeks);
        } else {
          days.push_back(byDaysOfMonth(dom, months));
          gated = true;
          day_reason =
              "; day-of-month AND day-of-week is not a Task Scheduler schedule, so the triggers "
              "select the days of the month and run drops the wrong weekdays";
        }
        std::vector<Progression> progressions =
            times.any() ? foldTimes(expr, times, blocked) : std::vector<Progression>{};
        std::vector<Progression> utc_progressions = foldSet(utc_times);
        std::size_t count = days.size() * progressions.size() + utc_progressions.size();
        if (count > kMaxTriggers) {
          everyMinute(
              out, FallbackCause::kTriggerLimit,
              "it needs " + std::to_string(count) + " triggers (" +
                  std::to_string(progressions.size()) + " time progressions x " +
                  std::to_string(days.size()) + " day sets" +
                  (utc_progressions.empty() ? std::string()
                                            : " + " + std::to_string(utc_progressions.size()) +
                                                  " UTC triggers around offset changes") +
                  "), more than the schema's " + std::to_string(kMaxTriggers));
        } else {
          for (const auto& day : days) {
            for (const auto& p : progressions) {
              Trigger t = day;
              t.start.year = kStartYear;
              t.start.hour = static_cast<unsigned>(p.start / 60);
              t.start.minute = static_cast<unsigned>(p.start % 60);
              t.start.utc = utc_job;
              if (p.count > 1) {
                t.has_repetition = true;
                t.repetition.interval_seconds = p.step * 60L;
                t.repetition.duration_seconds = windowSeconds(p);
              }
              out.triggers.push_back(t);
            }
          }
          for (const auto& p : utc_progressions) {
            Trigger t = everyDay(std::bitset<13>{}.set().reset(0));
            t.start.year = kStartYear;
            t.start.hour = static_cast<unsigned>(p.start / 60);
            t.start.minute = static_cast<unsigned>(p.start % 60);
            t.start.utc = true;
            if (p.count > 1) {
              t.has_repetition = true;
              t.repetition.interval_seconds = p.step * 60L;
              t.repetition.duration_seconds = windowSeconds(p);
            }
            out.triggers.push_back(t);
          }
          if (!utc_progressions.empty()) {
            gated = true;
            out.needs_dedupe = true;
            day_reason +=
                "; " + std::to_string(utc_progressions.size()) +
                " UTC trigger(s) every day cover the local times that offset changes of " +
                host_tz->name() + " skip or repeat (" + changes.ranges +
                "), at every UTC time they can fall on, and run keeps only the "
                "cron instants";
          }
          out.form = gated ? ScheduleForm::kNativeGated : ScheduleForm::kNative;
          out.needs_gate = gated;
          std::string zone_reason =
              utc_job ? "UTC times (StartBoundary in Z) on a host in " + host_tz->name()
              : blocked.none()
                  ? "local times; " + host_tz->name() + " has no offset changes"
                  : "local times, every start and repetition window clear of the offset "
                    "changes of " +
                        host_tz->name() + " (" + changes.ranges + ")";
          out.reason = (progressions.empty()
                            ? std::string("no local triggers (every time is near an offset change)")
                            : std::to_string(progressions.size()) + " time progression(s) x " +
                                  std::to_string(days.size()) + " day set(s), " + zone_reason) +
                       day_reason;
        }
      }
    }
    std::string report = head;
    report += "form: " + std::string(scheduleFormName(out.form)) + ", " +
              std::to_string(out.triggers.size()) + " trigger(s)\n";
    report += "why: " + out.reason + "\n";
    if (out.needs_gate) {
      report += "run: gates each start on the expression (CronExpression::firesAt)\n";
    }
    if (out.needs_dedupe) {
      report += "run: runs each scheduled minute once however many triggers fire for it\n";
    }
    for (std::size_t i = 0; i < out.triggers.size() && out.form != ScheduleForm::kEveryMinute;
         ++i) {
      const Trigger& t = out.triggers[i];
      Progression p{static_cast<int>(t.start.hour * 60 + t.start.minute),
                    static_cast<int>(t.repetition.interval_seconds / 60), 1};
      if (t.has_repetition) {
        p.count =
            static_cast<int>(t.repetition.duration_seconds / t.repetition.interval_seconds) + 1;
      }
      report += "  " + std::to_string(i + 1) + ". " + describeDays(t) + ", " +
                describeTimes(p, t.start.utc) + "\n";
    }
    out.report = report;
    return true;
  } catch (const std::exception& e) {
    error = std::string("compiling the schedule: ") + e.what();
    return false;
  }
}

}  // namespace crontopus::plugins::taskscheduler
