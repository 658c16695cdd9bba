// Times parsing and next-fire computation for N generated cron expressions (default 10,000) in
// UTC and in zones with daylight saving, and prints the figures. Deterministic: fixed seed and
// fixed start instant, so runs are comparable.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "crontopus/sdk/CronExpression.h"

namespace {

using crontopus::sdk::CronError;
using crontopus::sdk::CronExpression;

std::string field(std::mt19937& rng, int low, int high, int star_percent) {
  std::uniform_int_distribution<int> pct(0, 99);
  std::uniform_int_distribution<int> value(low, high);
  int r = pct(rng);
  if (r < star_percent) {
    return "*";
  }
  if (r < star_percent + 10) {
    return "*/" + std::to_string(std::uniform_int_distribution<int>(2, 15)(rng));
  }
  std::string out;
  int items = std::uniform_int_distribution<int>(1, 3)(rng);
  for (int i = 0; i < items; ++i) {
    if (i) {
      out += ',';
    }
    int a = value(rng);
    switch (pct(rng) % 4) {
      case 0:
        out += std::to_string(a);
        break;
      case 1:
        out += std::to_string(a) + "-" +
               std::to_string(std::uniform_int_distribution<int>(a, high)(rng));
        break;
      case 2:
        out += std::to_string(a) + "-" + std::to_string(high) + "/" +
               std::to_string(std::uniform_int_distribution<int>(2, 7)(rng));
        break;
      default:
        out +=
            std::to_string(a) + "/" + std::to_string(std::uniform_int_distribution<int>(2, 7)(rng));
        break;
    }
  }
  return out;
}

std::vector<std::string> generate(std::size_t n) {
  std::mt19937 rng(20261126);
  std::vector<std::string> out;
  out.reserve(n);
  const char* macros[] = {"@hourly", "@daily", "@weekly", "@monthly", "@yearly"};
  for (std::size_t i = 0; i < n; ++i) {
    if (i % 50 == 0) {
      out.emplace_back(macros[(i / 50) % 5]);
      continue;
    }
    if (i % 97 == 0) {
      out.emplace_back("0 0 30 2 *");  // never fires: must not be slow
      continue;
    }
    out.push_back(field(rng, 0, 59, 10) + " " + field(rng, 0, 23, 30) + " " +
                  field(rng, 1, 31, 60) + " " + field(rng, 1, 12, 70) + " " + field(rng, 0, 7, 60));
  }
  return out;
}

double msSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t n = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 10000;
  const std::vector<std::string> texts = generate(n);
  std::vector<CronExpression> exprs(texts.size());

  auto start = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < texts.size(); ++i) {
    CronError error;
    if (!CronExpression::parse(texts[i], exprs[i], error)) {
      std::fprintf(stderr, "generated expression rejected: %s: %s: %s\n", texts[i].c_str(),
                   error.field.c_str(), error.message.c_str());
      return 1;
    }
  }
  double parse_ms = msSince(start);
  std::printf("expressions: %zu\nparse: %.1f ms total, %.2f us each\n", n, parse_ms,
              parse_ms * 1000 / static_cast<double>(n));

  const std::chrono::sys_seconds after{std::chrono::seconds{1795732997}};  // 2026-11-26T22:43:17Z
  std::vector<std::chrono::sys_seconds> times;
  std::string error;
  // Load the tz database and the zones first: that one-time cost is not what is measured.
  for (const char* zone : {"UTC", "Europe/Berlin", "Australia/Lord_Howe", "America/New_York"}) {
    exprs[0].nextFireTimes(after, zone, 1, times, error);
  }
  for (const char* zone : {"UTC", "Europe/Berlin", "Australia/Lord_Howe"}) {
    for (std::size_t count : {std::size_t{1}, std::size_t{50}}) {
      std::size_t produced = 0;
      start = std::chrono::steady_clock::now();
      for (const CronExpression& e : exprs) {
        if (!e.nextFireTimes(after, zone, count, times, error)) {
          std::fprintf(stderr, "%s\n", error.c_str());
          return 1;
        }
        produced += times.size();
      }
      double ms = msSince(start);
      std::printf(
          "next %2zu fire times, %-19s: %8.1f ms total, %7.2f us per expression (%zu instants)\n",
          count, zone, ms, ms * 1000 / static_cast<double>(n), produced);
    }
  }

  start = std::chrono::steady_clock::now();
  std::size_t hits = 0;
  for (const CronExpression& e : exprs) {
    hits += e.firesAt(after + std::chrono::hours(1), "Europe/Berlin", error) ? 1 : 0;
  }
  double fires_ms = msSince(start);
  std::printf("firesAt, Europe/Berlin: %.1f ms total, %.2f us per expression (%zu hits)\n",
              fires_ms, fires_ms * 1000 / static_cast<double>(n), hits);

  const std::size_t superset_n = std::min<std::size_t>(n, 1000);
  start = std::chrono::steady_clock::now();
  std::string superset;
  for (std::size_t i = 0; i < superset_n; ++i) {
    if (!exprs[i].hostSuperset("Australia/Lord_Howe", "America/New_York", after, superset, error)) {
      std::fprintf(stderr, "%s\n", error.c_str());
      return 1;
    }
  }
  double superset_ms = msSince(start);
  std::printf("hostSuperset Lord_Howe -> New_York, first %zu: %.1f ms total, %.2f ms each\n",
              superset_n, superset_ms, superset_ms / static_cast<double>(superset_n));

  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  std::printf("peak RSS: %.1f MiB\n", static_cast<double>(usage.ru_maxrss) / 1024.0);
  return 0;
}
