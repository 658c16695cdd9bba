// For a corpus of cron expressions, the compiled triggers, expanded by the simulator and passed
// through what `run` does (gate, per-minute dedupe), start exactly at CronExpression's instants.
#include <date/date.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <map>

#include "ExpressionCorpus.h"
#include "TriggerCompiler.h"
#include "TriggerSimulator.h"

namespace crontopus::plugins::taskscheduler::test {
namespace {

using std::chrono::sys_seconds;

sys_seconds at(int y, unsigned m, unsigned d) {
  return sys_seconds{date::sys_days{date::year{y} / m / d}.time_since_epoch()};
}

// CronExpression's instants in [from, to), fetched in chunks: one call for a whole year's worth
// would search the full horizon (about 30 years) for sparse expressions.
bool instantsBetween(const sdk::CronExpression& expr, const std::string& zone, sys_seconds from,
                     sys_seconds to, std::vector<sys_seconds>& out, std::string& error) {
  out.clear();
  std::vector<sys_seconds> chunk;
  sys_seconds after = from - std::chrono::seconds(1);
  std::size_t want = 64;
  while (true) {
    if (!expr.nextFireTimes(after, zone, want, chunk, error)) {
      return false;
    }
    for (sys_seconds t : chunk) {
      if (t >= to) {
        return true;
      }
      out.push_back(t);
    }
    if (chunk.size() < want) {
      return true;
    }
    after = chunk.back();
    want = std::min<std::size_t>(want * 4, 1 << 16);
  }
}

struct Scenario {
  const char* job_zone;
  const char* host_zone;
};

// Same zone without offset changes, same zone with daylight saving (northern, southern, and
// Lord Howe's 30-minute shift), a UTC job on a DST host, and a foreign zone.
constexpr Scenario kScenarios[] = {
    {"UTC", "UTC"},
    {"Asia/Kolkata", "Asia/Kolkata"},
    {"Europe/Berlin", "Europe/Berlin"},
    {"America/New_York", "America/New_York"},
    {"Australia/Lord_Howe", "Australia/Lord_Howe"},
    {"UTC", "Europe/Berlin"},
    {"Asia/Tokyo", "Europe/Berlin"},
};

struct Tally {
  std::size_t total = 0;
  std::map<ScheduleForm, std::size_t> forms;
  std::map<FallbackCause, std::size_t> causes;
  std::size_t max_triggers = 0;
  std::string max_expression;
};

TEST(TriggerEquivalence, CompiledTriggersFireExactlyAtCronInstants) {
  const std::vector<std::string> corpus = expressionCorpus(1000);
  ASSERT_GE(corpus.size(), 1000U);
  const sys_seconds starts[] = {at(2026, 1, 1), at(2026, 10, 20), at(2027, 3, 1)};
  const auto year = std::chrono::hours(24 * 365);
  std::map<std::string, Tally> tallies;
  std::size_t checked_fires = 0;
  std::vector<sys_seconds> expected, runs;  // reused: a dense year is half a million instants
  std::size_t failures = 0;

  for (std::size_t i = 0; i < corpus.size(); ++i) {
    const std::string& text = corpus[i];
    sdk::CronExpression expr;
    sdk::CronError parse_error;
    ASSERT_TRUE(sdk::CronExpression::parse(text, expr, parse_error))
        << text << ": " << parse_error.field << ": " << parse_error.message;
    for (std::size_t s = 0; s < std::size(kScenarios); ++s) {
      const Scenario& scenario = kScenarios[s];
      // Every expression in the first three scenarios, the others in rotation.
      if (s >= 3 && i % (std::size(kScenarios) - 3) != s - 3) {
        continue;
      }
      CompiledSchedule compiled;
      std::string error;
      ASSERT_TRUE(compileSchedule(expr, scenario.job_zone, scenario.host_zone, compiled, error))
          << error;
      std::string label = std::string(scenario.job_zone) + " on " + scenario.host_zone;
      Tally& tally = tallies[label];
      ++tally.total;
      ++tally.forms[compiled.form];
      ++tally.causes[compiled.fallback_cause];
      if (compiled.triggers.size() > tally.max_triggers) {
        tally.max_triggers = compiled.triggers.size();
        tally.max_expression = text;
      }
      ASSERT_LE(compiled.triggers.size(), kMaxTriggers) << text;
      // The fallback only where the trigger limit or the zone forces it.
      if (compiled.form == ScheduleForm::kEveryMinute) {
        bool same_zone = std::string(scenario.job_zone) == scenario.host_zone;
        bool allowed = compiled.fallback_cause == FallbackCause::kTriggerLimit ||
                       (!same_zone && std::string(scenario.job_zone) != "UTC" &&
                        compiled.fallback_cause == FallbackCause::kForeignZone);
        ASSERT_TRUE(allowed) << text << " in " << label << ": " << compiled.reason;
      }
      if (expr.isReboot()) {
        continue;
      }
      for (sys_seconds from : starts) {
        const sys_seconds to = from + year;
        ASSERT_TRUE(instantsBetween(expr, scenario.job_zone, from, to, expected, error)) << error;
        Simulation sim = simulate(compiled.triggers, scenario.host_zone, from, to);
        ASSERT_EQ(sim.undocumented, 0U)
            << text << " in " << label
            << ": relies on undocumented behaviour: " << sim.first_undocumented << "\n"
            << compiled.report;
        runs.clear();
        auto cursor = expected.begin();  // starts are sorted: the gate walks the instants along
        for (std::size_t k = 0; k < sim.starts.size(); ++k) {
          sys_seconds minute = sim.starts[k];
          // Per-minute dedupe: the stamp holds the last handled minute.
          if (!runs.empty() && runs.back() >= minute) {
            ASSERT_TRUE(compiled.needs_dedupe)
                << text << " in " << label << ": two starts at one minute without dedupe";
            continue;
          }
          // The gate: firesAt(minute). Checked against firesAt itself for a sample; the set of
          // expected instants stands in for it elsewhere (same rule, much faster).
          if (compiled.needs_gate) {
            while (cursor != expected.end() && *cursor < minute) {
              ++cursor;
            }
            bool fires = cursor != expected.end() && *cursor == minute;
            if (k % 4099 == 0) {
              std::string gate_error;
              ASSERT_EQ(expr.firesAt(minute, scenario.job_zone, gate_error), fires)
                  << text << " at " << date::format("%F %T", minute) << " " << gate_error;
            }
            if (!fires) {
              continue;
            }
          }
          runs.push_back(minute);
        }
        checked_fires += expected.size();
        if (runs != expected) {
          ++failures;
          auto mismatch = std::mismatch(runs.begin(), runs.end(), expected.begin(), expected.end());
          std::string where = mismatch.first != runs.end()
                                  ? "run at " + date::format("%F %T", *mismatch.first)
                                  : "no run at " + date::format("%F %T", *mismatch.second);
          ADD_FAILURE() << text << " in " << label << " from " << date::format("%F", from) << ": "
                        << runs.size() << " runs, " << expected.size()
                        << " cron instants; first difference: " << where << "\n"
                        << compiled.report;
          if (failures > 10) {
            FAIL() << "too many failures";
          }
        }
      }
    }
  }

  std::printf("trigger equivalence: %zu expressions, %zu cron instants checked\n", corpus.size(),
              checked_fires);
  std::size_t all = 0, native = 0, native_gated = 0, max_triggers = 0;
  std::string max_expression;
  for (const auto& [label, tally] : tallies) {
    auto count = [&](ScheduleForm f) {
      auto it = tally.forms.find(f);
      return it == tally.forms.end() ? std::size_t{0} : it->second;
    };
    auto cause = [&](FallbackCause c) {
      auto it = tally.causes.find(c);
      return it == tally.causes.end() ? std::size_t{0} : it->second;
    };
    std::size_t n = tally.total - count(ScheduleForm::kBoot);
    std::printf(
        "  %-44s %4zu expr: native %5.1f%%, native-gated %4.1f%%, every-minute %5.1f%% "
        "(limit %zu, zone %zu); max %zu triggers (%s)\n",
        label.c_str(), n, 100.0 * count(ScheduleForm::kNative) / n,
        100.0 * count(ScheduleForm::kNativeGated) / n,
        100.0 * count(ScheduleForm::kEveryMinute) / n, cause(FallbackCause::kTriggerLimit),
        cause(FallbackCause::kForeignZone), tally.max_triggers, tally.max_expression.c_str());
    all += n;
    native += count(ScheduleForm::kNative);
    native_gated += count(ScheduleForm::kNativeGated);
    if (tally.max_triggers > max_triggers) {
      max_triggers = tally.max_triggers;
      max_expression = tally.max_expression;
    }
  }
  std::printf(
      "  overall: %zu compilations, native %.1f%%, native-gated %.1f%%, largest trigger count "
      "%zu (%s)\n",
      all, 100.0 * native / all, 100.0 * native_gated / all, max_triggers, max_expression.c_str());
  RecordProperty("native_share_percent", static_cast<int>(100.0 * native / all));
  RecordProperty("max_triggers", static_cast<int>(max_triggers));
}

}  // namespace
}  // namespace crontopus::plugins::taskscheduler::test
