#include "TaskSchedulerPlugin.h"

#include <Poco/Logger.h>
#include <date/tz.h>

#include <exception>

#include "TaskXml.h"

namespace crontopus::plugins::taskscheduler {
namespace {

using sdk::ErrorCode;
using sdk::Result;

constexpr const char* kMarker = "CRONTOPUS:";
constexpr const char* kRoot = "\\Crontopus";

// Characters Task Scheduler refuses in a task or folder name.
bool validTaskName(const std::string& name) {
  if (name.empty() || name == "." || name == "..") {
    return false;
  }
  for (unsigned char c : name) {
    if (c < 0x20 ||
        std::string_view("\\/:*?\"<>|").find(static_cast<char>(c)) != std::string_view::npos) {
      return false;
    }
  }
  return true;
}

std::string detectHostZone() {
  try {
    return date::current_zone()->name();
  } catch (const std::exception&) {
    return "UTC";
  }
}

}  // namespace

std::string taskPathFor(const std::string& identity) {
  std::string path = std::string(kRoot) + "\\" + identity;
  for (auto& c : path) {
    if (c == '/') {
      c = '\\';
    }
  }
  return path;
}

std::string identityFromDescription(const std::string& description) {
  const std::string marker = kMarker;
  if (description.compare(0, marker.size(), marker) != 0) {
    return {};
  }
  // Ends at any white space, not only the line break written after it: wine stores the
  // description with its line break folded into a space. Names and namespaces have none.
  std::size_t end = description.find_first_of(" \t\r\n", marker.size());
  return description.substr(marker.size(), end == std::string::npos ? end : end - marker.size());
}

Result buildTask(const sdk::Job& job, const sdk::PluginContext& context,
                 const std::string& host_zone, TaskDefinition& task, CompiledSchedule& schedule) {
  if (!validTaskName(job.ns) || !validTaskName(job.name)) {
    return Result::failure(ErrorCode::kConfig,
                           "job '" + job.identity() +
                               "': Task Scheduler names cannot be empty or contain \\ / : * ? \" "
                               "< > | or control characters");
  }
  sdk::CronExpression expr;
  sdk::CronError cron_error;
  if (!sdk::CronExpression::parse(job.schedule, expr, cron_error)) {
    return Result::failure(ErrorCode::kConfig, "job '" + job.identity() + "': schedule " +
                                                   cron_error.field + ": " + cron_error.message);
  }
  std::string zone = !job.timezone.empty()               ? job.timezone
                     : !context.default_timezone.empty() ? context.default_timezone
                                                         : host_zone;
  std::string error;
  if (!compileSchedule(expr, zone, host_zone, schedule, error)) {
    return Result::failure(ErrorCode::kConfig, "job '" + job.identity() + "': " + error);
  }
  task = TaskDefinition{};
  task.description = std::string(kMarker) + job.identity() + "\nManaged by crontopus-agent: `" +
                     expr.canonical() + "` in " + zone + " (" + scheduleFormName(schedule.form) +
                     "). Edits are overwritten.";
  task.uri = job.source_file;
  task.triggers = schedule.triggers;
  task.command = context.agent_path;
  task.arguments =
      joinWindowsArguments({"run", "--state-dir", context.agent_state_dir, job.identity()});
  task.enabled = !job.paused;
  task.execution_time_limit_seconds =
      job.checkin.timeout_seconds > 0 ? job.checkin.timeout_seconds : 0;
  task.multiple_instances_policy = "IgnoreNew";
  task.start_when_available = false;
  return Result::success();
}

TaskSchedulerPlugin::TaskSchedulerPlugin() = default;
TaskSchedulerPlugin::~TaskSchedulerPlugin() = default;

std::vector<sdk::OptionSpec> TaskSchedulerPlugin::optionSpecs() const {
  return {
      {"host_timezone", sdk::OptionType::kString, "",
       "IANA zone Task Scheduler's local times are in; empty = the host's zone"},
      {"run_as", sdk::OptionType::kString, "",
       "account tasks run as: empty = the agent's own user, SYSTEM = the SYSTEM account"},
  };
}

Result TaskSchedulerPlugin::configure(const sdk::PluginContext& context) {
  try {
    context_ = context;
    auto it = context.options.find("host_timezone");
    host_zone_ = it != context.options.end() && !it->second.empty() ? it->second : detectHostZone();
    try {
      date::locate_zone(host_zone_);
    } catch (const std::exception&) {
      return Result::failure(ErrorCode::kConfig,
                             "host_timezone '" + host_zone_ + "' is not a known IANA zone");
    }
    it = context.options.find("run_as");
    std::string run_as = it != context.options.end() ? it->second : std::string();
    if (!run_as.empty() && run_as != "SYSTEM") {
      return Result::failure(
          ErrorCode::kConfig,
          "run_as '" + run_as + "': use SYSTEM, or leave it empty for the agent's user");
    }
    store_ = makeTaskStore(run_as);
    return Result::success();
  } catch (const std::exception& e) {
    return Result::failure(ErrorCode::kInternal, std::string("configure: ") + e.what());
  }
}

sdk::Support TaskSchedulerPlugin::support() const {
  if (!store_) {
    return {false, "Task Scheduler exists only on Windows"};
  }
  Result r = store_->connect();
  if (!r) {
    return {false, r.message()};
  }
  return {true, {}};
}

Result TaskSchedulerPlugin::listOwned(std::vector<sdk::InstalledEntry>& out) {
  out.clear();
  if (!store_) {
    return Result::failure(ErrorCode::kUnsupported, "Task Scheduler exists only on Windows");
  }
  try {
    std::vector<StoredTask> tasks;
    Result r = store_->list(tasks);
    if (!r) {
      return r;
    }
    for (const auto& stored : tasks) {
      TaskDefinition task;
      std::string error;
      if (!parseTaskXml(stored.xml, task, error)) {
        if (context_.logger != nullptr) {
          context_.logger->warning("task " + stored.path + ": unreadable XML, ignored: " + error);
        }
        continue;
      }
      std::string identity = identityFromDescription(task.description);
      if (identity.empty() || taskPathFor(identity) != stored.path) {
        continue;  // not ours (no marker, or a marker copied into another task)
      }
      task.enabled = stored.enabled;
      out.push_back({identity, renderTaskXml(task), !stored.enabled});
    }
    return Result::success();
  } catch (const std::exception& e) {
    return Result::failure(ErrorCode::kInternal, std::string("listOwned: ") + e.what());
  }
}

Result TaskSchedulerPlugin::render(const sdk::Job& job, sdk::RenderedEntry& out) const {
  try {
    TaskDefinition task;
    CompiledSchedule schedule;
    Result r = buildTask(job, context_, host_zone_, task, schedule);
    if (!r) {
      return r;
    }
    out.text = renderTaskXml(task);
    out.report = "task " + taskPathFor(job.identity()) + "\n" + schedule.report;
    out.gate_runs =
        schedule.needs_gate || schedule.needs_dedupe || schedule.form == ScheduleForm::kEveryMinute;
    return Result::success();
  } catch (const std::exception& e) {
    return Result::failure(ErrorCode::kInternal,
                           "render '" + job.identity() + "': " + std::string(e.what()));
  }
}

Result TaskSchedulerPlugin::apply(const std::vector<sdk::Change>& changes) {
  if (!store_) {
    return Result::failure(ErrorCode::kUnsupported, "Task Scheduler exists only on Windows");
  }
  try {
    for (const auto& change : changes) {
      const std::string path = taskPathFor(change.identity);
      Result r;
      if (change.kind == sdk::ChangeKind::kRemove) {
        r = store_->remove(path);
      } else if (!change.text.empty()) {
        r = store_->upsert(path, change.text);
      } else {
        r = store_->setEnabled(path, !change.paused);
      }
      if (!r) {
        return Result::failure(r.code(), std::string(sdk::changeKindName(change.kind)) + " " +
                                             change.identity + ": " + r.message());
      }
    }
    return Result::success();
  } catch (const std::exception& e) {
    return Result::failure(ErrorCode::kInternal, std::string("apply: ") + e.what());
  }
}

}  // namespace crontopus::plugins::taskscheduler
