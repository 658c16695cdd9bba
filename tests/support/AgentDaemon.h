#pragma once

#include <signal.h>
#include <sys/wait.h>

#include <memory>
#include <string>

#include <Poco/Process.h>

#include "TestSupport.h"

namespace crontopus::tests {

// The whole daemon (`AGENT --config FILE [extra arguments]`) as a child process in the
// foreground, its stderr appended to a log file. Killed (SIGKILL) when the object goes away.
class AgentDaemon {
 public:
  AgentDaemon(const std::string& agent, std::string config, std::string log,
              const std::string& extra_args = {})
      : log_(std::move(log)) {
    handle_ = std::make_unique<Poco::ProcessHandle>(
        Poco::Process::launch("/bin/sh", {"-c", "exec '" + agent + "' --config '" + config + "' " +
                                                    extra_args + " 2>>'" + log_ + "'"}));
  }
  ~AgentDaemon() {
    if (handle_) {
      ::kill(handle_->id(), SIGKILL);
      handle_->wait();
    }
  }
  AgentDaemon(const AgentDaemon&) = delete;
  AgentDaemon& operator=(const AgentDaemon&) = delete;

  int pid() const { return handle_ ? static_cast<int>(handle_->id()) : -1; }
  void signal(int sig) { ::kill(handle_->id(), sig); }
  bool running() const { return handle_ && ::waitpid(handle_->id(), nullptr, WNOHANG) == 0; }
  // SIGTERM, then the exit code (the test's own timeout bounds the wait).
  int terminate() {
    signal(SIGTERM);
    return wait();
  }
  int wait() {
    const int code = handle_->wait();
    handle_.reset();
    return code;
  }
  std::string log() const {
    try {
      return readFile(log_);
    } catch (const std::exception&) {
      return {};
    }
  }

 private:
  std::string log_;
  std::unique_ptr<Poco::ProcessHandle> handle_;
};

}  // namespace crontopus::tests
