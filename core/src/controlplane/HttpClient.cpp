#include "controlplane/HttpClient.h"

#include <algorithm>
#include <mutex>
#include <random>
#include <sstream>

#include <Poco/DateTime.h>
#include <Poco/DateTimeFormat.h>
#include <Poco/DateTimeParser.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Logger.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/IPAddress.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/String.h>
#include <Poco/Timespan.h>

#include "Version.h"
#include "controlplane/TlsModule.h"

namespace crontopus::core::controlplane {

POCO_IMPLEMENT_EXCEPTION(ControlPlaneException, Poco::Exception, "Control plane error")

namespace {

using Clock = std::chrono::steady_clock;
constexpr std::size_t kMaxBody = 1024 * 1024;

Poco::Logger& log() {
  return Poco::Logger::get("crontopus.controlplane");
}

Poco::Timespan span(std::chrono::milliseconds ms) {
  return Poco::Timespan(
      static_cast<Poco::Timespan::TimeDiff>(std::max<std::int64_t>(ms.count(), 1)) * 1000);
}

bool isLoopbackHost(const std::string& host) {
  if (Poco::icompare(host, "localhost") == 0)
    return true;
  Poco::Net::IPAddress address;
  return Poco::Net::IPAddress::tryParse(host, address) && address.isLoopback();
}

std::chrono::milliseconds jittered(std::chrono::milliseconds delay) {
  // "Equal jitter": half fixed, half random, so a fleet that failed together spreads out.
  thread_local std::mt19937_64 random{std::random_device{}()};
  const auto half = delay.count() / 2;
  std::uniform_int_distribution<std::int64_t> pick(0, std::max<std::int64_t>(half, 0));
  return std::chrono::milliseconds(delay.count() - half + pick(random));
}

}  // namespace

std::string userAgent(const std::string& platform) {
  return std::string("crontopus-agent/") + version() + " (" + platform + ")";
}

std::string checkApiUrl(const std::string& api_url, bool allow_insecure_http) {
  Poco::URI uri;
  try {
    uri = Poco::URI(api_url);
  } catch (const Poco::Exception& e) {
    return "backend.api_url is not a valid URL (" + e.message() + ")";
  }
  const std::string scheme = Poco::toLower(uri.getScheme());
  if (scheme != "http" && scheme != "https")
    return "backend.api_url must start with https:// (or http:// for a loopback address)";
  if (uri.getHost().empty())
    return "backend.api_url has no host name";
  if (!uri.getUserInfo().empty())
    return "backend.api_url must not contain credentials; the agent authenticates with its token";
  if (!uri.getRawQuery().empty() || !uri.getFragment().empty())
    return "backend.api_url must not have a query or fragment";
  if (scheme == "http" && !allow_insecure_http && !isLoopbackHost(uri.getHost())) {
    return "backend.api_url uses plain http:// to " + uri.getHost() +
           ", which is not a loopback address; use https:// or set "
           "backend.allow_insecure_http: true (tokens would cross the network unencrypted)";
  }
  return {};
}

std::chrono::milliseconds parseRetryAfter(const std::string& raw) {
  const std::string value = Poco::trim(raw);
  if (value.empty())
    return std::chrono::milliseconds(-1);
  if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    if (value.size() > 9)
      return std::chrono::hours(24);
    return std::chrono::seconds(std::stol(value));
  }
  // Poco's parser is lenient; only an RFC 7231 date ("Sun, 06 Nov 1994 08:49:37 GMT") counts.
  if (value.size() < 20 || value.find(" GMT") == std::string::npos)
    return std::chrono::milliseconds(-1);
  try {
    int tz = 0;
    Poco::DateTime when = Poco::DateTimeParser::parse(Poco::DateTimeFormat::HTTP_FORMAT, value, tz);
    const Poco::Timestamp now;
    const auto diff = when.timestamp() - now;
    return std::chrono::milliseconds(std::max<Poco::Timestamp::TimeDiff>(diff / 1000, 0));
  } catch (const Poco::Exception&) {
    return std::chrono::milliseconds(-1);
  }
}

namespace {

// What the server wrote, fit for one log line: control characters (a newline could forge a log
// line, an escape sequence could rewrite the terminal) become spaces, and it is cut at 200 bytes.
std::string oneLogLine(std::string text) {
  if (text.size() > 200)
    text.resize(200);
  std::replace_if(
      text.begin(), text.end(),
      [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }, ' ');
  return text;
}

}  // namespace

std::string HttpResponse::detail() const {
  try {
    Poco::JSON::Parser parser;
    auto object = parser.parse(body).extract<Poco::JSON::Object::Ptr>();
    if (object->has("detail")) {
      const auto d = object->get("detail");
      if (d.isString())
        return oneLogLine(d.convert<std::string>());
      auto list = object->getArray("detail");
      if (list && list->size() > 0) {
        auto first = list->getObject(0);
        std::string where;
        if (first) {
          if (auto loc = first->getArray("loc")) {
            for (const auto& part : *loc)
              where += (where.empty() ? "" : ".") + part.convert<std::string>();
          }
        }
        std::string msg = first && first->has("msg") ? first->getValue<std::string>("msg") : "";
        return oneLogLine(where + ": " + msg) +
               (list->size() > 1 ? " (and " + std::to_string(list->size() - 1) + " more)" : "");
      }
    }
  } catch (const Poco::Exception&) {
    // Not the JSON the API sends (a proxy's page, plain text): an excerpt of the body instead.
  } catch (const std::exception&) {
    // Same: fall through to the excerpt.
  }
  return oneLogLine(body);
}

std::string HttpResponse::describe() const {
  if (status == 0)
    return (tls_error ? "TLS error: " : "network error: ") + error;
  const std::string d = detail();
  return std::to_string(status) + " " +
         Poco::Net::HTTPResponse::getReasonForStatus(
             static_cast<Poco::Net::HTTPResponse::HTTPStatus>(status)) +
         (d.empty() ? "" : " (" + d + ")");
}

HttpClient::HttpClient(HttpSettings settings) : settings_(std::move(settings)) {
  const std::string problem = checkApiUrl(settings_.api_url, settings_.allow_insecure_http);
  if (!problem.empty())
    throw ControlPlaneException(problem);
  uri_ = Poco::URI(settings_.api_url);
  https_ = Poco::toLower(uri_.getScheme()) == "https";
  base_path_ = uri_.getPath();
  while (!base_path_.empty() && base_path_.back() == '/')
    base_path_.pop_back();
  user_agent_ = controlplane::userAgent(settings_.platform);
  if (https_) {
    // Only an https:// URL loads TLS (TlsModule.h); plain http and standalone runs never do.
    try {
      tls_ = makeTlsConnector(settings_.ca_file);
    } catch (const ControlPlaneException&) {
      throw;
    } catch (const Poco::Exception& e) {
      throw ControlPlaneException("backend.ca_file " + settings_.ca_file +
                                  ": cannot load the CA certificates (" + e.displayText() + ")");
    }
  }
}

HttpClient::~HttpClient() = default;

Poco::Net::HTTPClientSession& HttpClient::session() {
  std::lock_guard<std::mutex> guard(mutex_);
  if (!session_) {
    const std::string host = uri_.getHost();
    const auto port = uri_.getPort();
    if (https_) {
      session_ = tls_->newSession(host, port);
    } else {
      session_ = std::make_unique<Poco::Net::HTTPClientSession>(host, port);
    }
    session_->setKeepAlive(true);
    // Below common server idle timeouts (uvicorn: 5 s), so a connection the server already
    // closed is rarely reused; when it is, the call fails over to a new one like any network
    // error.
    session_->setKeepAliveTimeout(Poco::Timespan(4, 0));
  }
  return *session_;
}

void HttpClient::dropSession() {
  std::lock_guard<std::mutex> guard(mutex_);
  if (session_) {
    try {
      session_->reset();
    } catch (const Poco::Exception&) {
      // The connection is being thrown away; a failure to close it changes nothing.
    }
    session_.reset();
  }
}

void HttpClient::cancel() {
  cancelled_ = true;
  std::lock_guard<std::mutex> guard(mutex_);
  wake_.notify_all();
  if (session_ && session_->connected()) {
    try {
      // shutdown(2) wakes a thread blocked in recv/send on this socket; close() is left to the
      // owning thread so the descriptor cannot be reused under it.
      session_->socket().shutdown();
    } catch (const Poco::Exception&) {
      // Already closed by the peer: nothing is blocked on it then.
    }
  }
}

bool HttpClient::sleepFor(std::chrono::milliseconds delay) {
  std::unique_lock<std::mutex> guard(mutex_);
  return !wake_.wait_for(guard, delay, [&] { return cancelled_.load(); });
}

HttpResponse HttpClient::attempt(const std::string& path, const std::string& json,
                                 const std::string& bearer) {
  HttpResponse r;
  if (cancelled_) {
    r.error = "cancelled";
    return r;
  }
  const auto deadline = Clock::now() + settings_.total_timeout;
  auto remaining = [&] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  };
  try {
    Poco::Net::HTTPClientSession& s = session();
    s.setTimeout(span(std::min(settings_.connect_timeout, settings_.total_timeout)),
                 span(settings_.total_timeout), span(settings_.total_timeout));
    Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_POST, base_path_ + path,
                                   Poco::Net::HTTPMessage::HTTP_1_1);
    request.setContentType("application/json");
    request.set("Accept", "application/json");
    request.set("User-Agent", user_agent_);
    if (!bearer.empty())
      request.set("Authorization", "Bearer " + bearer);
    request.setContentLength(static_cast<std::streamsize>(json.size()));
    request.setKeepAlive(true);
    std::ostream& body = s.sendRequest(request);
    // Poco sends the header and the body in two writes; with Nagle's algorithm the body waits
    // for the server's delayed ACK (40 ms on Linux) on a kept-alive connection.
    s.socket().setNoDelay(true);
    body.write(json.data(), static_cast<std::streamsize>(json.size()));
    body.flush();
    if (!body)
      throw Poco::Net::NetException("sending the request body failed");
    if (remaining().count() <= 0)
      throw Poco::TimeoutException("no answer within the total timeout");
    s.socket().setReceiveTimeout(span(remaining()));
    Poco::Net::HTTPResponse response;
    std::istream& in = s.receiveResponse(response);
    r.status = static_cast<int>(response.getStatus());
    if (response.has("Retry-After"))
      r.retry_after = parseRetryAfter(response.get("Retry-After"));
    char buffer[8192];
    while (in) {
      if (remaining().count() <= 0)
        throw Poco::TimeoutException("the answer took longer than the total timeout");
      s.socket().setReceiveTimeout(span(remaining()));
      in.read(buffer, sizeof buffer);
      if (in.gcount() > 0 && r.body.size() < kMaxBody)
        r.body.append(buffer, static_cast<std::size_t>(in.gcount()));
    }
    if (!response.getKeepAlive())
      dropSession();
  } catch (const Poco::Exception& e) {
    dropSession();
    r = HttpResponse();
    if (tls_ && tls_->isTlsError(e)) {
      r.tls_error = true;
      r.error =
          e.displayText() + " (is backend.ca_file the CA that signed the server certificate?)";
    } else {
      r.error = cancelled_ ? "cancelled" : e.displayText();
    }
  }
  return r;
}

HttpResponse HttpClient::post(const std::string& path, const std::string& json,
                              const std::string& bearer, const RetryPolicy& policy) {
  HttpResponse r;
  std::chrono::milliseconds delay = policy.base_delay;
  for (int n = 1;; ++n) {
    r = attempt(path, json, bearer);
    r.attempts = n;
    if (!r.transient() || cancelled_ || n >= policy.max_attempts)
      break;
    std::chrono::milliseconds wait = jittered(delay);
    if (r.retry_after.count() >= 0)
      wait = std::max(wait, r.retry_after);
    if (wait > policy.max_wait)
      break;
    log().debug("POST " + base_path_ + path + ": " + r.describe() + ", attempt " +
                std::to_string(n) + ", retrying in " + std::to_string(wait.count()) + " ms");
    if (!sleepFor(wait))
      break;
    delay = std::min(policy.max_delay, delay * 2);
  }
  if (!r.ok() && !cancelled_) {
    log().log(Poco::Message(
        log().name(),
        "POST " + base_path_ + path + " failed: " + r.describe() +
            (r.attempts > 1 ? " (after " + std::to_string(r.attempts) + " attempts)" : ""),
        settings_.failure_priority));
  }
  return r;
}

}  // namespace crontopus::core::controlplane
