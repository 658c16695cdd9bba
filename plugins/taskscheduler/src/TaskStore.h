#pragma once

#include <memory>
#include <string>
#include <vector>

#include "crontopus/sdk/Result.h"

namespace crontopus::plugins::taskscheduler {

// One task found below the \Crontopus folder.
struct StoredTask {
  std::string path;  // "\Crontopus\<namespace>\<name>"
  std::string xml;   // as ITaskDefinition::get_Xml returns it, converted to UTF-8
  bool enabled = true;
};

// The scheduler's store of tasks. The Windows implementation (windows/) talks COM; elsewhere
// there is none. Called from one thread at a time; no method throws.
class TaskStore {
 public:
  virtual ~TaskStore() = default;
  // Whether the Task Scheduler service can be reached (support()).
  virtual sdk::Result connect() = 0;
  // Every task in the \Crontopus folder tree.
  virtual sdk::Result list(std::vector<StoredTask>& out) = 0;
  // Creates the folders of `path` as needed, validates `xml` (TASK_VALIDATE_ONLY), then
  // registers it with TASK_CREATE_OR_UPDATE.
  virtual sdk::Result upsert(const std::string& path, const std::string& xml) = 0;
  virtual sdk::Result setEnabled(const std::string& path, bool enabled) = 0;
  // Deletes the task, then the folders it leaves empty up to and including \Crontopus.
  virtual sdk::Result remove(const std::string& path) = 0;
};

// The store for this platform; nullptr where Task Scheduler does not exist. `run_as` is the
// plugin's option: "" registers tasks for the agent's own user, "SYSTEM" for the SYSTEM account.
std::unique_ptr<TaskStore> makeTaskStore(const std::string& run_as);

}  // namespace crontopus::plugins::taskscheduler
