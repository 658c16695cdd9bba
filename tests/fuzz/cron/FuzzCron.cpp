// libFuzzer target: arbitrary bytes as a cron expression. Beyond not crashing, checks the
// library's contract: an accepted expression's canonical form parses to the same schedule and is
// its own canonical form; fire times are strictly increasing, after the start, and each one is a
// firesAt minute; errors always name one of the documented fields.
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "crontopus/sdk/CronExpression.h"

namespace {

void check(bool condition) {
  if (!condition) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using crontopus::sdk::CronError;
  using crontopus::sdk::CronExpression;
  if (size > 256) {
    return 0;
  }
  std::string_view text(reinterpret_cast<const char*>(data), size);
  CronExpression expr;
  CronError error;
  if (!CronExpression::parse(text, expr, error)) {
    check(error.field == "minute" || error.field == "hour" || error.field == "day-of-month" ||
          error.field == "month" || error.field == "day-of-week" || error.field == "expression");
    check(!error.message.empty());
    return 0;
  }
  CronExpression again;
  check(CronExpression::parse(expr.canonical(), again, error));
  check(again.canonical() == expr.canonical());
  check(again.minutes() == expr.minutes() && again.hours() == expr.hours() &&
        again.daysOfMonth() == expr.daysOfMonth() && again.months() == expr.months() &&
        again.daysOfWeek() == expr.daysOfWeek() &&
        again.dayOfMonthStar() == expr.dayOfMonthStar() &&
        again.dayOfWeekStar() == expr.dayOfWeekStar() &&
        again.isFixedTime() == expr.isFixedTime() && again.isReboot() == expr.isReboot());
  check(expr.canonical().find_first_of("\n\r\t") == std::string::npos);

  // Start instant from the input so the search begins at varied places around DST changes.
  std::uint32_t seed = 2166136261u;
  for (std::uint8_t b : text) {
    seed = (seed ^ b) * 16777619u;
  }
  const std::chrono::sys_seconds after{std::chrono::seconds{1767225600 + (seed % 315360000)}};
  for (const char* zone : {"UTC", "Australia/Lord_Howe", "America/New_York"}) {
    std::vector<std::chrono::sys_seconds> times;
    std::string zone_error;
    check(expr.nextFireTimes(after, zone, 4, times, zone_error));
    auto previous = after;
    for (auto t : times) {
      check(t > previous);
      previous = t;
      check(expr.firesAt(t, zone, zone_error));
    }
  }
  return 0;
}
