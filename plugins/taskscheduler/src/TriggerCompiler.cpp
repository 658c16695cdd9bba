#include "TriggerCompiler.h"

namespace crontopus::plugins::taskscheduler {

const char* scheduleFormName(ScheduleForm form) noexcept {
  switch (form) {
    case ScheduleForm::kNative:
      return "native";
    case ScheduleForm::kNativeGated:
      return "native-gated";
    case ScheduleForm::kEveryMinute:
      return "every-minute-gated";
    case ScheduleForm::kBoot:
      return "boot";
  }
  return "?";
}

bool compileSchedule(const sdk::CronExpression& expr, std::string_view, std::string_view,
                     CompiledSchedule& out, std::string&) {
  out = CompiledSchedule{};
  if (expr.isReboot()) {
    out.form = ScheduleForm::kBoot;
    Trigger t;
    t.kind = TriggerKind::kBoot;
    out.triggers.push_back(t);
    out.reason = "@reboot runs when the system starts";
  } else {
    Trigger t;
    t.kind = TriggerKind::kTime;
    t.start.utc = true;
    t.has_repetition = true;
    t.repetition.interval_seconds = 60;
    out.triggers.push_back(t);
    out.needs_gate = true;
    out.needs_dedupe = true;
    out.reason = "every minute, gated by run";
  }
  out.report = std::string("form: ") + scheduleFormName(out.form) + " (" + out.reason + ")";
  return true;
}

}  // namespace crontopus::plugins::taskscheduler
