#include "manifest/YamlTree.h"

#include <yaml.h>

#include <algorithm>
#include <exception>
#include <new>
#include <string>
#include <unordered_map>
#include <utility>

namespace crontopus::core {

namespace {

// Thrown by the builder to stop at the first violated limit. It never crosses libyaml (the
// event loop below calls the builder between yaml_parser_parse calls), and stopping early is
// what keeps the work bounded.
struct LimitExceeded {
  std::string message;
  int line;
  int column;
};

int oneBased(std::size_t zero_based) {
  return static_cast<int>(zero_based) + 1;
}

std::string_view view(const yaml_char_t* p) {
  return p == nullptr ? std::string_view() : std::string_view(reinterpret_cast<const char*>(p));
}

// The YAML 1.2 core schema's null spellings (what yaml-cpp and PyYAML also read as null).
bool isNullText(std::string_view v) {
  return v.empty() || v == "~" || v == "null" || v == "Null" || v == "NULL";
}

class ParserHandle {
 public:
  ParserHandle() { ok_ = yaml_parser_initialize(&parser_) != 0; }
  ~ParserHandle() {
    if (ok_)
      yaml_parser_delete(&parser_);
  }
  ParserHandle(const ParserHandle&) = delete;
  ParserHandle& operator=(const ParserHandle&) = delete;
  bool ok() const { return ok_; }
  yaml_parser_t* get() { return &parser_; }

 private:
  yaml_parser_t parser_{};
  bool ok_ = false;
};

class EventHandle {
 public:
  explicit EventHandle(yaml_event_t& e) : e_(e) {}
  ~EventHandle() { yaml_event_delete(&e_); }
  EventHandle(const EventHandle&) = delete;
  EventHandle& operator=(const EventHandle&) = delete;

 private:
  yaml_event_t& e_;
};

}  // namespace

// Builds the tree from libyaml events. Nodes are counted as if aliases were expanded: an alias
// adds the expanded size of its target, so a "billion laughs" document trips the limit at the
// first alias that would pass it, after work proportional to the input only.
class YamlTreeBuilder {
 public:
  explicit YamlTreeBuilder(YamlTree& tree) : tree_(tree) {}

  void documentStart(const yaml_mark_t& mark) {
    if (documents_ > 0)
      fail("more than one YAML document in the file (one job per file)", mark);
    ++documents_;
  }

  void scalar(const yaml_event_t& e) {
    const auto& s = e.data.scalar;
    std::string_view value(reinterpret_cast<const char*>(s.value), s.length);
    std::string_view tag = view(s.tag);
    bool plain = s.style == YAML_PLAIN_SCALAR_STYLE;
    bool null = (plain && tag.empty() && isNullText(value)) || tag == "tag:yaml.org,2002:null";
    std::uint32_t index =
        newNode(null ? YamlTree::Kind::kNull : YamlTree::Kind::kScalar, e.start_mark);
    if (!null) {
      YamlTree::Node& n = tree_.nodes_[index];
      if (tag.empty()) {
        n.style = plain ? YamlTree::Style::kPlain : YamlTree::Style::kQuoted;
      } else if (tag == "tag:yaml.org,2002:bool") {
        n.style = YamlTree::Style::kBoolTag;
      } else if (tag == "tag:yaml.org,2002:int") {
        n.style = YamlTree::Style::kIntTag;
      } else if (tag == "tag:yaml.org,2002:str" || tag == "!") {
        n.style = YamlTree::Style::kQuoted;  // explicitly a string
      } else {
        n.style = YamlTree::Style::kOtherTag;
      }
      n.value.assign(value);
    }
    finish(index, view(s.anchor));
  }

  void alias(const yaml_event_t& e) {
    auto it = anchors_.find(std::string(view(e.data.alias.anchor)));
    if (it == anchors_.end()) {
      fail("alias *" + std::string(view(e.data.alias.anchor)) + " has no anchor", e.start_mark);
    }
    if (!it->second.complete) {
      fail("alias refers to a node that contains it (recursive alias)", e.start_mark);
    }
    const YamlTree::Node& n = tree_.nodes_[it->second.node];
    count(n.expanded, e.start_mark);
    if (static_cast<int>(depth_) + n.height > YamlTree::kMaxDepth)
      failDepth(e.start_mark);
    attach(it->second.node);
  }

  void open(YamlTree::Kind kind, const yaml_mark_t& mark, const yaml_char_t* anchor) {
    if (static_cast<int>(depth_) + 1 > YamlTree::kMaxDepth)
      failDepth(mark);
    std::uint32_t index = newNode(kind, mark);
    registerAnchor(view(anchor), index, false);
    // Frames are reused by depth so their child vectors keep their capacity.
    if (depth_ == frames_.size())
      frames_.emplace_back();
    Frame& frame = frames_[depth_++];
    frame.node = index;
    frame.anchor.assign(view(anchor));
    frame.children.clear();
  }

  void close() {
    Frame& frame = frames_[--depth_];
    YamlTree::Node& n = tree_.nodes_[frame.node];
    n.first_child = static_cast<std::uint32_t>(tree_.children_.size());
    n.child_count = static_cast<std::uint32_t>(frame.children.size());
    std::uint32_t expanded = 1;
    std::uint16_t height = 1;
    for (std::uint32_t c : frame.children) {
      const YamlTree::Node& child = tree_.nodes_[c];
      expanded += child.expanded;  // bounded by kMaxNodes through count()
      height = std::max<std::uint16_t>(height, static_cast<std::uint16_t>(child.height + 1));
      tree_.children_.push_back(c);
    }
    n.expanded = expanded;
    n.height = height;
    if (n.kind == YamlTree::Kind::kMap)
      checkDuplicateKeys(frame.node);
    finish(frame.node, frame.anchor);
  }

  bool hasRoot() const { return has_root_; }

 private:
  struct Frame {
    std::uint32_t node = 0;
    std::string anchor;
    std::vector<std::uint32_t> children;
  };
  struct Anchor {
    std::uint32_t node = 0;
    bool complete = false;
  };

  [[noreturn]] static void fail(std::string message, const yaml_mark_t& mark) {
    throw LimitExceeded{std::move(message), oneBased(mark.line), oneBased(mark.column)};
  }
  [[noreturn]] static void failDepth(const yaml_mark_t& mark) {
    fail(
        "nesting deeper than " + std::to_string(YamlTree::kMaxDepth) + " levels (aliases expanded)",
        mark);
  }

  void count(std::uint32_t nodes, const yaml_mark_t& mark) {
    if (nodes > YamlTree::kMaxNodes - visited_) {
      fail("more than " + std::to_string(YamlTree::kMaxNodes) +
               " YAML nodes once aliases are expanded (alias bomb?)",
           mark);
    }
    visited_ += nodes;
  }

  std::uint32_t newNode(YamlTree::Kind kind, const yaml_mark_t& mark) {
    count(1, mark);
    YamlTree::Node& n = tree_.nodes_.emplace_back();
    n.kind = kind;
    n.line = oneBased(mark.line);
    n.column = oneBased(mark.column);
    return static_cast<std::uint32_t>(tree_.nodes_.size() - 1);
  }

  void registerAnchor(std::string_view anchor, std::uint32_t index, bool complete) {
    if (anchor.empty())
      return;
    // A later anchor of the same name replaces the earlier one, as YAML specifies.
    anchors_[std::string(anchor)] = Anchor{index, complete};
  }

  void finish(std::uint32_t index, std::string_view anchor) {
    registerAnchor(anchor, index, true);
    attach(index);
  }

  void attach(std::uint32_t index) {
    if (depth_ == 0) {
      tree_.root_ = index;
      has_root_ = true;
      return;
    }
    frames_[depth_ - 1].children.push_back(index);
  }

  void checkDuplicateKeys(std::uint32_t map_index) {
    const YamlTree::Node& map = tree_.nodes_[map_index];
    keys_.clear();
    for (std::uint32_t i = 0; i + 1 < map.child_count; i += 2) {
      std::uint32_t key = tree_.children_[map.first_child + i];
      if (tree_.nodes_[key].kind == YamlTree::Kind::kScalar)
        keys_.push_back(key);
    }
    // Sorting indices by text keeps large maps O(n log n); ties keep document order.
    std::stable_sort(keys_.begin(), keys_.end(), [this](std::uint32_t a, std::uint32_t b) {
      return tree_.nodes_[a].value < tree_.nodes_[b].value;
    });
    for (std::size_t i = 1; i < keys_.size(); ++i) {
      const YamlTree::Node& first = tree_.nodes_[keys_[i - 1]];
      const YamlTree::Node& again = tree_.nodes_[keys_[i]];
      if (first.value == again.value) {
        throw LimitExceeded{"duplicate key \"" + again.value + "\" (first at line " +
                                std::to_string(first.line) + ")",
                            again.line, again.column};
      }
    }
  }

  YamlTree& tree_;
  std::vector<Frame> frames_;  // frames_[0, depth_) are the open collections
  std::size_t depth_ = 0;
  std::unordered_map<std::string, Anchor> anchors_;
  std::vector<std::uint32_t> keys_;
  std::uint32_t visited_ = 0;
  int documents_ = 0;
  bool has_root_ = false;
};

bool YamlTree::parse(std::string_view text) {
  nodes_.clear();
  children_.clear();
  root_ = 0;
  error_.clear();
  error_line_ = 0;
  error_column_ = 0;

  auto set_error = [this](std::string message, int line, int column) {
    error_ = std::move(message);
    error_line_ = line;
    error_column_ = column;
    return false;
  };

  try {
    ParserHandle parser;
    if (!parser.ok())
      return set_error("out of memory while reading YAML", 0, 0);
    yaml_parser_set_input_string(parser.get(), reinterpret_cast<const unsigned char*>(text.data()),
                                 text.size());
    YamlTreeBuilder builder(*this);
    for (;;) {
      yaml_event_t event;
      if (yaml_parser_parse(parser.get(), &event) == 0) {
        const yaml_parser_t& p = *parser.get();
        std::string message = "YAML syntax: ";
        message += p.problem != nullptr ? p.problem : "malformed input";
        if (p.context != nullptr) {
          message += " (";
          message += p.context;
          message += ")";
        }
        if (p.error == YAML_READER_ERROR) {
          // Reader errors (bad encoding, control characters) carry a byte offset, not a mark.
          std::size_t offset = std::min(p.problem_offset, text.size());
          std::size_t line_start = text.rfind('\n', offset == 0 ? 0 : offset - 1);
          int line = 1 + static_cast<int>(std::count(text.begin(), text.begin() + offset, '\n'));
          int column = static_cast<int>(line_start == std::string_view::npos ? offset + 1
                                                                             : offset - line_start);
          return set_error(message, line, column);
        }
        return set_error(message, oneBased(p.problem_mark.line), oneBased(p.problem_mark.column));
      }
      EventHandle guard(event);
      switch (event.type) {
        case YAML_DOCUMENT_START_EVENT:
          builder.documentStart(event.start_mark);
          break;
        case YAML_SCALAR_EVENT:
          builder.scalar(event);
          break;
        case YAML_ALIAS_EVENT:
          builder.alias(event);
          break;
        case YAML_SEQUENCE_START_EVENT:
          builder.open(Kind::kSequence, event.start_mark, event.data.sequence_start.anchor);
          break;
        case YAML_MAPPING_START_EVENT:
          builder.open(Kind::kMap, event.start_mark, event.data.mapping_start.anchor);
          break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
          builder.close();
          break;
        case YAML_STREAM_END_EVENT:
          if (!builder.hasRoot())
            return set_error("the file holds no YAML document", 0, 0);
          return true;
        default:
          break;
      }
    }
  } catch (const LimitExceeded& e) {
    return set_error(e.message, e.line, e.column);
  } catch (const std::bad_alloc&) {
    return set_error("out of memory while reading YAML", 0, 0);
  }
}

}  // namespace crontopus::core
