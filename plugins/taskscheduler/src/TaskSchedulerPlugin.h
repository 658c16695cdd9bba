#pragma once

#include <memory>
#include <string>
#include <vector>

#include "TaskModel.h"
#include "TaskStore.h"
#include "TriggerCompiler.h"
#include "crontopus/sdk/SchedulerPlugin.h"

namespace crontopus::plugins::taskscheduler {

// Windows Task Scheduler 2.0 backend. Every job becomes one task at \Crontopus\<namespace>\<name>
// whose Description starts with the marker "CRONTOPUS:<namespace>/<name>" and whose one Exec
// action runs the wrapper: `<agent_path> run --state-dir <agent_state_dir> <namespace>/<name>`.
//
// What `run` must do for a task rendered here (the wrapper cannot tell the forms apart from its
// command line, so it does both steps for every Task Scheduler job; for the native form they
// never drop a run that cron would make):
//  1. Take the scheduled minute m = the current UTC time floored to the minute.
//  2. Gate: if CronExpression::firesAt(m, zone) is false (zone = the job's spec.timezone, else
//     the agent's default zone, else the host's), exit 0 without running or reporting anything.
//     Needed for the "every-minute-gated" form (one trigger each minute) and the "native-gated"
//     form (calendar triggers on a superset of the days, and daily UTC triggers at every UTC time
//     a local time near a daylight-saving change can fall on).
//  3. Dedupe: atomically compare-and-set a per-job "last scheduled minute handled" stamp in the
//     job's state directory; if the stamp is already >= m, exit 0 without running. Needed when
//     day-of-month and day-of-week are both restricted (two trigger sets that both fire on a day
//     matching both fields), when a UTC trigger and a local one meet at a minute after a
//     daylight-saving change, and as a guard against a trigger firing twice.
//  Skip both for @reboot (BootTrigger, no scheduled minute).
// MultipleInstancesPolicy is IgnoreNew, so a run still going when the next minute's trigger fires
// makes Task Scheduler skip that start (the wrapper never sees it).
class TaskSchedulerPlugin : public sdk::SchedulerPlugin {
 public:
  TaskSchedulerPlugin();
  ~TaskSchedulerPlugin() override;

  std::vector<sdk::OptionSpec> optionSpecs() const override;
  sdk::Result configure(const sdk::PluginContext& context) override;
  sdk::Support support() const override;
  sdk::Result listOwned(std::vector<sdk::InstalledEntry>& out) override;
  sdk::Result render(const sdk::Job& job, sdk::RenderedEntry& out) const override;
  sdk::Result apply(const std::vector<sdk::Change>& changes) override;

 private:
  sdk::PluginContext context_;
  std::string host_zone_;
  std::unique_ptr<TaskStore> store_;
};

// The task for `job` (what render() serialises), and how its schedule was compiled. `host_zone`
// is the host's IANA zone. Pure; never throws.
sdk::Result buildTask(const sdk::Job& job, const sdk::PluginContext& context,
                      const std::string& host_zone, TaskDefinition& task,
                      CompiledSchedule& schedule);

// "\Crontopus\<namespace>\<name>" for an identity "<namespace>/<name>".
std::string taskPathFor(const std::string& identity);
// The identity in a Description's marker line; empty when there is no marker.
std::string identityFromDescription(const std::string& description);

}  // namespace crontopus::plugins::taskscheduler
