#pragma once

#include <memory>
#include <optional>

#include <Poco/Util/ServerApplication.h>

#include "CommandLine.h"
#include "Config.h"

namespace crontopus::core {

// The crontopus-agent application: a Poco ServerApplication so that it can run in the
// foreground, as a Unix daemon (--daemon) or as a Windows service. main() dispatches the command.
class Agent : public Poco::Util::ServerApplication {
 public:
  explicit Agent(CommandLine command_line);

  // Parses argv, handles --help/--version and usage errors (exit 2), then runs the application.
  // The single entry point of the executable.
  static int runMain(int argc, char** argv);

  const CommandLine& commandLine() const { return command_line_; }

  // The configuration: --config FILE (which must exist), else the default path when it exists,
  // else built-in defaults. `required` makes a missing file an error.
  // Started by the Windows service manager (Poco's application.runAsService).
  bool runningAsService() const;
  const AgentConfig& config(bool required);

  // Blocks until SIGTERM/SIGINT (or a service stop on Windows).
  void waitForStop() { waitForTerminationRequest(); }

 protected:
  void initialize(Poco::Util::Application& self) override;
  void defineOptions(Poco::Util::OptionSet& options) override;
  int main(const std::vector<std::string>& args) override;

 private:
  void setUpLogging(const AgentConfig* config);
  int dispatch();

  CommandLine command_line_;
  std::optional<AgentConfig> config_;
};

}  // namespace crontopus::core
