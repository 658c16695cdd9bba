#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "crontopus/sdk/SchedulerPlugin.h"

namespace crontopus::plugins::cron {

// A crontab (or cron.d file) as a sequence of foreign lines and owned blocks.
//
// An owned block is a marker line (see EntryFormat.h) plus, when present, its entry: the line
// directly after the marker, if that line is not blank, not a marker and mentions the block's
// identity (a seed-format marker without '/' owns the next line when it is a cron entry). A marker
// whose entry was deleted or rewritten by hand is still owned, so drift shows up as a difference
// between the block text and the rendered text. Every other line is foreign and serialize() gives
// it back byte for byte (CR included), in order; the only change ever made to foreign text is a
// '\n' added after a last line that lacks one.
class CrontabDocument {
 public:
  static CrontabDocument parse(std::string_view text);

  // One entry per identity, in file order. When an identity has several blocks (a copied block),
  // `text` is all of them concatenated, so that it never equals a rendered entry and the next
  // apply collapses them into one.
  std::vector<sdk::InstalledEntry> owned() const;

  // Replaces the first block of `identity` in place with `block` (marker and entry lines, each
  // ending in '\n') and deletes its other blocks; without a block, queues it for appending.
  void put(const std::string& identity, const std::string& block);
  void remove(const std::string& identity);

  // The whole text; queued blocks are appended at the end in identity order.
  std::string serialize() const;

 private:
  struct Item {
    bool owned = false;
    bool deleted = false;
    std::string identity;  // owned only
    std::string text;      // foreign: the line without '\n'; owned: whole block with '\n's
    bool newline = true;   // foreign: whether the line ended in '\n'
  };

  std::vector<Item> items_;
  std::unordered_map<std::string, std::vector<std::size_t>> blocks_;  // identity -> item indexes
  std::map<std::string, std::string> appended_;                       // identity -> block
};

// Splits a rendered block into its two lines; false when it is not exactly
// "<marker for identity>\n<entry>\n" with a non-empty entry and no control characters.
bool isWellFormedBlock(std::string_view block, std::string_view identity);

}  // namespace crontopus::plugins::cron
