// Fleet-friendly polling: the per-host jitter and the back-off after failures.
#include <chrono>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "Polling.h"

namespace crontopus::core::polling {
namespace {

using namespace std::chrono_literals;
using sdk::ErrorCode;

TEST(Polling, JitterIsStablePerHostAndAgentAndWithinTenPercent) {
  const auto a = stableJitter("machine-1", "agent", 30);
  EXPECT_EQ(stableJitter("machine-1", "agent", 30), a);  // the same host waits the same
  EXPECT_GE(a, 0ms);
  EXPECT_LT(a, 3000ms);
  // A fleet spreads out: 200 hosts with the same interval land on many different offsets, and
  // never outside 0..10 % of the interval.
  std::set<std::int64_t> offsets;
  for (int i = 0; i < 200; ++i) {
    const auto j = stableJitter("machine-" + std::to_string(i), "agent", 5);
    EXPECT_GE(j, 0ms);
    EXPECT_LT(j, 500ms);
    offsets.insert(j.count());
  }
  EXPECT_GT(offsets.size(), 150u);
  // Two agents on one host (different names) do not poll in step either.
  EXPECT_NE(stableJitter("machine-1", "agent-a", 3600), stableJitter("machine-1", "agent-b", 3600));
  EXPECT_EQ(stableJitter("machine-1", "agent", 0), 0ms);
}

TEST(Polling, FailuresDoubleTheWaitUpToTenIntervals) {
  const auto jitter = 123ms;
  EXPECT_EQ(nextDelay(30, jitter, true, ErrorCode::kOk, 0), 30s + jitter);
  EXPECT_EQ(nextDelay(30, jitter, false, ErrorCode::kNetwork, 1), 60s + jitter);
  EXPECT_EQ(nextDelay(30, jitter, false, ErrorCode::kNetwork, 2), 120s + jitter);
  EXPECT_EQ(nextDelay(30, jitter, false, ErrorCode::kNetwork, 3), 240s + jitter);
  EXPECT_EQ(nextDelay(30, jitter, false, ErrorCode::kNetwork, 4), 300s + jitter);  // the cap
  EXPECT_EQ(nextDelay(30, jitter, false, ErrorCode::kNetwork, 1000), 300s + jitter);
  // A success after failures: back to the interval at once.
  EXPECT_EQ(nextDelay(30, jitter, true, ErrorCode::kOk, 0), 30s + jitter);
}

TEST(Polling, RejectedCredentialsBackOffHarder) {
  const auto jitter = 0ms;
  // The first rejection already waits longer than three network failures in a row.
  EXPECT_GT(nextDelay(5, jitter, false, ErrorCode::kAuth, 1),
            nextDelay(5, jitter, false, ErrorCode::kNetwork, 3));
  EXPECT_EQ(nextDelay(5, jitter, false, ErrorCode::kAuth, 1), 50s);  // 16x, capped at 10x
  EXPECT_EQ(nextDelay(5, jitter, false, ErrorCode::kAuth, 7), 50s);
  EXPECT_EQ(nextDelay(3600, jitter, false, ErrorCode::kAuth, 1), 36000s);
}

}  // namespace
}  // namespace crontopus::core::polling
