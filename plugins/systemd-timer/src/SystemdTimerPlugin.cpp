// The plugin library's entry points: only the loadable module compiles this file.
#include "SystemdTimerScheduler.h"
#include "crontopus/sdk/Plugin.h"

CRONTOPUS_DECLARE_SCHEDULER_PLUGIN(
    crontopus::plugins::systemd_timer::SystemdTimerScheduler, "systemd-timer", "0.1.0",
    "systemd .timer + .service units with exact OnCalendar= schedules")
