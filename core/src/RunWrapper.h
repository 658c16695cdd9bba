#pragma once

#include <functional>
#include <string>

#include "CommandLine.h"

// The `run` wrapper that scheduler entries call, shared by `crontopus-agent run` and the lean
// `crontopus-run` executable (src/run_main.cpp). It lives in the crontopus_run library, which
// links neither PocoUtil, yaml-cpp, libyaml nor libgit2: starting those costs more CPU than
// the whole run (README, "The run wrapper").
namespace crontopus::core {

// `run [--state-dir DIR] NAMESPACE/NAME`: checks the identity (UsageException), then runs the
// job from DIR, or from default_state_dir() when the entry names no state directory (only the
// agent, which can read its configuration, passes one). Returns the job's exit code.
int runCommand(const CommandLine& command_line,
               const std::function<std::string()>& default_state_dir);

// main() of crontopus-run. The command line is the agent's: entries pass exactly what they
// would pass to `crontopus-agent`. The usual `run --state-dir DIR NS/NAME` (with any global
// option the agent ignores for `run`) is handled here; anything else (no --state-dir, a usage
// error, --help, --daemon...) executes crontopus-agent beside this executable with the same
// arguments, so that the behaviour and messages are the agent's own.
int runWrapperMain(int argc, char** argv);

}  // namespace crontopus::core
