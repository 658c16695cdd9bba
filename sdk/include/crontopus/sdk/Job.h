#pragma once

#include <map>
#include <string>
#include <vector>

namespace crontopus::sdk {

enum class Backoff { kFixed, kExponential };

struct CheckinSettings {
  bool enabled = true;
  // Already expanded from ${VAR}. Lives only in the run spec, never in a scheduler entry.
  std::string secret;
  int timeout_seconds = 3600;
};

struct RetrySettings {
  bool enabled = false;
  int attempts = 3;
  Backoff backoff = Backoff::kExponential;
};

// One job as the manifest describes it (job-manifest-v1). Plain data: copyable, no behaviour.
struct Job {
  std::string ns;    // namespace: first directory component of the manifest path, or "default"
  std::string name;  // metadata.name
  std::string id;    // metadata.id, carried as given; empty when absent (never generated)
  std::string tenant;
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;

  std::string schedule;  // as written in the manifest (5 fields or a macro)
  std::string timezone;  // IANA name; empty = the agent's default zone
  std::string command;   // a shell command line
  std::vector<std::string> args;
  std::string working_dir;  // absolute; empty = the home directory of the user the job runs as
  std::map<std::string, std::string> env;
  CheckinSettings checkin;
  RetrySettings retry;
  std::map<std::string, std::string> selector;
  bool enabled = true;
  bool paused = false;

  std::string source_file;  // path relative to the repository root, for messages

  // "<namespace>/<name>": the stable key every backend tags its entries with.
  std::string identity() const { return ns + "/" + name; }
};

}  // namespace crontopus::sdk
