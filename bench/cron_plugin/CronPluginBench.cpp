// Benchmark of the cron backend against Debian's real crontab: N generated jobs applied to a
// throwaway user's crontab (N = 100, 1,000, 4,000) and to a cron.d-format file (N = 10,000, in a
// temporary directory so that cron never runs them). Each N reports the first apply (listOwned,
// render all, plan, apply), one changed job, and an unchanged cycle: wall time, CPU (agent plus
// crontab children), crontab invocations. Needs root (useradd, crontab -u).
//
//   cron_plugin_bench [N...]        default: 100 1000 4000, then 10000 in cron_file mode
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "CronScheduler.h"
#include "Platform.h"

namespace {

using crontopus::plugins::cron::CronScheduler;
namespace platform = crontopus::plugins::cron::platform;
namespace sdk = crontopus::sdk;

bool runQuiet(const std::vector<std::string>& argv) {
  platform::ProcessOutput output;
  return platform::runProcess(argv, {}, std::chrono::seconds(60), output).ok() &&
         output.exit_code == 0;
}

double cpuSeconds() {
  double total = 0;
  for (int who : {RUSAGE_SELF, RUSAGE_CHILDREN}) {
    rusage usage{};
    if (::getrusage(who, &usage) == 0) {
      total += static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
               static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
    }
  }
  return total;
}

long peakRssKiB() {
  rusage usage{};
  return ::getrusage(RUSAGE_SELF, &usage) == 0 ? usage.ru_maxrss : -1;
}

struct Measure {
  double wall_ms = 0;
  double cpu_ms = 0;
  std::size_t invocations = 0;
  std::size_t changes = 0;
  bool ok = true;
  std::string error;
};

// One reconcile cycle as the core runs it: list, render, compare, apply.
Measure cycle(CronScheduler& plugin, const std::map<std::string, sdk::Job>& desired) {
  Measure m;
  const std::size_t invocations = plugin.storeInvocations();
  const double cpu = cpuSeconds();
  const auto start = std::chrono::steady_clock::now();

  std::vector<sdk::InstalledEntry> installed;
  sdk::Result result = plugin.listOwned(installed);
  std::vector<sdk::Change> changes;
  if (result) {
    std::map<std::string, const sdk::InstalledEntry*> by_identity;
    for (const auto& entry : installed) {
      by_identity[entry.identity] = &entry;
    }
    for (const auto& [identity, job] : desired) {
      sdk::RenderedEntry rendered;
      result = plugin.render(job, rendered);
      if (!result) {
        break;
      }
      auto it = by_identity.find(identity);
      if (it == by_identity.end()) {
        changes.push_back({sdk::ChangeKind::kAdd, identity, rendered.text, job.paused, "new"});
      } else if (it->second->text != rendered.text) {
        changes.push_back(
            {sdk::ChangeKind::kUpdate, identity, rendered.text, job.paused, "changed"});
      }
    }
  }
  if (result) {
    result = plugin.apply(changes);
  }

  m.wall_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  m.cpu_ms = (cpuSeconds() - cpu) * 1000;
  m.invocations = plugin.storeInvocations() - invocations;
  m.changes = changes.size();
  m.ok = result.ok();
  m.error = result.message();
  return m;
}

std::map<std::string, sdk::Job> generate(std::size_t n) {
  std::map<std::string, sdk::Job> jobs;
  for (std::size_t i = 0; i < n; ++i) {
    sdk::Job job;
    job.ns = "bench" + std::to_string(i % 7);
    job.name = "job-" + std::to_string(i);
    job.id = "00000000-0000-4000-8000-" + std::to_string(100000000000 + i);
    job.schedule = std::to_string(i % 60) + " " + std::to_string(i % 24) + " * * *";
    job.command = "/bin/true";
    jobs[job.identity()] = job;
  }
  return jobs;
}

void report(const char* mode, std::size_t n, const char* what, const Measure& m) {
  std::printf("%-9s %6zu  %-10s %9.2f %9.2f %6zu %7zu  %s\n", mode, n, what, m.wall_ms, m.cpu_ms,
              m.invocations, m.changes, m.ok ? "ok" : m.error.c_str());
}

bool benchmark(const char* mode, std::size_t n, const sdk::PluginContext& context) {
  CronScheduler plugin;
  sdk::Result configured = plugin.configure(context);
  if (!configured) {
    std::fprintf(stderr, "configure: %s\n", configured.message().c_str());
    return false;
  }
  auto desired = generate(n);
  const Measure first = cycle(plugin, desired);
  report(mode, n, "first", first);
  auto it = desired.begin();
  std::advance(it, static_cast<long>(n / 2));
  it->second.schedule = "59 23 * * 0";
  const Measure one = cycle(plugin, desired);
  report(mode, n, "one-change", one);
  const Measure unchanged = cycle(plugin, desired);
  report(mode, n, "unchanged", unchanged);
  return first.ok && one.ok && unchanged.ok && unchanged.invocations <= 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::size_t> user_sizes;
  std::size_t file_size = 10000;
  if (argc > 1) {
    file_size = 0;
    for (int i = 1; i < argc; ++i) {
      user_sizes.push_back(std::strtoul(argv[i], nullptr, 10));
    }
  } else {
    user_sizes = {100, 1000, 4000};
  }
  if (::geteuid() != 0) {
    std::fprintf(stderr, "cron_plugin_bench: run as root (it creates a throwaway user)\n");
    return 2;
  }
  std::random_device random;
  const std::string user =
      "ctpbench" + std::to_string(::getpid()) + "x" + std::to_string(random() % 100000);
  if (!runQuiet({"useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", user})) {
    std::fprintf(stderr, "useradd %s failed\n", user.c_str());
    return 2;
  }
  std::string dir_pattern = (std::filesystem::temp_directory_path() / "cronbench-XXXXXX").string();
  if (::mkdtemp(dir_pattern.data()) == nullptr) {
    std::perror("mkdtemp");
    runQuiet({"userdel", user});
    return 2;
  }

  sdk::PluginContext context;
  context.agent_path = "/usr/local/bin/crontopus-agent";
  context.agent_state_dir = "/var/lib/crontopus";
  std::printf("%-9s %6s  %-10s %9s %9s %6s %7s\n", "mode", "N", "cycle", "wall_ms", "cpu_ms",
              "calls", "changes");
  bool ok = true;
  for (std::size_t n : user_sizes) {
    runQuiet({"crontab", "-u", user, "-r"});
    context.options = {{"user", user}};
    ok = benchmark("crontab", n, context) && ok;
  }
  if (file_size != 0) {
    context.options = {{"cron_file", dir_pattern + "/crontopus"}, {"user", user}};
    ok = benchmark("cron_file", file_size, context) && ok;
  }
  std::printf("peak RSS of the benchmark process: %ld KiB\n", peakRssKiB());

  runQuiet({"crontab", "-u", user, "-r"});
  if (!runQuiet({"userdel", user})) {
    std::fprintf(stderr, "userdel %s failed\n", user.c_str());
    ok = false;
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_pattern, ec);
  return ok ? 0 : 1;
}
