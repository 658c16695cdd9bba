#include "CommandQuoting.h"

#include <random>

#include <Poco/Exception.h>
#include <gtest/gtest.h>

namespace crontopus::core {
namespace {

std::string cmdLine(const std::vector<std::string>& args,
                    const std::vector<std::string>& environment = {"PATH=C:\\Windows"}) {
  return cmdCommandLine("prog", args, environment);
}

// The message of the refusal, or "" when the line was built.
std::string refusal(const std::string& command, const std::vector<std::string>& args,
                    const std::vector<std::string>& environment = {}) {
  try {
    cmdCommandLine(command, args, environment);
  } catch (const Poco::InvalidArgumentException& e) {
    return e.message();
  }
  return "";
}

// What cmd.exe leaves of an arg built here, for text that stays outside its double quotes (which
// cmdCommandLine guarantees): ^ escapes the next character. % expansion is not modelled: that
// nothing after a % can form a variable name is checked by EXPECTs on the text instead.
std::string cmdUnescaped(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '^' && i + 1 < text.size())
      ++i;
    out += text[i];
  }
  return out;
}

// The Microsoft C runtime's reading of a command line, as documented ("Parsing C++ command-line
// arguments"): 2n backslashes + quote = n backslashes and a delimiter, 2n+1 backslashes + quote
// = n backslashes and a literal quote, other backslashes literal; and since the 2008 runtime,
// "" inside quotes is a literal quote (which cmdCommandLine must never produce by accident).
std::vector<std::string> crtArgv(const std::string& line) {
  std::vector<std::string> argv;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t'))
      ++i;
    if (i == line.size())
      break;
    std::string arg;
    bool quoted = false;
    for (; i < line.size() && (quoted || (line[i] != ' ' && line[i] != '\t')); ++i) {
      std::size_t backslashes = 0;
      while (i < line.size() && line[i] == '\\') {
        ++backslashes;
        ++i;
      }
      if (i < line.size() && line[i] == '"') {
        arg.append(backslashes / 2, '\\');
        if (backslashes % 2 == 1) {
          arg += '"';
        } else if (quoted && i + 1 < line.size() && line[i + 1] == '"') {
          arg += '"';
          ++i;
        } else {
          quoted = !quoted;
        }
      } else {
        arg.append(backslashes, '\\');
        if (i == line.size())
          break;
        arg += line[i];
      }
    }
    argv.push_back(arg);
  }
  return argv;
}

TEST(CommandQuotingTest, PosixArgsAreSingleQuotedForSh) {
  EXPECT_EQ(shellCommandLine("/bin/new", {"--flag", "with space"}),
            "/bin/new '--flag' 'with space'");
  EXPECT_EQ(shellCommandLine("echo", {"it's", ""}), "echo 'it'\\''s' ''");
  EXPECT_EQ(shellCommandLine("true", {}), "true");
}

TEST(CommandQuotingTest, CmdWithoutArgsKeepsTheCommandAsWritten) {
  EXPECT_EQ(cmdCommandLine("echo \"open & %X%", {}, {}), "echo \"open & %X%");
}

TEST(CommandQuotingTest, CmdQuotesEachArgForTheCRuntimeAndEscapesItForCmd) {
  EXPECT_EQ(cmdLine({"a"}), "prog ^\"a^\"");
  EXPECT_EQ(cmdLine({""}), "prog ^\"^\"");
  EXPECT_EQ(cmdLine({"a b", "c"}), "prog ^\"a b^\" ^\"c^\"");
  EXPECT_EQ(cmdLine({"say \"hi\""}), "prog ^\"say \\^\"hi\\^\"^\"");
  EXPECT_EQ(cmdLine({"&|<>^()"}), "prog ^\"^&^|^<^>^^^(^)^\"");
  EXPECT_EQ(cmdLine({"!X!"}), "prog ^\"!X!^\"") << "delayed expansion is off (/v:off)";
}

TEST(CommandQuotingTest, CmdDoublesBackslashesOnlyBeforeAQuote) {
  EXPECT_EQ(cmdLine({"C:\\a\\b"}), "prog ^\"C:\\a\\b^\"");
  EXPECT_EQ(cmdLine({"C:\\dir\\"}), "prog ^\"C:\\dir\\\\^\"");
  EXPECT_EQ(cmdLine({"a\\\\\"b"}), "prog ^\"a\\\\\\\\\\^\"b^\"");
}

TEST(CommandQuotingTest, CmdPutsEveryPercentOutsideTheQuotes) {
  EXPECT_EQ(cmdLine({"%PATH%"}), "prog ^\"^\"%^\"PATH^\"%^\"^\"");
  EXPECT_EQ(cmdLine({"a\\%"}), "prog ^\"a\\\\^\"%^\"^\"") << "a backslash before a closing quote";
}

TEST(CommandQuotingTest, CmdRoundTripsThroughCaretsAndTheCRuntime) {
  std::vector<std::string> args = {"",      " ",      "a b",   "\"",       "\\",   "\\\\\"",
                                   "x\\\\", "\\\"\\", "%A%B%", "^^",       "a\tb", "&&",
                                   "\"&\"", "é ü",    "=;,",   "C:\\P F\\"};
  std::mt19937 rng(20261127);
  const std::string alphabet = "ab \\\"%^&|<>()!\t";
  for (int n = 0; n < 300; ++n) {
    std::string s;
    const int len = static_cast<int>(rng() % 12);
    for (int k = 0; k < len; ++k)
      s += alphabet[rng() % alphabet.size()];
    args.push_back(s);
  }
  for (const auto& arg : args) {
    const std::string line = cmdLine({arg, "next"});
    // Any variable name cmd could read after a %, before or after it removes the carets,
    // starts with a double quote.
    for (std::size_t i = line.find('%'); i != std::string::npos; i = line.find('%', i + 1))
      ASSERT_EQ(line.substr(i + 1, 2), "^\"") << line;
    const auto argv = crtArgv(cmdUnescaped(line));
    ASSERT_EQ(argv.size(), 3u) << line;
    EXPECT_EQ(argv[1], arg) << line;
    EXPECT_EQ(argv[2], "next") << line;
  }
}

TEST(CommandQuotingTest, CmdRefusesWhatItCannotPassNamingArgAndCharacter) {
  EXPECT_EQ(refusal("prog", {"ok", "two\rlines"}),
            "arg 2 \"two\\rlines\" contains a carriage return (\\r), which cmd.exe removes from "
            "its command line");
  EXPECT_NE(refusal("prog", {"a\nb"}).find("arg 1 \"a\\nb\" contains a line feed"),
            std::string::npos);
  EXPECT_NE(refusal("prog", {std::string("a\0b", 3)}).find("contains a NUL character"),
            std::string::npos);
}

TEST(CommandQuotingTest, CmdRefusesAPercentOnlyWhenAVariableNameHasADoubleQuote) {
  EXPECT_NE(refusal("prog", {"50%"}, {"\"X=1"}).find("variable named \"X (remove"),
            std::string::npos);
  EXPECT_EQ(refusal("prog", {"50\""}, {"\"X=1"}), "");
  EXPECT_EQ(refusal("prog", {"50%"}, {"X=\"", "^Y=1"}), "");
}

TEST(CommandQuotingTest, CmdRefusesArgsAfterACommandThatLeavesAQuoteOpenOrEndsEscaping) {
  EXPECT_NE(refusal("\"C:\\Program Files\\p.exe", {"a"}).find("leaves a double quote open"),
            std::string::npos);
  EXPECT_NE(refusal("prog ^", {"a"}).find("ends in a ^"), std::string::npos);
  EXPECT_EQ(refusal("\"C:\\Program Files\\p.exe\" ^^", {"a"}), "");
  EXPECT_EQ(refusal("echo ^\"", {"a"}), "") << "an escaped quote opens nothing";
}

}  // namespace
}  // namespace crontopus::core
