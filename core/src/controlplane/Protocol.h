#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "Config.h"
#include "State.h"
#include "controlplane/CheckInBody.h"

// The request bodies of control-plane-protocol.md, built from the agent's own data. Only values
// the deployed server accepts are sent (it answers an unknown status or source with a 500).
namespace crontopus::core::controlplane {

// Lower-case hex SHA-256 of the trimmed, lower-cased OS machine id; "" when `raw` is empty.
std::string machineIdHash(const std::string& raw);

// `url` without anything that could be a credential: user info of http(s) URLs (tokens are often
// the user name), passwords of other URLs, and any query or fragment.
std::string stripCredentials(const std::string& url);

std::string enrollmentBody(const AgentConfig& config, const std::string& raw_machine_id);
std::string heartbeatBody(const std::string& platform);
// The complete list of managed jobs, by identity; statuses other than scheduled/paused/error
// are sent as error.
std::string jobInstancesBody(const std::map<std::string, JobState>& jobs);
// checkInBody and withEndpointId: controlplane/CheckInBody.h (the `run` wrapper's library).

}  // namespace crontopus::core::controlplane
