// TaskStore on the COM layer. A TaskSchedulerCom lives for one call only: the host may call the
// plugin from a different thread each time, and COM is initialised per thread.
#include "../TaskStore.h"
#include "TaskSchedulerCom.h"

namespace crontopus::plugins::taskscheduler {
namespace {

constexpr const char* kRoot = "\\Crontopus";

sdk::Result toResult(const com::ComStatus& status) {
  if (status.ok) {
    return sdk::Result::success();
  }
  sdk::ErrorCode code = sdk::ErrorCode::kIo;
  switch (static_cast<unsigned long>(status.hresult)) {
    case 0x80070002UL:  // ERROR_FILE_NOT_FOUND
    case 0x80070003UL:  // ERROR_PATH_NOT_FOUND
      code = sdk::ErrorCode::kNotFound;
      break;
    case 0x80070005UL:  // E_ACCESSDENIED
      code = sdk::ErrorCode::kAuth;
      break;
    case 0x80041316UL:                   // SCHED_E_UNEXPECTEDNODE
    case 0x80041317UL:                   // SCHED_E_NAMESPACE
    case 0x80041318UL:                   // SCHED_E_INVALIDVALUE
    case 0x80041319UL:                   // SCHED_E_MISSINGNODE
    case 0x8004131AUL:                   // SCHED_E_MALFORMEDXML
      code = sdk::ErrorCode::kInternal;  // the renderer wrote XML Task Scheduler refuses: a bug
      break;
    default:
      break;
  }
  return sdk::Result::failure(code, "Task Scheduler: " + status.message);
}

std::string parentOf(const std::string& path) {
  std::size_t slash = path.find_last_of('\\');
  return slash == std::string::npos || slash == 0 ? std::string("\\") : path.substr(0, slash);
}

class ComTaskStore : public TaskStore {
 public:
  explicit ComTaskStore(com::Logon logon) : logon_(logon) {}

  sdk::Result connect() override {
    com::TaskSchedulerCom com;
    return toResult(com.connect());
  }

  sdk::Result list(std::vector<StoredTask>& out) override {
    com::TaskSchedulerCom com;
    std::vector<com::ComTask> tasks;
    sdk::Result r = toResult(com.listTasks(kRoot, tasks));
    out.clear();
    for (auto& t : tasks) {
      out.push_back({std::move(t.path), std::move(t.xml), t.enabled});
    }
    return r;
  }

  sdk::Result upsert(const std::string& path, const std::string& xml) override {
    com::TaskSchedulerCom com;
    return toResult(com.registerTask(path, xml, logon_));
  }

  sdk::Result setEnabled(const std::string& path, bool enabled) override {
    com::TaskSchedulerCom com;
    return toResult(com.setEnabled(path, enabled));
  }

  sdk::Result remove(const std::string& path) override {
    com::TaskSchedulerCom com;
    com::ComStatus s = com.deleteTask(path);
    // A task (or folder) that is already gone is what we wanted.
    const auto code = static_cast<unsigned long>(s.hresult);
    if (!s && code != 0x80070002UL && code != 0x80070003UL) {
      return toResult(s);
    }
    return toResult(com.removeEmptyFolders(parentOf(path), kRoot));
  }

 private:
  com::Logon logon_;
};

}  // namespace

std::unique_ptr<TaskStore> makeTaskStore(const std::string& run_as) {
  return std::make_unique<ComTaskStore>(run_as == "SYSTEM" ? com::Logon::kSystem
                                                           : com::Logon::kInteractiveToken);
}

}  // namespace crontopus::plugins::taskscheduler
