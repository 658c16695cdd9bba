#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "TaskModel.h"

namespace crontopus::plugins::taskscheduler::test {

// Expands Task Scheduler 2.0 triggers into start instants by the documented semantics:
//  - a trigger never starts before its StartBoundary;
//  - a calendar trigger starts at the StartBoundary's time of day on each day its schedule
//    selects (ScheduleByDay every DaysInterval days from the boundary's date; ScheduleByWeek on
//    its DaysOfWeek every WeeksInterval weeks; ScheduleByMonth on its DaysOfMonth, `Last` = the
//    month's last day, days a month lacks never; ScheduleByMonthDayOfWeek on its DaysOfWeek in
//    weeks 1 (days 1-7) .. 4 (days 22-28) and `Last` = the weekday's last occurrence in the month);
//  - a time trigger starts once, at its StartBoundary;
//  - a Repetition starts it again every Interval while start + k * Interval <= start + Duration
//    (the end instant included), forever when there is no Duration;
//  - local times are the host zone's wall clock; a StartBoundary with Z is UTC.
// What the documentation leaves open is counted in `undocumented` instead of being guessed: a
// local start that a zone offset change skips or repeats, and a repetition window that contains
// an offset change.
struct Simulation {
  std::vector<std::chrono::sys_seconds> starts;  // sorted, duplicates kept (one per trigger)
  std::size_t undocumented = 0;
  std::string first_undocumented;  // description of the first case, for the failure message
};

// Starts in [from, to). `host_zone` is the zone of local (non-Z) times.
Simulation simulate(const std::vector<Trigger>& triggers, const std::string& host_zone,
                    std::chrono::sys_seconds from, std::chrono::sys_seconds to);

}  // namespace crontopus::plugins::taskscheduler::test
