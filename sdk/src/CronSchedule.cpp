// Fire-time computation for CronExpression in IANA zones (placeholder until it lands).
#include "crontopus/sdk/CronExpression.h"

namespace crontopus::sdk {

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
