#pragma once

#include <string>

#include "FakeControlPlane.h"
#include "RunSpec.h"
#include "TestSupport.h"
#include "controlplane/HttpClient.h"
#include "controlplane/TokenFile.h"
#include "platform/Files.h"

namespace crontopus::tests {

// Enrolls with the fake server and writes the token file as the agent would.
inline core::controlplane::AgentToken enrollInto(const FakeControlPlane& server,
                                                 const std::string& token_path) {
  core::controlplane::HttpSettings settings;
  settings.api_url = server.url();
  settings.platform = "linux";
  core::controlplane::HttpClient client(settings);
  const auto r = client.post("/api/endpoints/enroll", R"({"name": "test"})", "enroll-secret",
                             core::controlplane::RetryPolicy{});
  auto token = core::controlplane::parseEnrollmentResponse(r.body);
  core::controlplane::writeTokenFile(token_path, token);
  return token;
}

// A run spec as the agent writes it, pointing `run` at `server`.
inline core::RunSpec runSpec(const std::string& state_dir, const std::string& ns,
                             const std::string& name, const std::string& command,
                             const std::string& api_url) {
  core::RunSpec s;
  s.ns = ns;
  s.name = name;
  s.command = command;
  s.schedule = "* * * * *";
  s.control_plane.api_url = api_url;
  s.control_plane.token_path = state_dir + "/agent-token";
  s.control_plane.spool_dir = state_dir + "/spool";
  return s;
}

inline void writeRunSpec(const std::string& state_dir, const core::RunSpec& spec) {
  core::platform::makeDirectories(core::jobDirectory(state_dir, spec.identity()), 0700);
  core::platform::writeFileAtomic(core::runSpecPath(state_dir, spec.identity()), core::toJson(spec),
                                  0600);
}

inline ProcessResult runWrapper(const std::string& state_dir, const std::string& identity) {
  return runProcess({AGENT_BIN, "run", "--state-dir", state_dir, identity});
}

}  // namespace crontopus::tests
