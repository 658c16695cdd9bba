#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <Poco/Exception.h>

namespace crontopus::core::controlplane {

// A token file that exists but cannot be used: unreadable, readable by others, or not the JSON
// we write. The message names the file and what the operator can do.
POCO_DECLARE_EXCEPTION(, TokenFileException, Poco::Exception)

// What enrollment gave us: the endpoint's id and its bearer token (a secret).
struct AgentToken {
  std::int64_t endpoint_id = 0;
  std::string token;
};

// Reads `path` ({"agent_id": <int>, "token": "<string>"}). nullopt when the file does not exist
// (not enrolled yet). Throws TokenFileException when it cannot be read, is readable or writable
// by group or others (the token would be exposed), is owned by another user than the agent's (who
// could replace it), or is not a valid token file; the message never contains the token.
std::optional<AgentToken> readTokenFile(const std::string& path);

// Writes the token file atomically (temporary file, fsync, rename), mode 0600 from creation on.
void writeTokenFile(const std::string& path, const AgentToken& token);

// The enrollment answer: {"agent_id": N, "token": "..."}, older servers {"endpoint_id": N, ...};
// endpoint_id wins when non-zero. Throws ControlPlaneException when unusable.
AgentToken parseEnrollmentResponse(const std::string& body);

}  // namespace crontopus::core::controlplane
