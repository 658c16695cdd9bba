// cron does not exist on Windows; the backend still renders there (for `plan` and `render`), so
// only the functions that would touch the system are stubs.
#include <fstream>
#include <sstream>

#include "../Platform.h"

namespace crontopus::plugins::cron::platform {

using sdk::ErrorCode;
using sdk::Result;

Result runProcess(const std::vector<std::string>& argv, std::string_view, std::chrono::milliseconds,
                  ProcessOutput&) {
  return Result::failure(ErrorCode::kUnsupported,
                         "cannot run '" + (argv.empty() ? std::string() : argv.front()) +
                             "': the cron backend supports Linux and macOS only");
}

Result readFile(const std::string& path, std::string& text, bool& exists) {
  std::ifstream file(path, std::ios::binary);
  exists = static_cast<bool>(file);
  text.clear();
  if (file) {
    std::ostringstream buffer;
    buffer << file.rdbuf();
    text = buffer.str();
  }
  return Result::success();
}

Result writeFileAtomically(const std::string& path, std::string_view, unsigned) {
  return Result::failure(
      ErrorCode::kUnsupported,
      "cannot write " + path + ": the cron backend supports Linux and macOS only");
}

std::string findExecutable(const std::string&) {
  return {};
}
std::string currentUserName() {
  return {};
}
std::string hostTimezone() {
  return {};
}

bool cronPlatform(std::string& reason) {
  reason = "the cron backend supports Linux and macOS only";
  return false;
}

bool directoryExists(const std::string&) {
  return false;
}

}  // namespace crontopus::plugins::cron::platform
