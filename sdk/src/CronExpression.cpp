// The cron expression engine: parsing and canonical form (this file), fire-time computation
// (CronSchedule.cpp).
#include "crontopus/sdk/CronExpression.h"

#include <array>
#include <cstdint>
#include <optional>

namespace crontopus::sdk {
namespace {

struct FieldSpec {
  const char* name;
  unsigned min;
  unsigned max;
  const char* const* names;  // 3-letter names for min.., or nullptr
};

constexpr const char* kMonthNames[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",  "JUL",
                                       "AUG", "SEP", "OCT", "NOV", "DEC", nullptr};
constexpr const char* kDayNames[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT", nullptr};

// Day-of-week allows 7 (Sunday again), as Vixie cron does; `a/n` therefore means `a-7/n` there.
constexpr std::array<FieldSpec, 5> kFields = {{
    {"minute", 0, 59, nullptr},
    {"hour", 0, 23, nullptr},
    {"day-of-month", 1, 31, nullptr},
    {"month", 1, 12, kMonthNames},
    {"day-of-week", 0, 7, kDayNames},
}};

bool isBlank(char c) {
  return c == ' ' || c == '\t';
}
bool isDigit(char c) {
  return c >= '0' && c <= '9';
}
bool isAlpha(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}
char upper(char c) {
  return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
}

std::string quoted(std::string_view text) {
  return "'" + std::string(text) + "'";
}

// `part` quoted, followed by where it sits when that is not the whole item.
std::string quotedIn(std::string_view part, std::string_view item) {
  return part == item ? quoted(part) : quoted(part) + " in " + quoted(item);
}

std::string rangeText(const FieldSpec& spec) {
  std::string text = std::to_string(spec.min) + "-" + std::to_string(spec.max);
  if (spec.names == kMonthNames) {
    text += " or JAN-DEC";
  } else if (spec.names == kDayNames) {
    text += " or SUN-SAT";
  }
  return text;
}

// Parses one field into a 0..63 bit mask and its canonical text. The caller has already checked
// that `text` is non-empty and holds no blanks or control characters.
class FieldParser {
 public:
  FieldParser(const FieldSpec& spec, std::string_view text) : spec_(spec), text_(text) {}

  bool parse(std::uint64_t& bits, std::string& canonical, CronError& error) {
    bits = 0;
    canonical.clear();
    std::size_t start = 0;
    while (true) {
      std::size_t comma = text_.find(',', start);
      std::string_view item = text_.substr(
          start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
      if (item.empty()) {
        return fail(error, "empty list item in " + quoted(text_));
      }
      if (!parseItem(item, bits, canonical, error)) {
        return false;
      }
      if (comma == std::string_view::npos) {
        return true;
      }
      canonical += ',';
      start = comma + 1;
    }
  }

 private:
  bool fail(CronError& error, std::string message) const {
    error.field = spec_.name;
    error.message = std::move(message) + "; allowed: *, numbers " + rangeText(spec_) +
                    ", ranges a-b, steps */n a-b/n a/n, comma lists";
    return false;
  }

  // A number or (where the field has them) a 3-letter name, consumed from the front of `text`.
  bool parseValue(std::string_view& text, std::string_view item, unsigned& value,
                  CronError& error) const {
    std::size_t n = 0;
    if (!text.empty() && isDigit(text[0])) {
      while (n < text.size() && isDigit(text[n])) {
        ++n;
      }
      std::string_view digits = text.substr(0, n);
      std::size_t first = digits.find_first_not_of('0');
      std::string_view significant =
          first == std::string_view::npos ? std::string_view("0") : digits.substr(first);
      if (significant.size() > 3) {
        return fail(error, quotedIn(digits, item) + " is out of range");
      }
      value = 0;
      for (char c : significant) {
        value = value * 10 + static_cast<unsigned>(c - '0');
      }
      if (value < spec_.min || value > spec_.max) {
        return fail(error, quotedIn(digits, item) + " is out of range");
      }
      text.remove_prefix(n);
      return true;
    }
    while (n < text.size() && isAlpha(text[n])) {
      ++n;
    }
    if (n == 0) {
      std::string_view bad = text.empty() ? item : text.substr(0, 1);
      return fail(error, "unexpected " + (text.empty() ? std::string("end of ") + quoted(bad)
                                                       : quotedIn(bad, item)));
    }
    std::string_view word = text.substr(0, n);
    if (spec_.names != nullptr && n == 3) {
      for (unsigned i = 0; spec_.names[i] != nullptr; ++i) {
        const char* name = spec_.names[i];
        if (upper(word[0]) == name[0] && upper(word[1]) == name[1] && upper(word[2]) == name[2]) {
          value = spec_.min + i;
          text.remove_prefix(n);
          return true;
        }
      }
    }
    return fail(error, quotedIn(word, item) + " is not " +
                           (spec_.names != nullptr ? "a number or name" : "a number"));
  }

  bool parseStep(std::string_view& text, std::string_view item, unsigned& step,
                 CronError& error) const {
    std::size_t n = 0;
    while (n < text.size() && isDigit(text[n])) {
      ++n;
    }
    if (n == 0) {
      return fail(error, "step in " + quoted(item) + " must be a positive number");
    }
    std::string_view digits = text.substr(0, n);
    std::size_t first = digits.find_first_not_of('0');
    if (first == std::string_view::npos) {
      return fail(error, "step 0 in " + quoted(item) + " is not allowed");
    }
    if (n - first > 3) {
      return fail(error, "step " + quoted(digits) + " in " + quoted(item) + " is too large");
    }
    step = 0;
    for (char c : digits.substr(first)) {
      step = step * 10 + static_cast<unsigned>(c - '0');
    }
    text.remove_prefix(n);
    return true;
  }

  bool parseItem(std::string_view item, std::uint64_t& bits, std::string& canonical,
                 CronError& error) const {
    std::string_view rest = item;
    unsigned low = spec_.min;
    unsigned high = spec_.max;
    unsigned step = 1;
    bool star = false;
    bool range = false;
    if (rest[0] == '*') {
      star = true;
      rest.remove_prefix(1);
    } else {
      if (!parseValue(rest, item, low, error)) {
        return false;
      }
      high = low;
      if (!rest.empty() && rest[0] == '-') {
        rest.remove_prefix(1);
        if (!parseValue(rest, item, high, error)) {
          return false;
        }
        range = true;
        if (high < low) {
          return fail(error, "reversed range " + quoted(item));
        }
      }
    }
    bool stepped = false;
    if (!rest.empty() && rest[0] == '/') {
      rest.remove_prefix(1);
      if (!parseStep(rest, item, step, error)) {
        return false;
      }
      stepped = true;
      if (!star && !range) {
        high = spec_.max;  // `a/n` means `a-<max>/n`
        range = true;
      }
    }
    if (!rest.empty()) {
      return fail(error, "unexpected " + quotedIn(rest, item));
    }
    for (unsigned v = low; v <= high; v += step) {
      bits |= std::uint64_t{1} << v;
    }
    if (star) {
      canonical += '*';
    } else {
      canonical += std::to_string(low);
      if (range) {
        canonical += '-';
        canonical += std::to_string(high);
      }
    }
    if (stepped) {
      canonical += '/';
      canonical += std::to_string(step);
    }
    return true;
  }

  const FieldSpec& spec_;
  std::string_view text_;
};

struct Macro {
  const char* name;
  const char* fields;  // nullptr for @reboot
};

constexpr Macro kMacros[] = {
    {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
    {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
    {"@hourly", "0 * * * *"}, {"@reboot", nullptr},
};

}  // namespace

bool CronExpression::parse(std::string_view text, CronExpression& out, CronError& error) {
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7f) {
      error.field = "expression";
      error.message = "control character (code " + std::to_string(u) +
                      ") in the expression; a schedule is a single line";
      return false;
    }
  }
  std::array<std::string_view, 5> fields;
  std::size_t count = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    while (pos < text.size() && isBlank(text[pos])) {
      ++pos;
    }
    if (pos == text.size()) {
      break;
    }
    std::size_t end = pos;
    while (end < text.size() && !isBlank(text[end])) {
      ++end;
    }
    if (count < fields.size()) {
      fields[count] = text.substr(pos, end - pos);
    }
    ++count;
    pos = end;
  }
  if (count == 0) {
    error.field = "expression";
    error.message = "empty expression; expected five fields or a macro such as @daily";
    return false;
  }

  CronExpression result;
  result.original_ = std::string(text);
  std::string expanded;
  if (fields[0][0] == '@') {
    const Macro* macro = nullptr;
    for (const Macro& m : kMacros) {
      if (fields[0] == m.name) {
        macro = &m;
      }
    }
    if (macro == nullptr) {
      error.field = "expression";
      error.message = "unknown macro " + quoted(fields[0]) +
                      "; allowed: @yearly @annually @monthly @weekly @daily @midnight @hourly "
                      "@reboot";
      return false;
    }
    if (count != 1) {
      error.field = "expression";
      error.message = "unexpected text after " + quoted(fields[0]) + "; a macro stands alone";
      return false;
    }
    if (macro->fields == nullptr) {
      result.reboot_ = true;
      result.canonical_ = "@reboot";
      out = std::move(result);
      return true;
    }
    // Macros mean exactly their five fields (Debian cron sets the same bits and star flags).
    CronExpression fields_only;
    if (!parse(macro->fields, fields_only, error)) {
      return false;
    }
    fields_only.original_ = std::string(text);
    out = std::move(fields_only);
    return true;
  }
  if (count != 5) {
    error.field = "expression";
    error.message = "expected 5 fields (minute hour day-of-month month day-of-week), got " +
                    std::to_string(count) + " in " + quoted(text);
    return false;
  }

  std::array<std::uint64_t, 5> bits{};
  std::string canonical;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    std::string field_canonical;
    FieldParser parser(kFields[i], fields[i]);
    if (!parser.parse(bits[i], field_canonical, error)) {
      return false;
    }
    if (i != 0) {
      canonical += ' ';
    }
    canonical += field_canonical;
  }
  if (bits[4] & (std::uint64_t{1} << 7)) {
    bits[4] |= 1;  // 7 is Sunday too
  }
  result.canonical_ = std::move(canonical);
  result.minutes_ = std::bitset<60>(bits[0]);
  result.hours_ = std::bitset<24>(bits[1]);
  result.days_ = std::bitset<32>(bits[2]);
  result.months_ = std::bitset<13>(bits[3]);
  result.weekdays_ = std::bitset<7>(bits[4]);
  result.minute_star_ = fields[0][0] == '*';
  result.hour_star_ = fields[1][0] == '*';
  result.dom_star_ = fields[2][0] == '*';
  result.dow_star_ = fields[4][0] == '*';
  out = std::move(result);
  return true;
}

bool CronExpression::matchesDay(int /*year*/, unsigned month, unsigned day,
                                unsigned weekday) const noexcept {
  if (month < 1 || month > 12 || day < 1 || day > 31 || weekday > 6 || !months_[month]) {
    return false;
  }
  bool dom = days_[day];
  bool dow = weekdays_[weekday];
  // Vixie cron: OR only when neither day field begins with `*`.
  return (dom_star_ || dow_star_) ? (dom && dow) : (dom || dow);
}

bool CronExpression::matchesLocal(const LocalTime& t) const noexcept {
  return t.minute < 60 && t.hour < 24 && minutes_[t.minute] && hours_[t.hour] &&
         matchesDay(t.year, t.month, t.day, t.weekday);
}

}  // namespace crontopus::sdk
