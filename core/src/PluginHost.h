#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include <Poco/ClassLoader.h>

#include "Config.h"
#include "crontopus/sdk/SchedulerPlugin.h"
#include "crontopus/sdk/SourcePlugin.h"

namespace crontopus::core {

// What the loader found for one file in the plugins directory.
struct PluginRecord {
  std::string path;
  bool loaded = false;
  std::string reason;  // why it was refused (empty when loaded)
  std::string kind;    // "scheduler" | "source" (when the info could be read)
  std::string id;
  std::string version;
  std::string description;
  std::string class_name;
  unsigned abi_major = 0;
  unsigned abi_minor = 0;
};

// Finds, checks and loads plugins; creates plugin objects. Libraries stay loaded for the life of
// the host, which must outlive every object it created.
class PluginHost {
 public:
  PluginHost();
  ~PluginHost();
  PluginHost(const PluginHost&) = delete;
  PluginHost& operator=(const PluginHost&) = delete;

  // The directory to scan: --plugins-dir, else config plugins_dir, else
  // <exe dir>/../lib/crontopus/plugins when it exists, else the install-time plugin dir.
  static std::string resolvePluginsDir(const std::string& flag, const std::string& configured);

  // Examines every candidate library in `dir`. Never throws for a bad plugin: it is recorded as
  // refused with its reason. Throws only when `dir` itself cannot be read.
  void scan(const std::string& dir);

  const std::vector<PluginRecord>& records() const { return records_; }
  const std::string& directory() const { return dir_; }
  const PluginRecord* find(const std::string& kind, const std::string& id) const;

  // The id `scheduler.backend` names; "auto" means cron on Linux/macOS, taskscheduler on Windows.
  static std::string schedulerIdFor(const std::string& backend, const std::string& platform);

  std::unique_ptr<sdk::SchedulerPlugin> createScheduler(const std::string& id);
  std::unique_ptr<sdk::SourcePlugin> createSource(const std::string& id);

  // Validates `raw` option values against `specs` (unknown keys and bad types are errors naming
  // the key), fills defaults, expands ~ in paths. Throws ConfigException.
  static sdk::OptionValues validateOptions(const std::string& plugin_id,
                                           const std::vector<sdk::OptionSpec>& specs,
                                           const AgentConfig::Scheduler& raw);

 private:
  void examine(const std::string& path);

  std::string dir_;
  std::vector<PluginRecord> records_;
  Poco::ClassLoader<sdk::SchedulerPlugin> schedulers_;
  Poco::ClassLoader<sdk::SourcePlugin> sources_;
};

}  // namespace crontopus::core

namespace crontopus::core {
// What scheduler entries call: crontopus-run beside the agent executable `agent_path` when it
// is there (it starts in a fraction of the agent's time, README "The run wrapper"), else the
// agent itself. Both take the same `run --state-dir DIR NS/NAME`.
std::string runWrapperPath(const std::string& agent_path);

// The context a plugin gets: its logger, its state directory below the agent's, the wrapper path.
sdk::PluginContext makePluginContext(const AgentConfig& config, const std::string& plugin_id,
                                     const std::atomic<bool>* stop_requested = nullptr);
}  // namespace crontopus::core
