// libFuzzer target for what the agent parses from the control plane and its own spool
// (core/src/controlplane): any bytes as an enrollment answer, an error answer's body, a spooled
// check-in, a run spec and a Retry-After header value. Each parser either gives a usable result or
// throws the exception its caller handles; nothing it returns for the log carries a control
// character (a server's error text must not be able to forge log lines).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include "RunSpec.h"
#include "controlplane/CheckInBody.h"
#include "controlplane/HttpClient.h"
#include "controlplane/TokenFile.h"

namespace {

namespace cp = crontopus::core::controlplane;

void require(bool condition) {
  if (!condition)
    std::abort();
}

bool hasControlCharacter(const std::string& s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f)
      return true;
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string body(reinterpret_cast<const char*>(data), size);

  // POST /api/endpoints/enroll answered 2xx.
  try {
    const cp::AgentToken t = cp::parseEnrollmentResponse(body);
    require(t.endpoint_id > 0 && !t.token.empty());
  } catch (const cp::ControlPlaneException& e) {
    require(!e.message().empty());
  }

  // Any non-2xx answer: logged through describe().
  for (int status : {401, 422, 500}) {
    cp::HttpResponse r;
    r.status = status;
    r.body = body;
    require(!hasControlCharacter(r.detail()));
    require(!hasControlCharacter(r.describe()));
  }

  // A spooled check-in (the run user writes it): resent with the current endpoint id.
  try {
    const std::string out = cp::withEndpointId(body, 42);
    Poco::JSON::Parser parser;
    auto o = parser.parse(out).extract<Poco::JSON::Object::Ptr>();
    require(o->getValue<Poco::Int64>("endpoint_id") == 42);
  } catch (const Poco::Exception&) {
    // ControlPlane::flushOnce sets such a file aside as .corrupt.
  }

  // A run spec (<state_dir>/jobs/...json), read by every run.
  try {
    const crontopus::core::RunSpec spec = crontopus::core::runSpecFromJson(body, "fuzz.json");
    const crontopus::core::RunSpec again =
        crontopus::core::runSpecFromJson(crontopus::core::toJson(spec), "again.json");
    require(crontopus::core::toJson(again) == crontopus::core::toJson(spec));
  } catch (const Poco::Exception&) {
    // `run` reports the broken spec and exits non-zero.
  }

  // The Retry-After header.
  if (size <= 64) {
    const auto delay = cp::parseRetryAfter(body);
    require(delay.count() >= -1);
  }
  return 0;
}
