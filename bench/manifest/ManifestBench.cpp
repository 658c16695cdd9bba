#include <fcntl.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "manifest/ManifestParser.h"

namespace fs = std::filesystem;

namespace {

// A manifest of realistic size (~600 bytes) using most fields, varied per index so the parser
// cannot benefit from identical inputs.
std::string manifest(int i) {
  static const char* kSchedules[] = {"0 2 * * *", "*/15 * * * *", "30 7 * JAN-NOV MON,THU",
                                     "@daily",    "0 0 13 * 5",   "5 4-20/2 * * 1-5"};
  static const char* kZones[] = {"Europe/Berlin", "America/New_York", "UTC", "Asia/Kolkata"};
  std::string n = std::to_string(i);
  return "apiVersion: v1\n"
         "kind: Job\n"
         "metadata:\n"
         "  name: job-" +
         n +
         "\n"
         "  tenant: acme-corp\n"
         "  id: 00000000-0000-4000-8000-" +
         std::string(12 - n.size(), '0') + n +
         "\n"
         "  labels: {env: prod, team: team-" +
         std::to_string(i % 7) +
         "}\n"
         "spec:\n"
         "  schedule: \"" +
         kSchedules[i % 6] +
         "\"\n"
         "  timezone: " +
         kZones[i % 4] +
         "\n"
         "  command: /usr/local/bin/task-" +
         n +
         " --verbose\n"
         "  args: [\"--shard=" +
         std::to_string(i % 16) +
         "\", \"--mode=full\"]\n"
         "  workingDir: /srv/jobs\n"
         "  env:\n"
         "    LOG_LEVEL: info\n"
         "    JOB_INDEX: \"" +
         n +
         "\"\n"
         "  checkin:\n"
         "    enabled: true\n"
         "    timeout: 3600\n"
         "  retry:\n"
         "    enabled: " +
         (i % 2 ? "true" : "false") +
         "\n"
         "    attempts: 3\n"
         "    backoff: exponential\n"
         "  paused: false\n";
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> sizes;
  for (int i = 1; i < argc; ++i)
    sizes.push_back(std::atoi(argv[i]));
  if (sizes.empty())
    sizes = {1000, 10000};

  for (int n : sizes) {
    std::string pattern = (fs::temp_directory_path() / "crontopus-bench-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
      std::perror("mkdtemp");
      return 1;
    }
    fs::path root = pattern;
    for (int i = 0; i < n; ++i) {
      fs::path dir = root / ("ns-" + std::to_string(i % 10)) / ("group-" + std::to_string(i % 37));
      fs::create_directories(dir);
      std::ofstream(dir / ("job-" + std::to_string(i) + ".yaml")) << manifest(i);
    }
    // Let the freshly written files reach the disk first, so that writeback does not compete
    // with the timed reads.
    if (int fd = ::open(root.c_str(), O_RDONLY | O_DIRECTORY); fd >= 0) {
      ::syncfs(fd);
      ::close(fd);
    }
    crontopus::core::ManifestParser parser;
    auto ms = [](auto d) { return std::chrono::duration<double, std::milli>(d).count(); };
    // Round 1 also loads the tz database index. Only one result is alive at a time, as in the
    // agent. The machine is shared, so report the best and the median of kRounds.
    constexpr int kRounds = 5;
    std::vector<double> times;
    std::size_t jobs = 0;
    std::size_t errors = 0;
    for (int round = 0; round < kRounds; ++round) {
      auto t0 = std::chrono::steady_clock::now();
      crontopus::core::ManifestSet set = parser.parseTree(root);
      times.push_back(ms(std::chrono::steady_clock::now() - t0));
      jobs = set.jobs.size();
      errors = set.errors.size();
      if (!set.errors.empty()) {
        std::printf("first error: %s: %s\n", set.errors[0].file.c_str(),
                    set.errors[0].message.c_str());
      }
    }
    double first = times.front();
    std::sort(times.begin(), times.end());
    std::printf("N=%d jobs=%zu errors=%zu first=%.1f ms best=%.1f ms median=%.1f ms\n", n, jobs,
                errors, first, times.front(), times[times.size() / 2]);
    fs::remove_all(root);
    if (jobs != static_cast<std::size_t>(n) || errors != 0)
      return 1;
  }
  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  std::printf("peak RSS %.1f MiB\n", usage.ru_maxrss / 1024.0);
  return 0;
}
