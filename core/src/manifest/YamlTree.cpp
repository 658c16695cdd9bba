#include "manifest/YamlTree.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

#include <algorithm>
#include <exception>
#include <new>
#include <sstream>
#include <string>
#include <utility>

namespace crontopus::core {

namespace {

// Thrown from inside the event handler to stop yaml-cpp at the first violated limit; yaml-cpp
// unwinds cleanly (it owns everything through RAII), and stopping early is what keeps the work
// bounded.
struct LimitExceeded {
  std::string message;
  int line;
  int column;
};

int oneBased(int zero_based) {
  return zero_based >= 0 ? zero_based + 1 : 0;
}

}  // namespace

class YamlTreeBuilder : public YAML::EventHandler {
 public:
  explicit YamlTreeBuilder(YamlTree& tree) : tree_(tree) {}

  void OnDocumentStart(const YAML::Mark& mark) override {
    if (documents_ > 0) {
      fail("more than one YAML document in the file (one job per file)", mark);
    }
    ++documents_;
  }
  void OnDocumentEnd() override {}

  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    std::uint32_t index = newNode(YamlTree::Kind::kNull, mark);
    finish(index, anchor);
  }

  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    if (anchor >= anchors_.size() || !anchors_[anchor].complete) {
      fail("alias refers to a node that contains it (recursive alias)", mark);
    }
    const std::uint32_t target = anchors_[anchor].node;
    const YamlTree::Node& n = tree_.nodes_[target];
    count(n.expanded, mark);
    if (static_cast<int>(frames_.size()) + n.height > YamlTree::kMaxDepth) {
      failDepth(mark);
    }
    attach(target);
  }

  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    std::uint32_t index = newNode(YamlTree::Kind::kScalar, mark);
    YamlTree::Node& n = tree_.nodes_[index];
    n.style = styleOf(tag);
    n.value = value;
    finish(index, anchor);
  }

  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    open(YamlTree::Kind::kSequence, mark, anchor);
  }
  void OnSequenceEnd() override { close(); }

  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    open(YamlTree::Kind::kMap, mark, anchor);
  }
  void OnMapEnd() override { close(); }

  bool hasRoot() const { return has_root_; }

 private:
  struct Frame {
    std::uint32_t node;
    YAML::anchor_t anchor;
    std::vector<std::uint32_t> children;
  };
  struct Anchor {
    std::uint32_t node = 0;
    bool complete = false;
  };

  [[noreturn]] static void fail(std::string message, const YAML::Mark& mark) {
    throw LimitExceeded{std::move(message), oneBased(mark.line), oneBased(mark.column)};
  }
  [[noreturn]] static void failDepth(const YAML::Mark& mark) {
    fail(
        "nesting deeper than " + std::to_string(YamlTree::kMaxDepth) + " levels (aliases expanded)",
        mark);
  }

  static YamlTree::Style styleOf(const std::string& tag) {
    // yaml-cpp reports "?" for untagged plain scalars and "!" for quoted or block scalars.
    if (tag == "?")
      return YamlTree::Style::kPlain;
    if (tag == "!")
      return YamlTree::Style::kQuoted;
    if (tag == "tag:yaml.org,2002:bool")
      return YamlTree::Style::kBoolTag;
    if (tag == "tag:yaml.org,2002:int")
      return YamlTree::Style::kIntTag;
    return YamlTree::Style::kOtherTag;
  }

  void count(std::uint32_t nodes, const YAML::Mark& mark) {
    if (nodes > YamlTree::kMaxNodes - visited_) {
      fail("more than " + std::to_string(YamlTree::kMaxNodes) +
               " YAML nodes once aliases are expanded (alias bomb?)",
           mark);
    }
    visited_ += nodes;
  }

  std::uint32_t newNode(YamlTree::Kind kind, const YAML::Mark& mark) {
    count(1, mark);
    YamlTree::Node n;
    n.kind = kind;
    n.line = oneBased(mark.line);
    n.column = oneBased(mark.column);
    tree_.nodes_.push_back(std::move(n));
    return static_cast<std::uint32_t>(tree_.nodes_.size() - 1);
  }

  void registerAnchor(YAML::anchor_t anchor, std::uint32_t index, bool complete) {
    if (anchor == YAML::NullAnchor)
      return;
    if (anchors_.size() <= anchor)
      anchors_.resize(anchor + 1);
    anchors_[anchor] = Anchor{index, complete};
  }

  void finish(std::uint32_t index, YAML::anchor_t anchor) {
    registerAnchor(anchor, index, true);
    attach(index);
  }

  void attach(std::uint32_t index) {
    if (frames_.empty()) {
      tree_.root_ = index;
      has_root_ = true;
      return;
    }
    frames_.back().children.push_back(index);
  }

  void open(YamlTree::Kind kind, const YAML::Mark& mark, YAML::anchor_t anchor) {
    if (static_cast<int>(frames_.size()) + 1 > YamlTree::kMaxDepth)
      failDepth(mark);
    std::uint32_t index = newNode(kind, mark);
    registerAnchor(anchor, index, false);
    // Frames are reused by depth so their child vectors keep their capacity across files.
    if (spare_.empty()) {
      frames_.push_back(Frame{index, anchor, {}});
    } else {
      frames_.push_back(std::move(spare_.back()));
      spare_.pop_back();
      frames_.back().node = index;
      frames_.back().anchor = anchor;
      frames_.back().children.clear();
    }
  }

  void close() {
    Frame frame = std::move(frames_.back());
    frames_.pop_back();
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
    std::uint32_t index = frame.node;
    YAML::anchor_t anchor = frame.anchor;
    spare_.push_back(std::move(frame));
    finish(index, anchor);
  }

  void checkDuplicateKeys(std::uint32_t map_index) {
    const YamlTree::Node& map = tree_.nodes_[map_index];
    keys_.clear();
    for (std::uint32_t i = 0; i + 1 < map.child_count; i += 2) {
      std::uint32_t key = tree_.children_[map.first_child + i];
      if (tree_.nodes_[key].kind == YamlTree::Kind::kScalar)
        keys_.push_back(key);
    }
    // Small maps dominate; sorting indices by text keeps large ones O(n log n).
    std::stable_sort(keys_.begin(), keys_.end(), [this](std::uint32_t a, std::uint32_t b) {
      return tree_.nodes_[a].value < tree_.nodes_[b].value;
    });
    for (std::size_t i = 1; i < keys_.size(); ++i) {
      const YamlTree::Node& prev = tree_.nodes_[keys_[i - 1]];
      const YamlTree::Node& cur = tree_.nodes_[keys_[i]];
      if (prev.value == cur.value) {
        const YamlTree::Node& later = prev.line > cur.line ? prev : cur;
        const YamlTree::Node& earlier = prev.line > cur.line ? cur : prev;
        throw LimitExceeded{"duplicate key \"" + cur.value + "\" (first at line " +
                                std::to_string(earlier.line) + ")",
                            later.line, later.column};
      }
    }
  }

  YamlTree& tree_;
  std::vector<Frame> frames_;
  std::vector<Frame> spare_;
  std::vector<Anchor> anchors_;
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
    std::istringstream in{std::string(text)};
    YAML::Parser parser(in);
    YamlTreeBuilder builder(*this);
    if (!parser.HandleNextDocument(builder) || !builder.hasRoot()) {
      return set_error("the file holds no YAML document", 0, 0);
    }
    // Asking for a second document is how a "---" separator is detected; the builder refuses it
    // at its first event, so nothing after the separator is parsed.
    if (parser.HandleNextDocument(builder)) {
      return set_error("more than one YAML document in the file (one job per file)", 0, 0);
    }
    return true;
  } catch (const LimitExceeded& e) {
    return set_error(e.message, e.line, e.column);
  } catch (const YAML::Exception& e) {
    return set_error("YAML syntax: " + e.msg, oneBased(e.mark.line), oneBased(e.mark.column));
  } catch (const std::bad_alloc&) {
    return set_error("out of memory while reading YAML", 0, 0);
  } catch (const std::exception& e) {
    return set_error(std::string("YAML reader failed: ") + e.what(), 0, 0);
  }
}

}  // namespace crontopus::core
