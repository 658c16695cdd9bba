// libFuzzer target for the configuration loader (core/src/Config.cpp): any bytes as a config
// file. The loader either returns a configuration within the documented ranges or throws
// ConfigException whose every line is "FILE[:LINE:COLUMN]: KEY: message"; any other exception,
// crash, hang or sanitizer report is a finding.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>

#include "Config.h"

namespace {

void require(bool condition) {
  if (!condition)
    std::abort();
}

const char* const kName = "fuzz/config.yaml";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  crontopus::core::AgentConfig c;
  try {
    c = crontopus::core::parseConfig(text, kName);
  } catch (const crontopus::core::ConfigException& e) {
    std::istringstream lines(e.message());
    std::string line;
    bool any = false;
    while (std::getline(lines, line)) {
      // A message may quote the value it rejects, which can hold a newline; only the first
      // line of each error is checked for the prefix.
      if (line.rfind(kName, 0) == 0)
        any = true;
    }
    require(any);
    require(e.message().rfind(kName, 0) == 0);
    return 0;
  }
  require(c.source_file == kName);
  require(c.git.sync_interval >= 1 && c.git.sync_interval <= 7 * 24 * 3600);
  require(c.backend.heartbeat_interval >= 1 && c.backend.heartbeat_interval <= 7 * 24 * 3600);
  require(c.git.timeout >= 1 && c.git.timeout <= 3600);
  require(c.git.max_size_mb >= 1 && c.git.max_size_mb <= 1024 * 1024);
  require(!c.agent.state_dir.empty() && !c.agent.token_path.empty() && !c.git.local_path.empty());
  require(c.log.target == "console" || c.log.target == "syslog" || c.log.target == "file");
  require(c.log.target != "file" || !c.log.file.empty());
  require(c.git.auth.type.empty() || c.git.auth.type == "basic" || c.git.auth.type == "token" ||
          c.git.auth.type == "ssh");
  require(c.git.auth.type != "ssh" || !c.git.auth.key_path.empty());
  for (const auto& w : c.warnings)
    require(w.file == kName && !w.message.empty());
  for (const auto& [key, position] : c.scheduler.option_positions)
    require(c.scheduler.options.count(key) == 1 && position.file == kName);
  return 0;
}
