#include "TaskXml.h"

#include <array>
#include <cstdio>

namespace crontopus::plugins::taskscheduler {
namespace {

constexpr std::array<const char*, 7> kDayNames = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                                  "Thursday", "Friday", "Saturday"};
constexpr std::array<const char*, 13> kMonthNames = {
    "",     "January", "February",  "March",   "April",    "May",     "June",
    "July", "August",  "September", "October", "November", "December"};

class Writer {
 public:
  void open(std::string_view name) {
    indent();
    out_ += '<';
    out_ += name;
    out_ += ">\n";
    ++depth_;
  }
  void close(std::string_view name) {
    --depth_;
    indent();
    out_ += "</";
    out_ += name;
    out_ += ">\n";
  }
  void empty(std::string_view name) {
    indent();
    out_ += '<';
    out_ += name;
    out_ += " />\n";
  }
  void leaf(std::string_view name, std::string_view value) {
    indent();
    out_ += '<';
    out_ += name;
    out_ += '>';
    out_ += xmlEscape(value);
    out_ += "</";
    out_ += name;
    out_ += ">\n";
  }
  void raw(std::string_view text) { out_ += text; }
  std::string take() { return std::move(out_); }

 private:
  void indent() { out_.append(static_cast<std::size_t>(depth_) * 2, ' '); }
  std::string out_;
  int depth_ = 0;
};

const char* boolText(bool value) {
  return value ? "true" : "false";
}

std::string formatBoundary(const StartBoundary& b) {
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, "%04d-%02u-%02uT%02u:%02u:00%s", b.year, b.month, b.day,
                b.hour, b.minute, b.utc ? "Z" : "");
  return buffer;
}

void writeDaysOfWeek(Writer& w, const std::bitset<7>& days) {
  w.open("DaysOfWeek");
  for (std::size_t d = 0; d < 7; ++d) {
    if (days[d]) {
      w.empty(kDayNames[d]);
    }
  }
  w.close("DaysOfWeek");
}

void writeMonths(Writer& w, const std::bitset<13>& months) {
  w.open("Months");
  for (std::size_t m = 1; m <= 12; ++m) {
    if (months[m]) {
      w.empty(kMonthNames[m]);
    }
  }
  w.close("Months");
}

void writeTrigger(Writer& w, const Trigger& t) {
  const char* element = t.kind == TriggerKind::kBoot   ? "BootTrigger"
                        : t.kind == TriggerKind::kTime ? "TimeTrigger"
                                                       : "CalendarTrigger";
  w.open(element);
  w.leaf("Enabled", boolText(t.enabled));
  if (t.kind != TriggerKind::kBoot) {
    w.leaf("StartBoundary", formatBoundary(t.start));
  }
  if (t.has_repetition) {
    w.open("Repetition");
    w.leaf("Interval", formatDuration(t.repetition.interval_seconds));
    if (t.repetition.duration_seconds > 0) {
      w.leaf("Duration", formatDuration(t.repetition.duration_seconds));
    }
    w.leaf("StopAtDurationEnd", "false");
    w.close("Repetition");
  }
  switch (t.kind) {
    case TriggerKind::kBoot:
    case TriggerKind::kTime:
      break;
    case TriggerKind::kByDay:
      w.open("ScheduleByDay");
      w.leaf("DaysInterval", std::to_string(t.interval));
      w.close("ScheduleByDay");
      break;
    case TriggerKind::kByWeek:
      w.open("ScheduleByWeek");
      w.leaf("WeeksInterval", std::to_string(t.interval));
      writeDaysOfWeek(w, t.days_of_week);
      w.close("ScheduleByWeek");
      break;
    case TriggerKind::kByMonth:
      w.open("ScheduleByMonth");
      w.open("DaysOfMonth");
      for (std::size_t d = 1; d <= 31; ++d) {
        if (t.days_of_month[d]) {
          w.leaf("Day", std::to_string(d));
        }
      }
      if (t.last_day_of_month) {
        w.leaf("Day", "Last");
      }
      w.close("DaysOfMonth");
      writeMonths(w, t.months);
      w.close("ScheduleByMonth");
      break;
    case TriggerKind::kByMonthDayOfWeek:
      w.open("ScheduleByMonthDayOfWeek");
      w.open("Weeks");
      for (std::size_t k = 0; k < 4; ++k) {
        if (t.weeks[k]) {
          w.leaf("Week", std::to_string(k + 1));
        }
      }
      if (t.last_week) {
        w.leaf("Week", "Last");
      }
      w.close("Weeks");
      writeDaysOfWeek(w, t.days_of_week);
      writeMonths(w, t.months);
      w.close("ScheduleByMonthDayOfWeek");
      break;
  }
  w.close(element);
}

}  // namespace

std::string xmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      case '\r':
        out += "&#13;";  // a literal CR would be normalised away by any XML parser
        break;
      case '\n':
        out += "&#10;";  // keeps every element on one line of the canonical text
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string formatDuration(long seconds) {
  if (seconds <= 0) {
    return "PT0S";
  }
  long days = seconds / 86400;
  long hours = seconds / 3600 % 24;
  long minutes = seconds / 60 % 60;
  long secs = seconds % 60;
  std::string out = "P";
  if (days > 0) {
    out += std::to_string(days) + "D";
  }
  if (hours > 0 || minutes > 0 || secs > 0) {
    out += "T";
    if (hours > 0) {
      out += std::to_string(hours) + "H";
    }
    if (minutes > 0) {
      out += std::to_string(minutes) + "M";
    }
    if (secs > 0) {
      out += std::to_string(secs) + "S";
    }
  }
  return out;
}

bool parseDuration(std::string_view text, long& seconds) {
  if (text.size() < 2 || text[0] != 'P') {
    return false;
  }
  long total = 0;
  bool in_time = false;
  bool any = false;
  long number = -1;
  for (std::size_t i = 1; i < text.size(); ++i) {
    char c = text[i];
    if (c >= '0' && c <= '9') {
      if (number > 100000000) {
        return false;
      }
      number = (number < 0 ? 0 : number * 10) + (c - '0');
      continue;
    }
    if (c == 'T') {
      if (in_time || number >= 0) {
        return false;
      }
      in_time = true;
      continue;
    }
    if (number < 0) {
      return false;
    }
    long unit = 0;
    if (!in_time && c == 'D') {
      unit = 86400;
    } else if (in_time && c == 'H') {
      unit = 3600;
    } else if (in_time && c == 'M') {
      unit = 60;
    } else if (in_time && c == 'S') {
      unit = 1;
    } else {
      return false;  // years, months and weeks are never written by this backend
    }
    total += number * unit;
    number = -1;
    any = true;
  }
  if (number >= 0 || !any) {
    return false;
  }
  seconds = total;
  return true;
}

// CommandLineToArgvW: an argument needs quotes when empty or when it holds a space, tab or quote;
// inside quotes, backslashes are literal unless they precede a quote, so a run of n backslashes
// before a quote (or before the closing quote) is written as 2n.
std::string quoteWindowsArgument(std::string_view arg) {
  if (!arg.empty() && arg.find_first_of(" \t\n\v\"") == std::string_view::npos) {
    return std::string(arg);
  }
  std::string out = "\"";
  std::size_t backslashes = 0;
  for (char c : arg) {
    if (c == '\\') {
      ++backslashes;
      continue;
    }
    if (c == '"') {
      out.append(backslashes * 2 + 1, '\\');
      out += '"';
    } else {
      out.append(backslashes, '\\');
      out += c;
    }
    backslashes = 0;
  }
  out.append(backslashes * 2, '\\');
  out += '"';
  return out;
}

std::string joinWindowsArguments(const std::vector<std::string>& args) {
  std::string out;
  for (const auto& arg : args) {
    if (!out.empty()) {
      out += ' ';
    }
    out += quoteWindowsArgument(arg);
  }
  return out;
}

std::string renderTaskXml(const TaskDefinition& task) {
  Writer w;
  w.raw("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
  w.raw("<Task version=\"1.2\" xmlns=\"http://schemas.microsoft.com/windows/2004/02/mit/task\">\n");
  Writer body;
  body.open("RegistrationInfo");
  body.leaf("Description", task.description);
  body.leaf("URI", task.uri);
  body.close("RegistrationInfo");
  body.open("Triggers");
  for (const auto& t : task.triggers) {
    writeTrigger(body, t);
  }
  body.close("Triggers");
  body.open("Settings");
  body.leaf("MultipleInstancesPolicy", task.multiple_instances_policy);
  body.leaf("DisallowStartIfOnBatteries", "false");
  body.leaf("StopIfGoingOnBatteries", "false");
  body.leaf("AllowHardTerminate", "true");
  body.leaf("StartWhenAvailable", boolText(task.start_when_available));
  body.leaf("Enabled", boolText(task.enabled));
  body.leaf("ExecutionTimeLimit", formatDuration(task.execution_time_limit_seconds));
  body.close("Settings");
  body.open("Actions");
  body.open("Exec");
  body.leaf("Command", task.command);
  if (!task.arguments.empty()) {
    body.leaf("Arguments", task.arguments);
  }
  if (!task.working_directory.empty()) {
    body.leaf("WorkingDirectory", task.working_directory);
  }
  body.close("Exec");
  body.close("Actions");
  std::string inner = body.take();
  // Indent the body one level under <Task>.
  std::string indented;
  std::size_t pos = 0;
  while (pos < inner.size()) {
    std::size_t eol = inner.find('\n', pos);
    indented += "  ";
    indented.append(inner, pos, eol - pos + 1);
    pos = eol + 1;
  }
  w.raw(indented);
  w.raw("</Task>\n");
  return w.take();
}

}  // namespace crontopus::plugins::taskscheduler
