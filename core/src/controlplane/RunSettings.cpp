// The agent's side of the run check-in (declared in CheckIn.h): what it writes into each run
// spec. Kept out of the crontopus_run library, which does not know the agent's configuration.
#include "Config.h"
#include "controlplane/CheckIn.h"

namespace crontopus::core::controlplane {

RunSpec::ControlPlane runSpecControlPlane(const AgentConfig& config,
                                          const std::string& run_state_dir) {
  RunSpec::ControlPlane cp;
  cp.api_url = config.backend.api_url;
  if (cp.api_url.empty())
    return cp;
  cp.token_path = config.agent.token_path;
  cp.spool_dir = run_state_dir + "/spool";
  cp.ca_file = config.backend.ca_file;
  cp.allow_insecure_http = config.backend.allow_insecure_http;
  return cp;
}

std::string spoolDirectory(const AgentConfig& config) {
  return config.agent.state_dir + "/spool";
}

}  // namespace crontopus::core::controlplane
