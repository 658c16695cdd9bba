#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "TaskModel.h"

namespace crontopus::plugins::taskscheduler {

// The canonical Task Scheduler 2.0 XML of `task`: deterministic (same definition, same bytes),
// UTF-8, every value XML-escaped, with an `<?xml version="1.0" encoding="UTF-8"?>` declaration
// that the COM layer swaps for UTF-16 when it hands the text to the API.
std::string renderTaskXml(const TaskDefinition& task);

// Reads XML written by renderTaskXml() or returned by ITaskDefinition::get_Xml back into a
// definition. Elements outside the subset in TaskModel.h are ignored (Windows adds some when it
// stores a task); unknown trigger kinds, malformed durations or dates are errors. Never throws.
bool parseTaskXml(std::string_view xml, TaskDefinition& out, std::string& error);

// XML-escapes text for element content and attribute values (&, <, >, ", ').
std::string xmlEscape(std::string_view text);

// xs:duration text as Task Scheduler writes it: "PT0S", "PT15M", "P1DT2H", ...
std::string formatDuration(long seconds);
// Parses the day/time subset of xs:duration (no years or months). False when malformed.
bool parseDuration(std::string_view text, long& seconds);

// One argument quoted so that CommandLineToArgvW and the MSVC runtime read it back unchanged.
std::string quoteWindowsArgument(std::string_view arg);
// Arguments joined with spaces, each quoted as needed.
std::string joinWindowsArguments(const std::vector<std::string>& args);

}  // namespace crontopus::plugins::taskscheduler
