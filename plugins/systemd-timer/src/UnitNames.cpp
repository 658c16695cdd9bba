#include "UnitNames.h"

#include <cstdio>

namespace crontopus::plugins::systemd_timer {
namespace {

bool isAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

std::string hexByte(unsigned char c) {
  char buffer[5];
  std::snprintf(buffer, sizeof buffer, "\\x%02x", c);
  return buffer;
}

}  // namespace

std::string escapeUnitName(std::string_view text) {
  std::string out;
  out.reserve(text.size() * 2);
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '/') {
      out += '-';
    } else if (isAlnum(c) || c == ':' || c == '_' || (c == '.' && i > 0)) {
      out += c;
    } else {
      out += hexByte(static_cast<unsigned char>(c));
    }
  }
  return out;
}

std::string unitStem(std::string_view identity) {
  return "crontopus-" + escapeUnitName(identity);
}

std::string quoteExecWord(std::string_view word) {
  bool safe = !word.empty();
  for (char c : word) {
    if (!(isAlnum(c) || c == '/' || c == '_' || c == '.' || c == ':' || c == ',' || c == '+' ||
          c == '=' || c == '@' || c == '-')) {
      safe = false;
      break;
    }
  }
  if (safe) {
    return std::string(word);
  }
  std::string out = "\"";
  for (char c : word) {
    const auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '%':
        out += "%%";
        break;
      case '$':
        out += "$$";
        break;
      default:
        if (u < 0x20 || u == 0x7f) {
          out += hexByte(u);
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

}  // namespace crontopus::plugins::systemd_timer
