#include "CommandLine.h"

#include <sstream>

namespace crontopus::core {

POCO_IMPLEMENT_EXCEPTION(UsageException, Poco::Exception, "Usage error")

namespace {

struct GlobalOption {
  const char* name;
  bool takes_value;
  const char* doc;
};

const GlobalOption kGlobalOptions[] = {
    {"config", true,
     "configuration file (default /etc/crontopus/config.yaml as root, else "
     "~/.crontopus/config.yaml)"},
    {"plugins-dir", true,
     "directory to load plugins from (default <prefix>/lib/crontopus/plugins)"},
    {"log-level", true,
     "trace, debug, information, notice, warning, error, critical, fatal or none"},
    {"help", false, "print this help and exit"},
    {"version", false, "print the version and exit"},
#if !defined(_WIN32)
    {"daemon", false, "run in the background (Unix)"},
    {"pidfile", true, "write the process id to FILE (with --daemon)"},
#endif
};

}  // namespace

const std::vector<CommandSpec>& commandSpecs() {
  static const std::vector<CommandSpec> specs = {
      {"plugins", "", "list every plugin found, loaded or refused, and why", 0, 0, {}},
      {"config",
       "",
       "check the configuration as the agent would; print it with defaults, secrets as ***",
       0,
       0,
       {}},
      {"validate",
       "DIR",
       "check a manifest repository exactly as the agent would (no config, no network)",
       1,
       1,
       {{"format", true, "text (default) or json"}}},
      {"next",
       "EXPR",
       "print the next fire times of a cron expression",
       1,
       1,
       {{"count", true, "how many (default 5)"},
        {"from", true, "start instant, ISO 8601 with Z or an offset (default now)"},
        {"tz", true, "IANA zone (default: the configured default zone, else the host's)"}}},
      {"plan",
       "",
       "show what the next cycle would change, with reasons",
       0,
       0,
       {{"exit-code", false, "exit 2 when there are changes"}}},
      {"apply",
       "",
       "run one full cycle (sync, parse, plan, apply, save), report to the control plane, exit",
       0,
       0,
       {{"once", false, "accepted for compatibility; apply always runs one cycle"}}},
      {"render",
       "FILE.yaml",
       "print what a backend would install for one manifest (no config needed)",
       1,
       1,
       {{"backend", true, "scheduler backend id (default: the configured one, else auto)"}}},
      {"run",
       "NAMESPACE/NAME",
       "the wrapper scheduler entries call: run one job, record and report it",
       1,
       1,
       {{"state-dir", true, "the agent's state directory holding the run spec"}}},
      {"status", "", "print the last cycle, the revision and each job's status", 0, 0, {}},
      {"uninstall", "", "remove every scheduler entry the agent owns (and nothing else)", 0, 0, {}},
  };
  return specs;
}

std::string usageText() {
  std::ostringstream out;
  out << "usage: crontopus-agent [OPTIONS] [COMMAND [ARGS]]\n\n"
      << "Keeps the host's scheduler in step with job manifests in Git. With no command it runs\n"
      << "until SIGTERM/SIGINT, reconciling every git.sync_interval seconds.\n\n"
      << "Options:\n";
  for (const auto& o : kGlobalOptions) {
    std::string left = std::string("  --") + o.name + (o.takes_value ? " VALUE" : "");
    out << left << std::string(left.size() < 22 ? 22 - left.size() : 1, ' ') << o.doc << "\n";
  }
  out << "\nCommands:\n";
  for (const auto& c : commandSpecs()) {
    std::string left = "  " + c.name + (c.operands.empty() ? "" : " " + c.operands);
    out << left << std::string(left.size() < 22 ? 22 - left.size() : 1, ' ') << c.summary << "\n";
    for (const auto& o : c.options) {
      std::string l = "      --" + o.name + (o.takes_value ? " VALUE" : "");
      out << l << std::string(l.size() < 22 ? 22 - l.size() : 1, ' ') << o.doc << "\n";
    }
  }
  return out.str();
}

CommandLine parseCommandLine(const std::vector<std::string>& argv) {
  CommandLine cl;
  cl.server_args.push_back(argv.empty() ? "crontopus-agent" : argv[0]);
  const CommandSpec* command = nullptr;
  bool options_done = false;
  for (std::size_t i = 1; i < argv.size(); ++i) {
    const std::string& arg = argv[i];
    if (!options_done && arg == "--") {
      options_done = true;
      continue;
    }
#if defined(_WIN32)
    // ServerApplication's own service switches (/registerService, /unregisterService,
    // /displayName=..., /description=..., /startup=...).
    if (!options_done && !arg.empty() && arg[0] == '/' && command == nullptr) {
      cl.server_args.push_back(arg);
      continue;
    }
#endif
    if (options_done || arg.size() < 2 || arg[0] != '-' || arg == "-") {
      if (command == nullptr) {
        for (const auto& spec : commandSpecs()) {
          if (spec.name == arg)
            command = &spec;
        }
        if (command == nullptr)
          throw UsageException("unknown command \"" + arg + "\"");
        cl.command = arg;
      } else {
        cl.operands.push_back(arg);
      }
      continue;
    }
    if (arg == "-h") {
      cl.help = true;
      continue;
    }
    if (arg.rfind("--", 0) != 0)
      throw UsageException("unknown option \"" + arg + "\"");
    std::string name = arg.substr(2);
    std::string value;
    bool inline_value = false;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      inline_value = true;
    }
    auto take_value = [&]() {
      if (inline_value)
        return value;
      if (i + 1 >= argv.size())
        throw UsageException("option --" + name + " needs a value");
      return argv[++i];
    };
    const GlobalOption* global = nullptr;
    for (const auto& o : kGlobalOptions) {
      if (name == o.name)
        global = &o;
    }
    if (global != nullptr) {
      if (!global->takes_value && inline_value) {
        throw UsageException("option --" + name + " takes no value");
      }
      if (name == "config")
        cl.config_path = take_value();
      else if (name == "plugins-dir")
        cl.plugins_dir = take_value();
      else if (name == "log-level")
        cl.log_level = take_value();
      else if (name == "help")
        cl.help = true;
      else if (name == "version")
        cl.version = true;
      else if (name == "daemon") {
        cl.daemon = true;
        cl.server_args.push_back("--daemon");
      } else if (name == "pidfile") {
        cl.server_args.push_back("--pidfile=" + take_value());
      }
      continue;
    }
    const CommandOption* option = nullptr;
    if (command != nullptr) {
      for (const auto& o : command->options) {
        if (o.name == name)
          option = &o;
      }
    }
    if (option == nullptr) {
      throw UsageException("unknown option \"--" + name + "\"" +
                           (command != nullptr ? " for command " + command->name : ""));
    }
    if (!option->takes_value && inline_value) {
      throw UsageException("option --" + name + " takes no value");
    }
    cl.options[name] = option->takes_value ? take_value() : std::string();
  }
  if (command != nullptr && !cl.help) {
    if (cl.operands.size() < command->min_operands || cl.operands.size() > command->max_operands) {
      throw UsageException("command " + command->name + " takes " +
                           (command->operands.empty() ? "no arguments" : command->operands) +
                           ", got " + std::to_string(cl.operands.size()) + " argument(s)");
    }
  }
  return cl;
}

}  // namespace crontopus::core
