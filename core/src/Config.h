#pragma once

#include <map>
#include <string>
#include <vector>

#include <Poco/Exception.h>

namespace crontopus::core {

POCO_DECLARE_EXCEPTION(, ConfigException, Poco::Exception)

// One problem found in a configuration file. line/column are 1-based; 0 when unknown.
struct ConfigIssue {
  std::string file;
  int line = 0;
  int column = 0;
  std::string key;  // dotted path, e.g. "git.sync_interval"
  std::string message;

  std::string str() const;  // "FILE:LINE:COLUMN: KEY: message"
};

struct GitAuthConfig {
  std::string type;  // "", basic, token, ssh
  std::string username;
  std::string password;  // secret
  std::string key_path;
  std::string passphrase;  // secret
  std::string known_hosts;
};

// The agent's configuration: the seed's sections plus what the design card adds. Every path has
// `~` expanded; every default is filled in. Plain data.
struct AgentConfig {
  std::string source_file;  // empty when built from defaults only

  struct Agent {
    std::string name;              // default: hostname
    std::string hostname;          // default: the host's name
    std::string platform;          // default: detected at run time
    std::string version;           // informational; the agent reports its build version
    std::string state_dir;         // default ~/.crontopus
    std::string token_path;        // default <state_dir>/agent-token
    std::string default_timezone;  // default: "" = the host's local zone
    std::map<std::string, std::string> labels;
  } agent;

  struct Backend {
    std::string api_url;           // empty = standalone
    std::string enrollment_token;  // secret
    std::string ca_file;
    int heartbeat_interval = 30;
    bool allow_insecure_http = false;
  } backend;

  struct Git {
    std::string url;
    std::string branch = "main";
    int sync_interval = 30;
    std::string local_path;  // default <state_dir>/job-manifests
    GitAuthConfig auth;
    std::string ca_file;
    bool allow_insecure_http = false;
    int timeout = 60;
    int max_size_mb = 100;
  } git;

  struct Scheduler {
    std::string backend = "auto";
    // Raw option values as text, with their positions for error messages; validated against the
    // chosen plugin's OptionSpecs by the plugin host.
    std::map<std::string, std::string> options;
    std::map<std::string, ConfigIssue> option_positions;
  } scheduler;

  std::string plugins_dir;

  struct Log {
    std::string level = "information";
    std::string target = "console";  // console | syslog | file
    std::string file;
  } log;

  struct Metrics {
    std::string listen;  // HOST:PORT; empty = no metrics server
    bool allow_remote = false;
  } metrics;

  std::vector<ConfigIssue> warnings;
};

// The default configuration file: /etc/crontopus/config.yaml for root, else
// ~/.crontopus/config.yaml.
std::string defaultConfigPath();

// Defaults only (no file), for commands that need no configuration.
AgentConfig defaultConfig();

// Loads and validates `path`. Throws ConfigException whose message lists every error as
// "FILE:LINE:COLUMN: KEY: message"; unknown keys become warnings in AgentConfig::warnings.
AgentConfig loadConfig(const std::string& path);
// The same for YAML text already in memory (`name` is used in messages).
AgentConfig parseConfig(const std::string& text, const std::string& name);

// Replaces a leading "~" or "~/" with the home directory.
std::string expandHome(const std::string& path);

}  // namespace crontopus::core
