#pragma once

#include <map>
#include <string>
#include <vector>

#include <Poco/Exception.h>

namespace crontopus::core {

POCO_DECLARE_EXCEPTION(, UsageException, Poco::Exception)

struct CommandOption {
  std::string name;  // without the leading "--"
  bool takes_value = false;
  std::string doc;
};

struct CommandSpec {
  std::string name;
  std::string operands;  // e.g. "DIR", for usage
  std::string summary;
  std::size_t min_operands = 0;
  std::size_t max_operands = 0;
  std::vector<CommandOption> options;
};

// The commands the agent knows, in the order `--help` lists them.
const std::vector<CommandSpec>& commandSpecs();

// A parsed command line. Global options may stand before or after the command; options of a
// command only after it. Both "--opt VALUE" and "--opt=VALUE" are accepted.
struct CommandLine {
  std::string config_path;  // empty = default
  std::string plugins_dir;
  std::string log_level;
  bool help = false;
  bool version = false;
  bool daemon = false;
  std::string command;  // empty = run the agent loop
  std::vector<std::string> operands;
  std::map<std::string, std::string> options;  // the command's own options ("" for flags)
  // Arguments handed to Poco's ServerApplication (argv[0], --daemon, --pidfile=..., Windows
  // service switches).
  std::vector<std::string> server_args;

  bool has(const std::string& option) const { return options.count(option) != 0; }
  std::string get(const std::string& option, const std::string& fallback = {}) const {
    auto it = options.find(option);
    return it == options.end() ? fallback : it->second;
  }
};

// Throws UsageException for an unknown command or option, a missing option value, or a wrong
// number of operands.
CommandLine parseCommandLine(const std::vector<std::string>& argv);

std::string usageText();

}  // namespace crontopus::core
