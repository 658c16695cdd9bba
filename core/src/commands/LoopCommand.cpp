#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <Poco/DigestEngine.h>
#include <Poco/SHA2Engine.h>

#include "Agent.h"
#include "Commands.h"
#include "Engine.h"
#include "controlplane/ControlPlane.h"
#include "platform/Files.h"
#include "platform/Platform.h"
#include "platform/Signals.h"

namespace crontopus::core::commands {

namespace {

// A fleet of agents with the same interval must not hit the git server in the same second: each
// host waits interval + a fixed share (0..10 %) derived from its machine id and agent name.
std::chrono::milliseconds stableJitter(const AgentConfig& config) {
  Poco::SHA2Engine engine(Poco::SHA2Engine::SHA_256);
  engine.update(platform::rawMachineId() + "/" + config.agent.name);
  const auto& digest = engine.digest();
  std::uint32_t value = 0;
  for (int i = 0; i < 4; ++i)
    value = (value << 8) | digest[static_cast<std::size_t>(i)];
  const auto max_ms = static_cast<std::uint64_t>(config.git.sync_interval) * 100;  // 10 %
  return std::chrono::milliseconds(max_ms == 0 ? 0 : value % max_ms);
}

// After failures the wait doubles, up to 10x the interval; rejected credentials back off
// hardest, because git hosts ban addresses that keep failing to log in.
std::chrono::milliseconds nextDelay(const AgentConfig& config, const CycleReport& report,
                                    int failures) {
  const std::chrono::milliseconds interval(static_cast<std::int64_t>(config.git.sync_interval) *
                                           1000);
  const auto jitter = stableJitter(config);
  if (report.ok)
    return interval + jitter;
  const int shift = std::min(failures + (report.failure == sdk::ErrorCode::kAuth ? 3 : 0), 10);
  const std::chrono::milliseconds grown = interval * (std::int64_t{1} << shift);
  return std::min<std::chrono::milliseconds>(grown, interval * 10) + jitter;
}

}  // namespace

int loop(Agent& agent) {
  const AgentConfig& config = agent.config(true);
  platform::SignalWaiter signals;  // before any thread starts
  auto lock = lockStateDirectory(config);
  PluginHost host;
  host.scan(PluginHost::resolvePluginsDir(agent.commandLine().plugins_dir, config.plugins_dir));
  std::atomic<bool> stop{false};
  Engine engine(config, host, &stop);
  // Standalone (no backend.api_url): nothing of the control plane runs.
  std::unique_ptr<controlplane::ControlPlane> control_plane;
  if (controlplane::ControlPlane::configured(config)) {
    control_plane = std::make_unique<controlplane::ControlPlane>(config);
    control_plane->addSpool(engine.runStateDirectory() + "/spool", engine.runUser());
    control_plane->start();
  }

  std::mutex mutex;
  std::condition_variable wake;
  bool sync_now = false;
  std::thread worker([&] {
    int failures = 0;
    while (!stop) {
      CycleReport report;
      try {
        report = engine.cycle(true);
      } catch (const std::exception& e) {
        report.ok = false;
        report.failure = sdk::ErrorCode::kInternal;
        agent.logger().error(std::string("cycle failed: ") + e.what());
      }
      if (control_plane && report.applied)
        control_plane->reportJobs(report.plan.jobs_after);
      failures = report.ok ? 0 : failures + 1;
      // A cycle's parsing and rendering leave freed heap behind; hand it back while we sleep.
      platform::releaseFreeMemory();
      const auto delay = nextDelay(config, report, failures);
      agent.logger().debug("next cycle in " + std::to_string(delay.count()) + " ms");
      std::unique_lock<std::mutex> guard(mutex);
      wake.wait_for(guard, delay, [&] { return stop.load() || sync_now; });
      sync_now = false;
    }
  });
  agent.logger().information("crontopus-agent " + std::string(CRONTOPUS_VERSION) +
                             " started: backend " + engine.schedulerId() + ", every " +
                             std::to_string(config.git.sync_interval) + " s");
  while (true) {
    platform::SignalEvent event = signals.wait();
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
  if (control_plane)
    control_plane->stop();
  agent.logger().information("crontopus-agent stopped");
  return 0;
}

}  // namespace crontopus::core::commands
