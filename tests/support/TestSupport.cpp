#include "TestSupport.h"

#include <sys/stat.h>

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <Poco/File.h>
#include <Poco/Path.h>
#include <Poco/Pipe.h>
#include <Poco/PipeStream.h>
#include <Poco/Process.h>
#include <Poco/StreamCopier.h>
#include <Poco/TemporaryFile.h>

namespace crontopus::tests {

TempDir::TempDir() {
  path_ = Poco::TemporaryFile::tempName();
  Poco::File(path_).createDirectories();
  chmod(path_.c_str(), 0755);
}

TempDir::~TempDir() {
  try {
    Poco::File(path_).remove(true);
  } catch (...) {
    // Best effort: a leftover temp dir must not turn a passing test into a crash.
  }
}

ProcessResult runProcess(const std::vector<std::string>& argv, const std::string& input,
                         const std::map<std::string, std::string>& env, const std::string& cwd) {
  if (argv.empty())
    throw std::invalid_argument("runProcess: empty argv");
  Poco::Process::Args args(argv.begin() + 1, argv.end());
  Poco::Pipe in_pipe, out_pipe, err_pipe;
  Poco::Process::Env penv(env.begin(), env.end());
  Poco::ProcessHandle handle =
      Poco::Process::launch(argv[0], args, cwd, &in_pipe, &out_pipe, &err_pipe, penv);
  std::thread writer([&] {
    Poco::PipeOutputStream os(in_pipe);
    os << input;
    os.close();
  });
  ProcessResult result;
  std::thread err_reader([&] {
    Poco::PipeInputStream es(err_pipe);
    Poco::StreamCopier::copyToString(es, result.err);
  });
  Poco::PipeInputStream os(out_pipe);
  Poco::StreamCopier::copyToString(os, result.out);
  err_reader.join();
  writer.join();
  result.exit_code = handle.wait();
  return result;
}

std::string git(const std::string& repo, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {
      "/usr/bin/git", "-C", repo, "-c", "user.name=t", "-c", "user.email=t@example.invalid"};
  argv.insert(argv.end(), args.begin(), args.end());
  const auto r = runProcess(argv);
  if (r.exit_code != 0)
    throw std::runtime_error("git " + (args.empty() ? std::string() : args.front()) +
                             " failed: " + r.err);
  return r.out;
}

void writeFile(const std::string& path, const std::string& text, unsigned mode) {
  Poco::File(Poco::Path(path).parent()).createDirectories();
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out)
    throw std::runtime_error("cannot write " + path);
  chmod(path.c_str(), mode);
}

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw std::runtime_error("cannot read " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

bool waitFor(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
             std::chrono::milliseconds step) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (condition())
      return true;
    if (std::chrono::steady_clock::now() >= deadline)
      return false;
    std::this_thread::sleep_for(step);
  }
}

}  // namespace crontopus::tests
