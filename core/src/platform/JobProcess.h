#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace crontopus::core::platform {

struct JobProcessSpec {
  std::string shell_command;     // from jobCommandLine: /bin/sh -c, Windows cmd.exe /c
  std::vector<std::string> env;  // the complete environment, KEY=VALUE
  std::string working_dir;
  int timeout_seconds = 3600;
  int kill_grace_seconds = 10;  // between SIGTERM and SIGKILL to the process group
  std::string output_path;      // full combined output, capped at output_cap bytes
  std::size_t output_cap = 1024 * 1024;
  std::size_t tail_bytes = 64 * 1024;  // kept in memory, whatever the output size
};

struct JobProcessOutcome {
  int exit_code = 0;         // the process's exit code, or 128 + signal
  int signal = 0;            // the signal that ended it, 0 when it exited
  bool timed_out = false;    // we killed it at timeout_seconds
  bool interrupted = false;  // the wrapper itself was asked to stop and killed it
  std::string tail;          // the last tail_bytes bytes of combined stdout+stderr
  std::string start_error;   // non-empty when the process could not be started
  std::chrono::steady_clock::duration elapsed{};
};

// The command line the job's shell runs: the manifest's command followed by its args, quoted for
// /bin/sh on Unix (shellCommandLine) and for cmd.exe and the program's C runtime on Windows
// (cmdCommandLine; `environment`, KEY=VALUE, is the job's). Throws Poco::InvalidArgumentException
// for an arg that the shell cannot pass to the program literally (Windows only).
std::string jobCommandLine(const std::string& command, const std::vector<std::string>& args,
                           const std::vector<std::string>& environment);

// For the implementations: appends `n` bytes of output to `tail`, a bounded ring of which only
// the newest `cap` bytes survive.
inline void keepTail(std::string& tail, const char* data, std::size_t n, std::size_t cap) {
  if (n >= cap) {
    tail.assign(data + (n - cap), cap);
    return;
  }
  tail.append(data, n);
  if (tail.size() > cap)
    tail.erase(0, tail.size() - cap);
}

// Runs the job in its own process group (so a timeout kills every process it started), with
// stdout and stderr combined into one pipe that is read in bounded memory.
JobProcessOutcome runJobProcess(const JobProcessSpec& spec);

}  // namespace crontopus::core::platform
