#include <iomanip>

#include <Poco/DateTimeFormat.h>
#include <Poco/DateTimeFormatter.h>
#include <Poco/Logger.h>
#include <Poco/Timestamp.h>
#include <iostream>
#include <map>
#include <memory>

#include "Agent.h"
#include "Commands.h"
#include "Engine.h"
#include "State.h"
#include "controlplane/ControlPlane.h"
#include "controlplane/Protocol.h"
#include "manifest/ManifestParser.h"
#include "platform/Files.h"

namespace crontopus::core::commands {

namespace {

const char* symbol(sdk::ChangeKind kind) {
  switch (kind) {
    case sdk::ChangeKind::kAdd:
      return "+";
    case sdk::ChangeKind::kRemove:
      return "-";
    case sdk::ChangeKind::kDrift:
      return "!";
    default:
      return "~";
  }
}

void printPlan(const CycleReport& report, const std::string& backend, std::ostream& out) {
  out << "revision " << (report.revision.empty() ? "(none)" : report.revision) << ", backend "
      << backend << ", " << report.jobs << " job(s) for this agent\n";
  std::map<std::string, int> counts;
  for (const auto& item : report.plan.items) {
    out << "  " << symbol(item.kind) << " " << std::left << std::setw(7)
        << sdk::changeKindName(item.kind) << " " << item.identity << ": " << item.reason << "\n";
    ++counts[sdk::changeKindName(item.kind)];
  }
  for (const auto& e : report.errors)
    out << "  error: " << e << "\n";
  out << counts["add"] << " to add, " << counts["update"] << " to update, "
      << counts["pause"] + counts["resume"] << " to pause/resume, " << counts["remove"]
      << " to remove, " << counts["drift"] << " drifted, " << report.plan.unchanged
      << " unchanged, " << report.errors.size() << " error(s)\n";
}

// plan, apply and uninstall share this: the state directory's lock, the plugins, one engine.
template <typename Fn>
int withEngine(Agent& agent, Fn&& fn) {
  const AgentConfig& config = agent.config(true);
  auto lock = lockStateDirectory(config);
  PluginHost host;
  host.scan(PluginHost::resolvePluginsDir(agent.commandLine().plugins_dir, config.plugins_dir));
  Engine engine(config, host, nullptr);
  return fn(engine);
}

}  // namespace

int plan(Agent& agent, std::ostream& out) {
  return withEngine(agent, [&](Engine& engine) {
    CycleReport report = engine.cycle(false);
    if (!report.ok) {
      for (const auto& e : report.errors)
        std::cerr << e << "\n";
      return 1;
    }
    printPlan(report, engine.schedulerId(), out);
    return agent.commandLine().has("exit-code") && report.plan.hasChanges() ? 2 : 0;
  });
}

namespace {

// apply with backend.api_url set does once, on this thread, what the daemon's control-plane
// threads do: enroll when needed, post the job list when the cycle changed it, deliver the spool.
// Nothing here changes apply's exit code, which is about the jobs: failures are logged.
void reportOnce(const AgentConfig& config, const Engine& engine, const CycleReport& report,
                const std::map<std::string, JobState>& jobs_before) {
  try {
    // Constructed after the cycle: it reads the job list from the state the cycle saved.
    controlplane::ControlPlane control_plane(config);
    control_plane.addSpool(engine.runStateDirectory() + "/spool", engine.runUser());
    control_plane.runOnce(
        report.applied &&
        (report.plan.hasChanges() || controlplane::jobInstancesBody(report.plan.jobs_after) !=
                                         controlplane::jobInstancesBody(jobs_before)));
  } catch (const Poco::Exception& e) {
    // ControlPlane's constructor: backend.ca_file unreadable, the HTTPS module missing.
    Poco::Logger::get("crontopus.controlplane").error("control plane: " + e.message());
  } catch (const std::exception& e) {
    Poco::Logger::get("crontopus.controlplane").error(std::string("control plane: ") + e.what());
  }
}

}  // namespace

int apply(Agent& agent, std::ostream& out) {
  return withEngine(agent, [&](Engine& engine) {
    const AgentConfig& config = agent.config(true);
    const bool control_plane = controlplane::ControlPlane::configured(config);
    std::map<std::string, JobState> jobs_before;
    if (control_plane)
      jobs_before = loadState(config.agent.state_dir).jobs;
    CycleReport report = engine.cycle(true);
    printPlan(report, engine.schedulerId(), out);
    if (control_plane)
      reportOnce(config, engine, report, jobs_before);
    if (!report.ok)
      return 1;
    out << (report.plan.changes.empty() ? "nothing to apply\n" : "applied\n");
    return report.jobErrors() ? 1 : 0;
  });
}

int uninstall(Agent& agent, std::ostream& out) {
  return withEngine(agent, [&](Engine& engine) {
    CycleReport report = engine.uninstall();
    for (const auto& item : report.plan.items)
      out << "  - remove  " << item.identity << "\n";
    if (!report.ok) {
      for (const auto& e : report.errors)
        std::cerr << e << "\n";
      return 1;
    }
    out << report.plan.items.size() << " entr" << (report.plan.items.size() == 1 ? "y" : "ies")
        << " removed from " << engine.schedulerId() << "\n";
    return 0;
  });
}

int status(Agent& agent, std::ostream& out) {
  const AgentConfig& config = agent.config(false);
  AgentState s = loadState(config.agent.state_dir);
  out << "state directory: " << config.agent.state_dir << "\n"
      << "backend:         " << (s.backend.empty() ? "(none yet)" : s.backend) << "\n"
      << "revision:        " << (s.revision.empty() ? "(none yet)" : s.revision)
      << (s.revision_time > 0
              ? " (committed " +
                    Poco::DateTimeFormatter::format(
                        Poco::Timestamp::fromEpochTime(static_cast<std::time_t>(s.revision_time)),
                        Poco::DateTimeFormat::ISO8601_FORMAT) +
                    ")"
              : std::string())
      << "\n"
      << "last cycle:      "
      << (s.last_cycle_started.empty() ? "(never)"
                                       : s.last_cycle_started + " .. " + s.last_cycle_finished)
      << (s.last_result.empty() ? "" : " " + s.last_result) << "\n";
  for (const auto& e : s.last_errors)
    out << "  error: " << e << "\n";
  out << "jobs:            " << s.jobs.size() << "\n";
  for (const auto& [id, j] : s.jobs) {
    out << "  " << std::left << std::setw(40) << id << " " << std::setw(9) << j.status << " "
        << j.source_file << (j.error.empty() ? "" : "  (" + j.error + ")") << "\n";
  }
  return 0;
}

int render(Agent& agent, std::ostream& out, std::ostream& err) {
  const CommandLine& cl = agent.commandLine();
  const AgentConfig& config = agent.config(false);
  ManifestParseOptions options;
  options.missing_env_is_error = false;
  ManifestSet set = ManifestParser(options).parseFile(cl.operands.at(0));
  for (const auto& e : set.errors) {
    err << cl.operands[0]
        << (e.line > 0 ? ":" + std::to_string(e.line) + ":" + std::to_string(e.column) : "") << ": "
        << (e.field.empty() ? "" : e.field + ": ") << e.message << "\n";
  }
  if (!set.errors.empty() || set.jobs.empty())
    return 1;
  PluginHost host;
  host.scan(PluginHost::resolvePluginsDir(cl.plugins_dir, config.plugins_dir));
  const std::string id = PluginHost::schedulerIdFor(cl.get("backend", config.scheduler.backend),
                                                    config.agent.platform);
  AgentConfig::Scheduler options_source;
  if (id == PluginHost::schedulerIdFor(config.scheduler.backend, config.agent.platform)) {
    options_source = config.scheduler;
  }
  AgentConfig effective = config;
  effective.scheduler = options_source;
  auto scheduler = makeScheduler(host, effective, id, nullptr);
  int rc = 0;
  for (const auto& [identity, job] : set.jobs) {
    DesiredJob d = renderJob(*scheduler, job);
    if (!d.render_error.empty()) {
      err << identity << ": " << d.render_error << "\n";
      rc = 1;
      continue;
    }
    out << d.text;
    if (!d.text.empty() && d.text.back() != '\n')
      out << "\n";
    if (!d.report.empty())
      err << "# " << id << ": " << d.report << "\n";
  }
  return rc;
}

}  // namespace crontopus::core::commands
