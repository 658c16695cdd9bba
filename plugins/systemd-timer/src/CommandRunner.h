#pragma once

#include <memory>
#include <string>
#include <vector>

namespace crontopus::plugins::systemd_timer {

// Runs systemctl. An interface so that tests can record the command sequence apply() issues.
class CommandRunner {
 public:
  virtual ~CommandRunner() = default;
  // Runs `argv` (no shell; argv[0] is looked up in PATH) and waits for it. Returns its exit code
  // and fills `output` with what it wrote to stdout and stderr; returns -1 with `output` saying
  // why when it could not be started. Does not throw.
  virtual int run(const std::vector<std::string>& argv, std::string& output) = 0;
};

std::unique_ptr<CommandRunner> makeProcessRunner();

}  // namespace crontopus::plugins::systemd_timer
