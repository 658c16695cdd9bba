#include "Agent.h"
#include "Commands.h"

namespace crontopus::core::commands {

int loop(Agent& agent) {
  agent.config(true);
  agent.logger().information("crontopus-agent started; waiting for SIGTERM/SIGINT");
  agent.waitForStop();
  agent.logger().information("crontopus-agent stopping");
  return 0;
}

}  // namespace crontopus::core::commands
