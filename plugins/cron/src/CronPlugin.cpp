// The plugin library's entry points: only the loadable module compiles this file.
#include "CronScheduler.h"
#include "crontopus/sdk/Plugin.h"

CRONTOPUS_DECLARE_SCHEDULER_PLUGIN(crontopus::plugins::cron::CronScheduler, "cron", "0.1.0",
                                   "user crontab (crontab command) or a cron.d file")
