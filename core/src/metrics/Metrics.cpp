#include "metrics/Metrics.h"

#include <cstdio>
#include <sstream>

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>

namespace crontopus::core::metrics {

namespace {

const char* const kStatuses[] = {"scheduled", "paused", "error"};

std::string statusClass(int status) {
  if (status == 0)
    return "network";
  if (status >= 100 && status < 600)
    return std::to_string(status / 100) + "xx";
  return "other";
}

// Label values escape backslash, double quote and newline (text format 0.0.4).
std::string escapeLabel(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string number(double v) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.17g", v);
  return buffer;
}

void header(std::ostringstream& out, const std::string& name, const std::string& type,
            const std::string& help) {
  out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
}

}  // namespace

Registry::Registry(int sync_interval_seconds) : sync_interval_(sync_interval_seconds) {
  for (auto kind : {sdk::ChangeKind::kAdd, sdk::ChangeKind::kUpdate, sdk::ChangeKind::kPause,
                    sdk::ChangeKind::kResume, sdk::ChangeKind::kRemove, sdk::ChangeKind::kDrift})
    plan_changes_[sdk::changeKindName(kind)] = 0;
  for (int code = static_cast<int>(sdk::ErrorCode::kConfig);
       code <= static_cast<int>(sdk::ErrorCode::kInternal); ++code)
    git_errors_[sdk::errorCodeName(static_cast<sdk::ErrorCode>(code))] = 0;
  for (const char* c : {"network", "4xx", "5xx"})
    control_plane_errors_[c] = 0;
  for (const char* s : kStatuses)
    jobs_[s] = 0;
}

void Registry::setSyncInterval(int seconds) {
  std::lock_guard<std::mutex> guard(mutex_);
  sync_interval_ = seconds;
}

void Registry::recordCycle(const CycleReport& report, std::chrono::duration<double> duration,
                           std::int64_t unix_now, Clock::time_point now) {
  std::lock_guard<std::mutex> guard(mutex_);
  any_cycle_ = true;
  last_ok_ = report.ok;
  last_sync_unix_ = unix_now;
  last_error_ = report.ok || report.errors.empty() ? std::string() : report.errors.front();
  if (report.ok)
    last_success_ = now;
  // The revision is set only once the sync succeeded: a failed cycle without one failed there.
  if (!report.ok && report.revision.empty())
    ++git_errors_[sdk::errorCodeName(report.failure)];
  if (!report.revision.empty())
    revision_ = report.revision;
  if (report.ok) {
    for (const char* s : kStatuses)
      jobs_[s] = 0;
    for (const auto& [id, job] : report.plan.jobs_after)
      ++jobs_[job.status];
  }
  if (report.applied) {
    for (const auto& item : report.plan.items) {
      ++plan_changes_[sdk::changeKindName(item.kind)];
      if (item.kind == sdk::ChangeKind::kDrift)
        ++drift_corrections_;
    }
  }
  const double seconds = duration.count();
  for (std::size_t i = 0; i < kDurationBuckets.size(); ++i) {
    if (seconds <= kDurationBuckets[i])
      ++buckets_[i];
  }
  ++duration_count_;
  duration_sum_ += seconds;
}

void Registry::controlPlaneError(int status) {
  std::lock_guard<std::mutex> guard(mutex_);
  ++control_plane_errors_[statusClass(status)];
}

void Registry::spoolDepth(std::size_t depth) {
  std::lock_guard<std::mutex> guard(mutex_);
  spool_depth_ = depth;
}

std::string Registry::exposition() const {
  std::lock_guard<std::mutex> guard(mutex_);
  std::ostringstream out;
  header(out, "crontopus_last_sync_timestamp_seconds", "gauge",
         "Unix time the last cycle finished (0 before the first).");
  out << "crontopus_last_sync_timestamp_seconds " << last_sync_unix_ << '\n';
  header(out, "crontopus_last_sync_success", "gauge", "1 when the last cycle succeeded, else 0.");
  out << "crontopus_last_sync_success " << (any_cycle_ && last_ok_ ? 1 : 0) << '\n';
  header(out, "crontopus_revision_info", "gauge", "The manifest revision last synced.");
  out << "crontopus_revision_info{revision=\"" << escapeLabel(revision_) << "\"} 1\n";
  header(out, "crontopus_jobs", "gauge", "Managed jobs by status after the last good cycle.");
  for (const auto& [status, count] : jobs_)
    out << "crontopus_jobs{status=\"" << escapeLabel(status) << "\"} " << count << '\n';
  header(out, "crontopus_plan_changes_total", "counter", "Changes applied, by kind.");
  for (const auto& [kind, count] : plan_changes_)
    out << "crontopus_plan_changes_total{kind=\"" << kind << "\"} " << count << '\n';
  header(out, "crontopus_drift_corrections_total", "counter",
         "Owned entries edited or deleted by someone else and restored.");
  out << "crontopus_drift_corrections_total " << drift_corrections_ << '\n';
  header(out, "crontopus_git_errors_total", "counter", "Failed git syncs, by error kind.");
  for (const auto& [kind, count] : git_errors_)
    out << "crontopus_git_errors_total{kind=\"" << kind << "\"} " << count << '\n';
  header(out, "crontopus_control_plane_errors_total", "counter",
         "Failed control plane calls, by HTTP status class (network: no answer).");
  for (const auto& [kind, count] : control_plane_errors_)
    out << "crontopus_control_plane_errors_total{status_class=\"" << kind << "\"} " << count
        << '\n';
  header(out, "crontopus_spool_depth", "gauge", "Check-ins waiting in the spool.");
  out << "crontopus_spool_depth " << spool_depth_ << '\n';
  header(out, "crontopus_cycle_duration_seconds", "histogram", "Duration of daemon cycles.");
  for (std::size_t i = 0; i < kDurationBuckets.size(); ++i) {
    out << "crontopus_cycle_duration_seconds_bucket{le=\"" << number(kDurationBuckets[i]) << "\"} "
        << buckets_[i] << '\n';
  }
  out << "crontopus_cycle_duration_seconds_bucket{le=\"+Inf\"} " << duration_count_ << '\n';
  out << "crontopus_cycle_duration_seconds_sum " << number(duration_sum_) << '\n';
  out << "crontopus_cycle_duration_seconds_count " << duration_count_ << '\n';
  return out.str();
}

Registry::Health Registry::health(Clock::time_point now) const {
  std::lock_guard<std::mutex> guard(mutex_);
  const std::chrono::seconds limit(3LL * sync_interval_);
  if (!last_success_) {
    if (!any_cycle_)
      return {false, "no cycle has finished yet"};
    return {false, "no cycle has succeeded yet; last error: " + last_error_};
  }
  const auto age = std::chrono::duration_cast<std::chrono::seconds>(now - *last_success_);
  if (age > limit) {
    return {false, "last successful cycle " + std::to_string(age.count()) + " s ago (limit " +
                       std::to_string(limit.count()) + " s)" +
                       (last_error_.empty() ? "" : "; last error: " + last_error_)};
  }
  return {true, "ok: last successful cycle " + std::to_string(age.count()) + " s ago"};
}

namespace {

class Handler : public Poco::Net::HTTPRequestHandler {
 public:
  explicit Handler(const Registry& registry) : registry_(registry) {}

  void handleRequest(Poco::Net::HTTPServerRequest& request,
                     Poco::Net::HTTPServerResponse& response) override {
    using Poco::Net::HTTPResponse;
    std::string body;
    const std::string path = request.getURI().substr(0, request.getURI().find('?'));
    if (request.getMethod() != "GET" && request.getMethod() != "HEAD") {
      response.setStatus(HTTPResponse::HTTP_METHOD_NOT_ALLOWED);
      body = "only GET\n";
    } else if (path == "/metrics") {
      response.setStatus(HTTPResponse::HTTP_OK);
      response.setContentType("text/plain; version=0.0.4; charset=utf-8");
      body = registry_.exposition();
    } else if (path == "/healthz") {
      const auto h = registry_.health(Registry::Clock::now());
      response.setStatus(h.ok ? HTTPResponse::HTTP_OK : HTTPResponse::HTTP_SERVICE_UNAVAILABLE);
      response.setContentType("text/plain; charset=utf-8");
      body = h.reason + "\n";
    } else {
      response.setStatus(HTTPResponse::HTTP_NOT_FOUND);
      body = "not found: /metrics or /healthz\n";
    }
    if (response.getContentType() == Poco::Net::HTTPMessage::UNKNOWN_CONTENT_TYPE)
      response.setContentType("text/plain; charset=utf-8");
    response.setContentLength(static_cast<std::streamsize>(body.size()));
    std::ostream& out = response.send();
    if (request.getMethod() != "HEAD")
      out << body;
  }

 private:
  const Registry& registry_;
};

class Factory : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  explicit Factory(const Registry& registry) : registry_(registry) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(
      const Poco::Net::HTTPServerRequest&) override {
    return new Handler(registry_);
  }

 private:
  const Registry& registry_;
};

}  // namespace

Server::Server(const std::string& listen, const Registry& registry) {
  Poco::Net::ServerSocket socket;
  socket.bind(Poco::Net::SocketAddress(listen), true);
  socket.listen(16);
  Poco::Net::HTTPServerParams::Ptr params = new Poco::Net::HTTPServerParams;
  params->setMaxThreads(2);
  params->setMaxQueued(16);
  params->setKeepAlive(false);
  params->setTimeout(Poco::Timespan(5, 0));
  server_ = std::make_unique<Poco::Net::HTTPServer>(new Factory(registry), socket, params);
  server_->start();
}

Server::~Server() {
  stop();
}

void Server::stop() {
  if (!server_)
    return;
  server_->stopAll(true);
  server_.reset();
}

}  // namespace crontopus::core::metrics
