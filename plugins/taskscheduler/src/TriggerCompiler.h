#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "TaskModel.h"
#include "crontopus/sdk/CronExpression.h"

namespace crontopus::plugins::taskscheduler {

// How a cron expression became Task Scheduler triggers.
enum class ScheduleForm {
  // The triggers fire exactly at the cron instants. With needs_dedupe (day-of-month OR
  // day-of-week), two triggers can fire for the same minute on a day that matches both fields.
  kNative,
  // Triggers fire at a superset of the cron instants and `run` drops the rest with the gate:
  // calendar triggers on the days of the month when day-of-month AND day-of-week is no schedule
  // type; and, for local times that an offset change of the host's zone skips or repeats (where
  // Task Scheduler's behaviour is not documented), daily UTC triggers at every UTC time those
  // local times can fall on plus the instants the changes take effect. Local triggers and their
  // repetition windows always keep clear of those local times.
  kNativeGated,
  // The fallback: one UTC trigger every minute, `run` gates on the expression. Used only when the
  // expression needs more than kMaxTriggers triggers, or when the job's zone is neither the
  // host's nor UTC.
  kEveryMinute,
  // @reboot: a BootTrigger.
  kBoot,
};

const char* scheduleFormName(ScheduleForm form) noexcept;

// The schema allows at most 48 triggers per task.
inline constexpr std::size_t kMaxTriggers = 48;

// The date every calendar trigger starts from. Fixed (not "now") so that rendering is
// deterministic; WeeksInterval and DaysInterval are 1, so the date only has to lie in the past.
inline constexpr int kStartYear = 2020;

// Why the every-minute form was used.
enum class FallbackCause { kNone, kTriggerLimit, kForeignZone };

struct CompiledSchedule {
  ScheduleForm form = ScheduleForm::kEveryMinute;
  FallbackCause fallback_cause = FallbackCause::kNone;
  std::vector<Trigger> triggers;
  // Several triggers may fire for one scheduled minute: run's per-minute stamp must drop repeats.
  bool needs_dedupe = false;
  // Triggers fire at more minutes than the expression selects: run must check firesAt.
  bool needs_gate = false;
  std::string reason;  // one line: why this form
  std::string report;  // human-readable, several lines, for `plan` and `render`
};

// Compiles `expr`, evaluated in IANA zone `job_zone`, into triggers for a host whose local zone is
// `host_zone` (both already resolved; empty is not accepted). Pure and deterministic: the output
// depends only on the arguments and the time zone database (the daylight-saving transitions of
// the host's zone between 2020 and 2050). False with `error` for an unknown zone. Never throws.
//
// Trigger semantics assumed (Microsoft's Task Scheduler 2.0 documentation): a calendar trigger
// starts at its StartBoundary time of day on each selected day; a Repetition restarts it every
// Interval while the window [start, start + Duration] lasts, the end instant included; weeks of a
// month are days 1-7, 8-14, 15-21, 22-28 and `Last` is the weekday's last occurrence; day 31 fires
// only in months that have one; a StartBoundary ending in Z is a UTC time of day.
bool compileSchedule(const sdk::CronExpression& expr, std::string_view job_zone,
                     std::string_view host_zone, CompiledSchedule& out, std::string& error);

}  // namespace crontopus::plugins::taskscheduler
