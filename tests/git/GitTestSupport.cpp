#include "GitTestSupport.h"

#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

namespace crontopus::plugins::git::test {
namespace fs = std::filesystem;

TempDir::TempDir() {
  std::string pattern = (fs::temp_directory_path() / "crontopus-git-test-XXXXXX").string();
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  if (::mkdtemp(buffer.data()) == nullptr) {
    throw std::runtime_error("mkdtemp failed");
  }
  path_ = buffer.data();
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

namespace {

// fork + exec with the environment extended by `env`; stdout/stderr to `out_fd` if >= 0.
int spawn(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
          int out_fd, bool new_group) {
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry = *e;
    std::string name = entry.substr(0, entry.find('='));
    if (env.count(name) == 0) {
      env_strings.push_back(entry);
    }
  }
  for (const auto& [k, v] : env) {
    env_strings.push_back(k + "=" + v);
  }
  std::vector<char*> args;
  for (const auto& a : argv) {
    args.push_back(const_cast<char*>(a.c_str()));
  }
  args.push_back(nullptr);
  std::vector<char*> envp;
  for (auto& e : env_strings) {
    envp.push_back(e.data());
  }
  envp.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) {
    if (new_group) {
      ::setpgid(0, 0);
    }
    int devnull = ::open("/dev/null", O_RDONLY);
    ::dup2(devnull, 0);
    if (out_fd >= 0) {
      ::dup2(out_fd, 1);
      ::dup2(out_fd, 2);
    }
    ::execve(args[0], args.data(), envp.data());
    ::execvpe(args[0], args.data(), envp.data());
    ::_exit(127);
  }
  return pid;
}

}  // namespace

CommandResult run(const std::vector<std::string>& argv,
                  const std::map<std::string, std::string>& env) {
  CommandResult result;
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    return result;
  }
  pid_t pid = spawn(argv, env, pipe_fds[1], false);
  ::close(pipe_fds[1]);
  std::array<char, 4096> buffer;
  ssize_t n;
  while ((n = ::read(pipe_fds[0], buffer.data(), buffer.size())) > 0) {
    result.output.append(buffer.data(), static_cast<size_t>(n));
  }
  ::close(pipe_fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

std::string mustRun(const std::vector<std::string>& argv,
                    const std::map<std::string, std::string>& env) {
  CommandResult result = run(argv, env);
  if (result.status != 0) {
    std::string line;
    for (const auto& a : argv) {
      line += a + " ";
    }
    ADD_FAILURE() << "command failed (" << result.status << "): " << line << "\n" << result.output;
  }
  return result.output;
}

ServerProcess::ServerProcess(const std::vector<std::string>& argv,
                             const std::map<std::string, std::string>& env,
                             const std::string& log_file) {
  int fd = -1;
  if (!log_file.empty()) {
    fd = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  }
  pid_ = spawn(argv, env, fd, true);
  if (fd >= 0) {
    ::close(fd);
  }
}

ServerProcess::~ServerProcess() {
  kill();
}

ServerProcess::ServerProcess(ServerProcess&& other) noexcept : pid_(other.pid_) {
  other.pid_ = -1;
}

ServerProcess& ServerProcess::operator=(ServerProcess&& other) noexcept {
  if (this != &other) {
    kill();
    pid_ = other.pid_;
    other.pid_ = -1;
  }
  return *this;
}

void ServerProcess::kill() {
  if (pid_ <= 0) {
    return;
  }
  ::kill(-pid_, SIGKILL);
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

int freePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  int port = ntohs(addr.sin_port);
  ::close(fd);
  return port;
}

bool waitUntil(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return condition();
}

bool waitForPort(int port, std::chrono::milliseconds timeout, const std::string& address) {
  return waitUntil(
      [port, address] {
        int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        ::inet_pton(AF_INET, address.c_str(), &addr.sin_addr);
        addr.sin_port = htons(static_cast<uint16_t>(port));
        bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
        ::close(fd);
        return ok;
      },
      timeout);
}

std::string readFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void writeFile(const fs::path& path, const std::string& content) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
}

namespace {
const std::map<std::string, std::string> kGitEnv = {
    {"GIT_AUTHOR_NAME", "Test"},        {"GIT_AUTHOR_EMAIL", "test@example.com"},
    {"GIT_COMMITTER_NAME", "Test"},     {"GIT_COMMITTER_EMAIL", "test@example.com"},
    {"GIT_CONFIG_NOSYSTEM", "1"},       {"GIT_TERMINAL_PROMPT", "0"},
    {"HOME", "/nonexistent-crontopus"},
};

// Tests run as root and push into repositories owned by the SSH test user: a global config
// that trusts every directory (GIT_CONFIG_COUNT would be dropped by git's local transport).
std::map<std::string, std::string> gitEnv() {
  struct GlobalConfig {
    TempDir dir;
    std::string path = (dir.path() / "gitconfig").string();
    GlobalConfig() { writeFile(path, "[safe]\n\tdirectory = *\n"); }
  };
  static const GlobalConfig config;
  auto env = kGitEnv;
  env["GIT_CONFIG_GLOBAL"] = config.path;
  return env;
}
}  // namespace

OriginRepo::OriginRepo(const fs::path& dir, const std::string& name, const std::string& branch)
    : bare_(dir / name), work_(dir / ("work-" + name)), branch_(branch) {
  mustRun({"/usr/bin/git", "init", "-q", "--bare", "-b", branch, bare_.string()}, gitEnv());
  mustRun({"/usr/bin/git", "init", "-q", "-b", branch, work_.string()}, gitEnv());
  git({"remote", "add", "origin", bare_.string()});
}

std::string OriginRepo::git(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"/usr/bin/git", "-C", work_.string()};
  argv.insert(argv.end(), args.begin(), args.end());
  return mustRun(argv, gitEnv());
}

std::string OriginRepo::commit(const std::map<std::string, std::string>& files,
                               const std::string& message) {
  for (const auto& [file, content] : files) {
    writeFile(work_ / file, content);
  }
  git({"add", "-A"});
  git({"commit", "-q", "--allow-empty", "-m", message});
  git({"push", "-q", "-f", "origin", "HEAD:refs/heads/" + branch_});
  std::string id = git({"rev-parse", "HEAD"});
  while (!id.empty() && (id.back() == '\n' || id.back() == '\r')) {
    id.pop_back();
  }
  return id;
}

std::string OriginRepo::removeAndCommit(const std::string& file) {
  git({"rm", "-q", file});
  return commit({}, "remove " + file);
}

std::string pythonExecutable() {
  return "/usr/bin/python3";
}

std::string httpServerScript() {
  return CRONTOPUS_GIT_TEST_DIR "/git_http_server.py";
}

int httpStat(int port, const std::string& key) {
  try {
    Poco::Net::HTTPClientSession session("127.0.0.1", static_cast<Poco::UInt16>(port));
    Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_GET, "/_stats",
                                   Poco::Net::HTTPMessage::HTTP_1_1);
    session.sendRequest(request);
    Poco::Net::HTTPResponse response;
    std::istream& body = session.receiveResponse(response);
    Poco::JSON::Parser parser;
    auto object = parser.parse(body).extract<Poco::JSON::Object::Ptr>();
    return object->getValue<int>(key);
  } catch (const std::exception&) {
    return -1;
  }
}

std::vector<std::string> filesContaining(const fs::path& root, const std::string& needle) {
  std::vector<std::string> hits;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file(ec) && readFile(it->path()).find(needle) != std::string::npos) {
      hits.push_back(it->path().string());
    }
  }
  return hits;
}

}  // namespace crontopus::plugins::git::test
