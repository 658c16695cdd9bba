// Prints the task XML the plugin renders for a sample job, for the wine COM test to register:
// `taskscheduler_sample_xml first|second|paused`.
#include <cstdio>
#include <cstring>

#include "TaskSchedulerPlugin.h"
#include "TaskXml.h"

int main(int argc, char** argv) {
  using namespace crontopus;
  const char* variant = argc > 1 ? argv[1] : "first";
  sdk::PluginContext context;
  context.agent_path = "C:\\Program Files\\Crontopus\\crontopus-agent.exe";
  context.agent_state_dir = "C:\\ProgramData\\Crontopus state";
  sdk::Job job;
  job.ns = "test";
  job.name = "sample";
  job.source_file = "test/sample & co.yaml";
  job.schedule = std::strcmp(variant, "first") == 0 ? "*/15 9-17 * * *" : "0 12 13 * 5";
  job.paused = std::strcmp(variant, "paused") == 0;
  job.checkin.timeout_seconds = 900;
  plugins::taskscheduler::TaskDefinition task;
  plugins::taskscheduler::CompiledSchedule schedule;
  sdk::Result r = plugins::taskscheduler::buildTask(job, context, "UTC", task, schedule);
  if (!r) {
    std::fprintf(stderr, "%s\n", r.message().c_str());
    return 1;
  }
  std::fputs(plugins::taskscheduler::renderTaskXml(task).c_str(), stdout);
  return 0;
}
