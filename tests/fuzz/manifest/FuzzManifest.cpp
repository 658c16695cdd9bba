// libFuzzer entry for the manifest parser: any byte string, as a file at a fixed path, must
// give a result (never a crash, hang or sanitizer report), and that result must be coherent.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "manifest/ManifestParser.h"

namespace {

using crontopus::core::ManifestParseOptions;
using crontopus::core::ManifestParser;
using crontopus::core::ManifestSet;

void require(bool condition) {
  if (!condition)
    std::abort();  // libFuzzer reports the input that broke an invariant
}

const ManifestParser& parser() {
  static const ManifestParser instance([] {
    ManifestParseOptions options;
    options.agent = crontopus::core::AgentIdentity{"host-1", "agent-1", {{"role", "db"}}};
    options.env = [](const std::string& name) -> std::optional<std::string> {
      if (name.size() % 2 == 0)
        return "value-of-" + name;
      return std::nullopt;
    };
    return options;
  }());
  return instance;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  ManifestSet set = parser().parseBuffer(text, "fuzz/job.yaml");
  require(set.files_read == 1);
  require(set.jobs.size() + set.unselected.size() <= 1);
  if (!set.errors.empty()) {
    require(set.jobs.empty());
    require(set.failed_files.count("fuzz/job.yaml") == 1);
  }
  for (const auto& e : set.errors) {
    require(e.file == "fuzz/job.yaml");
    require(!e.message.empty());
    require(e.line >= 0 && e.column >= 0);
  }
  for (const auto& [identity, job] : set.jobs) {
    require(identity == job.identity());
    require(job.ns == "fuzz");
    require(crontopus::core::isValidJobName(job.name));
    require(!job.command.empty() && !job.schedule.empty() && !job.tenant.empty());
    require(job.checkin.timeout_seconds >= 1 && job.checkin.timeout_seconds <= 604800);
    require(job.retry.attempts >= 0 && job.retry.attempts <= 100);
  }
  return 0;
}
