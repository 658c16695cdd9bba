#include "CrontabStore.h"

#include <chrono>
#include <utility>
#include <vector>

#include "Platform.h"

namespace crontopus::plugins::cron {

using sdk::ErrorCode;
using sdk::Result;

namespace {

// A crontab command that hangs (waiting on a lock, a broken shim) must not hang the agent.
constexpr std::chrono::milliseconds kCommandTimeout{60000};

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) {
    text.pop_back();
  }
  return text;
}

std::string exitText(const platform::ProcessOutput& output) {
  if (output.signal != 0) {
    return "was killed by signal " + std::to_string(output.signal);
  }
  return "exited with status " + std::to_string(output.exit_code);
}

}  // namespace

CommandCrontabStore::CommandCrontabStore(std::string command, std::string user)
    : command_(std::move(command)), user_(std::move(user)) {}

std::string CommandCrontabStore::describe() const {
  return user_.empty() ? "the agent user's crontab" : "the crontab of user " + user_;
}

std::string CommandCrontabStore::commandLine(const char* action) const {
  return command_ + (user_.empty() ? "" : " -u " + user_) + " " + action;
}

Result CommandCrontabStore::read(std::string& text) {
  text.clear();
  std::vector<std::string> argv{command_};
  if (!user_.empty()) {
    argv.insert(argv.end(), {"-u", user_});
  }
  argv.emplace_back("-l");
  platform::ProcessOutput output;
  ++invocations_;
  Result started = platform::runProcess(argv, {}, kCommandTimeout, output);
  if (!started) {
    return Result::failure(started.code(), "cannot read " + describe() + ": " + started.message());
  }
  if (output.exit_code == 0) {
    text = std::move(output.out);
    return Result::success();
  }
  // "no crontab for USER" is how crontab says the crontab is empty.
  if (output.exit_code == 1 && output.err.rfind("no crontab for ", 0) == 0) {
    return Result::success();
  }
  return Result::failure(ErrorCode::kIo, "cannot read " + describe() + ": `" + commandLine("-l") +
                                             "` " + exitText(output) + ": " + trimmed(output.err) +
                                             "; nothing was changed");
}

Result CommandCrontabStore::write(const std::string& text) {
  std::vector<std::string> argv{command_};
  if (!user_.empty()) {
    argv.insert(argv.end(), {"-u", user_});
  }
  argv.emplace_back("-");
  platform::ProcessOutput output;
  ++invocations_;
  Result started = platform::runProcess(argv, text, kCommandTimeout, output);
  if (!started) {
    return Result::failure(started.code(), "cannot write " + describe() + ": " + started.message());
  }
  if (output.exit_code != 0) {
    return Result::failure(ErrorCode::kIo, "cannot write " + describe() + ": `" + commandLine("-") +
                                               "` " + exitText(output) + ": " +
                                               trimmed(output.err));
  }
  return Result::success();
}

FileCrontabStore::FileCrontabStore(std::string path) : path_(std::move(path)) {}

Result FileCrontabStore::read(std::string& text) {
  bool exists = false;
  return platform::readFile(path_, text, exists);
}

Result FileCrontabStore::write(const std::string& text) {
  return platform::writeFileAtomically(path_, text, 0644);
}

}  // namespace crontopus::plugins::cron
