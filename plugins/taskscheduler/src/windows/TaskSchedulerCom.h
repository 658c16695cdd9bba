#pragma once

// Task Scheduler 2.0 over COM. Windows headers and the standard library only (no Poco, no SDK),
// so that mingw-w64 can build it alone with the wine test driver. Strings are UTF-8.
//
// Threading: one TaskSchedulerCom per thread; the constructor initialises COM for the calling
// thread (multithreaded apartment) and the destructor undoes it. No method throws.

#include <string>
#include <vector>

namespace crontopus::plugins::taskscheduler::com {

// The outcome of one call. `message` names the operation, the path, the HRESULT in hex and
// Windows' text for it, e.g. "RegisterTask \Crontopus\team\backup: 0x8004131A: The task XML
// is malformed."
struct ComStatus {
  bool ok = true;
  long hresult = 0;
  std::string message;

  explicit operator bool() const { return ok; }
};

struct ComTask {
  std::string path;  // "\Crontopus\team\backup"
  std::string xml;   // get_Xml, converted from UTF-16
  bool enabled = true;
};

// Logon for registered tasks: the registering user's interactive token (a user agent), or the
// SYSTEM account (an agent running as a Windows service).
enum class Logon { kInteractiveToken, kSystem };

// "0x8004131A: <Windows' text>" for any HRESULT.
std::string describeHresult(long hresult);

class TaskSchedulerCom {
 public:
  TaskSchedulerCom();
  ~TaskSchedulerCom();
  TaskSchedulerCom(const TaskSchedulerCom&) = delete;
  TaskSchedulerCom& operator=(const TaskSchedulerCom&) = delete;

  // Connects to the local Task Scheduler service; every other call connects first if needed.
  ComStatus connect();
  // Creates each missing folder of `folder_path` ("\Crontopus\team").
  ComStatus ensureFolder(const std::string& folder_path);
  // Validates `xml` (TASK_VALIDATE_ONLY), then registers it at `task_path` with
  // TASK_CREATE_OR_UPDATE, creating the parent folders first.
  ComStatus registerTask(const std::string& task_path, const std::string& xml, Logon logon);
  // The registered task's XML and enabled state; a missing task fails with 0x80070002.
  ComStatus readTask(const std::string& task_path, ComTask& out);
  // Every task below `folder_path`, walking subfolders; a missing folder is an empty list.
  ComStatus listTasks(const std::string& folder_path, std::vector<ComTask>& out);
  // Whether `folder_path` exists.
  ComStatus folderExists(const std::string& folder_path, bool& exists);
  ComStatus setEnabled(const std::string& task_path, bool enabled);
  ComStatus deleteTask(const std::string& task_path);
  // Deletes `folder_path` if it holds no tasks and no folders, then its parents likewise up to
  // and including `stop_at` (never the root). A missing folder is fine.
  ComStatus removeEmptyFolders(const std::string& folder_path, const std::string& stop_at);

 private:
  struct State;
  State* state_;
};

}  // namespace crontopus::plugins::taskscheduler::com
