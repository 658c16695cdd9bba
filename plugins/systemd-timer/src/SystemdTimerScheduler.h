#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "CommandRunner.h"
#include "UnitFiles.h"
#include "UnitStore.h"
#include "crontopus/sdk/SchedulerPlugin.h"

namespace crontopus::plugins::systemd_timer {

// The systemd-timer backend: one `crontopus-<escaped ns/name>` .service + .timer pair per job in
// the unit directory (option `unit_dir`, else by `scope`: /etc/systemd/system or
// ~/.config/systemd/user).
//
// Entry text: see UnitFiles.h (both files byte for byte, then "# enabled: yes|no"). Ownership:
// a file is ours when its first line is "# CRONTOPUS:<ns>/<name>" (the units also carry
// X-Crontopus-Identity= for `systemctl show`); other files in the directory are read only to
// look for the marker and are never changed or removed, and apply() refuses (kConflict) to
// overwrite a file of a job's name that lacks the marker.
//
// apply() order, chosen so that systemd never runs a timer whose file is gone:
//   1. removed jobs: `disable --now <timer>` while its file still exists, then delete its files;
//   2. write every changed file atomically (and drop stray owned files of a changed job);
//   3. one `daemon-reload`, when any file was written or deleted;
//   4. per changed job, only when needed: `enable --now` (added, resumed, or found disabled)
//      or `disable --now` (paused, or found enabled). @reboot timers are enabled without
//      --now: starting an OnBootSec= timer after boot would run the job at once.
// Every systemctl call carries `--user` in user scope. A failing call stops apply() with kIo;
// the files already written stay (the next cycle sees them as in sync or as drift).
//
// Option `root` provisions an offline file system root instead (an image, a container tree):
// units go to <root>/etc/systemd/system, systemctl gets --root=<root>, and since no manager runs
// there, there is no daemon-reload and no --now. That needs no running systemd, so support()
// reports it as supported anywhere.
class SystemdTimerScheduler : public sdk::SchedulerPlugin {
 public:
  static constexpr const char* kOptionScope = "scope";
  static constexpr const char* kOptionUnitDir = "unit_dir";
  static constexpr const char* kOptionPersistent = "persistent";
  static constexpr const char* kOptionAccuracy = "accuracy";
  static constexpr const char* kOptionSystemctl = "systemctl_command";
  static constexpr const char* kOptionRoot = "root";

  SystemdTimerScheduler();
  ~SystemdTimerScheduler() override;

  std::vector<sdk::OptionSpec> optionSpecs() const override;
  sdk::Result configure(const sdk::PluginContext& context) override;
  sdk::Support support() const override;
  sdk::Result listOwned(std::vector<sdk::InstalledEntry>& out) override;
  sdk::Result render(const sdk::Job& job, sdk::RenderedEntry& out) const override;
  sdk::Result apply(const std::vector<sdk::Change>& changes) override;

  // For tests: a runner used instead of starting `systemctl_command`, and a fixed clock for the
  // daylight-saving window. Set before the calls they affect.
  void setCommandRunnerForTesting(std::unique_ptr<CommandRunner> runner);
  void setNowForTesting(std::chrono::sys_seconds now);

  const std::string& unitDir() const { return store_.dir(); }
  const std::string& root() const { return root_; }
  bool userScope() const { return user_scope_; }

 private:
  sdk::Result doConfigure(const sdk::PluginContext& context);
  sdk::Result doListOwned(std::vector<sdk::InstalledEntry>& out);
  sdk::Result doRender(const sdk::Job& job, sdk::RenderedEntry& out) const;
  sdk::Result doApply(const std::vector<sdk::Change>& changes);
  sdk::Result systemctl(std::vector<std::string> args);

  sdk::PluginContext context_;
  bool configured_ = false;
  bool user_scope_ = false;
  std::string root_;  // option `root`; empty = the running system
  UnitSettings settings_;
  std::vector<std::string> systemctl_command_{"systemctl"};
  UnitStore store_{""};
  std::unique_ptr<CommandRunner> runner_;
  std::optional<std::chrono::sys_seconds> now_;
};

}  // namespace crontopus::plugins::systemd_timer
