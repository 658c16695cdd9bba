#include "Agent.h"

#include <functional>
#include <iostream>
#include <map>

#include <Poco/AutoPtr.h>
#include <Poco/ConsoleChannel.h>
#include <Poco/File.h>
#include <Poco/FormattingChannel.h>
#include <Poco/Logger.h>
#include <Poco/PatternFormatter.h>

#include "Commands.h"
#include "Version.h"

namespace crontopus::core {

Agent::Agent(CommandLine command_line) : command_line_(std::move(command_line)) {
  // Our own parser already validated every argument; Poco sees only the server switches.
  setUnixOptions(true);
}

void Agent::defineOptions(Poco::Util::OptionSet& options) {
  ServerApplication::defineOptions(options);
}

void Agent::initialize(Poco::Util::Application& self) {
  // Deliberately not loading Poco's default configuration files: ours is YAML, loaded on demand.
  ServerApplication::initialize(self);
  setUpLogging(nullptr);
}

void Agent::setUpLogging(const AgentConfig* config) {
  std::string level = command_line_.log_level;
  if (level.empty() && config != nullptr)
    level = config->log.level;
  if (level.empty())
    level = "information";
  if (level == "info")
    level = "information";
  Poco::AutoPtr<Poco::PatternFormatter> formatter(
      new Poco::PatternFormatter("%Y-%m-%dT%H:%M:%S%z %p %s: %t"));
  formatter->setProperty("times", "local");
  Poco::AutoPtr<Poco::FormattingChannel> channel(
      new Poco::FormattingChannel(formatter, new Poco::ConsoleChannel(std::cerr)));
  Poco::Logger::root().setChannel(channel);
  try {
    Poco::Logger::setLevel("", Poco::Logger::parseLevel(level));
  } catch (const Poco::Exception&) {
    throw UsageException("unknown log level \"" + level + "\"");
  }
  setLogger(Poco::Logger::get("crontopus"));
}

const AgentConfig& Agent::config(bool required) {
  if (!config_) {
    const std::string& given = command_line_.config_path;
    const std::string path = given.empty() ? defaultConfigPath() : given;
    if (!given.empty() || Poco::File(path).exists()) {
      config_ = loadConfig(path);
    } else if (required) {
      throw ConfigException(path +
                            ": no configuration file; create one (see etc/config.example.yaml) or "
                            "pass --config FILE");
    } else {
      config_ = defaultConfig();
    }
    for (const auto& w : config_->warnings)
      logger().warning(w.str());
    setUpLogging(&*config_);
  }
  return *config_;
}

int Agent::main(const std::vector<std::string>&) {
  try {
    return dispatch();
  } catch (const ConfigException& e) {
    std::cerr << e.message() << "\n";
    return 1;
  } catch (const UsageException& e) {
    std::cerr << "crontopus-agent: " << e.message() << "\n";
    return 2;
  } catch (const Poco::Exception& e) {
    logger().error(e.displayText());
    return 1;
  } catch (const std::exception& e) {
    logger().error(std::string("unexpected error: ") + e.what());
    return 1;
  }
}

int Agent::dispatch() {
  using Handler = std::function<int()>;
  const std::map<std::string, Handler> handlers = {
      {"", [&] { return commands::loop(*this); }},
      {"plugins", [&] { return commands::plugins(*this, std::cout); }},
      {"config", [&] { return commands::config(*this, std::cout); }},
      {"validate", [&] { return commands::validate(*this, std::cout, std::cerr); }},
      {"next", [&] { return commands::next(*this, std::cout, std::cerr); }},
      {"plan", [&] { return commands::plan(*this, std::cout); }},
      {"apply", [&] { return commands::apply(*this, std::cout); }},
      {"render", [&] { return commands::render(*this, std::cout, std::cerr); }},
      {"run", [&] { return commands::run(*this); }},
      {"status", [&] { return commands::status(*this, std::cout); }},
      {"uninstall", [&] { return commands::uninstall(*this, std::cout); }},
  };
  auto it = handlers.find(command_line_.command);
  if (it == handlers.end()) {
    throw UsageException("command \"" + command_line_.command + "\" is not implemented");
  }
  return it->second();
}

int Agent::runMain(int argc, char** argv) {
  std::vector<std::string> args(argv, argv + argc);
  CommandLine cl;
  try {
    cl = parseCommandLine(args);
  } catch (const UsageException& e) {
    std::cerr << "crontopus-agent: " << e.message() << "\n\n" << usageText();
    return 2;
  }
  if (cl.help) {
    std::cout << usageText();
    return 0;
  }
  if (cl.version) {
    std::cout << "crontopus-agent " << version() << "\n";
    return 0;
  }
  std::vector<std::string> server_args = cl.server_args;
  std::vector<char*> server_argv;
  for (auto& a : server_args)
    server_argv.push_back(a.data());
  server_argv.push_back(nullptr);
  Poco::AutoPtr<Agent> app(new Agent(std::move(cl)));
  return app->run(static_cast<int>(server_args.size()), server_argv.data());
}

}  // namespace crontopus::core
