#pragma once

#include <string>
#include <string_view>

namespace crontopus::plugins::systemd_timer {

// systemd-escape(1) without options: '/' becomes '-', and every byte outside [A-Za-z0-9:_.]
// (and a leading '.') becomes "\xNN". Escaping '-' keeps `a-b/c` and `a/b-c` apart.
std::string escapeUnitName(std::string_view text);

// "crontopus-<escaped identity>" without a suffix: the stem shared by a job's .service and
// .timer.
std::string unitStem(std::string_view identity);

// One word of an ExecStart= command line, quoted so that systemd reads back exactly `word`:
// specifiers ('%' -> "%%") and variable expansion ('$' -> "$$") are neutralised, and anything
// outside a conservative safe set is double-quoted with C escapes.
std::string quoteExecWord(std::string_view word);

}  // namespace crontopus::plugins::systemd_timer
