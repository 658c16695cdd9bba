#include <ostream>

#include "Agent.h"
#include "Commands.h"
#include "manifest/ValidateCommand.h"

namespace crontopus::core::commands {

int validate(Agent& agent, std::ostream& out, std::ostream& err) {
  const CommandLine& cl = agent.commandLine();
  const std::string format = cl.get("format", "text");
  if (format != "text" && format != "json") {
    throw UsageException("--format must be text or json, got \"" + format + "\"");
  }
  return runValidate(cl.operands.at(0), format == "json", out, err);
}

}  // namespace crontopus::core::commands
