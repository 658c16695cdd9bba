#include "UnitFiles.h"

#include <algorithm>

#include "UnitNames.h"

namespace crontopus::plugins::systemd_timer {
namespace {

constexpr std::string_view kHeaderOpen = "==> ";
constexpr std::string_view kHeaderClose = " <==";
constexpr std::string_view kEnabledYes = "# enabled: yes\n";
constexpr std::string_view kEnabledNo = "# enabled: no\n";

std::string header(const std::string& identity) {
  return std::string(kMarkerPrefix) + identity +
         "\n# Written by crontopus-agent from the job manifest; local edits are reverted.\n";
}

}  // namespace

std::optional<std::string> markerIdentity(std::string_view content) {
  if (content.substr(0, kMarkerPrefix.size()) != kMarkerPrefix) {
    return std::nullopt;
  }
  std::string_view rest = content.substr(kMarkerPrefix.size());
  rest = rest.substr(0, rest.find('\n'));
  if (!rest.empty() && rest.back() == '\r') {
    rest.remove_suffix(1);
  }
  if (rest.empty()) {
    return std::nullopt;
  }
  return std::string(rest);
}

std::string renderService(const std::string& identity, const UnitSettings& settings) {
  std::string text = header(identity);
  text += "[Unit]\nDescription=crontopus job " + identity + "\n";
  text += "X-Crontopus-Identity=" + identity + "\n";
  text += "\n[Service]\nType=oneshot\n";
  // `run` sets the working directory and environment from the run spec; repeating them here
  // would put job data (possibly secrets) into a world-readable unit file.
  text += "ExecStart=" + quoteExecWord(settings.agent_path) + " run --state-dir " +
          quoteExecWord(settings.agent_state_dir) + " " + quoteExecWord(identity) + "\n";
  return text;
}

std::string renderTimer(const std::string& identity, const std::string& schedule,
                        const std::string& zone, const CalendarPlan& plan,
                        const UnitSettings& settings) {
  std::string text = header(identity);
  text += "[Unit]\nDescription=crontopus schedule of " + identity + ": " + schedule +
          (zone.empty() ? std::string() : " (" + zone + ")") + "\n";
  text += "X-Crontopus-Identity=" + identity + "\n";
  text += "\n[Timer]\n";
  if (plan.on_boot) {
    text += "OnBootSec=0\n";
  }
  for (const auto& line : plan.on_calendar) {
    text += "OnCalendar=" + line + "\n";
  }
  text += "AccuracySec=" + settings.accuracy + "\n";
  text += std::string("Persistent=") + (settings.persistent ? "true" : "false") + "\n";
  text += "\n[Install]\nWantedBy=timers.target\n";
  return text;
}

std::string composeEntry(EntryParts parts) {
  std::sort(parts.files.begin(), parts.files.end(),
            [](const EntryFile& a, const EntryFile& b) { return a.name < b.name; });
  std::string text;
  for (const auto& file : parts.files) {
    text += std::string(kHeaderOpen) + file.name + std::string(kHeaderClose) + "\n";
    text += file.content;
    if (!file.content.empty() && file.content.back() != '\n') {
      // Keeps "no final newline" visible as a difference instead of merging into the next line.
      text += "\n\\ no newline at end of file\n";
    }
  }
  text += parts.enabled ? kEnabledYes : kEnabledNo;
  return text;
}

bool parseEntry(std::string_view text, EntryParts& out, std::string& error) {
  out = EntryParts{};
  EntryFile* current = nullptr;
  bool have_enabled = false;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) {
      error = "entry text does not end with a newline";
      return false;
    }
    std::string_view line = text.substr(pos, nl + 1 - pos);
    pos = nl + 1;
    if (have_enabled) {
      error = "entry text continues after its '# enabled:' line";
      return false;
    }
    std::string_view bare = line.substr(0, line.size() - 1);
    if (bare.size() > kHeaderOpen.size() + kHeaderClose.size() &&
        bare.substr(0, kHeaderOpen.size()) == kHeaderOpen &&
        bare.substr(bare.size() - kHeaderClose.size()) == kHeaderClose) {
      out.files.push_back(EntryFile{
          std::string(bare.substr(kHeaderOpen.size(),
                                  bare.size() - kHeaderOpen.size() - kHeaderClose.size())),
          {}});
      current = &out.files.back();
    } else if (line == kEnabledYes || line == kEnabledNo) {
      out.enabled = line == kEnabledYes;
      have_enabled = true;
    } else if (current == nullptr) {
      error = "entry text does not begin with a '==> <unit> <==' header";
      return false;
    } else {
      current->content += line;
    }
  }
  if (!have_enabled) {
    error = "entry text lacks its final '# enabled: yes|no' line";
    return false;
  }
  return true;
}

}  // namespace crontopus::plugins::systemd_timer
