#include <chrono>

#include <gtest/gtest.h>

#include "Config.h"
#include "PromText.h"
#include "metrics/Metrics.h"

namespace crontopus::tests {
namespace {

using crontopus::core::CycleReport;
using crontopus::core::metrics::Registry;
using namespace std::chrono_literals;

CycleReport goodCycle() {
  CycleReport r;
  r.revision = "0123abcd";
  r.applied = true;
  r.plan.items.push_back({sdk::ChangeKind::kAdd, "prod/a", "new", true});
  r.plan.items.push_back({sdk::ChangeKind::kDrift, "prod/b", "edited", true});
  r.plan.jobs_after["prod/a"].status = "scheduled";
  r.plan.jobs_after["prod/b"].status = "paused";
  r.plan.jobs_after["prod/c"].status = "error";
  r.plan.jobs_after["prod/d"].status = "scheduled";
  return r;
}

TEST(MetricsRegistry, ExpositionIsStrictlyValidAndCountsWhatTheCyclesDid) {
  Registry registry(30);
  const auto t0 = Registry::Clock::now();
  auto before = parsePromText(registry.exposition());
  EXPECT_EQ(before.at("crontopus_last_sync_success"), 0);
  EXPECT_EQ(before.at("crontopus_cycle_duration_seconds_count"), 0);

  registry.recordCycle(goodCycle(), 0.3s, 1700000000, t0);
  CycleReport failed;
  failed.ok = false;
  failed.failure = sdk::ErrorCode::kAuth;
  failed.errors.push_back("git sync failed (auth): authentication failed");
  registry.recordCycle(failed, 2s, 1700000030, t0 + 30s);
  registry.controlPlaneError(0);
  registry.controlPlaneError(503);
  registry.controlPlaneError(401);
  registry.controlPlaneError(502);
  registry.spoolDepth(7);

  const auto m = parsePromText(registry.exposition());
  EXPECT_EQ(m.at("crontopus_last_sync_timestamp_seconds"), 1700000030);
  EXPECT_EQ(m.at("crontopus_last_sync_success"), 0);
  EXPECT_EQ(m.at("crontopus_revision_info{revision=\"0123abcd\"}"), 1);
  EXPECT_EQ(m.at("crontopus_jobs{status=\"scheduled\"}"), 2);
  EXPECT_EQ(m.at("crontopus_jobs{status=\"paused\"}"), 1);
  EXPECT_EQ(m.at("crontopus_jobs{status=\"error\"}"), 1);
  EXPECT_EQ(m.at("crontopus_plan_changes_total{kind=\"add\"}"), 1);
  EXPECT_EQ(m.at("crontopus_plan_changes_total{kind=\"drift\"}"), 1);
  EXPECT_EQ(m.at("crontopus_plan_changes_total{kind=\"remove\"}"), 0);
  EXPECT_EQ(m.at("crontopus_drift_corrections_total"), 1);
  EXPECT_EQ(m.at("crontopus_git_errors_total{kind=\"auth\"}"), 1);
  EXPECT_EQ(m.at("crontopus_git_errors_total{kind=\"network\"}"), 0);
  EXPECT_EQ(m.at("crontopus_control_plane_errors_total{status_class=\"network\"}"), 1);
  EXPECT_EQ(m.at("crontopus_control_plane_errors_total{status_class=\"5xx\"}"), 2);
  EXPECT_EQ(m.at("crontopus_control_plane_errors_total{status_class=\"4xx\"}"), 1);
  EXPECT_EQ(m.at("crontopus_spool_depth"), 7);
  EXPECT_EQ(m.at("crontopus_cycle_duration_seconds_bucket{le=\"0.25\"}"), 0);
  EXPECT_EQ(m.at("crontopus_cycle_duration_seconds_bucket{le=\"0.5\"}"), 1);
  EXPECT_EQ(m.at("crontopus_cycle_duration_seconds_bucket{le=\"2.5\"}"), 2);
  EXPECT_EQ(m.at("crontopus_cycle_duration_seconds_bucket{le=\"+Inf\"}"), 2);
  EXPECT_EQ(m.at("crontopus_cycle_duration_seconds_count"), 2);
  EXPECT_DOUBLE_EQ(m.at("crontopus_cycle_duration_seconds_sum"), 2.3);
}

TEST(MetricsRegistry, ARevisionWithQuotesIsEscaped) {
  Registry registry(30);
  CycleReport r = goodCycle();
  r.revision = "a\"b\\c\nd";
  registry.recordCycle(r, 0.1s, 1, Registry::Clock::now());
  const auto m = parsePromText(registry.exposition());
  EXPECT_EQ(m.count("crontopus_revision_info{revision=\"a\"b\\c\nd\"}"), 1u);
}

TEST(MetricsRegistry, HealthyWhileACycleSucceededWithinThreeIntervals) {
  Registry registry(10);
  const auto t0 = Registry::Clock::now();
  EXPECT_FALSE(registry.health(t0).ok);
  EXPECT_EQ(registry.health(t0).reason, "no cycle has finished yet");
  CycleReport failed;
  failed.ok = false;
  failed.errors.push_back("git sync failed (network): unreachable");
  registry.recordCycle(failed, 1s, 1, t0);
  EXPECT_FALSE(registry.health(t0).ok);
  EXPECT_NE(registry.health(t0).reason.find("unreachable"), std::string::npos);

  registry.recordCycle(goodCycle(), 1s, 2, t0 + 1s);
  EXPECT_TRUE(registry.health(t0 + 1s).ok);
  registry.recordCycle(failed, 1s, 3, t0 + 11s);
  EXPECT_TRUE(registry.health(t0 + 31s).ok);  // one failure within the window is tolerated
  const auto late = registry.health(t0 + 32s);
  EXPECT_FALSE(late.ok);
  EXPECT_EQ(late.reason,
            "last successful cycle 31 s ago (limit 30 s); last error: git sync failed (network): "
            "unreachable");
  registry.setSyncInterval(60);
  EXPECT_TRUE(registry.health(t0 + 32s).ok);
}

TEST(MetricsConfig, ANonLoopbackListenAddressIsRefusedWithItsPosition) {
  try {
    core::parseConfig("git:\n  url: /r\nmetrics:\n  listen: 10.1.2.3:9090\n", "c.yaml");
    FAIL() << "accepted";
  } catch (const core::ConfigException& e) {
    EXPECT_NE(e.message().find("c.yaml:4:11: metrics.listen: \"10.1.2.3\" is not a loopback"),
              std::string::npos)
        << e.message();
  }
  EXPECT_THROW(core::parseConfig("metrics:\n  listen: 0.0.0.0:9090\n", "c.yaml"),
               core::ConfigException);
  EXPECT_THROW(core::parseConfig("metrics:\n  listen: example.com:9090\n", "c.yaml"),
               core::ConfigException);
  EXPECT_THROW(core::parseConfig("metrics:\n  listen: 127.0.0.1\n", "c.yaml"),
               core::ConfigException);
  EXPECT_THROW(core::parseConfig("metrics:\n  listen: 127.0.0.1:70000\n", "c.yaml"),
               core::ConfigException);
  const auto remote =
      core::parseConfig("metrics:\n  listen: 10.1.2.3:9090\n  allow_remote: true\n", "c.yaml");
  EXPECT_EQ(remote.metrics.listen, "10.1.2.3:9090");
  EXPECT_TRUE(remote.metrics.allow_remote);
  EXPECT_EQ(core::parseConfig("metrics:\n  listen: \"[::1]:9090\"\n", "c.yaml").metrics.listen,
            "[::1]:9090");
  EXPECT_EQ(core::parseConfig("metrics:\n  listen: localhost:9090\n", "c.yaml").metrics.listen,
            "localhost:9090");
  const auto none = core::parseConfig("git:\n  url: /r\n", "c.yaml");
  EXPECT_EQ(none.metrics.listen, "");
  EXPECT_FALSE(none.metrics.allow_remote);
}

}  // namespace
}  // namespace crontopus::tests
