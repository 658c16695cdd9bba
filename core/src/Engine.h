#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "Config.h"
#include "PluginHost.h"
#include "Reconciler.h"
#include "State.h"
#include "platform/Files.h"

namespace crontopus::core {

// What one reconcile cycle found and did.
struct CycleReport {
  bool ok = true;  // false when the cycle itself failed (sync, listing or applying)
  sdk::ErrorCode failure = sdk::ErrorCode::kOk;  // the class of that failure, for back-off
  std::string revision;
  std::int64_t revision_time = 0;  // commit time of `revision`, seconds since the epoch
  bool source_changed = true;
  std::size_t jobs = 0;  // valid jobs for this agent
  Plan plan;
  bool applied = false;             // the plan was handed to the scheduler (apply mode)
  std::vector<std::string> errors;  // cycle and manifest errors, one line each
  std::vector<std::string> warnings;

  bool jobErrors() const { return !plan.kept.empty() || !errors.empty(); }
};

// Drives one agent: the chosen scheduler plugin, the git source plugin, the state directory.
// Plugin objects are created once and live as long as the engine; `host` must outlive it.
class Engine {
 public:
  Engine(const AgentConfig& config, PluginHost& host, const std::atomic<bool>* stop_requested);
  ~Engine();

  // sync -> parse -> list -> plan, and with `apply` -> write run specs -> apply -> save state.
  // Never throws for a failure of the cycle: that is in the report.
  CycleReport cycle(bool apply);

  // Removes every entry this agent owns (and its run specs); nothing else.
  CycleReport uninstall();

  // Decides, for each cycle's report, whether its errors are logged as errors (true) or only at
  // debug level; unset, they always are. The daemon holds back repeated auth failures with it.
  void setErrorLogFilter(std::function<bool(const CycleReport&)> filter) {
    error_log_filter_ = std::move(filter);
  }

  sdk::SchedulerPlugin& scheduler() { return *scheduler_; }
  const std::string& schedulerId() const { return scheduler_id_; }
  // Where run specs (and `run`'s check-in spool) live: see makeScheduler.
  const std::string& runStateDirectory() const { return run_state_dir_; }
  // The user the wrapper runs as when it is not the agent's own (else empty).
  const std::string& runUser() const { return run_user_; }

 private:
  CycleReport cycleOnce(bool apply);
  bool sync(CycleReport& report, std::string& checkout);
  // True when a run spec of the desired set is missing (someone deleted it): only the files of
  // directories whose time moved since the last look are checked.
  bool runSpecMissing(const std::map<std::string, DesiredJob>& desired);
  // Writes the run spec of every desired job that differs from `jobs` (this cycle's parse),
  // before the scheduler can call them, and notes each directory's time.
  void writeRunSpecs(const std::map<std::string, DesiredJob>& desired,
                     const std::map<std::string, sdk::Job>& jobs);
  void removeRunSpecs(const std::vector<std::string>& identities);
  // <run user's home>/.crontopus, the run user's (see writeRunSpecs).
  void makeRunDirectory();
  void finish(CycleReport& report, bool save);
  // Removes what writes cut short by a crash left behind (see removeStaleTemporaries).
  void removeStaleTemporaries();

  const AgentConfig& config_;
  PluginHost& host_;
  const std::atomic<bool>* stop_requested_;
  std::string scheduler_id_;
  std::unique_ptr<sdk::SchedulerPlugin> scheduler_;
  std::unique_ptr<sdk::SourcePlugin> source_;
  // The desired set of the revision last parsed, reused while the revision does not move.
  struct DesiredSnapshot {
    std::string revision;
    ManifestSet manifests;  // diagnostics only: its jobs live only through the parsing cycle
    std::map<std::string, DesiredJob> desired;
  };
  std::unique_ptr<DesiredSnapshot> desired_;
  std::optional<AgentState> state_;
  std::string run_state_dir_;  // where run specs go (see makeScheduler)
  // Modification time of each run-spec directory after the last cycle looked at it.
  std::map<std::string, std::filesystem::file_time_type> run_directory_times_;
  std::string run_user_;  // the user the wrapper runs as, when not the agent's own
  std::function<bool(const CycleReport&)> error_log_filter_;
  bool swept_ = false;  // removeStaleTemporaries ran (once per process)
};

// Creates and configures the scheduler plugin `id` with options validated from the config.
// When the plugin runs jobs as another user (runUser(), e.g. cron's `user` option), the entries
// point the wrapper at <that user's home>/.crontopus, which `run_state_dir` receives (else the
// agent's own state directory): the job's run spec, lock and run log must be readable and
// writable by that user and by nobody else, and the agent's own state directory stays private.
std::unique_ptr<sdk::SchedulerPlugin> makeScheduler(PluginHost& host, const AgentConfig& config,
                                                    const std::string& id,
                                                    const std::atomic<bool>* stop_requested,
                                                    std::string* run_state_dir = nullptr);

// Takes the state directory's lock: one agent per state directory at a time (a second one
// would race on the scheduler and the state). Throws, naming the lock file, when it is still held
// after 3 s (a killed agent's half-spawned child holds a copy for a moment).
std::unique_ptr<platform::FileLock> lockStateDirectory(const AgentConfig& config);

// Renders one job as a DesiredJob (the plugin's text or its error).
DesiredJob renderJob(const sdk::SchedulerPlugin& scheduler, const sdk::Job& job);

}  // namespace crontopus::core
