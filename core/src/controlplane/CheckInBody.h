#pragma once

#include <cstdint>
#include <string>

#include "Runner.h"

// The run check-in body of control-plane-protocol.md. Apart from the rest of Protocol.h because
// the `run` wrapper (crontopus_run, crontopus-run) needs it without the agent's configuration.
namespace crontopus::core::controlplane {

// The check-in for one run. exit_code is 128 + signal for a run killed by a signal; duration is
// whole seconds; output is at most 10,000 characters of valid UTF-8.
std::string checkInBody(std::int64_t endpoint_id, const RunRecord& record);
// The same body with another endpoint_id (a spooled check-in is sent with the current id).
std::string withEndpointId(const std::string& body, std::int64_t endpoint_id);

}  // namespace crontopus::core::controlplane
