#pragma once

#include <string>
#include <vector>

// How a job's args reach its program through the shell that runs the job's command line. Pure
// string logic, built on every platform so that both are unit-tested on Linux; which one a run
// uses is the platform's choice (platform::jobCommandLine).
namespace crontopus::core {

// The command line `run` hands to /bin/sh -c: the command, then each arg single-quoted.
std::string shellCommandLine(const std::string& command, const std::vector<std::string>& args);

// The command line `run` hands to `cmd.exe /d /v:off /s /c "<line>"`: the command as written,
// then each arg quoted for the program's Microsoft C runtime (CommandLineToArgvW rules), with
// each % outside those quotes ("50"%"" for 50%), and that text ^-escaped for cmd.exe, so that
// cmd passes it through unchanged: it stays outside cmd's own double quotes, where ^ makes
// & | < > ( ) " and ^ literal; and whatever variable name cmd could read after a % starts with
// a double quote, whether cmd expands before removing the carets (Windows) or after (wine), so
// it names no variable (cmd has no escape for % on a command line: it leaves an undefined
// name alone). No variable name in `environment` may contain a double quote.
//
// Throws Poco::InvalidArgumentException, naming the arg (1-based) and the character, for what
// cmd.exe cannot pass literally: a NUL, a carriage return (cmd removes it) or a line feed (cmd
// ends the command there), and when an arg has a % while a variable name in `environment`
// (KEY=VALUE entries) contains a double quote. With args, also when the command leaves a double
// quote open or ends in an escaping ^, which would change how cmd reads the args. Without args
// the command is returned as it is.
std::string cmdCommandLine(const std::string& command, const std::vector<std::string>& args,
                           const std::vector<std::string>& environment);

}  // namespace crontopus::core
