#pragma once

#include <string>
#include <vector>

namespace crontopus::tests::systemd_timer {

// A deterministic corpus of cron expressions: every macro (and @reboot when `with_reboot`),
// fixed edge cases (both day fields restricted, a leading `*` or step in either, lists that
// cover every value without `*`, schedules that never fire, names in mixed case, day-of-week 7)
// and then generated ones (numbers, ranges, steps `*/n` `a-b/n` `a/n`, lists, names) up to
// `count`. The same seed gives the same corpus on every platform.
std::vector<std::string> cronCorpus(std::size_t count, bool with_reboot = false);

}  // namespace crontopus::tests::systemd_timer

#include <chrono>

namespace crontopus::tests::systemd_timer {

// "YYYY-MM-DD HH:MM:SS" read as UTC; the epoch when `text` is not in that form.
std::chrono::sys_seconds utcTime(const std::string& text);

}  // namespace crontopus::tests::systemd_timer
