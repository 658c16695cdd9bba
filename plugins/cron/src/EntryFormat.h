#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace crontopus::plugins::cron {

// The text format of one managed job in a crontab or cron.d file. Two lines, each ending in '\n':
//
//   # CRONTOPUS:<namespace>/<name>[ id=<id>]
//   [#]<schedule> [<user> ]'<agent_path>' run --state-dir '<state_dir>' '<namespace>/<name>'
//
// The id is percent-encoded (every byte outside [A-Za-z0-9._~:+@-] becomes %XX) so that the marker
// stays one line whatever the manifest holds. A leading '#' on the entry means paused.
inline constexpr std::string_view kMarkerPrefix = "# CRONTOPUS:";

struct Marker {
  std::string identity;
  std::string id;  // decoded; empty when absent
};

// Parses a marker line (without its '\n'; a trailing '\r' is ignored). nullopt for any other line.
std::optional<Marker> parseMarker(std::string_view line);
std::string formatMarker(std::string_view identity, std::string_view id);

std::string percentEncodeId(std::string_view id);
std::string percentDecodeId(std::string_view text);

// One word for /bin/sh as cron hands it over: single-quoted, and every '%' written as '\%' (cron
// turns a bare '%' into a newline and removes the backslash of '\%'). A backslash right before a
// '%' is kept literal by closing and reopening the quotes between them.
std::string quoteForCron(std::string_view word);

// Whether `text` contains a byte cron or the marker cannot carry: NUL, CR, LF or another control
// character.
bool hasControlCharacter(std::string_view text);

}  // namespace crontopus::plugins::cron
