// Measures what reporting costs a job and how fast a backlog drains; see README.md.
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include <Poco/TemporaryFile.h>

#include "FakeControlPlane.h"
#include "RunSpec.h"
#include "controlplane/ControlPlane.h"
#include "controlplane/HttpClient.h"
#include "controlplane/Spool.h"
#include "controlplane/TokenFile.h"
#include "platform/Files.h"

namespace {

using namespace crontopus;
using Clock = std::chrono::steady_clock;

struct Sample {
  double cpu_ms = 0;
  double wall_ms = 0;
};

// fork + exec + wait4: CPU is the child's user+system time including its own children (the job).
Sample runOnce(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const auto& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const auto started = Clock::now();
  const pid_t pid = fork();
  if (pid == 0) {
    const int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    dup2(null, 2);
    execv(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  rusage usage{};
  wait4(pid, &status, 0, &usage);
  Sample s;
  s.wall_ms = std::chrono::duration<double, std::milli>(Clock::now() - started).count();
  s.cpu_ms = (usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1000.0 +
             (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1000.0;
  return s;
}

void report(const std::string& what, std::vector<Sample> samples) {
  auto median = [&](auto key) {
    std::vector<double> v;
    for (const auto& s : samples)
      v.push_back(key(s));
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  auto mean = [&](auto key) {
    double sum = 0;
    for (const auto& s : samples)
      sum += key(s);
    return sum / static_cast<double>(samples.size());
  };
  auto cpu = [](const Sample& s) { return s.cpu_ms; };
  auto wall = [](const Sample& s) { return s.wall_ms; };
  std::printf("%-44s cpu median %6.2f ms mean %6.2f ms | wall median %6.2f ms mean %6.2f ms\n",
              what.c_str(), median(cpu), mean(cpu), median(wall), mean(wall));
}

core::RunSpec spec(const std::string& state, const std::string& name, const std::string& url,
                   bool checkin) {
  core::RunSpec s;
  s.ns = "bench";
  s.name = name;
  s.command = "true";
  s.schedule = "* * * * *";
  s.checkin_enabled = checkin;
  s.control_plane.api_url = url;
  s.control_plane.token_path = state + "/agent-token";
  s.control_plane.spool_dir = state + "/spool";
  core::platform::makeDirectories(core::jobDirectory(state, s.identity()), 0700);
  core::platform::writeFileAtomic(core::runSpecPath(state, s.identity()), core::toJson(s), 0600);
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  const int runs = argc > 1 ? std::atoi(argv[1]) : 200;
  const int spooled = argc > 2 ? std::atoi(argv[2]) : 10000;
  const std::string dir = Poco::TemporaryFile::tempName();
  const std::string state = dir + "/state";
  core::platform::makeDirectories(state, 0700);
  tests::FakeControlPlane server;

  core::controlplane::HttpSettings settings;
  settings.api_url = server.url();
  settings.platform = "linux";
  core::controlplane::HttpClient client(settings);
  const auto r = client.post("/api/endpoints/enroll", R"({"name": "bench"})", "enroll-secret", {});
  const auto token = core::controlplane::parseEnrollmentResponse(r.body);
  core::controlplane::writeTokenFile(state + "/agent-token", token);

  spec(state, "standalone", "", true);
  spec(state, "disabled", server.url(), false);
  spec(state, "report", server.url(), true);
  // `crontopus-agent run` (what entries written before crontopus-run call) and crontopus-run
  // (what makePluginContext has new entries call): the same run, two executables.
  auto agent = [&](const std::string& name) {
    return std::vector<std::string>{AGENT_BIN, "run", "--state-dir", state, "bench/" + name};
  };
  auto wrapper = [&](const std::string& name) {
    return std::vector<std::string>{RUN_BIN, "run", "--state-dir", state, "bench/" + name};
  };
  std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
      {"job alone (/bin/sh -c true)", {"/bin/sh", "-c", "true"}},
      {"crontopus-agent run, standalone", agent("standalone")},
      {"crontopus-agent run + check-in (201 on loopback)", agent("report")},
      {"crontopus-run, standalone", wrapper("standalone")},
      {"crontopus-run, checkin.enabled false", wrapper("disabled")},
      {"crontopus-run + check-in (201 on loopback)", wrapper("report")},
  };
  std::printf("%d runs each, fake control plane on 127.0.0.1:%d\n", runs, server.port());
  for (const auto& [what, argv_case] : cases) {
    std::vector<Sample> samples;
    for (int i = 0; i < runs; ++i)
      samples.push_back(runOnce(argv_case));
    report(what, samples);
  }
  server.control(R"({"action": "down"})");
  {
    std::vector<Sample> samples;
    for (int i = 0; i < runs; ++i)
      samples.push_back(runOnce(wrapper("report")));
    report("crontopus-run, server down -> spool", samples);
  }
  server.control(R"({"action": "up"})");
  std::filesystem::remove_all(state + "/spool");

  // The backlog: files as `run` writes them (without its fsync, to build 10,000 quickly).
  core::controlplane::Spool spool(state + "/spool");
  core::platform::makeDirectories(spool.dir(), 0700);
  for (int i = 0; i < spooled; ++i) {
    char name[96];
    std::snprintf(name, sizeof name, "20260101T000000.%06dZ-0000000001-0000.json", i);
    std::ofstream(spool.dir() + "/" + name)
        << R"({"endpoint_id":0,"job_name":"job","namespace":"bench","status":"success",)"
        << R"("exit_code":0,"duration":0,"output":"line )" << i << R"(\n"})";
  }
  core::AgentConfig config = core::defaultConfig();
  config.agent.state_dir = state;
  config.agent.token_path = state + "/agent-token";
  config.agent.platform = "linux";
  config.backend.api_url = server.url();
  config.backend.heartbeat_interval = 30;
  const auto started = Clock::now();
  core::controlplane::ControlPlane cp(config);
  cp.start();
  while (spool.hasPending())
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  cp.stop();
  std::printf("spool flush: %d check-ins in %.2f s = %.0f check-ins/s (server accepted %zu)\n",
              spooled, seconds, spooled / seconds, server.checkins().size());
  std::filesystem::remove_all(dir);
  return 0;
}
