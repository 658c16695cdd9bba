// The compiled OnCalendar= lines, evaluated by systemd itself (systemd-analyze calendar), fire at
// exactly the instants CronExpression::nextFireTimes() gives, in UTC and in zones with
// daylight-saving time, from several base instants.
#include <gtest/gtest.h>

#include <date/date.h>
#include <date/tz.h>

#include <chrono>
#include <map>
#include <set>
#include <sstream>

#include "CalendarCompiler.h"
#include "TestCorpus.h"
#include "TestSupport.h"

namespace crontopus::plugins::systemd_timer {
namespace {

using std::chrono::sys_seconds;
using Instants = std::vector<sys_seconds>;

constexpr std::size_t kCorpusSize = 1100;
// Fire times compared per schedule and base: all of them within a year, or the first kCap. The
// bases right before each transition make the cap cover every transition for dense schedules.
constexpr std::size_t kCap = 250;
constexpr auto kYear = std::chrono::hours(24 * 365);

struct Schedule {
  std::string expr;
  sdk::CronExpression cron;
};

std::vector<Schedule> corpus() {
  std::vector<Schedule> out;
  for (const auto& expr : tests::systemd_timer::cronCorpus(kCorpusSize)) {
    Schedule s{expr, {}};
    sdk::CronError error;
    EXPECT_TRUE(sdk::CronExpression::parse(expr, s.cron, error)) << expr << ": " << error.message;
    if (!s.cron.isReboot()) {
      out.push_back(std::move(s));
    }
  }
  return out;
}

std::string text(sys_seconds t) {
  return date::format("%Y-%m-%d %H:%M:%S UTC", t);
}

// Every UTC instant systemd-analyze printed, per expression, in argument order.
std::vector<Instants> parseAnalyze(const std::string& output) {
  std::vector<Instants> blocks;
  std::istringstream in(output);
  for (std::string line; std::getline(in, line);) {
    if (line.find("Normalized form:") != std::string::npos) {
      blocks.emplace_back();
      continue;
    }
    const bool timestamp = line.find("Next elapse:") != std::string::npos ||
                           line.find("Iter. #") != std::string::npos ||
                           line.find("(in UTC):") != std::string::npos;
    if (!timestamp || blocks.empty() || line.size() < 24 ||
        line.compare(line.size() - 4, 4, " UTC") != 0) {
      continue;
    }
    const sys_seconds t = tests::systemd_timer::utcTime(line.substr(line.size() - 23, 19));
    if (t != sys_seconds{}) {
      blocks.back().push_back(t);
    }
  }
  return blocks;
}

struct Job {
  const Schedule* schedule;
  Instants cron;                     // cron's fire times in (base, end]
  sys_seconds end;                   // end of the compared window
  std::vector<std::string> lines;    // as given to systemd-analyze
  std::vector<std::string> written;  // as the unit carries them
};

// Runs systemd-analyze once per iteration bucket; fills `fires` with the union per job.
void evaluate(const std::vector<Job>& jobs, const std::string& zone, sys_seconds base,
              bool native_zone, std::size_t cap, std::vector<std::set<sys_seconds>>& fires) {
  fires.assign(jobs.size(), {});
  std::map<std::size_t, std::vector<std::pair<std::size_t, std::string>>> buckets;
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    // n + 1 iterations per line: a line that fired anywhere cron does not would need more than n
    // fire times inside the window, so one past them shows it.
    std::size_t need = jobs[i].cron.size() + 1;
    std::size_t bucket = 2;
    while (bucket < need) {
      bucket *= 4;
    }
    bucket = std::min(bucket, cap + 1);
    for (const auto& line : native_zone ? jobs[i].written : jobs[i].lines) {
      buckets[bucket].emplace_back(i, line);
    }
  }
  for (const auto& [iterations, items] : buckets) {
    std::vector<std::string> argv = {
        "systemd-analyze", "calendar", "--iterations=" + std::to_string(iterations),
        "--base-time=@" + std::to_string(base.time_since_epoch().count())};
    for (const auto& item : items) {
      argv.push_back(item.second);
    }
    const auto result =
        tests::runProcess(argv, {}, {{"TZ", native_zone ? std::string("UTC") : zone}});
    ASSERT_EQ(result.exit_code, 0) << result.err;
    const auto blocks = parseAnalyze(result.out);
    ASSERT_EQ(blocks.size(), items.size()) << "systemd-analyze printed " << blocks.size()
                                           << " blocks for " << items.size() << " expressions";
    for (std::size_t k = 0; k < items.size(); ++k) {
      fires[items[k].first].insert(blocks[k].begin(), blocks[k].end());
    }
  }
}

struct Totals {
  std::size_t compared = 0;
  std::size_t fire_times = 0;
  std::size_t dated_lines = 0;
  std::size_t differences = 0;
};

void checkZone(const std::vector<Schedule>& schedules, const std::string& zone, sys_seconds base,
               bool native_zone, std::size_t cap, Totals& totals) {
  std::vector<Job> jobs;
  for (const auto& s : schedules) {
    Job job{&s, {}, base + kYear, {}, {}};
    std::string error;
    Instants all;
    ASSERT_TRUE(s.cron.nextFireTimes(base, zone, cap, all, error)) << error;
    if (all.size() == cap) {
      job.end = std::min(job.end, all.back());
    }
    for (auto t : all) {
      if (t <= job.end) {
        job.cron.push_back(t);
      }
    }
    CalendarPlan plan;
    ASSERT_TRUE(compileCalendar(s.cron, zone, base, plan, error)) << error;
    ASSERT_TRUE(plan.extra.empty()) << s.expr << ": " << plan.report;
    const std::string suffix = " " + zone;
    for (const auto& line : plan.on_calendar) {
      job.written.push_back(line);
      const bool zoned = line.size() > suffix.size() &&
                         line.compare(line.size() - suffix.size(), suffix.size(), suffix) == 0 &&
                         line.front() != '2';  // dated compensation lines stay in UTC
      // A zone suffix makes systemd fork a child per computed elapse (100x slower); TZ= in the
      // environment gives the same wall-clock evaluation in-process. SuffixAndEnvironmentAgree
      // checks that claim on a sample.
      job.lines.push_back(zoned ? line.substr(0, line.size() - suffix.size()) : line);
      totals.dated_lines += line.front() == '2' ? 1 : 0;
    }
    jobs.push_back(std::move(job));
  }
  std::vector<std::set<sys_seconds>> fires;
  ASSERT_NO_FATAL_FAILURE(evaluate(jobs, zone, base, native_zone, cap, fires));
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    const Job& job = jobs[i];
    Instants systemd;
    for (auto t : fires[i]) {
      if (t > base && t <= job.end) {
        systemd.push_back(t);
      }
    }
    ++totals.compared;
    totals.fire_times += job.cron.size();
    if (systemd != job.cron) {
      ++totals.differences;
      std::ostringstream detail;
      std::set<sys_seconds> cron_set(job.cron.begin(), job.cron.end());
      std::set<sys_seconds> sd_set(systemd.begin(), systemd.end());
      int shown = 0;
      for (auto t : cron_set) {
        if (!sd_set.count(t) && shown++ < 5) {
          detail << "\n  cron only: " << text(t);
        }
      }
      for (auto t : sd_set) {
        if (!cron_set.count(t) && shown++ < 10) {
          detail << "\n  systemd only: " << text(t);
        }
      }
      std::string lines;
      for (const auto& l : job.written) {
        lines += "\n  OnCalendar=" + l;
      }
      ADD_FAILURE() << "'" << job.schedule->expr << "' in " << zone << " from " << text(base)
                    << " to " << text(job.end) << detail.str() << lines;
    }
  }
}

// Two hours before each transition of 2026 (at an odd second), and a base whose year holds
// 2028-02-29; UTC, without transitions, also gets one in early 2026.
std::vector<sys_seconds> basesFor(const std::string& zone) {
  const auto odd = std::chrono::hours(10) + std::chrono::seconds(13);
  std::vector<sys_seconds> bases = {date::sys_days{date::year{2027} / 12 / 10} + odd};
  if (zone == "UTC") {
    bases.push_back(date::sys_days{date::year{2026} / 1 / 15} + odd);
  }
  const date::time_zone* tz = date::locate_zone(zone);
  sys_seconds t = date::sys_days{date::year{2026} / 1 / 1};
  const sys_seconds stop = date::sys_days{date::year{2027} / 1 / 1};
  while (true) {
    const date::sys_info info = tz->get_info(t);
    if (info.end >= stop) {
      break;
    }
    bases.push_back(info.end - std::chrono::hours(2) + std::chrono::seconds(13));
    t = info.end;
  }
  return bases;
}

class CalendarEquivalence : public ::testing::TestWithParam<std::string> {};

TEST_P(CalendarEquivalence, SystemdFiresExactlyWhenCronDoes) {
  static const std::vector<Schedule> schedules = corpus();
  ASSERT_GE(schedules.size(), 1000u);
  Totals totals;
  const auto bases = basesFor(GetParam());
  for (sys_seconds base : bases) {
    ASSERT_NO_FATAL_FAILURE(checkZone(schedules, GetParam(), base, false, kCap, totals));
  }
  EXPECT_EQ(totals.differences, 0u);
  std::cout << GetParam() << ": " << totals.compared << " schedule/base pairs from " << bases.size()
            << " bases, " << totals.fire_times << " fire times compared, " << totals.dated_lines
            << " dated compensation lines, " << totals.differences << " differences\n";
}

INSTANTIATE_TEST_SUITE_P(Zones, CalendarEquivalence,
                         ::testing::Values("UTC", "Europe/Berlin", "America/New_York",
                                           "Australia/Lord_Howe"),
                         [](const auto& info) {
                           std::string name = info.param;
                           for (char& c : name) {
                             c = (c == '/') ? '_' : c;
                           }
                           return name;
                         });

// The units carry "<line> <zone>"; the equivalence test evaluates "<line>" with TZ=<zone> for
// speed. On a sample around every transition, the form the unit carries gives the same answer.
TEST(CalendarEquivalenceSample, SuffixAndEnvironmentAgree) {
  std::vector<Schedule> sample;
  for (const char* expr : {"30 2 * * *", "*/20 * * * *", "0 1-3 * * *", "15,45 * * * *",
                           "0 0 13 * 5", "*/7 1,2 25 10 *", "59 1 * * *", "0 */2 * * *"}) {
    Schedule s{expr, {}};
    sdk::CronError error;
    ASSERT_TRUE(sdk::CronExpression::parse(expr, s.cron, error));
    sample.push_back(std::move(s));
  }
  Totals totals;
  for (const char* zone : {"Europe/Berlin", "America/New_York"}) {
    for (sys_seconds base : basesFor(zone)) {
      if (base < date::sys_days{date::year{2026} / 2 / 1}) {
        continue;
      }
      ASSERT_NO_FATAL_FAILURE(checkZone(sample, zone, base, true, 40, totals));
    }
  }
  EXPECT_EQ(totals.differences, 0u);
}

}  // namespace
}  // namespace crontopus::plugins::systemd_timer
