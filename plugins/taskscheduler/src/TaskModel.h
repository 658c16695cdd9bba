#pragma once

#include <bitset>
#include <string>
#include <vector>

namespace crontopus::plugins::taskscheduler {

// The subset of the Task Scheduler 2.0 schema this backend writes and reads back. Plain data; the
// canonical XML of a TaskDefinition is renderTaskXml() (TaskXml.h), parseTaskXml() reads it back.

// A Repetition element. Times are whole seconds. The window includes its end instant (a PT1M
// interval for PT4M gives 5 starts), so the compiler always ends windows strictly between the last
// wanted start and the next step. duration_seconds == 0 means "indefinitely".
struct Repetition {
  long interval_seconds = 0;
  long duration_seconds = 0;

  bool operator==(const Repetition&) const = default;
};

enum class TriggerKind {
  kBoot,              // BootTrigger: when the system starts (cron's @reboot)
  kTime,              // TimeTrigger: once at StartBoundary (then its repetition)
  kByDay,             // CalendarTrigger/ScheduleByDay, DaysInterval
  kByWeek,            // CalendarTrigger/ScheduleByWeek, WeeksInterval + DaysOfWeek
  kByMonth,           // CalendarTrigger/ScheduleByMonth, DaysOfMonth + Months
  kByMonthDayOfWeek,  // CalendarTrigger/ScheduleByMonthDayOfWeek, Weeks + DaysOfWeek + Months
};

// StartBoundary as written: a local wall-clock time ("2020-01-01T09:30:00", the host's zone) or,
// with utc set, a UTC instant ("...Z", which Task Scheduler shows as "Synchronize across time
// zones").
struct StartBoundary {
  int year = 2020;
  unsigned month = 1;
  unsigned day = 1;
  unsigned hour = 0;
  unsigned minute = 0;
  bool utc = false;

  bool operator==(const StartBoundary&) const = default;
};

struct Trigger {
  TriggerKind kind = TriggerKind::kByDay;
  StartBoundary start;
  bool has_repetition = false;
  Repetition repetition;
  int interval = 1;                // DaysInterval (kByDay) or WeeksInterval (kByWeek)
  std::bitset<7> days_of_week;     // Sunday = 0 (kByWeek, kByMonthDayOfWeek)
  std::bitset<32> days_of_month;   // bits 1..31 (kByMonth)
  bool last_day_of_month = false;  // <Day>Last</Day> in DaysOfMonth (kByMonth)
  std::bitset<13> months;          // bits 1..12 (kByMonth, kByMonthDayOfWeek)
  std::bitset<5> weeks;            // bits 0..3 = weeks 1..4 (kByMonthDayOfWeek)
  bool last_week = false;          // <Week>Last</Week> (kByMonthDayOfWeek)
  bool enabled = true;

  bool operator==(const Trigger&) const = default;
};

struct TaskDefinition {
  std::string description;  // first line is the ownership marker "CRONTOPUS:<ns>/<name>"
  std::string uri;          // the manifest's source file
  std::vector<Trigger> triggers;
  std::string command;    // Exec/Command
  std::string arguments;  // Exec/Arguments, already quoted per Windows command-line rules
  std::string working_directory;
  bool enabled = true;                    // Settings/Enabled (false when the job is paused)
  long execution_time_limit_seconds = 0;  // 0 = PT0S, no limit
  std::string multiple_instances_policy = "IgnoreNew";
  bool start_when_available = false;

  bool operator==(const TaskDefinition&) const = default;
};

}  // namespace crontopus::plugins::taskscheduler
