#include "PluginHost.h"

#include <algorithm>
#include <filesystem>

#include <Poco/DirectoryIterator.h>
#include <Poco/File.h>
#include <Poco/Logger.h>
#include <Poco/Path.h>
#include <Poco/SharedLibrary.h>
#include <Poco/Version.h>

#include "crontopus/sdk/Plugin.h"
#include "platform/Platform.h"

namespace crontopus::core {

namespace {

std::string pocoVersionText(unsigned v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%u.%u", (v >> 24) & 0xFF, (v >> 16) & 0xFF);
  return buf;
}

// Unloads the probe handle when examination ends; the ClassLoader keeps its own reference.
struct ProbeLibrary {
  Poco::SharedLibrary lib;
  ~ProbeLibrary() {
    if (lib.isLoaded())
      lib.unload();
  }
};

}  // namespace

PluginHost::PluginHost() = default;
PluginHost::~PluginHost() = default;

std::string PluginHost::resolvePluginsDir(const std::string& flag, const std::string& configured) {
  if (!flag.empty())
    return expandHome(flag);
  if (!configured.empty())
    return configured;
  // <prefix>/bin/crontopus-agent -> <prefix>/lib/crontopus/plugins (installed or build tree).
  const std::filesystem::path beside =
      std::filesystem::path(platform::executablePath()).parent_path().parent_path() / "lib" /
      "crontopus" / "plugins";
  std::error_code ec;
  if (std::filesystem::is_directory(beside, ec))
    return beside.string();
  return CRONTOPUS_INSTALL_PLUGIN_DIR;
}

void PluginHost::scan(const std::string& dir) {
  dir_ = dir;
  Poco::File d(dir);
  if (!d.exists() || !d.isDirectory()) {
    throw Poco::FileNotFoundException("plugins directory " + dir +
                                      " does not exist; pass --plugins-dir or set plugins_dir");
  }
  if (std::string why = platform::unsafePermissions(dir); !why.empty()) {
    // A directory others can write to lets them plant code in the agent: refuse everything in it.
    PluginRecord r;
    r.path = dir;
    r.reason = "plugins directory refused: " + why;
    records_.push_back(r);
    return;
  }
  std::vector<std::string> candidates;
  const std::string suffix = Poco::SharedLibrary::suffix();
  for (Poco::DirectoryIterator it(d), end; it != end; ++it) {
    const std::string name = it.name();
    if (name.size() > suffix.size() &&
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
      candidates.push_back(it.path().toString());
    }
  }
  std::sort(candidates.begin(), candidates.end());
  for (const auto& path : candidates)
    examine(path);
}

void PluginHost::examine(const std::string& path) {
  PluginRecord r;
  r.path = path;
  auto refuse = [&](const std::string& why) {
    r.reason = why;
    records_.push_back(r);
  };
  if (std::string why = platform::unsafePermissions(path); !why.empty()) {
    return refuse("plugin file refused: " + why);
  }
  ProbeLibrary probe;
  try {
    probe.lib.load(path);
  } catch (const Poco::Exception& e) {
    return refuse("not a loadable library: " + e.displayText());
  }
  if (!probe.lib.hasSymbol(CRONTOPUS_PLUGIN_INFO_SYMBOL)) {
    return refuse(std::string("not a crontopus plugin: it has no ") + CRONTOPUS_PLUGIN_INFO_SYMBOL +
                  " symbol (build it with CRONTOPUS_DECLARE_SCHEDULER_PLUGIN or "
                  "CRONTOPUS_DECLARE_SOURCE_PLUGIN)");
  }
  auto info_fn =
      reinterpret_cast<CrontopusPluginInfoFn>(probe.lib.getSymbol(CRONTOPUS_PLUGIN_INFO_SYMBOL));
  const CrontopusPluginInfo* info = info_fn != nullptr ? info_fn() : nullptr;
  if (info == nullptr || info->struct_size < sizeof(CrontopusPluginInfo)) {
    return refuse("plugin info is missing or truncated; rebuild the plugin against this SDK");
  }
  r.abi_major = info->abi_major;
  r.abi_minor = info->abi_minor;
  auto text = [](const char* s) { return s != nullptr ? std::string(s) : std::string(); };
  r.kind = text(info->kind);
  r.id = text(info->id);
  r.version = text(info->plugin_version);
  r.description = text(info->description);
  r.class_name = text(info->class_name);
  const std::string host_abi =
      std::to_string(CRONTOPUS_SDK_ABI_MAJOR) + "." + std::to_string(CRONTOPUS_SDK_ABI_MINOR);
  const std::string plugin_abi =
      std::to_string(info->abi_major) + "." + std::to_string(info->abi_minor);
  if (info->abi_major != CRONTOPUS_SDK_ABI_MAJOR) {
    return refuse("SDK ABI " + plugin_abi + " is incompatible with the agent's ABI " + host_abi +
                  " (major versions differ); rebuild the plugin against SDK " + host_abi);
  }
  if (info->abi_minor > CRONTOPUS_SDK_ABI_MINOR) {
    return refuse("built against SDK ABI " + plugin_abi + ", newer than the agent's ABI " +
                  host_abi + "; upgrade the agent or rebuild the plugin against SDK " + host_abi);
  }
  if ((info->poco_version >> 16) != (static_cast<unsigned>(POCO_VERSION) >> 16)) {
    return refuse("built against Poco " + pocoVersionText(info->poco_version) +
                  ", the agent uses Poco " + pocoVersionText(POCO_VERSION) +
                  "; rebuild the plugin against the agent's Poco");
  }
  if (text(info->stdlib) != CRONTOPUS_SDK_STDLIB) {
    return refuse("built with C++ library " + text(info->stdlib) + ", the agent uses " +
                  CRONTOPUS_SDK_STDLIB + "; rebuild it with the agent's compiler family");
  }
  if (r.kind != "scheduler" && r.kind != "source") {
    return refuse("unknown plugin kind \"" + r.kind + "\" (expected scheduler or source)");
  }
  if (r.id.empty() || r.class_name.empty())
    return refuse("plugin info has an empty id or class");
  for (const auto& other : records_) {
    if (other.loaded && other.kind == r.kind && other.id == r.id) {
      return refuse("duplicate " + r.kind + " plugin id \"" + r.id + "\": already loaded from " +
                    other.path + "; remove one of them");
    }
  }
  try {
    if (r.kind == "scheduler") {
      schedulers_.loadLibrary(path);
      if (schedulers_.findClass(r.class_name) == nullptr) {
        schedulers_.unloadLibrary(path);
        return refuse("its manifest does not export class " + r.class_name);
      }
    } else {
      sources_.loadLibrary(path);
      if (sources_.findClass(r.class_name) == nullptr) {
        sources_.unloadLibrary(path);
        return refuse("its manifest does not export class " + r.class_name);
      }
    }
  } catch (const Poco::Exception& e) {
    return refuse("Poco class loader refused it: " + e.displayText());
  }
  r.loaded = true;
  records_.push_back(r);
}

const PluginRecord* PluginHost::find(const std::string& kind, const std::string& id) const {
  for (const auto& r : records_) {
    if (r.loaded && r.kind == kind && r.id == id)
      return &r;
  }
  return nullptr;
}

std::string PluginHost::schedulerIdFor(const std::string& backend, const std::string& platform) {
  if (backend.empty() || backend == "auto")
    return platform == "windows" ? "taskscheduler" : "cron";
  return backend;
}

namespace {
std::string knownIds(const std::vector<PluginRecord>& records, const std::string& kind) {
  std::string ids;
  for (const auto& r : records) {
    if (r.loaded && r.kind == kind)
      ids += (ids.empty() ? "" : ", ") + r.id;
  }
  return ids.empty() ? "none" : ids;
}
}  // namespace

std::unique_ptr<sdk::SchedulerPlugin> PluginHost::createScheduler(const std::string& id) {
  const PluginRecord* r = find("scheduler", id);
  if (r == nullptr) {
    throw Poco::NotFoundException("no loaded scheduler plugin \"" + id + "\" in " + dir_ +
                                  " (loaded: " + knownIds(records_, "scheduler") +
                                  "); run `crontopus-agent plugins` to see why");
  }
  return std::unique_ptr<sdk::SchedulerPlugin>(schedulers_.create(r->class_name));
}

std::unique_ptr<sdk::SourcePlugin> PluginHost::createSource(const std::string& id) {
  const PluginRecord* r = find("source", id);
  if (r == nullptr) {
    throw Poco::NotFoundException("no loaded source plugin \"" + id + "\" in " + dir_ +
                                  " (loaded: " + knownIds(records_, "source") +
                                  "); run `crontopus-agent plugins` to see why");
  }
  return std::unique_ptr<sdk::SourcePlugin>(sources_.create(r->class_name));
}

sdk::OptionValues PluginHost::validateOptions(const std::string& plugin_id,
                                              const std::vector<sdk::OptionSpec>& specs,
                                              const AgentConfig::Scheduler& raw) {
  sdk::OptionValues values;
  std::vector<std::string> errors;
  auto where = [&](const std::string& key) {
    auto it = raw.option_positions.find(key);
    if (it != raw.option_positions.end()) {
      ConfigIssue i = it->second;
      i.message = "";
      std::string s = i.str();
      return s.substr(0, s.size() - 2);  // drop the empty message's ": "
    }
    return "scheduler.options." + key;
  };
  for (const auto& [key, value] : raw.options) {
    auto spec = std::find_if(specs.begin(), specs.end(),
                             [&](const sdk::OptionSpec& s) { return s.key == key; });
    if (spec == specs.end()) {
      std::string known;
      for (const auto& s : specs)
        known += (known.empty() ? "" : ", ") + s.key;
      errors.push_back(where(key) + ": unknown option for scheduler backend \"" + plugin_id +
                       "\" (known: " + (known.empty() ? "none" : known) + ")");
      continue;
    }
    switch (spec->type) {
      case sdk::OptionType::kBool:
        if (value != "true" && value != "false") {
          errors.push_back(where(key) + ": must be true or false");
          continue;
        }
        break;
      case sdk::OptionType::kInt:
        if (value.empty() || value.find_first_not_of("-0123456789") != std::string::npos) {
          errors.push_back(where(key) + ": must be a whole number");
          continue;
        }
        break;
      case sdk::OptionType::kPath:
        values[key] = expandHome(value);
        continue;
      case sdk::OptionType::kString:
        break;
    }
    values[key] = value;
  }
  for (const auto& s : specs) {
    if (values.find(s.key) == values.end())
      values[s.key] = s.default_value;
  }
  if (!errors.empty()) {
    std::string msg;
    for (const auto& e : errors)
      msg += (msg.empty() ? "" : "\n") + e;
    throw ConfigException(msg);
  }
  return values;
}

}  // namespace crontopus::core

namespace crontopus::core {

std::string runWrapperPath(const std::string& agent_path) {
#if defined(_WIN32)
  const char* name = "crontopus-run.exe";
#else
  const char* name = "crontopus-run";
#endif
  std::error_code ec;
  const std::filesystem::path wrapper = std::filesystem::path(agent_path).parent_path() / name;
  if (std::filesystem::is_regular_file(wrapper, ec))
    return wrapper.string();
  return agent_path;
}

sdk::PluginContext makePluginContext(const AgentConfig& config, const std::string& plugin_id,
                                     const std::atomic<bool>* stop_requested) {
  sdk::PluginContext context;
  context.logger = &Poco::Logger::get("crontopus.plugin." + plugin_id);
  context.plugin_state_dir = config.agent.state_dir + "/plugins/" + plugin_id;
  context.agent_path = runWrapperPath(platform::executablePath());
  context.agent_state_dir = config.agent.state_dir;
  context.default_timezone = config.agent.default_timezone;
  context.stop_requested = stop_requested;
  return context;
}

}  // namespace crontopus::core
