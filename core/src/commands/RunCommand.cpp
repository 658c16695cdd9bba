#include "Agent.h"
#include "Commands.h"
#include "RunWrapper.h"

namespace crontopus::core::commands {

// The same function crontopus-run calls; only the agent can fall back to its configuration's
// state directory when the entry names none.
int run(Agent& agent) {
  return runCommand(agent.commandLine(), [&] { return agent.config(false).agent.state_dir; });
}

}  // namespace crontopus::core::commands
