#pragma once

#include <string>

namespace crontopus::tests {

// Copies the built agent (`agent_bin`), crontopus-run, the SDK library and the plugins into
// prefix/{bin,lib,lib/crontopus/plugins} (all 0755): the layout the agent's RPATH ($ORIGIN/../lib)
// and plugin discovery expect, for tests whose throwaway user cannot reach the build tree.
// Returns the copied agent's path.
std::string installCopy(const std::string& agent_bin, const std::string& prefix);

}  // namespace crontopus::tests
