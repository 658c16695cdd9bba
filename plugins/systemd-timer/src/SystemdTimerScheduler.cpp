#include "SystemdTimerScheduler.h"

#include <Poco/Logger.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <exception>
#include <map>
#include <set>
#include <sstream>
#include <utility>

#include "CalendarCompiler.h"
#include "UnitNames.h"
#include "crontopus/sdk/CronExpression.h"

namespace crontopus::plugins::systemd_timer {

using sdk::ErrorCode;
using sdk::Result;

namespace {

// Where systemd itself says whether it runs as the init system (sd_booted(3)).
constexpr const char* kSystemdRunDir = "/run/systemd/system";

template <typename Fn>
Result guarded(const char* what, Fn&& fn) noexcept {
  try {
    return fn();
  } catch (const std::exception& e) {
    return Result::failure(ErrorCode::kInternal, std::string("systemd-timer backend: unexpected "
                                                             "error in ") +
                                                     what + ": " + e.what());
  } catch (...) {
    return Result::failure(ErrorCode::kInternal,
                           std::string("systemd-timer backend: unexpected error in ") + what);
  }
}

bool isIdentityPart(const std::string& part) {
  if (part.empty()) {
    return false;
  }
  for (char c : part) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7F || c == '/' || c == '\\' || c == '"' || c == '\'') {
      return false;
    }
  }
  return true;
}

bool isIdentity(const std::string& identity) {
  const auto slash = identity.find('/');
  return slash != std::string::npos && isIdentityPart(identity.substr(0, slash)) &&
         isIdentityPart(identity.substr(slash + 1));
}

std::string homeDir() {
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    return home;
  }
  if (const passwd* pw = ::getpwuid(::geteuid()); pw != nullptr && pw->pw_dir != nullptr) {
    return pw->pw_dir;
  }
  return {};
}

std::vector<std::string> splitWords(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> words;
  for (std::string word; in >> word;) {
    words.push_back(word);
  }
  return words;
}

std::string serviceName(const std::string& identity) {
  return unitStem(identity) + ".service";
}
std::string timerName(const std::string& identity) {
  return unitStem(identity) + ".timer";
}

// A timer that only has OnBootSec= (an @reboot job).
bool isBootTimer(const std::string& timer_text) {
  return timer_text.find("\nOnBootSec=") != std::string::npos &&
         timer_text.find("\nOnCalendar=") == std::string::npos;
}

}  // namespace

SystemdTimerScheduler::SystemdTimerScheduler() = default;
SystemdTimerScheduler::~SystemdTimerScheduler() = default;

std::vector<sdk::OptionSpec> SystemdTimerScheduler::optionSpecs() const {
  return {
      {kOptionScope, sdk::OptionType::kString, "",
       "user or system; empty = system when the agent runs as root, else user"},
      {kOptionUnitDir, sdk::OptionType::kPath, "",
       "unit directory; empty = /etc/systemd/system (system) or ~/.config/systemd/user (user)"},
      {kOptionPersistent, sdk::OptionType::kBool, "false",
       "Persistent= on timers: run missed jobs after downtime (cron does not)"},
      {kOptionAccuracy, sdk::OptionType::kString, "1s",
       "AccuracySec= on timers: 1s or 1min (systemd's default 1min coalesces runs)"},
      {kOptionSystemctl, sdk::OptionType::kString, "systemctl",
       "systemctl command (words split on blanks), e.g. a wrapper"},
      {kOptionRoot, sdk::OptionType::kPath, "",
       "provision this offline root (system scope): systemctl --root, no reload or --now"},
  };
}

Result SystemdTimerScheduler::configure(const sdk::PluginContext& context) {
  return guarded("configure", [&] { return doConfigure(context); });
}

Result SystemdTimerScheduler::doConfigure(const sdk::PluginContext& context) {
  context_ = context;
  auto option = [&](const char* key) -> std::string {
    auto it = context.options.find(key);
    if (it != context.options.end()) {
      return it->second;
    }
    for (const auto& spec : optionSpecs()) {
      if (spec.key == key) {
        return spec.default_value;
      }
    }
    return {};
  };

  root_ = option(kOptionRoot);
  while (root_.size() > 1 && root_.back() == '/') {
    root_.pop_back();
  }
  if (!root_.empty() && root_.front() != '/') {
    return Result::failure(ErrorCode::kConfig,
                           "scheduler.options.root: '" + root_ + "' is not absolute");
  }
  const std::string scope = option(kOptionScope);
  if (!root_.empty() && scope == "user") {
    return Result::failure(ErrorCode::kConfig,
                           "scheduler.options.root provisions system units; it cannot be combined "
                           "with scope: user");
  }
  if (!root_.empty()) {
    user_scope_ = false;
  } else if (scope.empty() || scope == "auto") {
    user_scope_ = ::geteuid() != 0;
  } else if (scope == "user" || scope == "system") {
    user_scope_ = scope == "user";
  } else {
    return Result::failure(ErrorCode::kConfig,
                           "scheduler.options.scope: '" + scope + "' is not user or system");
  }

  std::string unit_dir = option(kOptionUnitDir);
  if (unit_dir.empty()) {
    if (!root_.empty()) {
      unit_dir = (root_ == "/" ? std::string() : root_) + "/etc/systemd/system";
    } else if (!user_scope_) {
      unit_dir = "/etc/systemd/system";
    } else if (const char* xdg = std::getenv("XDG_CONFIG_HOME"); xdg != nullptr && *xdg == '/') {
      unit_dir = std::string(xdg) + "/systemd/user";
    } else {
      const std::string home = homeDir();
      if (home.empty()) {
        return Result::failure(ErrorCode::kConfig,
                               "cannot find the home directory for user scope; set "
                               "scheduler.options.unit_dir");
      }
      unit_dir = home + "/.config/systemd/user";
    }
  }
  if (unit_dir.front() != '/') {
    return Result::failure(ErrorCode::kConfig,
                           "scheduler.options.unit_dir: '" + unit_dir + "' is not absolute");
  }
  while (unit_dir.size() > 1 && unit_dir.back() == '/') {
    unit_dir.pop_back();
  }
  store_ = UnitStore(unit_dir);

  const std::string persistent = option(kOptionPersistent);
  if (persistent != "true" && persistent != "false") {
    return Result::failure(ErrorCode::kConfig, "scheduler.options.persistent: '" + persistent +
                                                   "' is not true or false");
  }
  settings_.persistent = persistent == "true";
  settings_.accuracy = option(kOptionAccuracy);
  if (settings_.accuracy != "1s" && settings_.accuracy != "1min") {
    return Result::failure(ErrorCode::kConfig, "scheduler.options.accuracy: '" +
                                                   settings_.accuracy + "' is not 1s or 1min");
  }
  systemctl_command_ = splitWords(option(kOptionSystemctl));
  if (systemctl_command_.empty()) {
    return Result::failure(ErrorCode::kConfig, "scheduler.options.systemctl_command is empty");
  }
  settings_.agent_path = context.agent_path;
  settings_.agent_state_dir = context.agent_state_dir;
  if (!runner_) {
    runner_ = makeProcessRunner();
  }
  configured_ = true;
  return Result::success();
}

sdk::Support SystemdTimerScheduler::support() const {
  if (!root_.empty()) {
    return {true, {}};  // offline provisioning needs no running manager
  }
  struct stat st {};
  if (::lstat(kSystemdRunDir, &st) != 0 || !S_ISDIR(st.st_mode)) {
    return {false, "systemd is not running (PID 1)"};
  }
  return {true, {}};
}

void SystemdTimerScheduler::setCommandRunnerForTesting(std::unique_ptr<CommandRunner> runner) {
  runner_ = std::move(runner);
}

void SystemdTimerScheduler::setNowForTesting(std::chrono::sys_seconds now) {
  now_ = now;
}

Result SystemdTimerScheduler::render(const sdk::Job& job, sdk::RenderedEntry& out) const {
  return guarded("render", [&] { return doRender(job, out); });
}

Result SystemdTimerScheduler::doRender(const sdk::Job& job, sdk::RenderedEntry& out) const {
  out = sdk::RenderedEntry{};
  const std::string identity = job.identity();
  const std::string where = job.source_file.empty() ? "" : " (" + job.source_file + ")";
  if (!isIdentityPart(job.ns) || !isIdentityPart(job.name)) {
    return Result::failure(ErrorCode::kConfig, "job '" + identity + "'" + where +
                                                   ": namespace and name must be non-empty and "
                                                   "free of blanks, quotes, '/' and '\\'");
  }
  if (settings_.agent_path.empty() || settings_.agent_path.front() != '/') {
    return Result::failure(ErrorCode::kConfig,
                           "systemd-timer backend: the agent path '" + settings_.agent_path +
                               "' is not absolute, and ExecStart= needs an absolute path");
  }
  sdk::CronExpression expression;
  sdk::CronError cron_error;
  if (!sdk::CronExpression::parse(job.schedule, expression, cron_error)) {
    return Result::failure(ErrorCode::kConfig, "job " + identity + where + ": schedule " +
                                                   cron_error.field + ": " + cron_error.message);
  }
  const std::string zone = job.timezone.empty() ? context_.default_timezone : job.timezone;
  const auto now =
      now_ ? *now_
           : std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
  CalendarPlan plan;
  std::string error;
  if (!compileCalendar(expression, zone, now, plan, error)) {
    return Result::failure(ErrorCode::kConfig, "job " + identity + where + ": " + error);
  }
  const std::string schedule =
      expression.isReboot() ? std::string("@reboot") : expression.canonical();
  EntryParts parts;
  parts.files.push_back({serviceName(identity), renderService(identity, settings_)});
  parts.files.push_back(
      {timerName(identity), renderTimer(identity, schedule, zone, plan, settings_)});
  parts.enabled = !job.paused;
  out.text = composeEntry(std::move(parts));
  out.report = plan.report;
  return Result::success();
}

Result SystemdTimerScheduler::listOwned(std::vector<sdk::InstalledEntry>& out) {
  return guarded("listOwned", [&] { return doListOwned(out); });
}

Result SystemdTimerScheduler::doListOwned(std::vector<sdk::InstalledEntry>& out) {
  out.clear();
  if (!configured_) {
    return Result::failure(ErrorCode::kInternal, "systemd-timer backend: not configured");
  }
  std::vector<OwnedFile> files;
  if (Result r = store_.scan(files); !r) {
    return r;
  }
  std::map<std::string, EntryParts> by_identity;
  for (auto& file : files) {
    by_identity[file.identity].files.push_back({file.name, std::move(file.content)});
  }
  for (auto& [identity, parts] : by_identity) {
    parts.enabled = store_.isEnabled(timerName(identity));
    sdk::InstalledEntry entry;
    entry.identity = identity;
    entry.paused = !parts.enabled;
    entry.text = composeEntry(std::move(parts));
    out.push_back(std::move(entry));
  }
  return Result::success();
}

Result SystemdTimerScheduler::systemctl(std::vector<std::string> args) {
  std::vector<std::string> argv = systemctl_command_;
  if (user_scope_) {
    argv.push_back("--user");
  }
  if (!root_.empty()) {
    argv.push_back("--root=" + root_);
    // No manager runs in an offline root: nothing to start, stop or reload (and systemctl
    // refuses --now together with --root).
    args.erase(std::remove(args.begin(), args.end(), "--now"), args.end());
  }
  argv.insert(argv.end(), args.begin(), args.end());
  std::string command;
  for (const auto& word : argv) {
    command += (command.empty() ? "" : " ") + word;
  }
  if (context_.logger != nullptr) {
    context_.logger->information("running " + command);
  }
  std::string output;
  const int code = runner_->run(argv, output);
  if (code != 0) {
    while (!output.empty() && (output.back() == '\n' || output.back() == ' ')) {
      output.pop_back();
    }
    return Result::failure(ErrorCode::kIo, "systemd-timer backend: '" + command + "' " +
                                               (code < 0 ? std::string("could not run")
                                                         : "exited with " + std::to_string(code)) +
                                               (output.empty() ? "" : ": " + output));
  }
  return Result::success();
}

Result SystemdTimerScheduler::apply(const std::vector<sdk::Change>& changes) {
  return guarded("apply", [&] { return doApply(changes); });
}

Result SystemdTimerScheduler::doApply(const std::vector<sdk::Change>& changes) {
  if (!configured_) {
    return Result::failure(ErrorCode::kInternal, "systemd-timer backend: not configured");
  }
  std::vector<OwnedFile> owned;
  if (Result r = store_.scan(owned); !r) {
    return r;
  }

  // Check everything before changing anything.
  struct Planned {
    const sdk::Change* change;
    EntryParts parts;
    bool was_enabled = false;
  };
  std::vector<Planned> planned;
  std::set<std::string> seen;
  std::set<std::string> written;  // every file name this batch writes: never deleted as stray
  for (const auto& change : changes) {
    if (!isIdentity(change.identity)) {
      return Result::failure(ErrorCode::kInternal,
                             "systemd-timer backend: invalid identity '" + change.identity + "'");
    }
    if (!seen.insert(change.identity).second) {
      return Result::failure(ErrorCode::kInternal, "systemd-timer backend: two changes for " +
                                                       change.identity + " in one batch");
    }
    Planned p{&change, {}, store_.isEnabled(timerName(change.identity))};
    if (change.kind != sdk::ChangeKind::kRemove) {
      std::string error;
      if (!parseEntry(change.text, p.parts, error)) {
        return Result::failure(ErrorCode::kInternal, "systemd-timer backend: change for " +
                                                         change.identity + ": " + error);
      }
      const std::set<std::string> allowed = {serviceName(change.identity),
                                             timerName(change.identity)};
      for (const auto& file : p.parts.files) {
        if (allowed.count(file.name) == 0 || markerIdentity(file.content) != change.identity) {
          return Result::failure(ErrorCode::kInternal,
                                 "systemd-timer backend: change for " + change.identity +
                                     " carries an unexpected file " + file.name);
        }
        std::optional<std::string> existing;
        if (Result r = store_.read(file.name, existing); !r) {
          return r;
        }
        // A file of this name carrying another job's marker is still ours (a hand-made copy):
        // it is replaced, and the other job sees it as drift. One without a marker is not.
        if (existing && !markerIdentity(*existing)) {
          return Result::failure(ErrorCode::kConflict,
                                 "systemd-timer backend: refusing to overwrite " + store_.dir() +
                                     "/" + file.name +
                                     ": it exists and was not written by crontopus; move it away "
                                     "or rename the job " +
                                     change.identity);
        }
        written.insert(file.name);
      }
    }
    planned.push_back(std::move(p));
  }

  bool files_changed = false;
  // 1. Removed jobs: stop and disable while the unit file still exists, then delete.
  for (const auto& p : planned) {
    if (p.change->kind != sdk::ChangeKind::kRemove) {
      continue;
    }
    bool has_files = false;
    for (const auto& file : owned) {
      has_files = has_files || file.identity == p.change->identity;
    }
    if (!has_files && !p.was_enabled) {
      continue;
    }
    if (Result r = systemctl({"disable", "--now", timerName(p.change->identity)}); !r) {
      return r;
    }
    for (const auto& file : owned) {
      if (file.identity == p.change->identity && written.count(file.name) == 0) {
        if (Result r = store_.remove(file.name); !r) {
          return r;
        }
        files_changed = true;
      }
    }
  }
  // 2. Write what differs; drop stray owned files of the job (renamed copies and the like).
  for (const auto& p : planned) {
    if (p.change->kind == sdk::ChangeKind::kRemove) {
      continue;
    }
    std::set<std::string> wanted;
    for (const auto& file : p.parts.files) {
      wanted.insert(file.name);
      std::optional<std::string> existing;
      if (Result r = store_.read(file.name, existing); !r) {
        return r;
      }
      if (!existing || *existing != file.content) {
        if (Result r = store_.writeAtomic(file.name, file.content); !r) {
          return r;
        }
        files_changed = true;
      }
    }
    for (const auto& file : owned) {
      if (file.identity == p.change->identity && wanted.count(file.name) == 0 &&
          written.count(file.name) == 0) {
        if (Result r = store_.remove(file.name); !r) {
          return r;
        }
        files_changed = true;
      }
    }
  }
  // 3. One reload for the whole batch.
  if (files_changed && root_.empty()) {
    if (Result r = systemctl({"daemon-reload"}); !r) {
      return r;
    }
  }
  // 4. Enablement, only where it has to change (or the change is explicitly about it).
  for (const auto& p : planned) {
    const sdk::ChangeKind kind = p.change->kind;
    if (kind == sdk::ChangeKind::kRemove) {
      continue;
    }
    const std::string timer = timerName(p.change->identity);
    if (p.parts.enabled) {
      if (!p.was_enabled || kind == sdk::ChangeKind::kAdd || kind == sdk::ChangeKind::kResume) {
        std::string timer_text;
        for (const auto& file : p.parts.files) {
          if (file.name == timer) {
            timer_text = file.content;
          }
        }
        std::vector<std::string> args = {"enable", "--now", timer};
        if (isBootTimer(timer_text)) {
          args = {"enable", timer};
        }
        if (Result r = systemctl(args); !r) {
          return r;
        }
      }
    } else if (p.was_enabled || kind == sdk::ChangeKind::kPause) {
      if (Result r = systemctl({"disable", "--now", timer}); !r) {
        return r;
      }
    }
  }
  return Result::success();
}

}  // namespace crontopus::plugins::systemd_timer
