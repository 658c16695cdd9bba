#include "Config.h"

#include <fstream>
#include <functional>
#include <limits>
#include <optional>
#include <sstream>

#include <Poco/Net/IPAddress.h>
#include <yaml-cpp/yaml.h>
#include <yaml.h>

#include "platform/Platform.h"

namespace crontopus::core {

POCO_IMPLEMENT_EXCEPTION(ConfigException, Poco::Exception, "Configuration error")

std::string ConfigIssue::str() const {
  std::ostringstream out;
  out << file;
  if (line > 0)
    out << ":" << line << ":" << column;
  out << ": " << key << ": " << message;
  return out.str();
}

std::string expandHome(const std::string& path) {
  if (path == "~")
    return platform::homeDirectory();
  if (path.rfind("~/", 0) == 0)
    return platform::homeDirectory() + path.substr(1);
  return path;
}

std::string defaultConfigPath() {
  return platform::defaultConfigFile();
}

namespace {

// Walks the YAML tree against the schema, collecting every error rather than stopping at the first,
// so the operator fixes the file in one go.
class Reader {
 public:
  explicit Reader(std::string file) : file_(std::move(file)) {}

  ConfigIssue issue(const YAML::Node& node, const std::string& key, const std::string& msg) const {
    ConfigIssue i{file_, 0, 0, key, msg};
    if (node.IsDefined()) {
      const YAML::Mark m = node.Mark();
      if (m.line >= 0) {
        i.line = m.line + 1;
        i.column = m.column + 1;
      }
    }
    return i;
  }
  void error(const YAML::Node& node, const std::string& key, const std::string& msg) {
    errors_.push_back(issue(node, key, msg));
  }
  void warn(const YAML::Node& node, const std::string& key, const std::string& msg) {
    warnings_.push_back(issue(node, key, msg));
  }

  using Handler = std::function<void(const YAML::Node&, const std::string&)>;

  // Visits a mapping; each known key goes to its handler, unknown keys become warnings.
  void section(const YAML::Node& node, const std::string& prefix,
               const std::map<std::string, Handler>& handlers) {
    if (!node.IsDefined() || node.IsNull())
      return;
    if (!node.IsMap()) {
      error(node, prefix, "must be a mapping of keys to values");
      return;
    }
    for (const auto& kv : node) {
      const std::string key = kv.first.Scalar();
      const std::string path = prefix.empty() ? key : prefix + "." + key;
      auto it = handlers.find(key);
      if (it == handlers.end()) {
        warn(kv.first, path, "unknown key, ignored (check its spelling)");
        continue;
      }
      it->second(kv.second, path);
    }
  }

  Handler string(std::string& target, bool path = false) {
    return [this, &target, path](const YAML::Node& n, const std::string& key) {
      if (n.IsNull())
        return;
      if (!n.IsScalar()) {
        error(n, key, "must be a string");
        return;
      }
      if (n.Scalar().find('\0') != std::string::npos) {
        error(n, key, "must not contain a NUL character");
        return;
      }
      target = path ? expandHome(n.Scalar()) : n.Scalar();
    };
  }

  Handler integer(int& target, int min, int max) {
    return [this, &target, min, max](const YAML::Node& n, const std::string& key) {
      long long v = 0;
      if (!n.IsScalar() || !YAML::convert<long long>::decode(n, v)) {
        error(n, key, "must be a whole number");
        return;
      }
      if (v < min || v > max) {
        error(n, key,
              "must be between " + std::to_string(min) + " and " + std::to_string(max) + ", got " +
                  n.Scalar());
        return;
      }
      target = static_cast<int>(v);
    };
  }

  Handler boolean(bool& target) {
    return [this, &target](const YAML::Node& n, const std::string& key) {
      const std::string& s = n.IsScalar() ? n.Scalar() : std::string();
      if (s == "true") {
        target = true;
      } else if (s == "false") {
        target = false;
      } else {
        error(n, key, "must be true or false");
      }
    };
  }

  Handler oneOf(std::string& target, std::vector<std::string> allowed) {
    return [this, &target, allowed](const YAML::Node& n, const std::string& key) {
      std::string v;
      string(v)(n, key);
      if (v.empty())
        return;  // null or "": the default
      for (const auto& a : allowed) {
        if (v == a) {
          target = v;
          return;
        }
      }
      std::string list;
      for (const auto& a : allowed)
        list += (list.empty() ? "" : ", ") + a;
      error(n, key, "must be one of: " + list + " (got \"" + v + "\")");
    };
  }

  Handler stringMap(std::map<std::string, std::string>& target) {
    return [this, &target](const YAML::Node& n, const std::string& key) {
      if (n.IsNull())
        return;
      if (!n.IsMap()) {
        error(n, key, "must be a mapping of strings to strings");
        return;
      }
      for (const auto& kv : n) {
        if (!kv.second.IsScalar()) {
          error(kv.second, key + "." + kv.first.Scalar(), "must be a string");
          continue;
        }
        target[kv.first.Scalar()] = kv.second.Scalar();
      }
    };
  }

  const std::vector<ConfigIssue>& errors() const { return errors_; }
  const std::vector<ConfigIssue>& warnings() const { return warnings_; }
  const std::string& file() const { return file_; }

 private:
  std::string file_;
  std::vector<ConfigIssue> errors_;
  std::vector<ConfigIssue> warnings_;
};

// node[key] for positions in messages: yaml-cpp throws on a subscript of a scalar or a list, which
// a file with a duplicate section (`git:` twice, once as a scalar) reaches (found by fuzz_config).
YAML::Node at(const YAML::Node& node, const char* key) {
  return node.IsMap() ? node[key] : YAML::Node(YAML::NodeType::Undefined);
}

void fillDefaults(AgentConfig& c) {
  if (c.agent.hostname.empty())
    c.agent.hostname = platform::hostName();
  if (c.agent.name.empty())
    c.agent.name = c.agent.hostname;
  if (c.agent.platform.empty())
    c.agent.platform = platform::platformName();
  if (c.agent.state_dir.empty())
    c.agent.state_dir = platform::defaultStateDirectory();
  if (c.agent.token_path.empty())
    c.agent.token_path = c.agent.state_dir + "/agent-token";
  if (c.git.local_path.empty())
    c.git.local_path = c.agent.state_dir + "/job-manifests";
}

// The metrics server tells anyone who can reach it the revision and the job counts: loopback
// only unless the operator says otherwise.
void checkMetricsListen(Reader& r, const YAML::Node& node, const AgentConfig::Metrics& m) {
  const std::string key = "metrics.listen";
  const auto colon = m.listen.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == m.listen.size()) {
    r.error(node, key, "must be HOST:PORT, e.g. 127.0.0.1:9090 (got \"" + m.listen + "\")");
    return;
  }
  std::string host = m.listen.substr(0, colon);
  const std::string port = m.listen.substr(colon + 1);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  if (port.find_first_not_of("0123456789") != std::string::npos || port.size() > 5 ||
      std::stoi(port) > 65535) {
    r.error(node, key, "the port must be a number from 0 to 65535 (got \"" + port + "\")");
    return;
  }
  bool loopback = host == "localhost";
  if (!loopback) {
    Poco::Net::IPAddress address;
    if (!Poco::Net::IPAddress::tryParse(host, address)) {
      r.error(node, key, "the host must be an IP address or localhost (got \"" + host + "\")");
      return;
    }
    loopback = address.isLoopback();
  }
  if (!loopback && !m.allow_remote) {
    r.error(node, key,
            "\"" + host +
                "\" is not a loopback address: anyone who can reach it reads the revision and "
                "the job counts; listen on 127.0.0.1 or set metrics.allow_remote: true");
  }
}

AgentConfig parseDocument(const YAML::Node& root, const std::string& name) {
  AgentConfig c;
  c.source_file = name;
  Reader r(name);
  YAML::Node listen_node;
  const int kMaxInterval = 7 * 24 * 3600;

  if (root.IsDefined() && !root.IsNull() && !root.IsMap()) {
    r.error(root, "(top level)", "must be a mapping with sections agent, backend, git, ...");
  } else {
    r.section(
        root, "",
        {
            {"agent",
             [&](const YAML::Node& n, const std::string& p) {
               r.section(n, p,
                         {{"name", r.string(c.agent.name)},
                          {"hostname", r.string(c.agent.hostname)},
                          {"platform", r.oneOf(c.agent.platform, {"linux", "darwin", "windows"})},
                          {"version", r.string(c.agent.version)},
                          {"state_dir", r.string(c.agent.state_dir, true)},
                          {"token_path", r.string(c.agent.token_path, true)},
                          {"default_timezone", r.string(c.agent.default_timezone)},
                          {"labels", r.stringMap(c.agent.labels)}});
             }},
            {"backend",
             [&](const YAML::Node& n, const std::string& p) {
               r.section(n, p,
                         {{"api_url", r.string(c.backend.api_url)},
                          {"enrollment_token", r.string(c.backend.enrollment_token)},
                          {"ca_file", r.string(c.backend.ca_file, true)},
                          {"heartbeat_interval",
                           r.integer(c.backend.heartbeat_interval, 1, kMaxInterval)},
                          {"allow_insecure_http", r.boolean(c.backend.allow_insecure_http)}});
             }},
            {"git",
             [&](const YAML::Node& n, const std::string& p) {
               r.section(n, p,
                         {{"url", r.string(c.git.url)},
                          {"branch", r.string(c.git.branch)},
                          {"sync_interval", r.integer(c.git.sync_interval, 1, kMaxInterval)},
                          {"local_path", r.string(c.git.local_path, true)},
                          {"ca_file", r.string(c.git.ca_file, true)},
                          {"allow_insecure_http", r.boolean(c.git.allow_insecure_http)},
                          {"timeout", r.integer(c.git.timeout, 1, 3600)},
                          {"max_size_mb", r.integer(c.git.max_size_mb, 1, 1024 * 1024)},
                          {"auth", [&](const YAML::Node& a, const std::string& ap) {
                             r.section(
                                 a, ap,
                                 {{"type", r.oneOf(c.git.auth.type, {"basic", "token", "ssh"})},
                                  {"username", r.string(c.git.auth.username)},
                                  {"password", r.string(c.git.auth.password)},
                                  {"key_path", r.string(c.git.auth.key_path, true)},
                                  {"passphrase", r.string(c.git.auth.passphrase)},
                                  {"known_hosts", r.string(c.git.auth.known_hosts, true)}});
                           }}});
             }},
            {"scheduler",
             [&](const YAML::Node& n, const std::string& p) {
               r.section(n, p,
                         {{"backend", r.string(c.scheduler.backend)},
                          {"options", [&](const YAML::Node& o, const std::string& op) {
                             if (o.IsNull())
                               return;
                             if (!o.IsMap()) {
                               r.error(o, op, "must be a mapping of option names to values");
                               return;
                             }
                             for (const auto& kv : o) {
                               const std::string key = op + "." + kv.first.Scalar();
                               if (!kv.second.IsScalar()) {
                                 r.error(kv.second, key, "must be a single value");
                                 continue;
                               }
                               c.scheduler.options[kv.first.Scalar()] = kv.second.Scalar();
                               c.scheduler.option_positions[kv.first.Scalar()] =
                                   r.issue(kv.first, key, "");
                             }
                           }}});
             }},
            {"plugins_dir", r.string(c.plugins_dir, true)},
            {"log",
             [&](const YAML::Node& n, const std::string& p) {
               r.section(n, p,
                         {{"level",
                           r.oneOf(c.log.level, {"trace", "debug", "information", "info", "notice",
                                                 "warning", "error", "critical", "fatal", "none"})},
                          {"target", r.oneOf(c.log.target, {"console", "syslog", "file"})},
                          {"file", r.string(c.log.file, true)}});
             }},
            {"metrics",
             [&](const YAML::Node& n, const std::string& p) {
               r.section(n, p,
                         {{"listen",
                           [&](const YAML::Node& l, const std::string& key) {
                             r.string(c.metrics.listen)(l, key);
                             listen_node = l;
                           }},
                          {"allow_remote", r.boolean(c.metrics.allow_remote)}});
             }},
        });
  }
  if (c.git.auth.type == "ssh" && c.git.auth.key_path.empty() && root.IsMap()) {
    r.error(at(at(root, "git"), "auth"), "git.auth.key_path",
            "is required when git.auth.type is ssh");
  }
  // A token's user name may be left out (the git plugin then sends x-access-token).
  if (c.git.auth.type == "basic" && root.IsMap() && c.git.auth.username.empty()) {
    r.error(at(at(root, "git"), "auth"), "git.auth.username",
            "is required when git.auth.type is " + c.git.auth.type);
  }
  if (c.log.target == "file" && c.log.file.empty() && root.IsMap()) {
    r.error(at(root, "log"), "log.file", "is required when log.target is file");
  }
  if (!c.metrics.listen.empty())
    checkMetricsListen(r, listen_node, c.metrics);
  if (!r.errors().empty()) {
    std::string msg;
    for (const auto& e : r.errors())
      msg += (msg.empty() ? "" : "\n") + e.str();
    throw ConfigException(msg);
  }
  c.warnings = r.warnings();
  fillDefaults(c);
  return c;
}

}  // namespace

AgentConfig defaultConfig() {
  AgentConfig c;
  fillDefaults(c);
  return c;
}

namespace {

// yaml-cpp 0.7 loops forever, allocating without bound, on some malformed text (fuzz_config found
// the 7 bytes ",ab: :\n"): a bad config file would hang the agent, or the daemon on SIGUSR1.
// libyaml's event parser (the one the manifest reader uses) checks the syntax first, in time and
// memory bounded by the text; only text it accepts reaches yaml-cpp. Empty when it is YAML.
std::optional<ConfigIssue> syntaxError(const std::string& text, const std::string& name) {
  yaml_parser_t parser;
  if (yaml_parser_initialize(&parser) == 0)
    return ConfigIssue{name, 0, 0, "(syntax)", "cannot start the YAML parser (out of memory?)"};
  yaml_parser_set_input_string(&parser, reinterpret_cast<const unsigned char*>(text.data()),
                               text.size());
  std::optional<ConfigIssue> issue;
  for (bool done = false; !done;) {
    yaml_event_t event;
    if (yaml_parser_parse(&parser, &event) == 0) {
      const bool located = parser.error == YAML_SCANNER_ERROR || parser.error == YAML_PARSER_ERROR;
      issue =
          ConfigIssue{name, located ? static_cast<int>(parser.problem_mark.line) + 1 : 0,
                      located ? static_cast<int>(parser.problem_mark.column) + 1 : 0, "(syntax)",
                      parser.problem != nullptr ? parser.problem : "not valid YAML"};
      break;
    }
    done = event.type == YAML_STREAM_END_EVENT;
    yaml_event_delete(&event);
  }
  yaml_parser_delete(&parser);
  return issue;
}

}  // namespace

AgentConfig parseConfig(const std::string& text, const std::string& name) {
  if (auto issue = syntaxError(text, name))
    throw ConfigException(issue->str());
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAll(text);
  } catch (const YAML::Exception& e) {
    ConfigIssue i{name, e.mark.line >= 0 ? e.mark.line + 1 : 0,
                  e.mark.column >= 0 ? e.mark.column + 1 : 0, "(syntax)", e.msg};
    throw ConfigException(i.str());
  }
  if (docs.size() > 1) {
    throw ConfigException(name + ": (top level): has " + std::to_string(docs.size()) +
                          " YAML documents; a configuration file holds exactly one");
  }
  return parseDocument(docs.empty() ? YAML::Node() : docs.front(), name);
}

AgentConfig loadConfig(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw ConfigException(
        path + ": cannot read the configuration file (does it exist? pass --config FILE)");
  }
  std::ostringstream text;
  text << in.rdbuf();
  return parseConfig(text.str(), path);
}

}  // namespace crontopus::core
