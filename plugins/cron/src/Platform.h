#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "crontopus/sdk/Result.h"

// What the cron backend needs from the operating system. One implementation per OS family
// (posix/, windows/), chosen by CMake.
namespace crontopus::plugins::cron::platform {

struct ProcessOutput {
  int exit_code = -1;  // -1 when killed by a signal
  int signal = 0;
  std::string out;
  std::string err;
};

// Runs argv[0] (looked up on PATH when it has no '/') with argv, no shell, `input` on its stdin
// (a file holding all of it, so the child never sees a shortened input, even if the agent dies
// while it runs), LC_ALL=C, and collects stdout and stderr. Fails (kIo) only when the process could
// not be started or waited for, or ran past `timeout`; a non-zero exit is reported in `out`.
sdk::Result runProcess(const std::vector<std::string>& argv, std::string_view input,
                       std::chrono::milliseconds timeout, ProcessOutput& out);

// Reads a whole file; `exists` is false (and `text` empty) when it does not exist.
sdk::Result readFile(const std::string& path, std::string& text, bool& exists);

// Replaces `path` atomically: a temporary file in the same directory, written, given `mode`,
// fsynced, renamed over `path`, and the directory fsynced.
sdk::Result writeFileAtomically(const std::string& path, std::string_view text, unsigned mode);

// The full path of an executable (as given when it contains '/'), or empty when not found.
std::string findExecutable(const std::string& command);

// The user name of the effective user, or empty when unknown.
std::string currentUserName();

// The IANA name of the zone the cron daemon uses (the host's /etc/localtime), or empty.
std::string hostTimezone();

// Whether cron can exist on this operating system at all; `reason` says why not.
bool cronPlatform(std::string& reason);

bool directoryExists(const std::string& path);

}  // namespace crontopus::plugins::cron::platform
