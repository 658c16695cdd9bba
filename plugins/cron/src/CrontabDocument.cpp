#include "CrontabDocument.h"

#include <algorithm>
#include <optional>

#include "EntryFormat.h"

namespace crontopus::plugins::cron {

namespace {

bool isBlankLine(std::string_view line) {
  return std::all_of(line.begin(), line.end(),
                     [](char c) { return c == ' ' || c == '\t' || c == '\r'; });
}

bool looksLikeCronEntry(std::string_view line) {
  const std::size_t first = line.find_first_not_of(" \t");
  if (first == std::string_view::npos) {
    return false;
  }
  const char c = line[first];
  return c == '*' || c == '@' || (c >= '0' && c <= '9');
}

bool isOwnedEntry(std::string_view line, const std::string& identity) {
  if (isBlankLine(line) || parseMarker(line).has_value()) {
    return false;
  }
  if (identity.find('/') == std::string::npos) {
    // The seed agent's marker named only the job and its entry held the command itself.
    return looksLikeCronEntry(line);
  }
  // The identity as a whole word, so that `a/b` does not claim a line about `a/bc`.
  auto isWordByte = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
  };
  for (std::size_t at = line.find(identity); at != std::string_view::npos;
       at = line.find(identity, at + 1)) {
    const std::size_t end = at + identity.size();
    if ((at == 0 || !isWordByte(line[at - 1])) && (end == line.size() || !isWordByte(line[end]))) {
      return true;
    }
  }
  return false;
}

}  // namespace

CrontabDocument CrontabDocument::parse(std::string_view text) {
  std::vector<std::pair<std::string_view, bool>> lines;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) {
      lines.emplace_back(text.substr(pos), false);
      break;
    }
    lines.emplace_back(text.substr(pos, nl - pos), true);
    pos = nl + 1;
  }

  CrontabDocument doc;
  doc.items_.reserve(lines.size());
  for (std::size_t i = 0; i < lines.size(); ++i) {
    Item item;
    std::optional<Marker> marker = parseMarker(lines[i].first);
    if (marker) {
      item.owned = true;
      item.identity = std::move(marker->identity);
      // A missing '\n' stays missing in the block text: it then differs from the rendered text,
      // and the drift correction writes it.
      item.text.assign(lines[i].first);
      if (lines[i].second) {
        item.text += '\n';
        if (i + 1 < lines.size() && isOwnedEntry(lines[i + 1].first, item.identity)) {
          ++i;
          item.text.append(lines[i].first);
          if (lines[i].second) {
            item.text += '\n';
          }
        }
      }
      doc.blocks_[item.identity].push_back(doc.items_.size());
    } else {
      item.text.assign(lines[i].first);
      item.newline = lines[i].second;
    }
    doc.items_.push_back(std::move(item));
  }
  return doc;
}

std::vector<sdk::InstalledEntry> CrontabDocument::owned() const {
  std::vector<sdk::InstalledEntry> out;
  for (const Item& item : items_) {
    if (!item.owned || item.deleted) {
      continue;
    }
    const std::vector<std::size_t>& indexes = blocks_.at(item.identity);
    if (&items_[indexes.front()] != &item) {
      continue;
    }
    sdk::InstalledEntry entry;
    entry.identity = item.identity;
    for (std::size_t index : indexes) {
      entry.text += items_[index].text;
    }
    // The entry is the second line of the first block; a leading '#' there means paused.
    const std::size_t nl = item.text.find('\n');
    entry.paused = nl != std::string::npos && nl + 1 < item.text.size() && item.text[nl + 1] == '#';
    out.push_back(std::move(entry));
  }
  return out;
}

void CrontabDocument::put(const std::string& identity, const std::string& block) {
  auto it = blocks_.find(identity);
  if (it == blocks_.end() || it->second.empty()) {
    appended_[identity] = block;
    return;
  }
  items_[it->second.front()].text = block;
  for (std::size_t k = 1; k < it->second.size(); ++k) {
    items_[it->second[k]].deleted = true;
  }
  it->second.resize(1);
}

void CrontabDocument::remove(const std::string& identity) {
  auto it = blocks_.find(identity);
  if (it != blocks_.end()) {
    for (std::size_t index : it->second) {
      items_[index].deleted = true;
    }
    blocks_.erase(it);
  }
  appended_.erase(identity);
}

std::string CrontabDocument::serialize() const {
  std::size_t size = 0;
  for (const Item& item : items_) {
    size += item.text.size() + 1;
  }
  for (const auto& entry : appended_) {
    size += entry.second.size();
  }
  std::string out;
  out.reserve(size);
  for (const Item& item : items_) {
    if (item.deleted) {
      continue;
    }
    out += item.text;
    // Also the missing final newline: cron refuses a file without one.
    if (!item.owned || item.text.empty() || item.text.back() != '\n') {
      out += '\n';
    }
  }
  for (const auto& entry : appended_) {
    out += entry.second;
  }
  return out;
}

bool isWellFormedBlock(std::string_view block, std::string_view identity) {
  const std::size_t nl = block.find('\n');
  if (nl == std::string_view::npos || block.empty() || block.back() != '\n') {
    return false;
  }
  const std::string_view marker_line = block.substr(0, nl);
  const std::string_view entry_line = block.substr(nl + 1, block.size() - nl - 2);
  if (entry_line.empty() || hasControlCharacter(marker_line) || hasControlCharacter(entry_line)) {
    return false;
  }
  std::optional<Marker> marker = parseMarker(marker_line);
  return marker && marker->identity == identity && !parseMarker(entry_line) &&
         isOwnedEntry(entry_line, marker->identity);
}

}  // namespace crontopus::plugins::cron
