#pragma once

#include <map>
#include <string>
#include <vector>

namespace crontopus::sdk {

enum class OptionType { kString, kBool, kInt, kPath };

// One option a plugin accepts under `scheduler.options` (Fluent Bit's config_map idea): the host
// validates the user's values against these, fills in defaults, and prints them in `plugins -v`.
struct OptionSpec {
  std::string key;
  OptionType type = OptionType::kString;
  std::string default_value;  // as text; empty = no default
  std::string doc;            // one line
};

// Validated option values, keyed by OptionSpec::key, every declared key present (defaults filled).
using OptionValues = std::map<std::string, std::string>;

}  // namespace crontopus::sdk
