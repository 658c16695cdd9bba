#include "AgentHarness.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "TestSupport.h"

extern char** environ;

namespace crontopus::tests {

namespace fs = std::filesystem;

std::vector<std::string> makeRevisions(
    const std::string& path, const std::vector<std::map<std::string, std::string>>& revisions) {
  fs::create_directories(path);
  git(path, {"init", "-q", "-b", "main"});
  std::vector<std::string> commits;
  for (std::size_t i = 0; i < revisions.size(); ++i) {
    for (const auto& entry : fs::directory_iterator(path)) {
      if (entry.path().filename() != ".git")
        fs::remove_all(entry.path());
    }
    for (const auto& [file, text] : revisions[i])
      writeFile(path + "/" + file, text);
    git(path, {"add", "-A"});
    git(path, {"commit", "-q", "--allow-empty", "-m", "revision " + std::to_string(i)});
    std::string id = git(path, {"rev-parse", "HEAD"});
    commits.push_back(id.substr(0, id.find('\n')));
  }
  return commits;
}

void moveMain(const std::string& repo, const std::string& commit) {
  git(repo, {"update-ref", "refs/heads/main", commit});
}

std::string jobManifest(const std::string& name, const std::string& schedule, bool paused,
                        const std::string& extra_spec) {
  return "apiVersion: v1\nkind: Job\nmetadata:\n  name: " + name +
         "\n  tenant: t\nspec:\n  schedule: \"" + schedule +
         "\"\n  command: /bin/echo\n  args: [\"" + name +
         " ran\"]\n  paused: " + (paused ? "true" : "false") + "\n" + extra_spec;
}

pid_t spawnAgent(const std::vector<std::string>& args, const std::string& log,
                 const std::map<std::string, std::string>& env) {
  std::vector<std::string> argv = {AGENT_BIN};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> cargv;
  for (auto& a : argv)
    cargv.push_back(a.data());
  cargv.push_back(nullptr);
  std::vector<std::string> envs;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string text(*e);
    if (env.count(text.substr(0, text.find('='))) == 0)
      envs.push_back(text);
  }
  for (const auto& [k, v] : env)
    envs.push_back(k + "=" + v);
  std::vector<char*> cenv;
  for (auto& e : envs)
    cenv.push_back(e.data());
  cenv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attributes, 0);
  pid_t pid = -1;
  const int rc =
      posix_spawn(&pid, argv[0].c_str(), &actions, &attributes, cargv.data(), cenv.data());
  posix_spawnattr_destroy(&attributes);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0)
    throw std::runtime_error("cannot start the agent: " + std::to_string(rc));
  return pid;
}

int reap(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR)
      return -1;
  }
  if (WIFEXITED(status))
    return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}

bool running(pid_t pid) {
  siginfo_t info{};
  // WNOWAIT: look without reaping, so the caller can still kill and reap it.
  if (waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0)
    return false;
  return info.si_pid == 0;
}

bool awaitProcessGroupGone(pid_t group, std::chrono::seconds timeout) {
  return waitFor(
      [&] {
        std::error_code ec;
        for (const auto& entry : fs::directory_iterator("/proc", ec)) {
          const std::string name = entry.path().filename().string();
          if (name.find_first_not_of("0123456789") != std::string::npos)
            continue;
          std::ifstream in(entry.path() / "stat");
          std::string line;
          std::getline(in, line);
          // pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses.
          const auto close = line.rfind(')');
          if (close == std::string::npos)
            continue;
          std::istringstream rest(line.substr(close + 1));
          std::string state;
          long ppid = 0, pgrp = 0;
          rest >> state >> ppid >> pgrp;
          if (pgrp == group && state != "Z")
            return false;
        }
        return true;
      },
      timeout);
}

std::map<std::string, std::string> snapshotTree(const std::string& root) {
  std::map<std::string, std::string> out;
  std::error_code ec;
  if (!fs::exists(root, ec))
    return out;
  if (fs::is_regular_file(root, ec)) {
    out[""] = readFile(root);
    return out;
  }
  for (auto it = fs::recursive_directory_iterator(root, ec); it != fs::end(it); it.increment(ec)) {
    const auto rel = fs::relative(it->path(), root).string();
    if (it->is_symlink())
      out[rel] = "-> " + fs::read_symlink(it->path()).string();
    else if (it->is_regular_file())
      out[rel] = readFile(it->path().string());
  }
  return out;
}

std::vector<std::string> filesContaining(const std::string& root, const std::string& needle) {
  std::vector<std::string> hits;
  std::error_code ec;
  if (!fs::exists(root, ec))
    return hits;
  auto check = [&](const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    if (s.str().find(needle) != std::string::npos)
      hits.push_back(p.string());
  };
  if (fs::is_regular_file(root, ec)) {
    check(root);
    return hits;
  }
  for (auto it = fs::recursive_directory_iterator(root, ec); it != fs::end(it); it.increment(ec)) {
    if (it->is_regular_file() && !it->is_symlink())
      check(it->path());
  }
  return hits;
}

TmpfsMount::TmpfsMount(std::string path, int megabytes) : path_(std::move(path)) {
  fs::create_directories(path_);
  const std::string options = "size=" + std::to_string(megabytes) + "m,mode=0755";
  if (::mount("tmpfs", path_.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, options.c_str()) != 0) {
    throw std::runtime_error("cannot mount a tmpfs on " + path_ + ": " + std::strerror(errno) +
                             " (this test needs root)");
  }
}

TmpfsMount::~TmpfsMount() {
  (void)::umount2(path_.c_str(), MNT_DETACH);
}

std::vector<std::string> processesWithArgument(const std::string& needle) {
  std::vector<std::string> hits;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos)
      continue;
    std::ifstream in(entry.path() / "cmdline", std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    std::string line = text.str();
    if (line.find(needle) == std::string::npos)
      continue;
    for (char& c : line) {
      if (c == '\0')
        c = ' ';
    }
    hits.push_back(name + ": " + line);
  }
  return hits;
}

}  // namespace crontopus::tests
