#include "CommandQuoting.h"

#include <Poco/Exception.h>

namespace crontopus::core {

std::string shellCommandLine(const std::string& command, const std::vector<std::string>& args) {
  std::string line = command;
  for (const auto& a : args) {
    line += " '";
    for (char c : a) {
      if (c == '\'') {
        line += "'\\''";
      } else {
        line += c;
      }
    }
    line += "'";
  }
  return line;
}

namespace {

// The CRT's argv parsing reads a run of backslashes literally unless a double quote follows it;
// then each pair is one backslash and an odd one out makes the quote literal. So a run is
// doubled before an embedded quote (plus one to escape the quote) and before a closing quote.
// Each % stands outside the quotes ("a"%"b" is still the one argument a%b): whatever name cmd.exe
// could read after a % then starts with a double quote, and no variable is named so.
std::string crtQuoted(const std::string& arg) {
  std::string out = "\"";
  std::size_t backslashes = 0;
  for (char c : arg) {
    if (c == '\\') {
      ++backslashes;
      continue;
    }
    if (c == '"') {
      out.append(2 * backslashes + 1, '\\');
      out += c;
    } else if (c == '%') {
      out.append(2 * backslashes, '\\');
      out += "\"%\"";
    } else {
      out.append(backslashes, '\\');
      out += c;
    }
    backslashes = 0;
  }
  out.append(2 * backslashes, '\\');
  out += '"';
  return out;
}

bool cmdSpecial(char c) {
  switch (c) {
    case '^':
    case '&':
    case '|':
    case '<':
    case '>':
    case '(':
    case ')':
    case '"':
      return true;
    default:
      return false;
  }
}

// Every " is escaped, so cmd never enters a quoted stretch, where a ^ would stay literal.
std::string cmdEscaped(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (cmdSpecial(c))
      out += '^';
    out += c;
  }
  return out;
}

std::string quotedForMessage(const std::string& arg) {
  std::string out = "\"";
  for (char c : arg) {
    switch (c) {
      case '\0':
        out += "\\0";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\n':
        out += "\\n";
        break;
      case '"':
      case '\\':
        out += '\\';
        out += c;
        break;
      default:
        out += c;
    }
  }
  return out + "\"";
}

void refuseUnpassable(const std::string& arg, std::size_t index,
                      const std::vector<std::string>& environment) {
  auto refuse = [&](const std::string& what, const std::string& why) {
    throw Poco::InvalidArgumentException("arg " + std::to_string(index) + " " +
                                         quotedForMessage(arg) + " contains " + what + ", " + why);
  };
  for (char c : arg) {
    if (c == '\0')
      refuse("a NUL character", "which no Windows command line can hold");
    if (c == '\r')
      refuse("a carriage return (\\r)", "which cmd.exe removes from its command line");
    if (c == '\n')
      refuse("a line feed (\\n)", "where cmd.exe would end the command");
  }
  if (arg.find('%') == std::string::npos)
    return;
  for (const auto& entry : environment) {
    const std::string name = entry.substr(0, entry.find('='));
    if (name.find('"') != std::string::npos) {
      refuse("a %", "which cmd.exe could expand while the environment has a variable named " +
                        name + " (remove the double quote from that name)");
    }
  }
}

}  // namespace

std::string cmdCommandLine(const std::string& command, const std::vector<std::string>& args,
                           const std::vector<std::string>& environment) {
  if (args.empty())
    return command;
  bool quoted = false;
  bool escaping = false;
  for (char c : command) {
    if (escaping) {
      escaping = false;
    } else if (c == '"') {
      quoted = !quoted;
    } else if (c == '^' && !quoted) {
      escaping = true;
    }
  }
  if (quoted || escaping) {
    throw Poco::InvalidArgumentException(
        std::string("the command ") +
        (quoted ? "leaves a double quote open" : "ends in a ^ that escapes what follows") +
        ", so cmd.exe would not read the args as given: close it, or put the args in the command");
  }
  std::string line = command;
  for (std::size_t i = 0; i < args.size(); ++i) {
    refuseUnpassable(args[i], i + 1, environment);
    line += ' ';
    line += cmdEscaped(crtQuoted(args[i]));
  }
  return line;
}

}  // namespace crontopus::core
