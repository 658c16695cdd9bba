#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "Engine.h"

namespace Poco::Net {
class HTTPServer;
}

namespace crontopus::core::metrics {

// What the control plane threads tell the metrics, and nothing more: the control plane depends
// on this small interface, not on the registry or the HTTP server.
class ControlPlaneSink {
 public:
  virtual ~ControlPlaneSink() = default;
  // One failed call: `status` is the HTTP status, 0 when there was no HTTP answer.
  virtual void controlPlaneError(int status) = 0;
  // Check-ins waiting in the spools after a delivery pass.
  virtual void spoolDepth(std::size_t depth) = 0;
};

// The daemon's metrics. Thread-safe: the cycle thread, the control plane threads and the HTTP
// server threads all use it.
class Registry : public ControlPlaneSink {
 public:
  using Clock = std::chrono::steady_clock;

  explicit Registry(int sync_interval_seconds);

  void setSyncInterval(int seconds);
  // After each daemon cycle. `unix_now` is the wall clock (seconds), `now` the steady clock.
  void recordCycle(const CycleReport& report, std::chrono::duration<double> duration,
                   std::int64_t unix_now, Clock::time_point now);

  void controlPlaneError(int status) override;
  void spoolDepth(std::size_t depth) override;

  // Prometheus text exposition format 0.0.4.
  std::string exposition() const;

  struct Health {
    bool ok = false;
    std::string reason;  // one line
  };
  // Healthy while a cycle succeeded within the last 3 sync intervals.
  Health health(Clock::time_point now) const;

  static constexpr std::array<double, 11> kDurationBuckets = {0.05, 0.1, 0.25, 0.5, 1,  2.5,
                                                              5,    10,  30,   60,  300};

 private:
  mutable std::mutex mutex_;
  int sync_interval_;
  bool any_cycle_ = false;
  bool last_ok_ = false;
  std::string last_error_;
  std::int64_t last_sync_unix_ = 0;
  std::optional<Clock::time_point> last_success_;
  std::string revision_;
  std::map<std::string, std::size_t> jobs_;
  std::map<std::string, std::uint64_t> plan_changes_;
  std::uint64_t drift_corrections_ = 0;
  std::map<std::string, std::uint64_t> git_errors_;
  std::map<std::string, std::uint64_t> control_plane_errors_;
  std::size_t spool_depth_ = 0;
  std::array<std::uint64_t, kDurationBuckets.size()> buckets_{};
  std::uint64_t duration_count_ = 0;
  double duration_sum_ = 0;
};

// /metrics and /healthz over HTTP on `listen` (HOST:PORT, already validated by the config).
class Server {
 public:
  // Binds at once: throws Poco::Exception naming the address when it cannot.
  Server(const std::string& listen, const Registry& registry);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Stops accepting and waits for requests in flight; idempotent.
  void stop();

 private:
  std::unique_ptr<Poco::Net::HTTPServer> server_;
};

}  // namespace crontopus::core::metrics
