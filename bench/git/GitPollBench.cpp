// Cost of polling a git source over HTTP on loopback: `bench_git_poll [manifests] [polls]`.
//
// Builds an origin with N manifests (default 10,000), serves it with git http-backend behind the
// Basic-auth Python server from tests/git, clones it once, then measures
//   - unchanged polls: wall and CPU (user+sys of this process, all threads) per sync, and the
//     requests the server saw per poll;
//   - one-file changes: commit one manifest, sync, per change.
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Pipe.h>
#include <Poco/Process.h>
#include <Poco/StreamCopier.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>
#include <vector>

#include "GitSync.h"
#include "LibGit2.h"

namespace fs = std::filesystem;
using crontopus::plugins::git::GitSync;
using crontopus::plugins::git::LibGit2Session;

namespace {

double cpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

double wallSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

int git(const fs::path& work, const std::string& args) {
  std::string command =
      "GIT_AUTHOR_NAME=b GIT_AUTHOR_EMAIL=b@example.com GIT_COMMITTER_NAME=b "
      "GIT_COMMITTER_EMAIL=b@example.com git -C '" +
      work.string() + "' " + args + " >/dev/null 2>&1";
  return std::system(command.c_str());
}

int freePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

std::string stats(int port) {
  try {
    Poco::Net::HTTPClientSession session("127.0.0.1", static_cast<Poco::UInt16>(port));
    Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_GET, "/_stats",
                                   Poco::Net::HTTPMessage::HTTP_1_1);
    session.sendRequest(request);
    Poco::Net::HTTPResponse response;
    std::string body;
    Poco::StreamCopier::copyToString(session.receiveResponse(response), body);
    return body;
  } catch (const std::exception& e) {
    return std::string("unavailable: ") + e.what();
  }
}

struct Summary {
  double median = 0;
  double mean = 0;
  double max = 0;
};

Summary summarise(std::vector<double> values) {
  Summary s;
  std::sort(values.begin(), values.end());
  s.median = values[values.size() / 2];
  for (double v : values) {
    s.mean += v / static_cast<double>(values.size());
  }
  s.max = values.back();
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  const int manifests = argc > 1 ? std::atoi(argv[1]) : 10000;
  const int polls = argc > 2 ? std::atoi(argv[2]) : 50;
  char pattern[] = "/tmp/crontopus-git-bench-XXXXXX";
  if (mkdtemp(pattern) == nullptr) {
    return 1;
  }
  const fs::path dir = pattern;
  const fs::path work = dir / "work";
  fs::create_directories(work);
  git(dir, "init -q --bare -b main origin.git");
  git(work, "init -q -b main");
  for (int i = 0; i < manifests; ++i) {
    fs::path file = work / "jobs" / ("team-" + std::to_string(i % 100)) /
                    ("job-" + std::to_string(i) + ".yaml");
    fs::create_directories(file.parent_path());
    std::ofstream(file) << "apiVersion: crontopus/v1\nkind: Job\nmetadata:\n  name: job-" << i
                        << "\n  namespace: team-" << i % 100 << "\nspec:\n  schedule: \"" << i % 60
                        << " * * * *\"\n  command: [\"/usr/bin/true\"]\n";
  }
  git(work, "add -A");
  git(work, "commit -q -m initial");
  git(work, "push -q " + (dir / "origin.git").string() + " HEAD:refs/heads/main");

  const int port = freePort();
  const std::string password = "bench-" + std::to_string(getpid());
  Poco::Process::Env env;
  env["GIT_TEST_PASSWORD"] = password;
  Poco::Process::Args args = {CRONTOPUS_GIT_HTTP_SERVER,
                              "--port",
                              std::to_string(port),
                              "--root",
                              dir.string(),
                              "--user",
                              "bench"};
  Poco::ProcessHandle server =
      Poco::Process::launch("/usr/bin/python3", args, dir.string(), nullptr, nullptr, nullptr, env);
  bool up = false;
  for (auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
       !up && std::chrono::steady_clock::now() < until;
       std::this_thread::sleep_for(std::chrono::milliseconds(20))) {
    up = stats(port).rfind("{", 0) == 0;
  }
  int rc = 0;
  if (up) {
    LibGit2Session session;
    GitSync sync(nullptr, nullptr);
    crontopus::sdk::SourceRequest request;
    request.url = "http://127.0.0.1:" + std::to_string(port) + "/origin.git";
    request.local_path = (dir / "mirror").string();
    request.auth.type = "basic";
    request.auth.username = "bench";
    request.auth.password = password;
    crontopus::sdk::SyncResult out;

    double w0 = wallSeconds(), c0 = cpuSeconds();
    auto r = sync.sync(request, out);
    double clone_wall = wallSeconds() - w0, clone_cpu = cpuSeconds() - c0;
    if (!r) {
      std::cerr << "clone failed: " << r.message() << "\n";
      rc = 1;
    } else {
      std::printf("repository: %d manifests; clone + first checkout: %.1f ms wall, %.1f ms CPU\n",
                  manifests, clone_wall * 1e3, clone_cpu * 1e3);
      std::string before = stats(port);
      std::vector<double> wall, cpu;
      for (int i = 0; i < polls && rc == 0; ++i) {
        w0 = wallSeconds();
        c0 = cpuSeconds();
        r = sync.sync(request, out);
        wall.push_back(wallSeconds() - w0);
        cpu.push_back(cpuSeconds() - c0);
        if (!r || out.changed) {
          std::cerr << "unchanged poll failed: " << r.message() << "\n";
          rc = 1;
        }
      }
      std::string after = stats(port);
      if (rc == 0) {
        auto sw = summarise(wall), sc = summarise(cpu);
        std::printf(
            "unchanged poll (%d runs): wall median %.2f ms mean %.2f max %.2f; "
            "CPU median %.2f ms mean %.2f max %.2f\n",
            polls, sw.median * 1e3, sw.mean * 1e3, sw.max * 1e3, sc.median * 1e3, sc.mean * 1e3,
            sc.max * 1e3);
        std::printf("server counters before: %s\nserver counters after:  %s\n", before.c_str(),
                    after.c_str());
      }
      wall.clear();
      cpu.clear();
      for (int i = 0; i < 10 && rc == 0; ++i) {
        std::ofstream(work / "jobs" / "team-0" / "job-0.yaml", std::ios::app)
            << "# change " << i << "\n";
        git(work, "commit -q -am change");
        git(work, "push -q " + (dir / "origin.git").string() + " HEAD:refs/heads/main");
        w0 = wallSeconds();
        c0 = cpuSeconds();
        r = sync.sync(request, out);
        wall.push_back(wallSeconds() - w0);
        cpu.push_back(cpuSeconds() - c0);
        if (!r || !out.changed) {
          std::cerr << "changed poll failed: " << r.message() << "\n";
          rc = 1;
        }
      }
      if (rc == 0) {
        auto sw = summarise(wall), sc = summarise(cpu);
        std::printf(
            "one-file change (10 runs, fetch + new tree of %d files, unchanged ones hard-linked): "
            "wall median %.1f ms "
            "mean %.1f max %.1f; CPU median %.1f ms mean %.1f max %.1f\n",
            manifests, sw.median * 1e3, sw.mean * 1e3, sw.max * 1e3, sc.median * 1e3, sc.mean * 1e3,
            sc.max * 1e3);
      }
    }
  } else {
    std::cerr << "the HTTP server did not start\n";
    rc = 1;
  }
  Poco::Process::kill(server);
  server.wait();
  fs::remove_all(dir);
  return rc;
}
