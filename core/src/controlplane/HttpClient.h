#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>

#include <Poco/Exception.h>
#include <Poco/Message.h>
#include <Poco/URI.h>

namespace Poco::Net {
class HTTPClientSession;
}  // namespace Poco::Net

namespace crontopus::core::controlplane {

class TlsConnector;

POCO_DECLARE_EXCEPTION(, ControlPlaneException, Poco::Exception)

struct HttpSettings {
  std::string api_url;  // http(s)://host[:port][/prefix]
  std::string ca_file;  // trusted in addition to the system store
  bool allow_insecure_http = false;
  std::string platform;  // for the User-Agent
  std::chrono::milliseconds connect_timeout{10000};
  std::chrono::milliseconds total_timeout{30000};  // per attempt, connect to the last body byte
  // How a call that finally failed is logged ("logged once": never per attempt).
  Poco::Message::Priority failure_priority = Poco::Message::PRIO_WARNING;
};

// Retries of one call: network errors, 429 and 5xx only.
struct RetryPolicy {
  int max_attempts = 4;
  std::chrono::milliseconds base_delay{1000};
  std::chrono::milliseconds max_delay{60000};
  // A Retry-After (or back-off) longer than this ends the call instead of waiting: the caller
  // comes back later (the spool flusher, the heartbeat timer).
  std::chrono::milliseconds max_wait{120000};
};

struct HttpResponse {
  int status = 0;     // 0: no HTTP answer (network or TLS error, timeout, cancelled)
  std::string body;   // at most 1 MB
  std::string error;  // what went wrong when status is 0
  bool tls_error = false;
  int attempts = 0;
  std::chrono::milliseconds retry_after{-1};  // from the last answer; -1 when absent

  bool ok() const { return status >= 200 && status < 300; }
  // Whether trying again later may succeed (network, 429, 5xx).
  bool transient() const { return (status == 0 && !tls_error) || status == 429 || status >= 500; }
  // The server's "detail" (string, or the first message of a list), else a short body excerpt;
  // at most about 200 bytes, control characters replaced by spaces (it goes into log lines).
  std::string detail() const;
  // "503 (detail)" or "network error: ...", for log lines.
  std::string describe() const;
};

// POSTs JSON to the control plane. One object per thread; cancel() may be called from any
// thread. The connection is kept alive between calls. The bearer token goes in the
// Authorization header only: it is never logged and never part of a URL.
class HttpClient {
 public:
  // Throws ControlPlaneException when the URL is unusable (scheme, credentials in it, plain http
  // to a host that is not loopback without allow_insecure_http).
  explicit HttpClient(HttpSettings settings);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  HttpResponse post(const std::string& path, const std::string& json, const std::string& bearer,
                    const RetryPolicy& policy);

  // Makes the call in flight (and any back-off wait) return at once; later calls fail fast.
  void cancel();
  bool cancelled() const { return cancelled_; }

  const std::string& userAgent() const { return user_agent_; }

 private:
  HttpResponse attempt(const std::string& path, const std::string& json, const std::string& bearer);
  Poco::Net::HTTPClientSession& session();
  void dropSession();
  bool sleepFor(std::chrono::milliseconds delay);

  HttpSettings settings_;
  Poco::URI uri_;
  std::string base_path_;
  std::string user_agent_;
  bool https_ = false;
  std::unique_ptr<TlsConnector> tls_;  // https only: from crontopus-tls.so (TlsModule.h)
  std::unique_ptr<Poco::Net::HTTPClientSession> session_;
  std::mutex mutex_;  // guards session_ against cancel() from another thread
  std::condition_variable wake_;
  std::atomic<bool> cancelled_{false};
};

// Validates an api_url the way HttpClient does; empty string = fine, else the reason.
std::string checkApiUrl(const std::string& api_url, bool allow_insecure_http);

// The `Retry-After` value (delta seconds or an HTTP date) as a duration; -1 ms when unusable.
std::chrono::milliseconds parseRetryAfter(const std::string& value);

// "crontopus-agent/<version> (<platform>)"
std::string userAgent(const std::string& platform);

}  // namespace crontopus::core::controlplane
