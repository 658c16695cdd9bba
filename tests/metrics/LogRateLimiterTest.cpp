#include <chrono>

#include <gtest/gtest.h>

#include "LogRateLimiter.h"

namespace crontopus::tests {
namespace {

using crontopus::core::LogRateLimiter;
using namespace std::chrono_literals;

TEST(LogRateLimiter, LogsTheFirstFailureThenAtMostOnceAnHourWhileItPersists) {
  LogRateLimiter::Clock::time_point now{};  // the injected clock
  LogRateLimiter limiter(1h, [&] { return now; });
  EXPECT_TRUE(limiter.allow());
  int logged = 0;
  // A failing cycle every 30 s for three hours (what the back-off would never allow, the worst
  // case): one line at the start and one per hour after it.
  for (int i = 1; i <= 360; ++i) {
    now += 30s;
    if (limiter.allow())
      ++logged;
  }
  EXPECT_EQ(logged, 3);
  now += 59min;
  EXPECT_FALSE(limiter.allow());
  EXPECT_EQ(limiter.suppressed(), 1u);
  now += 1min;
  EXPECT_TRUE(limiter.allow());
  EXPECT_EQ(limiter.suppressed(), 0u);
}

TEST(LogRateLimiter, ResetLogsTheNextOccurrenceAtOnce) {
  LogRateLimiter::Clock::time_point now{};
  LogRateLimiter limiter(1h, [&] { return now; });
  EXPECT_TRUE(limiter.allow());
  now += 1min;
  EXPECT_FALSE(limiter.allow());
  limiter.reset();  // the credentials were fixed; later they break again
  now += 1min;
  EXPECT_TRUE(limiter.allow());
  now += 1s;
  EXPECT_FALSE(limiter.allow());
}

}  // namespace
}  // namespace crontopus::tests
