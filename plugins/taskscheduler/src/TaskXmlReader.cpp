// The reader half of TaskXml.h, on Poco's DOM parser (the writer needs only the standard library).
#include <Poco/AutoPtr.h>
#include <Poco/DOM/DOMParser.h>
#include <Poco/DOM/Document.h>
#include <Poco/DOM/Element.h>
#include <Poco/DOM/Node.h>
#include <Poco/DOM/NodeList.h>
#include <Poco/Exception.h>
#include <Poco/SAX/XMLReader.h>

#include <array>
#include <cstdio>
#include <exception>
#include <string>

#include "TaskXml.h"

namespace crontopus::plugins::taskscheduler {
namespace {

using Poco::XML::Element;
using Poco::XML::Node;

constexpr std::array<const char*, 7> kDayNames = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                                  "Thursday", "Friday", "Saturday"};
constexpr std::array<const char*, 13> kMonthNames = {
    "",     "January", "February",  "March",   "April",    "May",     "June",
    "July", "August",  "September", "October", "November", "December"};

struct ReadError {
  std::string message;
};

std::string nameOf(const Node* node) {
  std::string local = node->localName();
  return local.empty() ? node->nodeName() : local;
}

std::vector<const Element*> children(const Element* parent) {
  std::vector<const Element*> out;
  for (Node* n = parent->firstChild(); n != nullptr; n = n->nextSibling()) {
    if (n->nodeType() == Node::ELEMENT_NODE) {
      out.push_back(static_cast<const Element*>(n));
    }
  }
  return out;
}

const Element* child(const Element* parent, const std::string& name) {
  for (const Element* e : children(parent)) {
    if (nameOf(e) == name) {
      return e;
    }
  }
  return nullptr;
}

std::string text(const Element* e) {
  return e == nullptr ? std::string() : e->innerText();
}

std::string trimmed(const std::string& s) {
  std::size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) {
    return {};
  }
  std::size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

bool readBool(const Element* e, bool fallback) {
  if (e == nullptr) {
    return fallback;
  }
  std::string v = trimmed(text(e));
  if (v == "true" || v == "1") {
    return true;
  }
  if (v == "false" || v == "0") {
    return false;
  }
  throw ReadError{"<" + nameOf(e) + "> is not a boolean: '" + v + "'"};
}

long readDuration(const Element* e) {
  long seconds = 0;
  std::string v = trimmed(text(e));
  if (!parseDuration(v, seconds)) {
    throw ReadError{"<" + nameOf(e) + "> is not a duration this backend writes: '" + v + "'"};
  }
  return seconds;
}

int readInt(const Element* e, int lo, int hi) {
  std::string v = trimmed(text(e));
  int value = 0;
  if (v.empty() || v.size() > 6 || v.find_first_not_of("0123456789") != std::string::npos ||
      (value = std::stoi(v)) < lo || value > hi) {
    throw ReadError{"<" + nameOf(e) + "> must be a number from " + std::to_string(lo) + " to " +
                    std::to_string(hi) + ": '" + v + "'"};
  }
  return value;
}

// "YYYY-MM-DDTHH:MM:SS" with an optional Z; Windows may add fractional seconds or an offset to
// times it wrote itself, which this backend never uses.
StartBoundary readBoundary(const Element* e) {
  std::string v = trimmed(text(e));
  StartBoundary b;
  int year = 0;
  unsigned month = 0, day = 0, hour = 0, minute = 0, second = 0;
  char tail[8] = {0};
  int n = std::sscanf(v.c_str(), "%4d-%2u-%2uT%2u:%2u:%2u%7s", &year, &month, &day, &hour, &minute,
                      &second, tail);
  if (n < 6 || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 ||
      second != 0 || (n == 7 && std::string(tail) != "Z")) {
    throw ReadError{"<StartBoundary> is not a time this backend writes: '" + v + "'"};
  }
  b.year = year;
  b.month = month;
  b.day = day;
  b.hour = hour;
  b.minute = minute;
  b.utc = n == 7;
  return b;
}

std::bitset<7> readDaysOfWeek(const Element* e) {
  std::bitset<7> days;
  if (e == nullptr) {
    throw ReadError{"<DaysOfWeek> is missing"};
  }
  for (const Element* d : children(e)) {
    bool found = false;
    for (std::size_t i = 0; i < 7; ++i) {
      if (nameOf(d) == kDayNames[i]) {
        days.set(i);
        found = true;
      }
    }
    if (!found) {
      throw ReadError{"unknown day of week <" + nameOf(d) + ">"};
    }
  }
  return days;
}

std::bitset<13> readMonths(const Element* e) {
  std::bitset<13> months;
  if (e == nullptr) {
    months.set();  // Months omitted: every month
    months.reset(0);
    return months;
  }
  for (const Element* m : children(e)) {
    bool found = false;
    for (std::size_t i = 1; i <= 12; ++i) {
      if (nameOf(m) == kMonthNames[i]) {
        months.set(i);
        found = true;
      }
    }
    if (!found) {
      throw ReadError{"unknown month <" + nameOf(m) + ">"};
    }
  }
  return months;
}

Trigger readTrigger(const Element* e) {
  Trigger t;
  std::string kind = nameOf(e);
  if (kind == "BootTrigger") {
    t.kind = TriggerKind::kBoot;
  } else if (kind == "TimeTrigger") {
    t.kind = TriggerKind::kTime;
  } else if (kind == "CalendarTrigger") {
    t.kind = TriggerKind::kByDay;  // refined below
  } else {
    throw ReadError{"unsupported trigger <" + kind + ">"};
  }
  t.enabled = readBool(child(e, "Enabled"), true);
  if (t.kind != TriggerKind::kBoot) {
    const Element* start = child(e, "StartBoundary");
    if (start == nullptr) {
      throw ReadError{"<" + kind + "> has no <StartBoundary>"};
    }
    t.start = readBoundary(start);
  }
  if (const Element* rep = child(e, "Repetition")) {
    t.has_repetition = true;
    const Element* interval = child(rep, "Interval");
    if (interval == nullptr) {
      throw ReadError{"<Repetition> has no <Interval>"};
    }
    t.repetition.interval_seconds = readDuration(interval);
    if (const Element* duration = child(rep, "Duration")) {
      t.repetition.duration_seconds = readDuration(duration);
    }
  }
  if (kind != "CalendarTrigger") {
    return t;
  }
  if (const Element* s = child(e, "ScheduleByDay")) {
    t.kind = TriggerKind::kByDay;
    const Element* interval = child(s, "DaysInterval");
    t.interval = interval == nullptr ? 1 : readInt(interval, 1, 365);
  } else if (const Element* s = child(e, "ScheduleByWeek")) {
    t.kind = TriggerKind::kByWeek;
    const Element* interval = child(s, "WeeksInterval");
    t.interval = interval == nullptr ? 1 : readInt(interval, 1, 52);
    t.days_of_week = readDaysOfWeek(child(s, "DaysOfWeek"));
  } else if (const Element* s = child(e, "ScheduleByMonth")) {
    t.kind = TriggerKind::kByMonth;
    const Element* days = child(s, "DaysOfMonth");
    if (days == nullptr) {
      throw ReadError{"<ScheduleByMonth> has no <DaysOfMonth>"};
    }
    for (const Element* d : children(days)) {
      if (trimmed(text(d)) == "Last") {
        t.last_day_of_month = true;
      } else {
        t.days_of_month.set(static_cast<std::size_t>(readInt(d, 1, 31)));
      }
    }
    t.months = readMonths(child(s, "Months"));
  } else if (const Element* s = child(e, "ScheduleByMonthDayOfWeek")) {
    t.kind = TriggerKind::kByMonthDayOfWeek;
    const Element* weeks = child(s, "Weeks");
    if (weeks == nullptr) {
      throw ReadError{"<ScheduleByMonthDayOfWeek> has no <Weeks>"};
    }
    for (const Element* w : children(weeks)) {
      if (trimmed(text(w)) == "Last") {
        t.last_week = true;
      } else {
        t.weeks.set(static_cast<std::size_t>(readInt(w, 1, 4) - 1));
      }
    }
    t.days_of_week = readDaysOfWeek(child(s, "DaysOfWeek"));
    t.months = readMonths(child(s, "Months"));
  } else {
    throw ReadError{"<CalendarTrigger> without a schedule this backend writes"};
  }
  return t;
}

// Drops a byte-order mark and the XML declaration: get_Xml text converted to UTF-8 still says
// encoding="UTF-16", which the parser would believe.
std::string withoutDeclaration(std::string_view xml) {
  if (xml.substr(0, 3) == "\xEF\xBB\xBF") {
    xml.remove_prefix(3);
  }
  std::size_t start = xml.find_first_not_of(" \t\r\n");
  if (start != std::string_view::npos && xml.substr(start, 5) == "<?xml") {
    std::size_t end = xml.find("?>", start);
    if (end != std::string_view::npos) {
      xml.remove_prefix(end + 2);
    }
  }
  return std::string(xml);
}

void readTask(const Element* root, TaskDefinition& task) {
  if (root == nullptr || nameOf(root) != "Task") {
    throw ReadError{"the document element is not <Task>"};
  }
  if (const Element* info = child(root, "RegistrationInfo")) {
    task.description = text(child(info, "Description"));
    task.uri = text(child(info, "URI"));
  }
  if (const Element* triggers = child(root, "Triggers")) {
    for (const Element* t : children(triggers)) {
      task.triggers.push_back(readTrigger(t));
    }
  }
  if (const Element* settings = child(root, "Settings")) {
    if (const Element* policy = child(settings, "MultipleInstancesPolicy")) {
      task.multiple_instances_policy = trimmed(text(policy));
    }
    task.start_when_available = readBool(child(settings, "StartWhenAvailable"), false);
    task.enabled = readBool(child(settings, "Enabled"), true);
    if (const Element* limit = child(settings, "ExecutionTimeLimit")) {
      task.execution_time_limit_seconds = readDuration(limit);
    } else {
      task.execution_time_limit_seconds = 72 * 3600;  // the schema's default
    }
  }
  if (const Element* actions = child(root, "Actions")) {
    if (const Element* exec = child(actions, "Exec")) {
      task.command = text(child(exec, "Command"));
      task.arguments = text(child(exec, "Arguments"));
      task.working_directory = text(child(exec, "WorkingDirectory"));
    }
  }
}

}  // namespace

bool parseTaskXml(std::string_view xml, TaskDefinition& out, std::string& error) {
  try {
    Poco::XML::DOMParser parser;
    parser.setFeature(Poco::XML::XMLReader::FEATURE_NAMESPACES, true);
    parser.setFeature(Poco::XML::XMLReader::FEATURE_EXTERNAL_GENERAL_ENTITIES, false);
    parser.setFeature(Poco::XML::XMLReader::FEATURE_EXTERNAL_PARAMETER_ENTITIES, false);
    Poco::AutoPtr<Poco::XML::Document> doc = parser.parseString(withoutDeclaration(xml));
    TaskDefinition task;
    readTask(doc->documentElement(), task);
    out = std::move(task);
    return true;
  } catch (const ReadError& e) {
    error = "task XML: " + e.message;
  } catch (const Poco::Exception& e) {
    error = "task XML is not well-formed: " + e.displayText();
  } catch (const std::exception& e) {
    error = std::string("task XML: ") + e.what();
  }
  return false;
}

}  // namespace crontopus::plugins::taskscheduler
