#include <chrono>
#include <ostream>
#include <regex>

#include <Poco/DateTimeFormat.h>
#include <Poco/DateTimeParser.h>
#include <Poco/NumberParser.h>
#include <date/tz.h>

#include "Agent.h"
#include "Commands.h"
#include "crontopus/sdk/CronExpression.h"

namespace crontopus::core::commands {

namespace {

// ISO 8601 with an explicit zone: "Z" or a numeric offset. A bare local time would be ambiguous.
bool parseInstant(const std::string& text, std::chrono::sys_seconds& out) {
  static const std::regex kForm(
      R"(^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?(\.\d+)?(Z|[+-]\d{2}:?\d{2})$)");
  if (!std::regex_match(text, kForm))
    return false;
  Poco::DateTime dt;
  int tzd = 0;
  if (!Poco::DateTimeParser::tryParse(Poco::DateTimeFormat::ISO8601_FRAC_FORMAT, text, dt, tzd)) {
    return false;
  }
  dt.makeUTC(tzd);
  out = std::chrono::sys_seconds(std::chrono::seconds(dt.timestamp().epochTime()));
  return true;
}

}  // namespace

int next(Agent& agent, std::ostream& out, std::ostream& err) {
  const CommandLine& cl = agent.commandLine();
  sdk::CronExpression expr;
  sdk::CronError cron_error;
  if (!sdk::CronExpression::parse(cl.operands.at(0), expr, cron_error)) {
    err << "invalid cron expression \"" << cl.operands[0] << "\": " << cron_error.field << ": "
        << cron_error.message << "\n";
    return 1;
  }
  int count = 5;
  if (cl.has("count") &&
      (!Poco::NumberParser::tryParse(cl.get("count"), count) || count < 1 || count > 100000)) {
    err << "--count must be a whole number from 1 to 100000, got \"" << cl.get("count") << "\"\n";
    return 1;
  }
  auto from = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  if (cl.has("from") && !parseInstant(cl.get("from"), from)) {
    err << "--from must be ISO 8601 with Z or an offset, e.g. 2026-03-29T00:00:00Z, got \""
        << cl.get("from") << "\"\n";
    return 1;
  }
  std::string zone_name = cl.get("tz");
  if (zone_name.empty())
    zone_name = agent.config(false).agent.default_timezone;
  const date::time_zone* zone = nullptr;
  try {
    zone = zone_name.empty() ? date::current_zone() : date::locate_zone(zone_name);
  } catch (const std::exception& e) {
    err << "unknown time zone \"" << zone_name << "\": " << e.what() << "\n";
    return 1;
  }
  std::vector<std::chrono::sys_seconds> times;
  std::string error;
  if (!expr.nextFireTimes(from, zone->name(), static_cast<std::size_t>(count), times, error)) {
    err << error << "\n";
    return 1;
  }
  if (expr.isReboot()) {
    out << "@reboot: runs once when the host boots\n";
    return 0;
  }
  for (const auto& t : times) {
    out << date::format("%FT%T%Ez", date::make_zoned(zone, t)) << "\n";
  }
  if (times.size() < static_cast<std::size_t>(count)) {
    out << (times.empty() ? "never: " : "no more: ") << "the schedule does not fire again\n";
  }
  return 0;
}

}  // namespace crontopus::core::commands
