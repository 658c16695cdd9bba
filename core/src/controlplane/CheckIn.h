#pragma once

#include <string>

#include "RunSpec.h"
#include "Runner.h"

namespace crontopus::core {
struct AgentConfig;
}

namespace crontopus::core::controlplane {

enum class CheckInOutcome {
  kNotSent,  // standalone, check-ins disabled for the job, or a skipped run (not a protocol status)
  kDelivered,  // 201
  kSpooled,    // written to the spool for the agent to deliver
  kRejected,   // the server answered a 4xx that no retry can change (logged)
  kLost,       // could neither be delivered nor spooled (logged; the run log still has it)
};

// The check-in after one run, from the `run` wrapper: reads the token file itself, posts once
// (with one short retry), and spools on any failure that a later attempt could fix. While older
// check-ins wait in the spool it spools too, so that the control plane sees runs in order.
// Never throws; never changes what the job returned.
CheckInOutcome reportRun(const RunSpec& spec, const RunRecord& record);

// What the agent writes into each run spec for `reportRun` (no secret); defined with the agent
// (RunSettings.cpp), the wrapper's library does not know the configuration. The spool is
// <run_state_dir>/spool: the agent's own state directory, or the home of the user the scheduler
// runs jobs as (cron's `user` option), who can write there but cannot read the token file.
RunSpec::ControlPlane runSpecControlPlane(const AgentConfig& config,
                                          const std::string& run_state_dir);

// <state_dir>/spool
std::string spoolDirectory(const AgentConfig& config);

}  // namespace crontopus::core::controlplane
