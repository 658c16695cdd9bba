#pragma once

#include <string>
#include <vector>

#include "crontopus/sdk/Export.h"
#include "crontopus/sdk/Job.h"
#include "crontopus/sdk/Options.h"
#include "crontopus/sdk/PluginContext.h"
#include "crontopus/sdk/Result.h"

namespace crontopus::sdk {

// Whether this host can run the backend. An unsupported plugin still renders (for `plan` and
// `render` on any platform) but is never picked by `scheduler.backend: auto`.
struct Support {
  bool supported = false;
  std::string reason;  // why not, e.g. "systemd is not running (PID 1)"
};

// One entry the plugin owns, as found in the scheduler.
struct InstalledEntry {
  std::string identity;  // "<namespace>/<name>" read back from the ownership marker
  std::string text;      // the entry exactly as installed; compared with render() for drift
  bool paused = false;
};

// What the plugin would install for one job.
struct RenderedEntry {
  std::string text;    // canonical entry text; equal to InstalledEntry::text when in sync
  std::string report;  // human-readable notes (form chosen, approximations); may be empty
  // The entry fires on more minutes than the schedule selects (a host-zone superset, an
  // every-minute trigger), or may fire twice for one minute (overlapping triggers): `run` must
  // drop the minutes on which the schedule does not fire in the job's zone, and run each
  // scheduled minute once.
  bool gate_runs = false;
};

enum class ChangeKind { kAdd, kUpdate, kPause, kResume, kRemove, kDrift };

CRONTOPUS_SDK_API const char* changeKindName(ChangeKind kind) noexcept;

// One planned change. For every kind but kRemove, `text` is the rendered entry to install.
struct Change {
  ChangeKind kind = ChangeKind::kAdd;
  std::string identity;
  std::string text;
  bool paused = false;
  std::string reason;  // what changed, for logs and `plan`
};

// A scheduler backend (cron, systemd timers, Task Scheduler, third-party ones).
//
// Threading: the host calls a plugin object from one thread at a time.
// Errors: no method throws; each returns a Result whose message is fit for the operator.
// Ownership: a plugin lists, changes and removes only entries carrying its own marker, and never
// touches anything else in the scheduler.
class CRONTOPUS_SDK_API SchedulerPlugin {
 public:
  virtual ~SchedulerPlugin() = default;

  // The options this plugin accepts; the host validates `scheduler.options` against them.
  virtual std::vector<OptionSpec> optionSpecs() const = 0;
  // Called once, before any other call except optionSpecs().
  virtual Result configure(const PluginContext& context) = 0;
  virtual Support support() const = 0;

  // Every entry this plugin owns, in scheduler order.
  virtual Result listOwned(std::vector<InstalledEntry>& out) = 0;
  // The canonical entry for `job`. Pure: touches nothing, works on any platform.
  virtual Result render(const Job& job, RenderedEntry& out) const = 0;
  // Applies the whole change set as one batch (the cron backend writes the crontab once).
  // On failure nothing is guaranteed to be applied, and the entries it did not reach are as before.
  virtual Result apply(const std::vector<Change>& changes) = 0;

  // The user the wrapper runs as, when it is not the agent's own user (cron's `user` option);
  // the host then keeps that job's run files where that user can read them.
  virtual std::string runUser() const { return {}; }
};

}  // namespace crontopus::sdk
