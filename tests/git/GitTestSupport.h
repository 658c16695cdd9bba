#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace crontopus::plugins::git::test {

// A fresh directory per test, removed afterwards.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string str() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

struct CommandResult {
  int status = -1;
  std::string output;  // stdout and stderr
};

// Runs argv (no shell) with extra environment; waits for it.
CommandResult run(const std::vector<std::string>& argv,
                  const std::map<std::string, std::string>& env = {});
// Runs and fails the test (ADD_FAILURE) on a non-zero exit; returns the output.
std::string mustRun(const std::vector<std::string>& argv,
                    const std::map<std::string, std::string>& env = {});

// A child process in its own process group, killed (whole group) and reaped on destruction.
class ServerProcess {
 public:
  ServerProcess() = default;
  ServerProcess(const std::vector<std::string>& argv,
                const std::map<std::string, std::string>& env = {},
                const std::string& log_file = "");
  ~ServerProcess();
  ServerProcess(ServerProcess&& other) noexcept;
  ServerProcess& operator=(ServerProcess&& other) noexcept;
  void kill();
  bool running() const { return pid_ > 0; }
  int pid() const { return pid_; }

 private:
  int pid_ = -1;
};

int freePort();
// Polls until something accepts TCP connections on 127.0.0.1:port.
bool waitForPort(int port, std::chrono::milliseconds timeout = std::chrono::seconds(20),
                 const std::string& address = "127.0.0.1");
// Polls `condition` until true or timeout.
bool waitUntil(const std::function<bool()>& condition,
               std::chrono::milliseconds timeout = std::chrono::seconds(20));

std::string readFile(const std::filesystem::path& path);
void writeFile(const std::filesystem::path& path, const std::string& content);

// A bare origin repository plus a working clone to commit and push from.
class OriginRepo {
 public:
  // Creates <dir>/<name> (bare) and <dir>/work-<name>.
  OriginRepo(const std::filesystem::path& dir, const std::string& name = "origin.git",
             const std::string& branch = "main");
  const std::filesystem::path& bare() const { return bare_; }
  const std::filesystem::path& work() const { return work_; }
  // Writes files, commits, pushes; returns the new commit id.
  std::string commit(const std::map<std::string, std::string>& files,
                     const std::string& message = "change");
  std::string removeAndCommit(const std::string& file);
  std::string git(const std::vector<std::string>& args);

 private:
  std::filesystem::path bare_;
  std::filesystem::path work_;
  std::string branch_;
};

std::string pythonExecutable();
std::string httpServerScript();
// GET http://127.0.0.1:port/_stats → the counter `key` from the Python test server (-1 on error).
int httpStat(int port, const std::string& key);

// Every regular file below `root` whose content contains `needle`.
std::vector<std::string> filesContaining(const std::filesystem::path& root,
                                         const std::string& needle);

}  // namespace crontopus::plugins::git::test
