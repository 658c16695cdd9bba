#include "controlplane/CheckInBody.h"

#include <algorithm>
#include <sstream>

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/JSON/Stringifier.h>

namespace crontopus::core::controlplane {

namespace {

constexpr std::size_t kMaxOutputChars = 10000;

std::string condensed(const Poco::JSON::Object& o) {
  std::ostringstream out;
  Poco::JSON::Stringifier::condense(o, out);
  return out.str();
}

std::size_t utf8Length(const std::string& s) {
  return static_cast<std::size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

}  // namespace

std::string checkInBody(std::int64_t endpoint_id, const RunRecord& r) {
  Poco::JSON::Object o(Poco::JSON_PRESERVE_KEY_ORDER);
  o.set("endpoint_id", static_cast<Poco::Int64>(endpoint_id));
  o.set("job_name", r.name);
  o.set("namespace", r.ns);
  o.set("status", r.status);
  o.set("exit_code", r.signal != 0 ? 128 + r.signal : r.exit_code);
  o.set("duration", static_cast<Poco::Int64>(std::max<std::int64_t>(r.duration_seconds, 0)));
  // The runner already keeps a valid UTF-8 tail of 10,000 characters; re-cut only if a caller
  // hands more, since the server rejects the whole check-in otherwise.
  o.set("output",
        utf8Length(r.output) > kMaxOutputChars ? utf8Tail(r.output, kMaxOutputChars) : r.output);
  if (r.status != "success") {
    o.set("error_message", r.error_message.empty() ? r.status : r.error_message);
  }
  return condensed(o);
}

std::string withEndpointId(const std::string& body, std::int64_t endpoint_id) {
  Poco::JSON::Parser parser;
  auto o = parser.parse(body).extract<Poco::JSON::Object::Ptr>();
  o->set("endpoint_id", static_cast<Poco::Int64>(endpoint_id));
  return condensed(*o);
}

}  // namespace crontopus::core::controlplane
