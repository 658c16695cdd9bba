#include "EntryFormat.h"

namespace crontopus::plugins::cron {

namespace {

bool isIdByteSafe(unsigned char c) {
  if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
    return true;
  }
  switch (c) {
    case '.':
    case '_':
    case '~':
    case ':':
    case '+':
    case '@':
    case '-':
      return true;
    default:
      return false;
  }
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  return -1;
}

bool isBlank(char c) {
  return c == ' ' || c == '\t';
}

}  // namespace

std::optional<Marker> parseMarker(std::string_view line) {
  if (!line.empty() && line.back() == '\r') {
    line.remove_suffix(1);
  }
  if (line.substr(0, kMarkerPrefix.size()) != kMarkerPrefix) {
    return std::nullopt;
  }
  line.remove_prefix(kMarkerPrefix.size());
  std::size_t end = 0;
  while (end < line.size() && !isBlank(line[end])) {
    ++end;
  }
  if (end == 0) {
    return std::nullopt;
  }
  Marker marker;
  marker.identity = std::string(line.substr(0, end));
  line.remove_prefix(end);
  // Further words: only `id=` has a meaning today; others are ignored so a later format can add
  // words without older agents disowning the entry.
  while (!line.empty()) {
    while (!line.empty() && isBlank(line.front())) {
      line.remove_prefix(1);
    }
    std::size_t word_end = 0;
    while (word_end < line.size() && !isBlank(line[word_end])) {
      ++word_end;
    }
    std::string_view word = line.substr(0, word_end);
    if (word.substr(0, 3) == "id=" && marker.id.empty()) {
      marker.id = percentDecodeId(word.substr(3));
    }
    line.remove_prefix(word_end);
  }
  return marker;
}

std::string formatMarker(std::string_view identity, std::string_view id) {
  std::string out(kMarkerPrefix);
  out += identity;
  if (!id.empty()) {
    out += " id=";
    out += percentEncodeId(id);
  }
  return out;
}

std::string percentEncodeId(std::string_view id) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(id.size());
  for (char ch : id) {
    const auto c = static_cast<unsigned char>(ch);
    if (isIdByteSafe(c)) {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0x0F];
    }
  }
  return out;
}

std::string percentDecodeId(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      const int hi = hexValue(text[i + 1]);
      const int lo = hexValue(text[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += text[i];
  }
  return out;
}

std::string quoteForCron(std::string_view word) {
  std::string out;
  out.reserve(word.size() + 2);
  out += '\'';
  for (char ch : word) {
    if (ch == '\'') {
      out += "'\\''";
    } else if (ch == '%') {
      // cron reads "\\%" as an escaped backslash followed by a bare '%': split the quotes so
      // the backslash cron sees before our "\%" is always ours.
      if (out.back() == '\\') {
        out += "''";
      }
      out += "\\%";
    } else {
      out += ch;
    }
  }
  out += '\'';
  return out;
}

bool hasControlCharacter(std::string_view text) {
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7F) {
      return true;
    }
  }
  return false;
}

}  // namespace crontopus::plugins::cron
