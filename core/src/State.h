#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace crontopus::core {

// What the agent remembers about one job it installed.
struct JobState {
  std::string hash;         // SHA-256 of the entry text we installed (drift = installed differs)
  std::string status;       // scheduled | paused | error
  std::string source_file;  // manifest path relative to the repository root
  std::string schedule;     // as in the manifest, for "what changed" reasons
  std::string command;      // command line with args, for the job-instances report
  bool paused = false;
  std::string error;  // the manifest or render error while status is error

  bool operator==(const JobState&) const = default;
};

// The agent's memory between cycles, written atomically (0600): the inventory in
// <state_dir>/state.json (rewritten only when it changes), the last cycle's outcome in the small
// <state_dir>/last-cycle.json (rewritten every cycle).
struct AgentState {
  std::string backend;  // scheduler plugin id the jobs were installed with
  std::string revision;
  std::int64_t revision_time = 0;
  std::string last_cycle_started;  // ISO 8601
  std::string last_cycle_finished;
  std::string last_result;  // ok | error
  std::vector<std::string> last_errors;
  std::map<std::string, JobState> jobs;  // by identity
};

std::string statePath(const std::string& state_dir);
// A missing file is an empty state. A corrupt one is set aside (renamed *.corrupt) with a
// warning and treated as empty: entries are found again by their markers, so nothing is lost.
AgentState loadState(const std::string& state_dir);
// Writes state.json (inventory, revision, backend).
void saveState(const std::string& state_dir, const AgentState& state);
// Writes last-cycle.json (started, finished, result, errors).
void saveCycle(const std::string& state_dir, const AgentState& state);

std::string sha256Hex(const std::string& text);

}  // namespace crontopus::core
