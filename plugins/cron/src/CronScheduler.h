#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "CrontabStore.h"
#include "crontopus/sdk/SchedulerPlugin.h"

namespace crontopus::plugins::cron {

// The cron backend: a user crontab through the crontab command, or a cron.d file (option
// `cron_file`). Entry format: EntryFormat.h. Ownership and preservation rules: CrontabDocument.h.
//
// apply() reads the crontab (or reuses the text the last listOwned() read), rewrites only the
// owned blocks named by the changes, and, when the text changed, reads it again and writes it
// once. If the second read differs from the first, someone edited the crontab meanwhile: apply
// writes nothing and returns kConflict, and the host starts the cycle over with listOwned().
class CronScheduler : public sdk::SchedulerPlugin {
 public:
  static constexpr const char* kOptionUser = "user";
  static constexpr const char* kOptionCrontabCommand = "crontab_command";
  static constexpr const char* kOptionCronFile = "cron_file";

  CronScheduler();
  ~CronScheduler() override;

  std::vector<sdk::OptionSpec> optionSpecs() const override;
  sdk::Result configure(const sdk::PluginContext& context) override;
  sdk::Support support() const override;
  sdk::Result listOwned(std::vector<sdk::InstalledEntry>& out) override;
  sdk::Result render(const sdk::Job& job, sdk::RenderedEntry& out) const override;
  sdk::Result apply(const std::vector<sdk::Change>& changes) override;
  std::string runUser() const override { return user_; }

  // For tests and the benchmark: a store used instead of the one the options select (set before
  // configure()), a fixed host zone and a fixed clock for timezone rendering.
  void setStoreForTesting(std::unique_ptr<CrontabStore> store);
  void setHostZoneForTesting(std::string zone);
  void setNowForTesting(std::chrono::sys_seconds now);
  // Subprocesses the store has started (crontab invocations).
  std::size_t storeInvocations() const;

 private:
  sdk::Result doConfigure(const sdk::PluginContext& context);
  sdk::Result doListOwned(std::vector<sdk::InstalledEntry>& out);
  sdk::Result doRender(const sdk::Job& job, sdk::RenderedEntry& out) const;
  sdk::Result doApply(const std::vector<sdk::Change>& changes);
  std::string option(const sdk::PluginContext& context, const char* key) const;

  sdk::PluginContext context_;
  bool configured_ = false;
  std::string user_;             // option `user`; empty = the agent's own user
  std::string crontab_command_;  // option `crontab_command`
  std::string cron_file_;        // option `cron_file`; empty = user crontab mode
  std::string cron_user_;        // cron.d user field
  std::string host_zone_;
  bool host_zone_fixed_ = false;
  std::optional<std::chrono::sys_seconds> now_;
  std::unique_ptr<CrontabStore> store_;
  bool store_injected_ = false;
  // What the last listOwned() read, as its size and hash (the text itself, hundreds of KB, would
  // stay in memory between unchanged cycles, which never call apply()). apply() reads the crontab
  // again and writes nothing when it differs, so an edit made at any time during the cycle is
  // noticed.
  struct Fingerprint {
    std::size_t size = 0;
    std::size_t hash = 0;
    bool operator==(const Fingerprint&) const = default;
  };
  static Fingerprint fingerprintOf(const std::string& text);
  std::optional<Fingerprint> snapshot_;
};

}  // namespace crontopus::plugins::cron
