#include "Agent.h"

#include <functional>
#include <iostream>
#include <map>

#include <Poco/AutoPtr.h>
#include <Poco/ConsoleChannel.h>
#include <Poco/File.h>
#include <Poco/FileChannel.h>
#include <Poco/FormattingChannel.h>
#include <Poco/Logger.h>
#include <Poco/PatternFormatter.h>

#include "Commands.h"
#include "Version.h"
#include "platform/Platform.h"
#include "platform/SystemLog.h"

namespace crontopus::core {

Agent::Agent(CommandLine command_line) : command_line_(std::move(command_line)) {
  // Our own parser already validated every argument; Poco sees only the server switches, in
  // each OS's style: --daemon, --pidfile=FILE on Unix; /registerService, /displayName=... on
  // Windows.
  setUnixOptions(platform::platformName() != "windows");
}

void Agent::defineOptions(Poco::Util::OptionSet& options) {
  ServerApplication::defineOptions(options);
}

void Agent::initialize(Poco::Util::Application& self) {
  // Deliberately not loading Poco's default configuration files: ours is YAML, loaded on demand.
  ServerApplication::initialize(self);
  platform::setRunningAsService(runningAsService());
  setUpLogging(nullptr);
}

bool Agent::runningAsService() const {
  return Poco::Util::Application::config().getBool("application.runAsService", false);
}

void Agent::setUpLogging(const AgentConfig* config) {
  std::string level = command_line_.log_level;
  if (level.empty() && config != nullptr)
    level = config->log.level;
  if (level.empty())
    level = "information";
  if (level == "info")
    level = "information";
  int priority = 0;
  try {
    priority = Poco::Logger::parseLevel(level);
  } catch (const Poco::Exception&) {
    throw UsageException("unknown log level \"" + level + "\"");
  }

  // console in the foreground; the system log when detached (--daemon: stderr is /dev/null; a
  // Windows service has no stderr either: the Event Log) or
  // asked for; a file rotated at 10 MB keeping 5 archives (agent.log.0 newest) when asked for.
  std::string target = config != nullptr ? config->log.target : "console";
  if (target == "console" && (command_line_.daemon || runningAsService()))
    target = "syslog";
  std::string pattern = "%Y-%m-%dT%H:%M:%S%z %p %s: %t";
  Poco::AutoPtr<Poco::Channel> sink;
  if (target == "syslog") {
    pattern = "%p %s: %t";  // syslog stamps the time and the process itself
    sink = platform::systemLogChannel("crontopus-agent");
  } else if (target == "file") {
    Poco::AutoPtr<Poco::FileChannel> file(new Poco::FileChannel(config->log.file));
    file->setProperty(Poco::FileChannel::PROP_ROTATION, "10 M");
    file->setProperty(Poco::FileChannel::PROP_ARCHIVE, "number");
    file->setProperty(Poco::FileChannel::PROP_PURGECOUNT, "5");
    file->setProperty(Poco::FileChannel::PROP_TIMES, "local");
    try {
      file->open();  // now, so that a bad path is a configuration error and not a lost line
    } catch (const Poco::Exception& e) {
      throw ConfigException(config->source_file + ": log.file: cannot open " + config->log.file +
                            " for writing (" + e.displayText() +
                            "); create its directory or fix its permissions");
    }
    sink = file;
  } else {
    sink = new Poco::ConsoleChannel(std::cerr);
  }
  Poco::AutoPtr<Poco::PatternFormatter> formatter(new Poco::PatternFormatter(pattern));
  formatter->setProperty("times", "local");
  Poco::AutoPtr<Poco::FormattingChannel> channel(new Poco::FormattingChannel(formatter, sink));
  // Every existing logger too: a logger copies its parent's channel when it is created.
  Poco::Logger::setChannel("", channel);
  Poco::Logger::setLevel("", priority);
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
    setUpLogging(&*config_);  // first, so that the warnings go where the configuration says
    for (const auto& w : config_->warnings)
      logger().warning(w.str());
  }
  return *config_;
}

int Agent::main(const std::vector<std::string>&) {
  try {
    return dispatch();
  } catch (const ConfigException& e) {
    std::cerr << e.message() << "\n";
    if (runningAsService())
      logger().error(e.message());
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
