#pragma once

#include <cstdint>
#include <string>

namespace crontopus::core {

// What one invocation of a job came to; one JSON line in the local run log, and (with the
// control-plane issue) the body of the run check-in.
struct RunRecord {
  std::string ns;
  std::string name;
  std::string started;                // ISO 8601, UTC
  std::string finished;               // ISO 8601, UTC
  std::int64_t duration_seconds = 0;  // whole seconds (the protocol rejects fractions)
  int exit_code = 0;                  // the job's exit code, or 128 + signal
  int signal = 0;
  std::string status;  // success | failure | timeout | cancelled | skipped
  int attempts = 0;
  std::string output;         // tail of combined output: at most 10,000 characters, valid UTF-8
  std::string error_message;  // for non-success: a short reason
};

// The `run <namespace>/<name>` wrapper: reads the run spec from `state_dir`, drops minutes on
// which a gated job does not fire, skips when the previous run still holds the job's lock,
// runs the command with timeout and retries, keeps the output tail in bounded memory and the
// full output (capped) in <job>.out, appends the record to <state_dir>/runs.log, and returns the
// job's own exit code.
int runJob(const std::string& state_dir, const std::string& identity);

// `bytes` made valid UTF-8 (invalid sequences become U+FFFD), keeping its last `max_chars`
// characters.
std::string utf8Tail(const std::string& bytes, std::size_t max_chars);

std::string toJsonLine(const RunRecord& record);

}  // namespace crontopus::core
