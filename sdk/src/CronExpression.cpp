// Placeholder until the cron expression engine lands (issue 3); every call reports that.
#include "crontopus/sdk/CronExpression.h"

namespace crontopus::sdk {

bool CronExpression::parse(std::string_view, CronExpression&, CronError& error) {
  error = {"expression", "cron expressions are not implemented yet"};
  return false;
}
bool CronExpression::matchesDay(int, unsigned, unsigned, unsigned) const noexcept { return false; }
bool CronExpression::matchesLocal(const LocalTime&) const noexcept { return false; }
bool CronExpression::nextFireTimes(std::chrono::sys_seconds, std::string_view, std::size_t,
                                   std::vector<std::chrono::sys_seconds>&,
                                   std::string& error) const {
  error = "not implemented";
  return false;
}
bool CronExpression::firesAt(std::chrono::sys_seconds, std::string_view, std::string& error) const {
  error = "not implemented";
  return false;
}
bool CronExpression::hostSuperset(std::string_view, std::string_view, std::chrono::sys_seconds,
                                  std::string&, std::string& error) const {
  error = "not implemented";
  return false;
}

}  // namespace crontopus::sdk
