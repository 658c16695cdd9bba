#include <iomanip>
#include <ostream>

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
    if (r.kind == "scheduler") {
      auto plugin = host.createScheduler(r.id);
      sdk::PluginContext context = makePluginContext(config, r.id);
      context.options = PluginHost::validateOptions(r.id, plugin->optionSpecs(), {});
      if (r.id == selected) {
        context.options =
            PluginHost::validateOptions(r.id, plugin->optionSpecs(), config.scheduler);
      }
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
  }
  return 0;
}

}  // namespace crontopus::core::commands
