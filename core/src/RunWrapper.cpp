#include "RunWrapper.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <vector>

#include <Poco/AutoPtr.h>
#include <Poco/ConsoleChannel.h>
#include <Poco/FormattingChannel.h>
#include <Poco/Logger.h>
#include <Poco/PatternFormatter.h>

#include "Runner.h"
#include "platform/Platform.h"

namespace crontopus::core {

namespace {

// The log level the agent would use for `run`, or -1 when the agent would refuse it.
int runLogPriority(std::string level) {
  if (level.empty())
    level = "information";
  if (level == "info")
    level = "information";
  try {
    return Poco::Logger::parseLevel(level);
  } catch (const Poco::Exception&) {
    return -1;
  }
}

// What Agent::setUpLogging sets up for `run` (no configuration is read: the console, stderr,
// where cron mails it from).
void setUpConsoleLogging(int priority) {
  Poco::AutoPtr<Poco::PatternFormatter> formatter(
      new Poco::PatternFormatter("%Y-%m-%dT%H:%M:%S%z %p %s: %t"));
  formatter->setProperty("times", "local");
  Poco::AutoPtr<Poco::FormattingChannel> channel(
      new Poco::FormattingChannel(formatter, new Poco::ConsoleChannel(std::cerr)));
  // On the root logger too: setChannel("") only reaches loggers that exist already, and without
  // Poco::Application the root does not yet. Loggers created later copy the root's settings.
  Poco::Logger::root().setChannel(channel);
  Poco::Logger::root().setLevel(priority);
  Poco::Logger::setChannel("", channel);
  Poco::Logger::setLevel("", priority);
}

int execAgent(char** argv) {
  std::string agent;
  try {
    const std::string self = platform::executablePath();
    agent =
        (std::filesystem::path(self).parent_path() / platform::executableName("crontopus-agent"))
            .string();
  } catch (const Poco::Exception& e) {
    std::cerr << "crontopus-run: " << e.displayText() << "\n";
    return 127;
  }
  std::vector<std::string> args{agent};
  for (char** a = argv + 1; *a != nullptr; ++a)
    args.emplace_back(*a);
  std::string error;
  const int code = platform::execProgram(agent, args, error);
  if (!error.empty())
    std::cerr << "crontopus-run: cannot execute " << agent << ": " << error << "\n";
  return code;
}

}  // namespace

int runCommand(const CommandLine& cl, const std::function<std::string()>& default_state_dir) {
  const std::string identity = cl.operands.at(0);
  const auto slash = identity.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == identity.size() ||
      identity.find('/', slash + 1) != std::string::npos ||
      identity.find("..") != std::string::npos) {
    throw UsageException("run takes NAMESPACE/NAME, got \"" + identity + "\"");
  }
  // The entry names the state directory, so `run` needs no configuration file (which may hold
  // secrets the job's user must not read).
  const std::string state_dir = cl.has("state-dir") ? cl.get("state-dir") : default_state_dir();
  return runJob(state_dir, identity);
}

int runWrapperMain(int argc, char** argv) {
  const std::vector<std::string> args(argv, argv + argc);
  CommandLine cl;
  try {
    cl = parseCommandLine(args);
  } catch (const UsageException&) {
    return execAgent(argv);
  }
  // --config and --plugins-dir change nothing for `run` when the entry names the state
  // directory: the agent reads no configuration then either.
  const int priority = runLogPriority(cl.log_level);
  if (cl.command != "run" || !cl.has("state-dir") || cl.help || cl.version ||
      cl.server_args.size() != 1 || priority < 0) {
    return execAgent(argv);
  }
  setUpConsoleLogging(priority);
  Poco::Logger& logger = Poco::Logger::get("crontopus");
  // The same answers as Agent::main.
  try {
    return runCommand(cl, [] { return std::string(); });
  } catch (const UsageException& e) {
    std::cerr << "crontopus-agent: " << e.message() << "\n";
    return 2;
  } catch (const Poco::Exception& e) {
    logger.error(e.displayText());
    return 1;
  } catch (const std::exception& e) {
    logger.error(std::string("unexpected error: ") + e.what());
    return 1;
  }
}

}  // namespace crontopus::core
