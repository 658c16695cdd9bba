#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace crontopus::tests {

// A fresh directory per test, removed (recursively) when the object goes away, even on failure.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

struct ProcessResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs `argv` (no shell) with optional stdin text and extra environment; waits for it.
ProcessResult runProcess(const std::vector<std::string>& argv, const std::string& input = {},
                         const std::map<std::string, std::string>& env = {},
                         const std::string& cwd = {});

// `git -C repo ARGS` with a fixed author; returns its output, throws with its stderr on failure.
std::string git(const std::string& repo, const std::vector<std::string>& args);

void writeFile(const std::string& path, const std::string& text, unsigned mode = 0644);
std::string readFile(const std::string& path);

// Polls `condition` until it holds or `timeout` passes; never a fixed sleep.
bool waitFor(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
             std::chrono::milliseconds step = std::chrono::milliseconds(50));

}  // namespace crontopus::tests
