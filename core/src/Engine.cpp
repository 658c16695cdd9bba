#include "Engine.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>

#include <Poco/DateTimeFormat.h>
#include <Poco/DateTimeFormatter.h>
#include <Poco/Logger.h>
#include <Poco/Timestamp.h>

#include "RunSpec.h"
#include "State.h"
#include "controlplane/CheckIn.h"
#include "platform/Files.h"
#include "platform/Platform.h"

namespace crontopus::core {

namespace {

Poco::Logger& log() {
  return Poco::Logger::get("crontopus");
}

std::string now() {
  return Poco::DateTimeFormatter::format(Poco::Timestamp(), Poco::DateTimeFormat::ISO8601_FORMAT);
}

std::string readIfExists(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return {};
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string describe(const ManifestDiagnostic& d) {
  std::string s = d.file;
  if (d.line > 0)
    s += ":" + std::to_string(d.line) + ":" + std::to_string(d.column);
  s += ": ";
  if (!d.field.empty())
    s += d.field + ": ";
  return s + d.message;
}

constexpr int kConflictRetries = 3;
constexpr std::chrono::seconds kLockPatience{3};

}  // namespace

std::unique_ptr<sdk::SchedulerPlugin> makeScheduler(PluginHost& host, const AgentConfig& config,
                                                    const std::string& id,
                                                    const std::atomic<bool>* stop_requested,
                                                    std::string* run_state_dir) {
  sdk::PluginContext context = makePluginContext(config, id, stop_requested);
  auto configured = [&]() {
    auto plugin = host.createScheduler(id);
    context.options = PluginHost::validateOptions(id, plugin->optionSpecs(), config.scheduler);
    sdk::Result r = plugin->configure(context);
    if (!r)
      throw ConfigException("scheduler backend \"" + id + "\": " + r.message());
    return plugin;
  };
  auto plugin = configured();
  const std::string user = plugin->runUser();
  if (!user.empty() && user != platform::currentUserName()) {
    // configure() is called once per object: make a new one that knows the run directory.
    context.agent_state_dir = platform::homeDirectoryOf(user) + "/.crontopus";
    plugin.reset();
    plugin = configured();
  }
  if (run_state_dir != nullptr)
    *run_state_dir = context.agent_state_dir;
  return plugin;
}

std::unique_ptr<platform::FileLock> lockStateDirectory(const AgentConfig& config) {
  platform::makeDirectories(config.agent.state_dir, 0700);
  // It holds the run specs, which say what every scheduler entry executes: another user who can
  // write in it could make the jobs run anything.
  if (const std::string why = platform::unsafePermissions(config.agent.state_dir); !why.empty()) {
    throw Poco::RuntimeException("the state directory " + config.agent.state_dir +
                                 " (agent.state_dir) is refused: " + why);
  }
  auto lock = std::make_unique<platform::FileLock>(config.agent.state_dir + "/agent.lock");
  // A little patience: an agent that was just killed may have left a child between fork and
  // exec, which holds a copy of the lock for the few milliseconds until its exec closes it.
  const auto deadline = std::chrono::steady_clock::now() + kLockPatience;
  bool locked = lock->tryLock();
  while (!locked && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    locked = lock->tryLock();
  }
  if (!locked) {
    throw Poco::RuntimeException("another crontopus-agent is working on " + config.agent.state_dir +
                                 " (" + lock->path() + " is locked); wait for it or stop it");
  }
  return lock;
}

DesiredJob renderJob(const sdk::SchedulerPlugin& scheduler, const sdk::Job& job) {
  DesiredJob d = desiredJobFor(job);
  sdk::RenderedEntry entry;
  sdk::Result r;
  try {
    r = scheduler.render(job, entry);
  } catch (const std::exception& e) {
    r = sdk::Result::failure(sdk::ErrorCode::kInternal, std::string("plugin threw: ") + e.what());
  }
  if (r) {
    d.text = std::move(entry.text);
    d.report = std::move(entry.report);
    d.gate_runs = entry.gate_runs;
    d.hash = sha256Hex(d.text);  // the state keeps it; once per render, not once per cycle
  } else {
    d.render_error = r.message();
  }
  return d;
}

Engine::Engine(const AgentConfig& config, PluginHost& host, const std::atomic<bool>* stop_requested)
    : config_(config), host_(host), stop_requested_(stop_requested) {
  scheduler_id_ = PluginHost::schedulerIdFor(config.scheduler.backend, config.agent.platform);
  scheduler_ = makeScheduler(host, config, scheduler_id_, stop_requested, &run_state_dir_);
  if (run_state_dir_ != config.agent.state_dir)
    run_user_ = scheduler_->runUser();
  sdk::Support support = scheduler_->support();
  if (!support.supported) {
    throw ConfigException(
        "scheduler backend \"" + scheduler_id_ + "\" cannot run on this host: " + support.reason +
        " (set scheduler.backend to one that can; see `crontopus-agent plugins`)");
  }
}

Engine::~Engine() = default;

bool Engine::sync(CycleReport& report, std::string& checkout) {
  if (config_.git.url.empty()) {
    report.ok = false;
    report.failure = sdk::ErrorCode::kConfig;
    report.errors.push_back("git.url is not set in " + config_.source_file +
                            "; point it at the manifest repository");
    return false;
  }
  if (!source_) {
    source_ = host_.createSource("git");
    sdk::PluginContext context = makePluginContext(config_, "git", stop_requested_);
    sdk::Result r = source_->configure(context);
    if (!r) {
      source_.reset();
      report.ok = false;
      report.failure = r.code();
      report.errors.push_back("git source: " + r.message());
      return false;
    }
  }
  sdk::SourceRequest request;
  request.url = config_.git.url;
  request.branch = config_.git.branch;
  request.local_path = config_.git.local_path;
  request.auth = {config_.git.auth.type,       config_.git.auth.username,
                  config_.git.auth.password,   config_.git.auth.key_path,
                  config_.git.auth.passphrase, config_.git.auth.known_hosts};
  request.ca_file = config_.git.ca_file;
  request.allow_insecure_http = config_.git.allow_insecure_http;
  request.timeout_seconds = config_.git.timeout;
  request.max_size_mb = config_.git.max_size_mb;
  sdk::SyncResult result;
  sdk::Result r = source_->sync(request, result);
  if (!r) {
    report.ok = false;
    report.failure = r.code();
    report.errors.push_back(std::string("git sync failed (") + sdk::errorCodeName(r.code()) +
                            "): " + r.message());
    return false;
  }
  report.revision = result.revision;
  report.revision_time = result.commit_time;
  report.source_changed = result.changed;
  checkout = result.checkout_path;
  return true;
}

bool Engine::runSpecMissing(const std::map<std::string, DesiredJob>& desired) {
  // Deleting a file changes the time of its directory, so only the files of a directory whose
  // time moved since the last cycle are looked at (identities are sorted, so each directory's
  // jobs come together).
  std::optional<platform::FileIdentity> as_user;  // see writeRunSpecs
  if (!run_user_.empty())
    as_user.emplace(run_user_);
  std::string directory;
  bool look = false;
  std::map<std::string, std::filesystem::file_time_type> times;
  for (const auto& [id, d] : desired) {
    if (!d.enabled || !d.render_error.empty())
      continue;
    std::string job_directory = jobDirectory(run_state_dir_, id);
    if (job_directory != directory) {
      directory = std::move(job_directory);
      std::error_code ec;
      const auto time = std::filesystem::last_write_time(directory, ec);
      if (ec)
        return true;
      const auto known = run_directory_times_.find(directory);
      look = known == run_directory_times_.end() || known->second != time;
      times.emplace(directory, time);
    }
    std::error_code ec;
    if (look && !std::filesystem::exists(runSpecPath(run_state_dir_, id), ec))
      return true;
  }
  run_directory_times_ = std::move(times);  // all there: no need to look again until they move
  return false;
}

void Engine::writeRunSpecs(const std::map<std::string, DesiredJob>& desired,
                           const std::map<std::string, sdk::Job>& jobs) {
  // Another user's run directory is that user's ground: everything there is read, made and
  // removed with the user's rights, so what is made belongs to the user and a symlink the user
  // planted (jobs/NS -> a directory of root's) leads nowhere the user could not go itself.
  std::optional<platform::FileIdentity> as_user;
  if (!run_user_.empty() && !jobs.empty()) {
    makeRunDirectory();
    as_user.emplace(run_user_);
  }
  bool wrote = false;
  std::vector<std::string> visited;
  bool directory_exists = false;
  const auto control_plane = controlplane::runSpecControlPlane(config_, run_state_dir_);
  for (const auto& [id, d] : desired) {
    if (!d.enabled || !d.render_error.empty())
      continue;
    const auto job = jobs.find(id);
    if (job == jobs.end())
      continue;  // not parsed this cycle (an unchanged revision): its run spec is in place
    const std::string directory = jobDirectory(run_state_dir_, id);
    if (visited.empty() || visited.back() != directory) {
      visited.push_back(directory);
      std::error_code ec;
      directory_exists = std::filesystem::is_directory(directory, ec);
      if (!directory_exists)
        platform::makeDirectories(directory, 0700);
    }
    const std::string& zone =
        job->second.timezone.empty() ? config_.agent.default_timezone : job->second.timezone;
    RunSpec spec = runSpecFor(job->second, zone, d.gate_runs);
    spec.control_plane = control_plane;
    const std::string text = toJson(spec);
    const std::string path = runSpecPath(run_state_dir_, id);
    // A directory made just now holds nothing to compare with, and nothing in it is read yet
    // (entries that call these run specs are installed after the flush below): no temporary
    // and rename there. A crash half way leaves a file the next cycle finds different.
    if (!directory_exists) {
      platform::writeNewFile(path, text, 0600);
    } else if (readIfExists(path) != text) {
      platform::writeFileAtomic(path, text, 0600, platform::Durability::kDeferred);
    } else {
      continue;
    }
    wrote = true;
  }
  // One flush for the whole batch, before any entry that calls them is installed.
  if (wrote)
    platform::syncFileSystem(run_state_dir_);
  if (visited.empty())
    return;
  run_directory_times_.clear();
  for (const auto& directory : visited) {
    std::error_code ec;
    const auto time = std::filesystem::last_write_time(directory, ec);
    if (!ec)
      run_directory_times_.emplace(directory, time);
  }
}

void Engine::makeRunDirectory() {
  try {
    platform::FileIdentity as_user(run_user_);
    platform::makeDirectories(run_state_dir_, 0700);
    return;
  } catch (const Poco::FileException&) {
    // A home the user cannot write (a system user's, owned by root): root makes the directory
    // and gives it to the user. Safe only there: nothing of the user's can be in the way.
    const std::string home = std::filesystem::path(run_state_dir_).parent_path().string();
    if (!platform::unsafePermissions(home).empty())
      throw;
  }
  platform::makeDirectories(run_state_dir_, 0700);
  platform::changeOwner(run_state_dir_, run_user_);
}

void Engine::removeRunSpecs(const std::vector<std::string>& identities) {
  std::optional<platform::FileIdentity> as_user;  // see writeRunSpecs
  if (!run_user_.empty())
    as_user.emplace(run_user_);
  for (const auto& id : identities) {
    std::error_code ec;
    std::filesystem::remove(runSpecPath(run_state_dir_, id), ec);
  }
}

void Engine::removeStaleTemporaries() {
  // The agent's own directories: the state directory, its spool and every namespace's run
  // specs and stamps. (Another run user's directory is that user's ground; not swept here.)
  const std::string& dir = config_.agent.state_dir;
  int removed =
      platform::removeStaleTemporaries(dir) + platform::removeStaleTemporaries(dir + "/spool");
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir + "/jobs", ec)) {
    if (entry.is_directory(ec) && !entry.is_symlink(ec))
      removed += platform::removeStaleTemporaries(entry.path().string());
  }
  if (removed > 0) {
    log().information("removed " + std::to_string(removed) +
                      " temporary file(s) left by an interrupted earlier run in " + dir);
  }
}

CycleReport Engine::cycle(bool apply) {
  for (int attempt = 1;; ++attempt) {
    CycleReport report = cycleOnce(apply);
    if (report.failure != sdk::ErrorCode::kConflict || attempt >= kConflictRetries)
      return report;
    log().warning("the scheduler changed while the cycle ran (someone edited it); starting over");
  }
}

CycleReport Engine::cycleOnce(bool apply) {
  CycleReport report;
  const std::string& dir = config_.agent.state_dir;
  // One agent per state directory (the lock), so the state in memory is the state on disk.
  if (!state_)
    state_ = loadState(dir);
  if (apply && !swept_) {
    swept_ = true;
    removeStaleTemporaries();
  }
  AgentState& state = *state_;
  state.last_cycle_started = now();
  auto record = [&]() {
    state.last_result = report.ok && report.errors.empty() ? "ok" : "error";
    state.last_errors = report.errors;
    state.last_cycle_finished = now();
    if (apply)
      saveCycle(dir, state);
  };
  std::string checkout;
  if (!sync(report, checkout)) {
    finish(report, false);
    record();
    return report;
  }

  // An unchanged revision needs no parsing and no rendering: the last cycle's desired set is
  // still right (drift is still checked below, against the scheduler itself). It is parsed again
  // only to write a run spec someone deleted.
  const bool fresh = !desired_ || desired_->revision != report.revision || report.source_changed;
  std::map<std::string, sdk::Job> jobs;  // this cycle's parse, for the run specs
  if (fresh || (apply && runSpecMissing(desired_->desired))) {
    ManifestParseOptions options;
    options.agent = AgentIdentity{config_.agent.hostname, config_.agent.name, config_.agent.labels};
    auto snapshot = std::make_unique<DesiredSnapshot>();
    snapshot->revision = report.revision;
    snapshot->manifests = ManifestParser(options).parseTree(checkout);
    jobs = std::move(snapshot->manifests.jobs);
    snapshot->manifests.jobs.clear();
    for (const auto& [id, job] : jobs)
      snapshot->desired.emplace_hint(snapshot->desired.end(), id, renderJob(*scheduler_, job));
    desired_ = std::move(snapshot);
    log().debug("revision " + report.revision + ": parsed " +
                std::to_string(desired_->desired.size()) + " jobs");
  } else {
    log().debug("revision " + report.revision + " unchanged: nothing parsed");
  }
  const ManifestSet& manifests = desired_->manifests;
  const std::map<std::string, DesiredJob>& desired = desired_->desired;
  for (const auto& e : manifests.errors)
    report.errors.push_back(describe(e));
  if (fresh) {
    for (const auto& w : manifests.warnings)
      report.warnings.push_back(describe(w));
  }
  report.jobs = desired.size();

  std::vector<sdk::InstalledEntry> installed;
  if (sdk::Result r = scheduler_->listOwned(installed); !r) {
    report.ok = false;
    report.failure = r.code();
    report.errors.push_back("cannot read the scheduler (" + scheduler_id_ + "): " + r.message());
    finish(report, false);
    record();
    return report;
  }
  report.plan = reconcile(desired, manifests, installed, state);
  for (const auto& k : report.plan.kept)
    report.errors.push_back(k.identity + ": " + k.reason);
  if (!apply) {
    finish(report, false);
    return report;
  }

  writeRunSpecs(desired, jobs);
  jobs.clear();
  if (!report.plan.changes.empty()) {
    sdk::Result r = scheduler_->apply(report.plan.changes);
    if (!r) {
      report.ok = false;
      report.failure = r.code();
      report.errors.push_back("applying the plan to " + scheduler_id_ + " failed: " + r.message());
      finish(report, false);
      record();
      return report;
    }
  }
  report.applied = true;
  std::vector<std::string> gone;
  auto after = report.plan.jobs_after.begin();
  for (const auto& [id, j] : state.jobs) {  // both sorted: one merge, no lookups
    while (after != report.plan.jobs_after.end() && after->first < id)
      ++after;
    if (after == report.plan.jobs_after.end() || after->first != id)
      gone.push_back(id);
  }
  removeRunSpecs(gone);
  if (state.backend != scheduler_id_ || state.revision != report.revision ||
      state.jobs != report.plan.jobs_after) {
    state.backend = scheduler_id_;
    state.revision = report.revision;
    state.revision_time = report.revision_time;
    state.jobs = report.plan.jobs_after;
    saveState(dir, state);
  }
  finish(report, true);
  record();
  return report;
}

void Engine::finish(CycleReport& report, bool applied) {
  for (const auto& w : report.warnings)
    log().warning(w);
  const bool as_errors = !error_log_filter_ || error_log_filter_(report);
  for (const auto& e : report.errors) {
    if (as_errors)
      log().error(e);
    else
      log().debug(e + " (again; logged at most once an hour)");
  }
  if (!applied)
    return;
  for (const auto& item : report.plan.items) {
    log().information(std::string(sdk::changeKindName(item.kind)) + " " + item.identity + ": " +
                      item.reason);
  }
}

CycleReport Engine::uninstall() {
  CycleReport report;
  std::vector<sdk::InstalledEntry> installed;
  if (sdk::Result r = scheduler_->listOwned(installed); !r) {
    report.ok = false;
    report.failure = r.code();
    report.errors.push_back("cannot read the scheduler (" + scheduler_id_ + "): " + r.message());
    return report;
  }
  if (!state_)
    state_ = loadState(config_.agent.state_dir);
  AgentState& state = *state_;
  std::vector<std::string> ids;
  for (const auto& e : installed) {
    sdk::Change c;
    c.kind = sdk::ChangeKind::kRemove;
    c.identity = e.identity;
    c.reason = "uninstall";
    report.plan.changes.push_back(c);
    report.plan.items.push_back({sdk::ChangeKind::kRemove, e.identity, "uninstall", true});
    ids.push_back(e.identity);
  }
  if (!report.plan.changes.empty()) {
    if (sdk::Result r = scheduler_->apply(report.plan.changes); !r) {
      report.ok = false;
      report.failure = r.code();
      report.errors.push_back("uninstall failed: " + r.message());
      return report;
    }
  }
  for (const auto& [id, j] : state.jobs)
    ids.push_back(id);
  removeRunSpecs(ids);
  state.jobs.clear();
  saveState(config_.agent.state_dir, state);
  report.applied = true;
  finish(report, true);
  return report;
}

}  // namespace crontopus::core
