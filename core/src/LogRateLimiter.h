#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>

namespace crontopus::core {

// Lets a recurring message through the first time, then at most once per `period` while the
// condition persists; reset() when it clears, so that its next occurrence is logged at once.
// Used for rejected git credentials: they fail every cycle until someone fixes them, and one line
// an hour says as much as one per cycle. Not thread-safe: one thread owns it.
class LogRateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  explicit LogRateLimiter(
      Clock::duration period, std::function<Clock::time_point()> now = [] { return Clock::now(); })
      : period_(period), now_(std::move(now)) {}

  // Whether to log this occurrence.
  bool allow() {
    const Clock::time_point now = now_();
    if (last_ && now - *last_ < period_) {
      ++suppressed_;
      return false;
    }
    last_ = now;
    suppressed_ = 0;
    return true;
  }
  void reset() {
    last_.reset();
    suppressed_ = 0;
  }
  // Occurrences held back since the last one let through.
  std::size_t suppressed() const { return suppressed_; }

 private:
  Clock::duration period_;
  std::function<Clock::time_point()> now_;
  std::optional<Clock::time_point> last_;
  std::size_t suppressed_ = 0;
};

}  // namespace crontopus::core
