#include "controlplane/ControlPlane.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <random>

#include <Poco/Logger.h>

#include "controlplane/CheckIn.h"
#include "controlplane/Protocol.h"
#include "metrics/Metrics.h"
#include "platform/Files.h"
#include "platform/Platform.h"

namespace crontopus::core::controlplane {

namespace {

using namespace std::chrono_literals;

constexpr auto kTokenRecheck = 60s;           // no token file and nothing to enroll with
constexpr auto kEnrollRejectedRetry = 15min;  // 401/403/422: the operator has to act
constexpr auto kEnrollMaxBackoff = 15min;
constexpr auto kDeletedRetry = 10min;  // endpoint deleted and no enrollment token
constexpr auto kSpoolPoll = 2s;
constexpr auto kFlushBaseBackoff = 1s;
constexpr auto kFlushMaxBackoff = 5min;
constexpr auto kFlushAuthBackoff = 5min;  // 401/403/404: waits for a (re-)enrollment

Poco::Logger& log() {
  return Poco::Logger::get("crontopus.controlplane");
}

std::chrono::milliseconds grow(std::chrono::milliseconds base, int failures,
                               std::chrono::milliseconds cap) {
  const int shift = std::clamp(failures - 1, 0, 20);
  const auto grown = base * (std::int64_t{1} << shift);
  const auto capped = std::min<std::chrono::milliseconds>(grown, cap);
  thread_local std::mt19937_64 random{std::random_device{}()};
  std::uniform_int_distribution<std::int64_t> pick(0, capped.count() / 2);
  return capped / 2 + std::chrono::milliseconds(pick(random));
}

HttpSettings settingsFor(const AgentConfig& config) {
  HttpSettings s;
  s.api_url = config.backend.api_url;
  s.ca_file = config.backend.ca_file;
  s.allow_insecure_http = config.backend.allow_insecure_http;
  s.platform = config.agent.platform;
  s.connect_timeout = 10s;
  s.total_timeout = 30s;
  return s;
}

bool permanentRejection(int status) {
  return status == 400 || status == 413 || status == 422;
}

std::string enrollmentHint(const HttpResponse& r) {
  switch (r.status) {
    case 401:
      return "check backend.enrollment_token: it is unknown to the control plane, expired or used "
             "up; create a new one there";
    case 403:
      return "the enrollment request carried no usable Authorization header; check that "
             "backend.enrollment_token is set and that no proxy strips the header";
    case 422:
      return "the control plane rejected the enrollment data; check agent.name, agent.hostname "
             "and that the agent version matches the control plane's API";
    default:
      return "check backend.api_url and that the control plane is reachable";
  }
}

}  // namespace

ControlPlane::ControlPlane(const AgentConfig& config)
    : config_(config), spools_{Spool(spoolDirectory(config))} {
  try {
    endpoint_client_ = std::make_unique<HttpClient>(settingsFor(config_));
    flush_client_ = std::make_unique<HttpClient>(settingsFor(config_));
  } catch (const ControlPlaneException& e) {
    throw ConfigException(config_.source_file + ": " + e.message());
  }
  jobs_ = loadState(config_.agent.state_dir).jobs;
}

ControlPlane::~ControlPlane() {
  stop();
}

void ControlPlane::addSpool(const std::string& dir, const std::string& owner) {
  std::lock_guard<std::mutex> guard(mutex_);
  if (!started_ && dir != spools_.front().dir())
    spools_.emplace_back(dir, owner);
}

void ControlPlane::start() {
  std::lock_guard<std::mutex> guard(mutex_);
  if (started_)
    return;
  started_ = true;
  platform::makeDirectories(spools_.front().dir(), 0700);
  endpoint_thread_ = std::thread([this] { endpointLoop(); });
  flush_thread_ = std::thread([this] { flushLoop(); });
}

void ControlPlane::stop() {
  {
    std::lock_guard<std::mutex> guard(mutex_);
    stop_ = true;
    wake_.notify_all();
  }
  endpoint_client_->cancel();
  flush_client_->cancel();
  if (endpoint_thread_.joinable())
    endpoint_thread_.join();
  if (flush_thread_.joinable())
    flush_thread_.join();
}

void ControlPlane::runOnce(bool jobs_changed) {
  one_shot_ = true;
  try {
    platform::makeDirectories(spools_.front().dir(), 0700);
    if (!acquireToken(Clock::now()))
      return;  // logged: no token file and no enrollment token, a bad token file, a refusal
    const std::optional<AgentToken> token = this->token();
    // A new endpoint has no job list yet, whatever the cycle did.
    if (jobs_changed || enrolled_)
      sendInstances(*token, Clock::now());
    for (const auto& spool : spools_)
      spool.removeStaleTemporaries(3600);
    flushOnce(*token);
  } catch (const Poco::Exception& e) {
    log().error("control plane: " + e.displayText());
  } catch (const std::exception& e) {
    log().error(std::string("control plane: ") + e.what());
  }
}

void ControlPlane::reportJobs(const std::map<std::string, JobState>& jobs) {
  std::lock_guard<std::mutex> guard(mutex_);
  jobs_ = jobs;
  wake_endpoint_ = true;
  wake_.notify_all();
}

void ControlPlane::wakeUp() {
  std::lock_guard<std::mutex> guard(mutex_);
  wake_endpoint_ = true;
  wake_flush_ = true;
  flush_failures_ = 0;
  heartbeat_now_ = true;
  wake_.notify_all();
}

std::optional<AgentToken> ControlPlane::token() const {
  std::lock_guard<std::mutex> guard(mutex_);
  return token_;
}

bool ControlPlane::waitUntil(Clock::time_point when, bool& flag) {
  std::unique_lock<std::mutex> guard(mutex_);
  wake_.wait_until(guard, when, [&] { return stop_ || flag; });
  flag = false;
  return !stop_;
}

bool ControlPlane::acquireToken(Clock::time_point now) {
  if (now < next_token_attempt_)
    return false;
  try {
    if (auto t = readTokenFile(config_.agent.token_path)) {
      std::lock_guard<std::mutex> guard(mutex_);
      token_ = t;
      last_token_problem_.clear();
      wake_flush_ = true;
      wake_.notify_all();
      log().information("control plane " + config_.backend.api_url + ": endpoint " +
                        std::to_string(t->endpoint_id));
      return true;
    }
  } catch (const TokenFileException& e) {
    // Enrolling again would hide the problem and orphan the endpoint: the operator decides.
    if (e.message() != last_token_problem_)
      log().error(e.message() + "; not talking to the control plane until it is fixed");
    last_token_problem_ = e.message();
    next_token_attempt_ = now + kTokenRecheck;
    return false;
  }
  if (config_.backend.enrollment_token.empty()) {
    const std::string problem = "no token file at " + config_.agent.token_path +
                                " and backend.enrollment_token is empty: this agent is not "
                                "enrolled, runs are spooled until it is";
    if (problem != last_token_problem_)
      log().warning(problem);
    last_token_problem_ = problem;
    next_token_attempt_ = now + kTokenRecheck;
    return false;
  }
  return enroll("no token file yet");
}

bool ControlPlane::enroll(const std::string& why) {
  log().information("enrolling with " + config_.backend.api_url + " (" + why + ")");
  RetryPolicy policy;
  policy.max_attempts = 3;
  policy.max_wait = 60s;
  const HttpResponse r = endpoint_client_->post("/api/endpoints/enroll",
                                                enrollmentBody(config_, platform::rawMachineId()),
                                                config_.backend.enrollment_token, policy);
  countFailure(r);
  const auto now = Clock::now();
  if (r.status == 201 || r.status == 200) {
    try {
      const AgentToken t = parseEnrollmentResponse(r.body);
      writeTokenFile(config_.agent.token_path, t);
      {
        std::lock_guard<std::mutex> guard(mutex_);
        token_ = t;
        wake_flush_ = true;
        flush_failures_ = 0;
        wake_.notify_all();
      }
      enroll_failures_ = 0;
      enrolled_ = true;
      endpoint_deleted_ = false;
      last_token_problem_.clear();
      last_instances_sent_.clear();
      next_heartbeat_ = now;
      next_instances_ = now;
      log().information("enrolled as endpoint " + std::to_string(t.endpoint_id) +
                        "; token written to " + config_.agent.token_path);
      return true;
    } catch (const Poco::Exception& e) {
      log().error("enrollment: " + e.message());
    }
  } else if (r.status == 401 || r.status == 403 || r.status == 422) {
    log().error("enrollment refused: " + r.describe() + "; " + enrollmentHint(r) +
                (one_shot_ ? ". The scheduler side is not affected"
                           : ". The scheduler side keeps running; next attempt in 15 minutes"));
    next_token_attempt_ = now + kEnrollRejectedRetry;
    return false;
  }
  ++enroll_failures_;
  auto delay = grow(30s, enroll_failures_, kEnrollMaxBackoff);
  if (r.retry_after.count() >= 0)
    delay = std::max(delay, r.retry_after);
  next_token_attempt_ = now + delay;
  return false;
}

void ControlPlane::sendHeartbeat(const AgentToken& token, Clock::time_point now) {
  const std::chrono::seconds interval(config_.backend.heartbeat_interval);
  RetryPolicy policy;
  policy.max_attempts = 2;
  policy.max_wait = std::min<std::chrono::milliseconds>(interval, 30s);
  const HttpResponse r =
      endpoint_client_->post("/api/endpoints/" + std::to_string(token.endpoint_id) + "/heartbeat",
                             heartbeatBody(config_.agent.platform), token.token, policy);
  countFailure(r);
  next_heartbeat_ = now + interval;
  if (r.ok() && heartbeat_failing_)
    log().information("heartbeat accepted again by " + config_.backend.api_url);
  heartbeat_failing_ = !r.ok();
  if (r.status != 404) {
    endpoint_deleted_ = false;
    return;
  }
  log().error("the control plane says endpoint " + std::to_string(token.endpoint_id) +
              " does not exist: it was deleted there");
  endpoint_deleted_ = true;
  if (config_.backend.enrollment_token.empty()) {
    log().warning(
        "backend.enrollment_token is not set, so the agent cannot enroll again; jobs "
        "keep running locally and runs are spooled. Retrying every 10 minutes; to "
        "re-enroll, set an enrollment token and restart the agent");
    next_heartbeat_ = now + std::max<std::chrono::seconds>(interval, kDeletedRetry);
    return;
  }
  // The new token file replaces the old one atomically: `run` always finds one of the two.
  if (!enroll("endpoint " + std::to_string(token.endpoint_id) + " was deleted")) {
    next_heartbeat_ = std::max(next_heartbeat_, next_token_attempt_);
  }
}

void ControlPlane::sendInstances(const AgentToken& token, Clock::time_point now) {
  std::string body;
  {
    std::lock_guard<std::mutex> guard(mutex_);
    body = jobInstancesBody(jobs_);
  }
  if (body == last_instances_sent_ && now < next_instances_)
    return;
  RetryPolicy policy;
  policy.max_attempts = 2;
  policy.max_wait = 30s;
  const HttpResponse r = endpoint_client_->post(
      "/api/endpoints/" + std::to_string(token.endpoint_id) + "/job-instances", body, token.token,
      policy);
  countFailure(r);
  if (r.ok()) {
    last_instances_sent_ = body;
    next_instances_ = now + kInstancesRefresh;
  } else {
    // Tried again with the next heartbeat.
    last_instances_sent_.clear();
    next_instances_ = next_heartbeat_;
  }
}

void ControlPlane::endpointLoop() {
  try {
    while (true) {
      const auto now = Clock::now();
      std::optional<AgentToken> token;
      {
        std::lock_guard<std::mutex> guard(mutex_);
        if (stop_)
          return;
        token = token_;
        if (heartbeat_now_) {
          next_heartbeat_ = now;
          next_token_attempt_ = std::min(next_token_attempt_, now);
        }
        heartbeat_now_ = false;
      }
      if (!token && acquireToken(now)) {
        std::lock_guard<std::mutex> guard(mutex_);
        token = token_;
      }
      Clock::time_point next = next_token_attempt_;
      if (token) {
        if (Clock::now() >= next_heartbeat_)
          sendHeartbeat(*token, Clock::now());
        std::optional<AgentToken> current = this->token();
        if (current && !endpoint_deleted_)
          sendInstances(*current, Clock::now());
        next = std::min(next_heartbeat_, next_instances_);
        if (endpoint_deleted_)
          next = next_heartbeat_;
      }
      if (!waitUntil(std::max(next, Clock::now() + 10ms), wake_endpoint_))
        return;
    }
  } catch (const std::exception& e) {
    log().error(std::string("control plane endpoint thread stopped: ") + e.what());
  }
}

ControlPlane::Clock::time_point ControlPlane::flushOnce(const AgentToken& token) {
  std::size_t delivered = 0;
  // Oldest first across all spools: the names start with the time the run ended.
  std::vector<std::pair<std::string, const Spool*>> queue;
  for (const auto& spool : spools_) {
    for (auto& name : spool.pending())
      queue.emplace_back(std::move(name), &spool);
  }
  std::sort(queue.begin(), queue.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  auto summary = [&] {
    if (delivered > 0)
      log().information("delivered " + std::to_string(delivered) + " spooled check-in(s)");
  };
  for (const auto& [name, spool] : queue) {
    {
      std::lock_guard<std::mutex> guard(mutex_);
      if (stop_)
        break;
    }
    const std::string path = spool->dir() + "/" + name;
    std::string body;
    try {
      body = withEndpointId(spool->read(name), token.endpoint_id);
    } catch (const Poco::FileNotFoundException&) {
      continue;
    } catch (const Poco::Exception& e) {
      // Kept for the operator, out of the queue: it can never be sent as it is.
      if (std::rename(path.c_str(), (path + ".corrupt").c_str()) != 0) {
        log().error("cannot set aside " + path + ": " + std::strerror(errno));
        summary();
        return Clock::now() + kFlushMaxBackoff;
      }
      log().error("spooled check-in " + path + " is not a valid check-in (" + e.message() +
                  "); renamed to " + name + ".corrupt");
      continue;
    }
    RetryPolicy policy;
    policy.max_attempts = 1;  // this loop is the retry, with its own back-off
    const HttpResponse r = flush_client_->post("/api/runs/check-in", body, token.token, policy);
    countFailure(r);
    if (r.status == 201) {
      // A kill between the server's commit and this unlink sends this one check-in again after
      // the restart: the only duplicate possible (README, "The control plane").
      spool->remove(name);
      ++delivered;
      std::lock_guard<std::mutex> guard(mutex_);
      flush_failures_ = 0;
      continue;
    }
    if (permanentRejection(r.status)) {
      log().error("the control plane can never accept spooled check-in " + path + " (" +
                  r.describe() + "); removed from the spool (the run is in the local run log)");
      spool->remove(name);
      continue;
    }
    summary();
    if (r.ok()) {
      log().warning("POST /api/runs/check-in answered " + std::to_string(r.status) +
                    " instead of 201; " + name +
                    " stays in the spool (is backend.api_url the "
                    "Crontopus API, not a proxy's page?)");
    }
    if (r.status == 401 || r.status == 403 || r.status == 404)
      return Clock::now() + kFlushAuthBackoff;
    int failures = 0;
    {
      std::lock_guard<std::mutex> guard(mutex_);
      failures = ++flush_failures_;
    }
    auto delay = grow(kFlushBaseBackoff, failures, kFlushMaxBackoff);
    if (r.retry_after.count() >= 0)
      delay = std::max(delay, r.retry_after);
    return Clock::now() + delay;
  }
  summary();
  return Clock::now() + (queue.empty() ? kSpoolPoll : 0s);
}

void ControlPlane::countFailure(const HttpResponse& r) const {
  if (metrics_ != nullptr && !r.ok())
    metrics_->controlPlaneError(r.status);
}

void ControlPlane::reportSpoolDepth() const {
  if (metrics_ == nullptr)
    return;
  std::size_t depth = 0;
  try {
    for (const auto& spool : spools_)
      depth += spool.pending().size();
  } catch (const Poco::Exception& e) {
    log().debug("spool depth: " + e.displayText());  // flushOnce logs the same problem
    return;
  }
  metrics_->spoolDepth(depth);
}

void ControlPlane::flushLoop() {
  try {
    for (const auto& spool : spools_)
      spool.removeStaleTemporaries(3600);
    while (true) {
      std::optional<AgentToken> token = this->token();
      Clock::time_point next = Clock::now() + kSpoolPoll;
      try {
        if (token)
          next = flushOnce(*token);
      } catch (const Poco::Exception& e) {
        log().error("check-in spool: " + e.displayText() + "; trying again in a minute");
        next = Clock::now() + 60s;
      }
      reportSpoolDepth();
      if (!waitUntil(next, wake_flush_))
        return;
    }
  } catch (const std::exception& e) {
    log().error(std::string("control plane spool thread stopped: ") + e.what());
  }
}

}  // namespace crontopus::core::controlplane
