#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

#include <Poco/Logger.h>

#include "Agent.h"
#include "Commands.h"
#include "Engine.h"
#include "LogRateLimiter.h"
#include "Polling.h"
#include "controlplane/ControlPlane.h"
#include "metrics/Metrics.h"
#include "platform/Files.h"
#include "platform/Platform.h"
#include "platform/Signals.h"

namespace crontopus::core::commands {

namespace {

std::chrono::milliseconds nextDelay(const AgentConfig& config, const CycleReport& report,
                                    int failures) {
  const auto jitter =
      polling::stableJitter(platform::rawMachineId(), config.agent.name, config.git.sync_interval);
  return polling::nextDelay(config.git.sync_interval, jitter, report.ok, report.failure, failures);
}

// SIGUSR1: the new file, or nothing when it is invalid (logged with its positions). What the
// running process cannot change in place (where state lives, where logs and metrics go, the
// control plane's threads) keeps its old value until a restart, with a warning.
std::optional<AgentConfig> reloadConfig(const AgentConfig& old, Poco::Logger& log) {
  AgentConfig fresh;
  try {
    fresh = loadConfig(old.source_file);
  } catch (const Poco::Exception& e) {
    log.error("SIGUSR1: the new configuration is invalid; keeping the old one:\n" + e.message());
    return std::nullopt;
  }
  for (const auto& w : fresh.warnings)
    log.warning(w.str());
  auto keep = [&](auto& field, const auto& old_value, const char* key) {
    if (field != old_value) {
      log.warning(std::string("SIGUSR1: ") + key +
                  " changes only on a restart; keeping the old value");
      field = old_value;
    }
  };
  keep(fresh.agent.state_dir, old.agent.state_dir, "agent.state_dir");
  keep(fresh.agent.token_path, old.agent.token_path, "agent.token_path");
  keep(fresh.plugins_dir, old.plugins_dir, "plugins_dir");
  keep(fresh.log.target, old.log.target, "log.target");
  keep(fresh.log.file, old.log.file, "log.file");
  keep(fresh.metrics.listen, old.metrics.listen, "metrics.listen");
  keep(fresh.metrics.allow_remote, old.metrics.allow_remote, "metrics.allow_remote");
  keep(fresh.backend.api_url, old.backend.api_url, "backend.api_url");
  keep(fresh.backend.enrollment_token, old.backend.enrollment_token, "backend.enrollment_token");
  keep(fresh.backend.ca_file, old.backend.ca_file, "backend.ca_file");
  keep(fresh.backend.heartbeat_interval, old.backend.heartbeat_interval,
       "backend.heartbeat_interval");
  keep(fresh.backend.allow_insecure_http, old.backend.allow_insecure_http,
       "backend.allow_insecure_http");
  return fresh;
}

void applyLogLevel(const Agent& agent, const AgentConfig& config) {
  if (!agent.commandLine().log_level.empty())
    return;  // --log-level wins for the whole run
  const std::string level = config.log.level == "info" ? "information" : config.log.level;
  Poco::Logger::setLevel("", Poco::Logger::parseLevel(level));
}

}  // namespace

int loop(Agent& agent) {
  // The engine keeps a reference to its configuration: both are replaced together, between
  // cycles, on the worker thread.
  auto config = std::make_unique<AgentConfig>(agent.config(true));
  platform::SignalWaiter signals;  // before any thread starts
  auto lock = lockStateDirectory(*config);
  PluginHost host;
  host.scan(PluginHost::resolvePluginsDir(agent.commandLine().plugins_dir, config->plugins_dir));
  std::atomic<bool> stop{false};
  auto engine = std::make_unique<Engine>(*config, host, &stop);
  // Rejected credentials fail every cycle until someone fixes them: say so once, then hourly.
  LogRateLimiter auth_log(std::chrono::hours(1));
  auto error_log_filter = [&auth_log](const CycleReport& report) {
    if (report.failure != sdk::ErrorCode::kAuth) {
      auth_log.reset();
      return true;
    }
    return auth_log.allow();
  };
  engine->setErrorLogFilter(error_log_filter);
  std::unique_ptr<metrics::Registry> registry;
  std::unique_ptr<metrics::Server> metrics_server;
  if (!config->metrics.listen.empty()) {
    registry = std::make_unique<metrics::Registry>(config->git.sync_interval);
    try {
      metrics_server = std::make_unique<metrics::Server>(config->metrics.listen, *registry);
    } catch (const Poco::Exception& e) {
      throw ConfigException(config->source_file + ": metrics.listen: cannot listen on " +
                            config->metrics.listen + ": " + e.displayText());
    }
  }
  // Standalone (no backend.api_url): nothing of the control plane runs.
  std::unique_ptr<controlplane::ControlPlane> control_plane;
  if (controlplane::ControlPlane::configured(*config)) {
    control_plane = std::make_unique<controlplane::ControlPlane>(*config);
    control_plane->addSpool(engine->runStateDirectory() + "/spool", engine->runUser());
    control_plane->setMetrics(registry.get());
    control_plane->start();
  }

  // The main thread compares reloads with the first configuration; the worker owns `config`.
  const AgentConfig first = *config;
  std::mutex mutex;
  std::condition_variable wake;
  bool sync_now = false;
  std::optional<AgentConfig> pending;  // a valid new configuration, for the worker to take
  std::thread worker([&] {
    int failures = 0;
    while (!stop) {
      std::optional<AgentConfig> next;
      {
        std::lock_guard<std::mutex> guard(mutex);
        next.swap(pending);
      }
      if (next) {
        try {
          auto next_config = std::make_unique<AgentConfig>(std::move(*next));
          auto next_engine = std::make_unique<Engine>(*next_config, host, &stop);
          next_engine->setErrorLogFilter(error_log_filter);
          engine = std::move(next_engine);
          config = std::move(next_config);
          applyLogLevel(agent, *config);
          if (registry)
            registry->setSyncInterval(config->git.sync_interval);
          agent.logger().information("SIGUSR1: configuration reloaded: backend " +
                                     engine->schedulerId() + ", every " +
                                     std::to_string(config->git.sync_interval) + " s");
        } catch (const Poco::Exception& e) {
          agent.logger().error(
              "SIGUSR1: the new configuration cannot be used; keeping the old "
              "one: " +
              e.displayText());
        }
      }
      // The report (the whole inventory after the cycle, the plan) is dropped before the wait:
      // kept alive it would double the jobs' memory while the agent sleeps.
      std::chrono::milliseconds delay{0};
      {
        const auto started = std::chrono::steady_clock::now();
        CycleReport report;
        try {
          report = engine->cycle(true);
        } catch (const std::exception& e) {
          report.ok = false;
          report.failure = sdk::ErrorCode::kInternal;
          agent.logger().error(std::string("cycle failed: ") + e.what());
        }
        const auto finished = std::chrono::steady_clock::now();
        if (registry) {
          registry->recordCycle(report, finished - started,
                                std::chrono::duration_cast<std::chrono::seconds>(
                                    std::chrono::system_clock::now().time_since_epoch())
                                    .count(),
                                finished);
        }
        if (control_plane && report.applied)
          control_plane->reportJobs(report.plan.jobs_after);
        failures = report.ok ? 0 : failures + 1;
        delay = nextDelay(*config, report, failures);
      }
      // A cycle's parsing and rendering leave freed heap behind; hand it back while we sleep.
      platform::releaseFreeMemory();
      agent.logger().debug("next cycle in " + std::to_string(delay.count()) + " ms");
      std::unique_lock<std::mutex> guard(mutex);
      wake.wait_for(guard, delay, [&] { return stop.load() || sync_now || pending.has_value(); });
      sync_now = false;
    }
  });
  agent.logger().information("crontopus-agent " + std::string(CRONTOPUS_VERSION) +
                             " started: backend " + engine->schedulerId() + ", every " +
                             std::to_string(config->git.sync_interval) + " s" +
                             (metrics_server ? ", metrics on " + config->metrics.listen : ""));
  while (true) {
    platform::SignalEvent event = signals.wait();
    if (event == platform::SignalEvent::kReload) {
      std::optional<AgentConfig> fresh = reloadConfig(first, agent.logger());
      if (!fresh)
        continue;
      std::lock_guard<std::mutex> guard(mutex);
      pending = std::move(fresh);
      wake.notify_all();
      continue;
    }
    std::lock_guard<std::mutex> guard(mutex);
    if (event == platform::SignalEvent::kStop) {
      agent.logger().information("stopping after the current step");
      stop = true;
      wake.notify_all();
      break;
    }
    agent.logger().information("SIGHUP: starting a cycle now");
    sync_now = true;
    wake.notify_all();
    if (control_plane)
      control_plane->wakeUp();
  }
  worker.join();
  if (metrics_server)
    metrics_server->stop();
  if (control_plane)
    control_plane->stop();
  agent.logger().information("crontopus-agent stopped");
  return 0;
}

}  // namespace crontopus::core::commands
