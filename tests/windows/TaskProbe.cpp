// Reads one task back from the Task Scheduler by its path, for scripts/test-windows under wine
// (wine enumerates no tasks, so the test asks for each expected path):
//   task-probe.exe <\Crontopus\ns\name>
// Prints "enabled 1|0" and the task's XML, exit 0; a missing task prints "missing", exit 3;
// any other failure prints the HRESULT and its text, exit 1. Connecting is retried for up to
// 90 s: a fresh wine prefix starts its Task Scheduler service on first use.
#include <windows.h>

#include <cstdio>
#include <string>

#include "TaskSchedulerCom.h"

namespace com = crontopus::plugins::taskscheduler::com;

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: task-probe <task path>\n");
    return 2;
  }
  com::TaskSchedulerCom scheduler;
  com::ComStatus s;
  const ULONGLONG deadline = GetTickCount64() + 90000;
  do {
    s = scheduler.connect();
    if (s.ok || static_cast<unsigned long>(s.hresult) != 0x80041315UL) {
      break;
    }
    Sleep(500);
  } while (GetTickCount64() < deadline);
  if (!s.ok) {
    std::fprintf(stderr, "connect: %s\n", s.message.c_str());
    return 1;
  }
  if (std::string(argv[1]).starts_with("list:")) {
    std::vector<com::ComTask> tasks;
    s = scheduler.listTasks(std::string(argv[1]).substr(5), tasks);
    for (const auto& t : tasks) {
      std::printf("%s enabled %d\n", t.path.c_str(), t.enabled ? 1 : 0);
    }
    std::printf("%s\n", s.ok ? "ok" : s.message.c_str());
    return s.ok ? 0 : 1;
  }
  com::ComTask task;
  s = scheduler.readTask(argv[1], task);
  const auto code = static_cast<unsigned long>(s.hresult);
  if (!s.ok && (code == 0x80070002UL || code == 0x80070003UL)) {
    std::printf("missing\n");
    return 3;
  }
  if (!s.ok) {
    std::fprintf(stderr, "%s\n", s.message.c_str());
    return 1;
  }
  std::printf("enabled %d\n%s\n", task.enabled ? 1 : 0, task.xml.c_str());
  return 0;
}
