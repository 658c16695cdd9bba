#pragma once

#include <map>
#include <string>
#include <vector>

#include "crontopus/sdk/Job.h"

namespace crontopus::core {

// Everything the `run` wrapper needs to run one job, written by the agent for each installed job
// (mode 0600, atomically) and read by `run <namespace>/<name>`. Scheduler entries carry only the
// identity; the command, environment and check-in secret live here, never in the scheduler.
struct RunSpec {
  std::string ns;
  std::string name;
  std::string command;
  std::vector<std::string> args;
  std::map<std::string, std::string> env;
  std::string working_dir;
  std::string schedule;
  std::string timezone;  // the job's effective zone ("" = the host's)
  // The scheduler fires on a superset of the job's minutes (its zone differs from the host's);
  // `run` drops the minutes on which the schedule does not fire in `timezone`.
  bool gate = false;
  int timeout_seconds = 3600;
  sdk::RetrySettings retry;
  bool checkin_enabled = true;
  // Where `run` sends its check-in. Locations only: the endpoint token stays in the token file,
  // which `run` reads itself. api_url empty = standalone, no check-in.
  struct ControlPlane {
    std::string api_url;
    std::string token_path;
    std::string spool_dir;
    std::string ca_file;
    bool allow_insecure_http = false;
  } control_plane;

  std::string identity() const { return ns + "/" + name; }
};

RunSpec runSpecFor(const sdk::Job& job, const std::string& effective_zone, bool gate);

std::string toJson(const RunSpec& spec);
// Throws Poco::DataFormatException naming `origin` when the text is not a run spec.
RunSpec runSpecFromJson(const std::string& text, const std::string& origin);

// <state_dir>/jobs/<namespace>/<name>.json, and the per-job files beside it.
std::string jobDirectory(const std::string& state_dir, const std::string& identity);
std::string runSpecPath(const std::string& state_dir, const std::string& identity);

}  // namespace crontopus::core
