#include <iomanip>
#include <ostream>
#include <vector>

#include "Agent.h"
#include "Commands.h"
#include "PluginHost.h"

namespace crontopus::core::commands {

int plugins(Agent& agent, std::ostream& out) {
  const AgentConfig& config = agent.config(false);
  PluginHost host;
  host.scan(PluginHost::resolvePluginsDir(agent.commandLine().plugins_dir, config.plugins_dir));
  const std::string selected =
      PluginHost::schedulerIdFor(config.scheduler.backend, config.agent.platform);
  out << "plugins directory: " << host.directory() << "\n";
  for (const auto& r : host.records()) {
    const std::string id = r.id.empty() ? "-" : r.id;
    out << std::left << std::setw(16) << id << std::setw(10) << (r.kind.empty() ? "-" : r.kind)
        << std::setw(8) << (r.version.empty() ? "-" : r.version);
    if (!r.loaded) {
      out << "refused     " << r.path << "\n    reason: " << r.reason << "\n";
      continue;
    }
    std::string support = "supported";
    std::vector<sdk::OptionSpec> options;
    if (r.kind == "scheduler") {
      auto plugin = host.createScheduler(r.id);
      options = plugin->optionSpecs();
      sdk::PluginContext context = makePluginContext(config, r.id);
      // Only the selected backend gets the configured scheduler.options; the others, defaults.
      context.options = PluginHost::validateOptions(
          r.id, options, r.id == selected ? config.scheduler : AgentConfig::Scheduler{});
      sdk::Result configured = plugin->configure(context);
      sdk::Support s = plugin->support();
      if (!configured) {
        support = "unsupported: " + configured.message();
      } else if (!s.supported) {
        support = "unsupported: " + s.reason;
      }
      if (r.id == selected)
        support += " (selected)";
    }
    out << "loaded      " << r.path << "\n    " << support << "\n";
    for (const auto& o : options) {
      static const char* kTypes[] = {"string", "bool", "int", "path"};
      out << "    option " << o.key << " (" << kTypes[static_cast<int>(o.type)] << ", default \""
          << o.default_value << "\"): " << o.doc << "\n";
    }
  }
  return 0;
}

}  // namespace crontopus::core::commands
