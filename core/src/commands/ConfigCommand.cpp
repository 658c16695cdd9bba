#include <ostream>

#include <yaml-cpp/yaml.h>

#include "Agent.h"
#include "Commands.h"
#include "Engine.h"
#include "PluginHost.h"
#include "controlplane/HttpClient.h"

namespace crontopus::core::commands {

namespace {

// A secret is shown only as set ("***") or not set (""), never in part.
std::string masked(const std::string& secret) {
  return secret.empty() ? "" : "***";
}

}  // namespace

// `config`: the checks the agent makes before its first cycle (the file, then the scheduler
// backend's own options against its option specs, its configure() and whether it can run here;
// for an https:// control plane, the HTTPS module and backend.ca_file), then the configuration it
// would run with, defaults filled in and secrets masked. Operators run it before a restart, as they
// run `nginx -t`. Touches nothing: no state directory, no network.
int config(Agent& agent, std::ostream& out) {
  const AgentConfig& c = agent.config(true);  // throws ConfigException: FILE:LINE:COLUMN lines
  PluginHost host;
  host.scan(PluginHost::resolvePluginsDir(agent.commandLine().plugins_dir, c.plugins_dir));
  const std::string scheduler_id =
      PluginHost::schedulerIdFor(c.scheduler.backend, c.agent.platform);
  auto scheduler = makeScheduler(host, c, scheduler_id, nullptr, nullptr);
  const sdk::Support support = scheduler->support();
  if (!support.supported) {
    throw ConfigException(
        c.source_file + ": scheduler backend \"" + scheduler_id + "\" cannot run on this host: " +
        support.reason + " (set scheduler.backend to one that can; see `crontopus-agent plugins`)");
  }
  const sdk::OptionValues options =
      PluginHost::validateOptions(scheduler_id, scheduler->optionSpecs(), c.scheduler);
  if (!c.backend.api_url.empty()) {
    // As the daemon's control plane starts: for https://, the HTTPS module and backend.ca_file
    // are loaded (no connection is made).
    controlplane::HttpSettings settings;
    settings.api_url = c.backend.api_url;
    settings.ca_file = c.backend.ca_file;
    settings.allow_insecure_http = c.backend.allow_insecure_http;
    try {
      controlplane::HttpClient client(settings);
    } catch (const controlplane::ControlPlaneException& e) {
      throw ConfigException(c.source_file + ": " + e.message());
    }
  }
  const std::string log_level =
      agent.commandLine().log_level.empty() ? c.log.level : agent.commandLine().log_level;

  YAML::Emitter y;
  y << YAML::Comment("effective configuration of " + c.source_file + " (secrets shown as ***)");
  y << YAML::BeginMap;
  y << YAML::Key << "agent" << YAML::Value << YAML::BeginMap;
  y << YAML::Key << "name" << YAML::Value << c.agent.name;
  y << YAML::Key << "hostname" << YAML::Value << c.agent.hostname;
  y << YAML::Key << "platform" << YAML::Value << c.agent.platform;
  y << YAML::Key << "version" << YAML::Value << c.agent.version;
  y << YAML::Key << "state_dir" << YAML::Value << c.agent.state_dir;
  y << YAML::Key << "token_path" << YAML::Value << c.agent.token_path;
  y << YAML::Key << "default_timezone" << YAML::Value << c.agent.default_timezone;
  y << YAML::Key << "labels" << YAML::Value << YAML::BeginMap;
  for (const auto& [key, value] : c.agent.labels)
    y << YAML::Key << key << YAML::Value << value;
  y << YAML::EndMap << YAML::EndMap;

  y << YAML::Key << "backend" << YAML::Value << YAML::BeginMap;
  y << YAML::Key << "api_url" << YAML::Value << c.backend.api_url;
  y << YAML::Key << "enrollment_token" << YAML::Value << masked(c.backend.enrollment_token);
  y << YAML::Key << "ca_file" << YAML::Value << c.backend.ca_file;
  y << YAML::Key << "heartbeat_interval" << YAML::Value << c.backend.heartbeat_interval;
  y << YAML::Key << "allow_insecure_http" << YAML::Value << c.backend.allow_insecure_http;
  y << YAML::EndMap;

  y << YAML::Key << "git" << YAML::Value << YAML::BeginMap;
  y << YAML::Key << "url" << YAML::Value << c.git.url;
  y << YAML::Key << "branch" << YAML::Value << c.git.branch;
  y << YAML::Key << "sync_interval" << YAML::Value << c.git.sync_interval;
  y << YAML::Key << "local_path" << YAML::Value << c.git.local_path;
  y << YAML::Key << "ca_file" << YAML::Value << c.git.ca_file;
  y << YAML::Key << "allow_insecure_http" << YAML::Value << c.git.allow_insecure_http;
  y << YAML::Key << "timeout" << YAML::Value << c.git.timeout;
  y << YAML::Key << "max_size_mb" << YAML::Value << c.git.max_size_mb;
  y << YAML::Key << "auth" << YAML::Value << YAML::BeginMap;
  y << YAML::Key << "type" << YAML::Value << c.git.auth.type;
  y << YAML::Key << "username" << YAML::Value << c.git.auth.username;
  y << YAML::Key << "password" << YAML::Value << masked(c.git.auth.password);
  y << YAML::Key << "key_path" << YAML::Value << c.git.auth.key_path;
  y << YAML::Key << "passphrase" << YAML::Value << masked(c.git.auth.passphrase);
  y << YAML::Key << "known_hosts" << YAML::Value << c.git.auth.known_hosts;
  y << YAML::EndMap << YAML::EndMap;

  // The backend the agent will use (auto resolved) and every option it declares, defaults filled.
  y << YAML::Key << "scheduler" << YAML::Value << YAML::BeginMap;
  y << YAML::Key << "backend" << YAML::Value << scheduler_id;
  if (c.scheduler.backend != scheduler_id)
    y << YAML::Comment("configured: " + c.scheduler.backend);
  y << YAML::Key << "options" << YAML::Value << YAML::BeginMap;
  for (const auto& [key, value] : options)
    y << YAML::Key << key << YAML::Value << value;
  y << YAML::EndMap << YAML::EndMap;

  y << YAML::Key << "plugins_dir" << YAML::Value << host.directory();

  y << YAML::Key << "log" << YAML::Value << YAML::BeginMap;
  y << YAML::Key << "level" << YAML::Value << log_level;
  y << YAML::Key << "target" << YAML::Value << c.log.target;
  y << YAML::Key << "file" << YAML::Value << c.log.file;
  y << YAML::EndMap;

  y << YAML::Key << "metrics" << YAML::Value << YAML::BeginMap;
  y << YAML::Key << "listen" << YAML::Value << c.metrics.listen;
  y << YAML::Key << "allow_remote" << YAML::Value << c.metrics.allow_remote;
  y << YAML::EndMap << YAML::EndMap;
  if (!y.good())
    throw Poco::RuntimeException("cannot print the configuration: " + y.GetLastError());
  out << y.c_str() << "\n";
  return 0;
}

}  // namespace crontopus::core::commands
