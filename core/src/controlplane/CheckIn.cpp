#include "controlplane/CheckIn.h"

#include <cerrno>

#include <Poco/Logger.h>

#include "controlplane/CheckInBody.h"
#include "controlplane/HttpClient.h"
#include "controlplane/Spool.h"
#include "controlplane/TokenFile.h"
#include "platform/Files.h"
#include "platform/Platform.h"

namespace crontopus::core::controlplane {

namespace {

Poco::Logger& log() {
  return Poco::Logger::get("crontopus.run");
}

// 4xx answers that mean the check-in itself is wrong: sending it again can never succeed.
// 401/403/404 are not among them: a re-enrolled endpoint accepts the same check-in later.
bool permanentRejection(int status) {
  return status == 400 || status == 413 || status == 422;
}

}  // namespace

CheckInOutcome reportRun(const RunSpec& spec, const RunRecord& record) {
  const RunSpec::ControlPlane& cp = spec.control_plane;
  if (cp.api_url.empty() || !spec.checkin_enabled || record.status == "skipped")
    return CheckInOutcome::kNotSent;
  const std::string identity = spec.identity();
  std::string body;
  try {
    Spool spool(cp.spool_dir);
    std::optional<AgentToken> token;
    try {
      // Jobs run as another user (cron's `user` option) may not read the agent's token: for
      // them the spool is the normal way, not a problem worth a line in cron's mail.
      if (!platform::readDenied(cp.token_path))
        token = readTokenFile(cp.token_path);
    } catch (const TokenFileException& e) {
      // The agent reports the same problem loudly; the run is kept for when it is fixed.
      log().warning("job " + identity + ": check-in spooled: " + e.message());
    }
    body = checkInBody(token ? token->endpoint_id : 0, record);
    if (!token || spool.hasPending()) {
      spool.add(body);
      return CheckInOutcome::kSpooled;
    }
    HttpSettings settings;
    settings.api_url = cp.api_url;
    settings.ca_file = cp.ca_file;
    settings.allow_insecure_http = cp.allow_insecure_http;
    settings.platform = platform::platformName();
    settings.connect_timeout = std::chrono::seconds(3);
    settings.total_timeout = std::chrono::seconds(10);
    // A failure that ends in the spool is not lost and the agent logs it when it delivers;
    // cron would mail every line the wrapper prints during an outage.
    settings.failure_priority = Poco::Message::PRIO_DEBUG;
    RetryPolicy policy;
    policy.max_attempts = 2;
    policy.base_delay = std::chrono::milliseconds(200);
    policy.max_wait = std::chrono::seconds(2);
    HttpResponse r;
    try {
      HttpClient client(settings);
      r = client.post("/api/runs/check-in", body, token->token, policy);
    } catch (const ControlPlaneException& e) {
      r.error = e.message();  // a bad api_url: kept until the agent's configuration is fixed
    }
    // Only 201 means stored; another 2xx (a proxy's page) keeps the check-in for the agent.
    if (r.status == 201)
      return CheckInOutcome::kDelivered;
    if (permanentRejection(r.status)) {
      log().error("job " + identity + ": the control plane rejected the check-in: " + r.describe() +
                  "; it is not retried (the run is in the local run log)");
      return CheckInOutcome::kRejected;
    }
    spool.add(body);
    log().debug("job " + identity + ": check-in spooled after " + r.describe());
    return CheckInOutcome::kSpooled;
  } catch (const Poco::Exception& e) {
    log().error("job " + identity + ": cannot report the run to the control plane: " +
                e.displayText() + " (the run is in the local run log)");
  } catch (const std::exception& e) {
    log().error("job " + identity + ": cannot report the run to the control plane: " + e.what());
  }
  return CheckInOutcome::kLost;
}

}  // namespace crontopus::core::controlplane
