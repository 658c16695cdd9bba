// The plugin's exported entry points (kept in the MODULE itself: objects of a static library are
// linked only when something refers to them).
#include "TaskSchedulerPlugin.h"
#include "crontopus/sdk/Plugin.h"

CRONTOPUS_DECLARE_SCHEDULER_PLUGIN(crontopus::plugins::taskscheduler::TaskSchedulerPlugin,
                                   "taskscheduler", "0.1.0",
                                   "Windows Task Scheduler 2.0 (COM); renders task XML anywhere")
