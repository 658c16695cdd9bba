#include "CommandRunner.h"

#include <Poco/Exception.h>
#include <Poco/Pipe.h>
#include <Poco/PipeStream.h>
#include <Poco/Process.h>
#include <Poco/StreamCopier.h>

#include <exception>

namespace crontopus::plugins::systemd_timer {
namespace {

class ProcessRunner : public CommandRunner {
 public:
  int run(const std::vector<std::string>& argv, std::string& output) override {
    output.clear();
    if (argv.empty()) {
      output = "empty command";
      return -1;
    }
    try {
      Poco::Pipe out_pipe;
      Poco::Process::Args args(argv.begin() + 1, argv.end());
      // stdout and stderr share one pipe, so a chatty child can never block on a full second pipe.
      Poco::ProcessHandle handle =
          Poco::Process::launch(argv.front(), args, nullptr, &out_pipe, &out_pipe);
      out_pipe.close(Poco::Pipe::CLOSE_WRITE);
      Poco::PipeInputStream stream(out_pipe);
      Poco::StreamCopier::copyToString(stream, output);
      return handle.wait();
    } catch (const Poco::Exception& e) {
      output = "cannot run " + argv.front() + ": " + e.displayText();
    } catch (const std::exception& e) {
      output = "cannot run " + argv.front() + ": " + e.what();
    }
    return -1;
  }
};

}  // namespace

std::unique_ptr<CommandRunner> makeProcessRunner() {
  return std::make_unique<ProcessRunner>();
}

}  // namespace crontopus::plugins::systemd_timer
