#include "../TaskStore.h"

namespace crontopus::plugins::taskscheduler {

std::unique_ptr<TaskStore> makeTaskStore(const std::string&) {
  return nullptr;  // Task Scheduler exists only on Windows
}

}  // namespace crontopus::plugins::taskscheduler
