// Test tool: prints the fire times of cron expressions, one request per input line, so scripts
// (the croniter differential test, the crontab acceptance test) can drive the library.
//
// Input lines:  ZONE<TAB>AFTER<TAB>COUNT<TAB>EXPRESSION   (ZONE "-" = host zone, AFTER in Unix
//               seconds)
// Output lines: OK<TAB>CANONICAL<TAB>T1 T2 ...            (Unix seconds)
//               ERR<TAB>FIELD<TAB>MESSAGE
#include <chrono>
#include <iostream>
#include <string>
#include <vector>

#include "crontopus/sdk/CronExpression.h"

int main() {
  using crontopus::sdk::CronError;
  using crontopus::sdk::CronExpression;
  std::ios::sync_with_stdio(false);
  std::string line;
  while (std::getline(std::cin, line)) {
    std::vector<std::string> parts;
    std::size_t start = 0;
    for (int i = 0; i < 3; ++i) {
      std::size_t tab = line.find('\t', start);
      if (tab == std::string::npos) {
        std::cerr << "malformed request: " << line << "\n";
        return 2;
      }
      parts.push_back(line.substr(start, tab - start));
      start = tab + 1;
    }
    parts.push_back(line.substr(start));
    CronExpression expr;
    CronError error;
    if (!CronExpression::parse(parts[3], expr, error)) {
      std::cout << "ERR\t" << error.field << '\t' << error.message << '\n';
      continue;
    }
    std::string zone = parts[0] == "-" ? std::string() : parts[0];
    std::chrono::sys_seconds after{std::chrono::seconds{std::stoll(parts[1])}};
    std::vector<std::chrono::sys_seconds> times;
    std::string zone_error;
    if (!expr.nextFireTimes(after, zone, std::stoul(parts[2]), times, zone_error)) {
      std::cout << "ERR\tzone\t" << zone_error << '\n';
      continue;
    }
    std::cout << "OK\t" << expr.canonical() << '\t';
    for (std::size_t i = 0; i < times.size(); ++i) {
      std::cout << (i ? " " : "") << times[i].time_since_epoch().count();
    }
    std::cout << '\n';
  }
  return 0;
}
