#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "CalendarCompiler.h"

namespace crontopus::plugins::systemd_timer {

// Settings every unit of one plugin instance shares.
struct UnitSettings {
  std::string agent_path;       // absolute path of the run wrapper, for ExecStart=
  std::string agent_state_dir;  // passed to `run --state-dir`
  bool persistent = false;      // Persistent= (cron does not catch up, so false by default)
  std::string accuracy = "1s";  // AccuracySec=
};

// The first line of every file we write: how listOwned() recognises ours ("# CRONTOPUS:<id>").
inline constexpr std::string_view kMarkerPrefix = "# CRONTOPUS:";

// The identity named by `content`'s marker line, when its first line is one. A file without it
// is not ours and is never read further, changed or removed.
std::optional<std::string> markerIdentity(std::string_view content);

std::string renderService(const std::string& identity, const UnitSettings& settings);
std::string renderTimer(const std::string& identity, const std::string& schedule,
                        const std::string& zone, const CalendarPlan& plan,
                        const UnitSettings& settings);

// One job's entry text (InstalledEntry::text and RenderedEntry::text): every unit file we own for
// the job, sorted by name, each introduced by a header line, then its enablement:
//
//   ==> crontopus-default-backup.service <==
//   <the .service file, byte for byte>
//   ==> crontopus-default-backup.timer <==
//   <the .timer file, byte for byte>
//   # enabled: yes
//
// render() composes it from the two files it would write and the job's paused flag; listOwned()
// composes it from the marker-carrying files found in the unit directory and whether
// timers.target.wants holds a link to the timer. Equal text therefore means: the same files with
// the same bytes, nothing extra, and the same enablement. A hand edit, a deleted or extra file or
// a link added or removed by hand all show up as a difference (drift).
struct EntryFile {
  std::string name;     // file name in the unit directory
  std::string content;  // exact bytes
};
struct EntryParts {
  std::vector<EntryFile> files;
  bool enabled = true;
};

std::string composeEntry(EntryParts parts);
// Reads back text made by composeEntry() (apply() receives rendered text). False with `error`
// when the text is not in that form.
bool parseEntry(std::string_view text, EntryParts& out, std::string& error);

}  // namespace crontopus::plugins::systemd_timer
