#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "Config.h"
#include "State.h"
#include "controlplane/HttpClient.h"
#include "controlplane/Spool.h"
#include "controlplane/TokenFile.h"

namespace crontopus::core::metrics {
class ControlPlaneSink;
}

namespace crontopus::core::controlplane {

// The agent's side of the control plane, on two threads of its own so that a slow or absent
// control plane never delays a reconcile cycle:
// - the endpoint thread enrolls (when there is no token file and an enrollment token is
//   configured), sends a heartbeat every backend.heartbeat_interval seconds, and the job-instance
//   list whenever it changed and at least every 10 minutes;
// - the flush thread delivers spooled check-ins oldest first, backing off while the control
//   plane is unreachable.
// Failures are logged and retried; none stops the agent.
class ControlPlane {
 public:
  // Throws ConfigException when backend.api_url is unusable.
  explicit ControlPlane(const AgentConfig& config);
  ~ControlPlane();
  ControlPlane(const ControlPlane&) = delete;
  ControlPlane& operator=(const ControlPlane&) = delete;

  // Whether the configuration asks for a control plane at all (standalone otherwise).
  static bool configured(const AgentConfig& config) { return !config.backend.api_url.empty(); }

  // Another spool to deliver from, e.g. <home>/.crontopus/spool of the user the scheduler runs
  // jobs as (written by `run` as that user). Call before start(). The agent never creates it.
  void addSpool(const std::string& dir, const std::string& owner = {});

  // Where failed calls and the spool depth are counted (may be null). Call before start(); the
  // sink must outlive stop().
  void setMetrics(metrics::ControlPlaneSink* sink) { metrics_ = sink; }

  void start();
  // Cancels calls in flight and joins both threads; idempotent.
  void stop();

  // For a one-shot command (`apply`, after its cycle), instead of start(): on the calling thread,
  // enrolls when there is no token file and an enrollment token is configured, posts the job list
  // of the state directory when `jobs_changed` or when it just enrolled, then makes one pass over
  // the spools (stopping at the first check-in not delivered). Every call is bounded by the
  // client's timeouts and retries; failures are logged, never thrown.
  void runOnce(bool jobs_changed);

  // The managed jobs after a cycle (identity -> state). Sent when it differs from what the
  // control plane last accepted.
  void reportJobs(const std::map<std::string, JobState>& jobs);
  // SIGHUP: heartbeat and spool flush now, without waiting for the back-off.
  void wakeUp();

  // For tests and `status`: the token in use, if any.
  std::optional<AgentToken> token() const;

  static constexpr std::chrono::minutes kInstancesRefresh{10};

 private:
  using Clock = std::chrono::steady_clock;

  void endpointLoop();
  void flushLoop();
  // Loads or obtains a token; false when there is none yet (next attempt scheduled).
  bool acquireToken(Clock::time_point now);
  bool enroll(const std::string& why);
  void sendHeartbeat(const AgentToken& token, Clock::time_point now);
  void sendInstances(const AgentToken& token, Clock::time_point now);
  // One pass over the spool; returns the time of the next pass.
  Clock::time_point flushOnce(const AgentToken& token);
  bool waitUntil(Clock::time_point when, bool& flag);
  // Counts a call that got no 2xx answer.
  void countFailure(const HttpResponse& r) const;
  void reportSpoolDepth() const;

  const AgentConfig config_;
  metrics::ControlPlaneSink* metrics_ = nullptr;
  std::vector<Spool> spools_;  // the agent's own first
  std::unique_ptr<HttpClient> endpoint_client_;
  std::unique_ptr<HttpClient> flush_client_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  bool wake_endpoint_ = false;
  bool wake_flush_ = false;
  bool heartbeat_now_ = false;
  std::optional<AgentToken> token_;
  std::map<std::string, JobState> jobs_;
  bool started_ = false;
  bool one_shot_ = false;  // runOnce(): log lines speak of no later attempt

  // Endpoint thread only.
  Clock::time_point next_token_attempt_{};
  Clock::time_point next_heartbeat_{};
  Clock::time_point next_instances_{};
  int enroll_failures_ = 0;
  int flush_failures_ = 0;
  std::string last_token_problem_;
  std::string last_instances_sent_;
  bool endpoint_deleted_ = false;
  bool enrolled_ = false;  // enroll() succeeded in this process
  bool heartbeat_failing_ = false;

  std::thread endpoint_thread_;
  std::thread flush_thread_;
};

}  // namespace crontopus::core::controlplane
