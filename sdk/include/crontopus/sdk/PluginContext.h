#pragma once

#include <atomic>
#include <string>

#include "crontopus/sdk/Options.h"

namespace Poco {
class Logger;
}

namespace crontopus::sdk {

// What the host hands a plugin in configure(). The plugin may keep a copy; every pointer stays
// valid until the plugin object is destroyed. Plugins get everything through this: they do not
// reach for agent globals, install signal handlers, call exit, or leave threads running.
struct PluginContext {
  Poco::Logger* logger = nullptr;  // the plugin's own logger ("crontopus.plugin.<id>")
  OptionValues options;            // validated against optionSpecs(), defaults filled in
  std::string plugin_state_dir;    // a directory private to this plugin (created by the host)
  // How scheduler entries call the wrapper: `<agent_path> run --state-dir <agent_state_dir>
  // <ns>/<name>`.
  std::string agent_path;        // absolute path of the run wrapper (crontopus-run, else the agent)
  std::string agent_state_dir;   // the agent's state directory (run specs live below it)
  std::string default_timezone;  // the agent's default zone for jobs without spec.timezone
  const std::atomic<bool>* stop_requested = nullptr;  // set when the agent is shutting down
};

}  // namespace crontopus::sdk
