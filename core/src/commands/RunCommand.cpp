#include "Agent.h"
#include "Commands.h"
#include "Runner.h"

namespace crontopus::core::commands {

int run(Agent& agent) {
  const CommandLine& cl = agent.commandLine();
  const std::string identity = cl.operands.at(0);
  const auto slash = identity.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == identity.size() ||
      identity.find('/', slash + 1) != std::string::npos ||
      identity.find("..") != std::string::npos) {
    throw UsageException("run takes NAMESPACE/NAME, got \"" + identity + "\"");
  }
  // The entry names the state directory, so `run` needs no configuration file (which may hold
  // secrets the job's user must not read).
  const std::string state_dir =
      cl.has("state-dir") ? cl.get("state-dir") : agent.config(false).agent.state_dir;
  return runJob(state_dir, identity);
}

}  // namespace crontopus::core::commands
