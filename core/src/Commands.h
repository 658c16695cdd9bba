#pragma once

#include <iosfwd>

namespace crontopus::core {
class Agent;
}

// One function per command; each returns the process exit code (0 ok, 1 failure; usage errors
// throw UsageException, which the agent maps to 2).
namespace crontopus::core::commands {

int plugins(Agent& agent, std::ostream& out);
int config(Agent& agent, std::ostream& out);
int validate(Agent& agent, std::ostream& out, std::ostream& err);
int next(Agent& agent, std::ostream& out, std::ostream& err);
int loop(Agent& agent);
int plan(Agent& agent, std::ostream& out);
int apply(Agent& agent, std::ostream& out);
int uninstall(Agent& agent, std::ostream& out);
int status(Agent& agent, std::ostream& out);
int render(Agent& agent, std::ostream& out, std::ostream& err);
int run(Agent& agent);

}  // namespace crontopus::core::commands
