#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace crontopus::core {

// A YAML document read through libyaml's event parser into a small, bounded tree.
//
// Why events, not a DOM: a walk over a DOM with aliases is exponential on an alias bomb ("billion
// laughs"), DOMs keep only one of two duplicate keys, and they forget whether `true` was quoted.
// Building our own tree lets us count nodes *as if* aliases were expanded (without expanding
// them), bound the nesting depth while the parser is still descending, refuse duplicate keys and a
// second document, and keep the scalar style. Every limit is enforced before the offending
// structure is materialised, so a hostile file costs at most its size (<= 1 MiB) in work.
//
// Why libyaml rather than yaml-cpp (which the config reader uses): yaml-cpp 0.7's regex-driven
// scanner takes ~145 us for a 600-byte manifest on this machine, libyaml ~20 us; the agent must
// read 10,000 manifests in 300 ms.
class YamlTree {
 public:
  enum class Kind : std::uint8_t { kNull, kScalar, kSequence, kMap };
  // How a scalar was written; only kPlain scalars (or explicit !!bool / !!int tags) may be read as
  // booleans or integers.
  enum class Style : std::uint8_t { kPlain, kQuoted, kBoolTag, kIntTag, kOtherTag };

  struct Node {
    Kind kind = Kind::kNull;
    Style style = Style::kPlain;
    std::uint16_t height = 1;       // levels including this one, aliases expanded
    int line = 0;                   // 1-based
    int column = 0;                 // 1-based
    std::uint32_t expanded = 1;     // nodes in this subtree with aliases expanded
    std::uint32_t first_child = 0;  // index into children(); maps store key, value, key, ...
    std::uint32_t child_count = 0;
    std::string value;  // scalars only
  };

  static constexpr std::uint32_t kMaxNodes = 10000;
  static constexpr int kMaxDepth = 32;

  // Parses exactly one YAML document from `text`. Returns false and fills the error fields when
  // the text is not YAML, holds no or more than one document, exceeds a limit, or repeats a key.
  // Never throws for any input (the fuzzer holds it to that). The tree is reused across calls so
  // that parsing many small files does not reallocate.
  bool parse(std::string_view text);

  const std::string& error() const noexcept { return error_; }
  int errorLine() const noexcept { return error_line_; }
  int errorColumn() const noexcept { return error_column_; }

  const Node& root() const { return nodes_[root_]; }
  const Node& node(std::uint32_t index) const { return nodes_[index]; }
  // The i-th child index of `n` (for maps: 2*i is a key, 2*i+1 its value).
  std::uint32_t child(const Node& n, std::uint32_t i) const { return children_[n.first_child + i]; }

 private:
  friend class YamlTreeBuilder;

  std::vector<Node> nodes_;
  std::vector<std::uint32_t> children_;
  std::uint32_t root_ = 0;
  std::string error_;
  int error_line_ = 0;
  int error_column_ = 0;
};

}  // namespace crontopus::core
