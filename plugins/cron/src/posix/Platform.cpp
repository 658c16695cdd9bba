#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "../Platform.h"

extern char** environ;

namespace crontopus::plugins::cron::platform {

namespace {

using sdk::ErrorCode;
using sdk::Result;

std::string errnoText(int error) {
  return std::strerror(error);
}

// One owner per descriptor.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd(Fd&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = other.fd_;
      other.fd_ = -1;
    }
    return *this;
  }
  ~Fd() { reset(); }
  int get() const { return fd_; }
  int release() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void reset() {
    if (fd_ >= 0) {
      // Nothing useful to do when close fails on a pipe or a read-only file.
      (void)::close(fd_);
      fd_ = -1;
    }
  }

 private:
  int fd_ = -1;
};

Result makePipe(Fd& read_end, Fd& write_end) {
  int fds[2];
  if (::pipe(fds) != 0) {
    return Result::failure(ErrorCode::kIo, "cannot create a pipe: " + errnoText(errno));
  }
  read_end = Fd(fds[0]);
  write_end = Fd(fds[1]);
  for (int fd : fds) {
    if (::fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) {
      return Result::failure(ErrorCode::kIo,
                             "cannot set FD_CLOEXEC on a pipe: " + errnoText(errno));
    }
  }
  return Result::success();
}

Result setNonBlocking(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) {
    return Result::failure(ErrorCode::kIo, "cannot make a pipe non-blocking: " + errnoText(errno));
  }
  return Result::success();
}

// The child's standard input: a file holding all of `input`, already unlinked. A pipe fed by the
// agent would end early if the agent died half way (SIGKILL, OOM): `crontab -` would then install
// what it had read so far, an empty crontab at worst, foreign entries gone. A file always ends
// where the input ends, whenever the agent dies.
Result inputFile(std::string_view input, Fd& out) {
#if defined(__linux__)
  Fd fd(::memfd_create("crontopus-stdin", MFD_CLOEXEC));
#else
  const char* tmpdir = std::getenv("TMPDIR");
  std::string path = std::string(tmpdir != nullptr && *tmpdir != '\0' ? tmpdir : "/tmp") +
                     "/crontopus-stdin.XXXXXX";
  Fd fd(::mkstemp(path.data()));
  if (fd.get() >= 0) {
    (void)::unlink(path.c_str());
    (void)::fcntl(fd.get(), F_SETFD, FD_CLOEXEC);
  }
#endif
  if (fd.get() < 0) {
    return Result::failure(ErrorCode::kIo,
                           "cannot create a file for a command's input: " + errnoText(errno));
  }
  std::size_t done = 0;
  while (done < input.size()) {
    const ssize_t n = ::write(fd.get(), input.data() + done, input.size() - done);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return Result::failure(ErrorCode::kIo,
                             "cannot write a command's input to a file: " + errnoText(errno));
    }
    done += static_cast<std::size_t>(n);
  }
  if (::lseek(fd.get(), 0, SEEK_SET) != 0) {
    return Result::failure(ErrorCode::kIo, "cannot rewind a command's input: " + errnoText(errno));
  }
  out = std::move(fd);
  return Result::success();
}

std::vector<std::string> childEnvironment() {
  std::vector<std::string> env;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string_view text(*entry);
    if (text.substr(0, 7) == "LC_ALL=" || text.substr(0, 9) == "LANGUAGE=") {
      continue;
    }
    env.emplace_back(text);
  }
  // crontab's messages ("no crontab for USER") are matched by text.
  env.emplace_back("LC_ALL=C");
  return env;
}

class SpawnAttributes {
 public:
  SpawnAttributes() = default;
  SpawnAttributes(const SpawnAttributes&) = delete;
  SpawnAttributes& operator=(const SpawnAttributes&) = delete;
  ~SpawnAttributes() {
    if (attr_ok_) {
      (void)posix_spawnattr_destroy(&attr_);
    }
    if (actions_ok_) {
      (void)posix_spawn_file_actions_destroy(&actions_);
    }
  }
  int init() {
    int rc = posix_spawnattr_init(&attr_);
    if (rc != 0) {
      return rc;
    }
    attr_ok_ = true;
    rc = posix_spawn_file_actions_init(&actions_);
    if (rc != 0) {
      return rc;
    }
    actions_ok_ = true;
    return 0;
  }
  posix_spawnattr_t* attr() { return &attr_; }
  posix_spawn_file_actions_t* actions() { return &actions_; }

 private:
  posix_spawnattr_t attr_{};
  posix_spawn_file_actions_t actions_{};
  bool attr_ok_ = false;
  bool actions_ok_ = false;
};

pid_t waitFor(pid_t pid, int& status) {
  pid_t rc;
  do {
    rc = ::waitpid(pid, &status, 0);
  } while (rc < 0 && errno == EINTR);
  return rc;
}

}  // namespace

Result runProcess(const std::vector<std::string>& argv, std::string_view input,
                  std::chrono::milliseconds timeout, ProcessOutput& out) {
  out = ProcessOutput();
  if (argv.empty() || argv.front().empty()) {
    return Result::failure(ErrorCode::kInternal, "runProcess: empty command");
  }
  const std::string& program = argv.front();

  Fd in_file, out_read, out_write, err_read, err_write;
  if (Result made = inputFile(input, in_file); !made) {
    return made;
  }
  for (auto [r, w] : {std::pair{&out_read, &out_write}, std::pair{&err_read, &err_write}}) {
    Result made = makePipe(*r, *w);
    if (!made) {
      return made;
    }
  }

  SpawnAttributes spawn;
  int rc = spawn.init();
  sigset_t empty_mask;
  sigemptyset(&empty_mask);
  sigset_t default_signals;
  sigemptyset(&default_signals);
  for (int sig : {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD}) {
    sigaddset(&default_signals, sig);
  }
  if (rc == 0) {
    rc = posix_spawnattr_setsigmask(spawn.attr(), &empty_mask);
  }
  if (rc == 0) {
    rc = posix_spawnattr_setsigdefault(spawn.attr(), &default_signals);
  }
  if (rc == 0) {
    rc = posix_spawnattr_setflags(spawn.attr(), POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  }
  if (rc == 0) {
    rc = posix_spawn_file_actions_adddup2(spawn.actions(), in_file.get(), 0);
  }
  if (rc == 0) {
    rc = posix_spawn_file_actions_adddup2(spawn.actions(), out_write.get(), 1);
  }
  if (rc == 0) {
    rc = posix_spawn_file_actions_adddup2(spawn.actions(), err_write.get(), 2);
  }
  if (rc != 0) {
    return Result::failure(ErrorCode::kIo,
                           "cannot prepare to run '" + program + "': " + errnoText(rc));
  }

  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const std::string& arg : argv) {
    args.push_back(const_cast<char*>(arg.c_str()));
  }
  args.push_back(nullptr);
  std::vector<std::string> env = childEnvironment();
  std::vector<char*> envp;
  envp.reserve(env.size() + 1);
  for (std::string& entry : env) {
    envp.push_back(entry.data());
  }
  envp.push_back(nullptr);

  pid_t pid = -1;
  rc = posix_spawnp(&pid, program.c_str(), spawn.actions(), spawn.attr(), args.data(), envp.data());
  if (rc != 0) {
    return Result::failure(ErrorCode::kIo, "cannot run '" + program + "': " + errnoText(rc));
  }
  in_file.reset();
  out_write.reset();
  err_write.reset();

  Result io = Result::success();
  for (Fd* fd : {&out_read, &err_read}) {
    if (io) {
      io = setNonBlocking(fd->get());
    }
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  char buffer[65536];
  while (io && (out_read.get() >= 0 || err_read.get() >= 0)) {
    pollfd fds[2];
    nfds_t count = 0;
    Fd* owners[2];
    auto watch = [&](Fd& fd, short events) {
      if (fd.get() >= 0) {
        fds[count] = pollfd{fd.get(), events, 0};
        owners[count] = &fd;
        ++count;
      }
    };
    watch(out_read, POLLIN);
    watch(err_read, POLLIN);
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      io = Result::failure(ErrorCode::kIo, "'" + program + "' did not finish within " +
                                               std::to_string(timeout.count() / 1000) +
                                               " s; it was killed");
      break;
    }
    const int ready = ::poll(fds, count, static_cast<int>(left.count()));
    if (ready < 0) {
      if (errno == EINTR) {
        continue;
      }
      io = Result::failure(ErrorCode::kIo, "poll failed: " + errnoText(errno));
      break;
    }
    for (nfds_t k = 0; k < count; ++k) {
      if (fds[k].revents == 0) {
        continue;
      }
      Fd& fd = *owners[k];
      const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
      if (n > 0) {
        (&fd == &out_read ? out.out : out.err).append(buffer, static_cast<std::size_t>(n));
      } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        fd.reset();
      }
    }
  }
  if (!io) {
    (void)::kill(pid, SIGKILL);
  }
  int status = 0;
  if (waitFor(pid, status) < 0) {
    return Result::failure(ErrorCode::kIo,
                           "cannot wait for '" + program + "': " + errnoText(errno));
  }
  if (!io) {
    return io;
  }
  if (WIFEXITED(status)) {
    out.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    out.signal = WTERMSIG(status);
  }
  return Result::success();
}

Result readFile(const std::string& path, std::string& text, bool& exists) {
  text.clear();
  exists = false;
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) {
      return Result::success();
    }
    return Result::failure(ErrorCode::kIo, "cannot open " + path + ": " + errnoText(errno));
  }
  exists = true;
  char buffer[65536];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n > 0) {
      text.append(buffer, static_cast<std::size_t>(n));
    } else if (n == 0) {
      break;
    } else if (errno != EINTR) {
      return Result::failure(ErrorCode::kIo, "cannot read " + path + ": " + errnoText(errno));
    }
  }
  return Result::success();
}

Result writeFileAtomically(const std::string& path, std::string_view text, unsigned mode) {
  const std::size_t slash = path.rfind('/');
  const std::string dir =
      slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  // A leading dot: cron ignores files in /etc/cron.d whose names contain one, so it never reads
  // the half-written temporary file. One fixed name per target (one agent writes it, under its
  // state lock): what an agent killed mid-write left there is replaced by the next write rather
  // than piling up. Removed first and created anew, so a link planted there is never followed.
  const std::string temp = dir + "/." + base + ".crontopus-tmp";
  if (::unlink(temp.c_str()) != 0 && errno != ENOENT) {
    return Result::failure(ErrorCode::kIo, "cannot remove " + temp + ": " + errnoText(errno));
  }
  Fd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (fd.get() < 0) {
    return Result::failure(ErrorCode::kIo,
                           "cannot create a temporary file in " + dir + ": " + errnoText(errno));
  }
  auto fail = [&](const std::string& what) {
    const int error = errno;
    fd.reset();
    (void)::unlink(temp.c_str());
    return Result::failure(ErrorCode::kIo, what + " " + temp + ": " + errnoText(error));
  };
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd.get(), text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return fail("cannot write");
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fchmod(fd.get(), static_cast<mode_t>(mode)) != 0) {
    return fail("cannot chmod");
  }
  if (::fsync(fd.get()) != 0) {
    return fail("cannot fsync");
  }
  // The descriptor is gone after close() whatever it answers; never close it twice.
  if (::close(fd.release()) != 0) {
    const int error = errno;
    (void)::unlink(temp.c_str());
    return Result::failure(ErrorCode::kIo, "cannot close " + temp + ": " + errnoText(error));
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    const int error = errno;
    (void)::unlink(temp.c_str());
    return Result::failure(ErrorCode::kIo,
                           "cannot rename " + temp + " to " + path + ": " + errnoText(error));
  }
  Fd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir_fd.get() < 0 || ::fsync(dir_fd.get()) != 0) {
    return Result::failure(ErrorCode::kIo,
                           "cannot fsync directory " + dir + ": " + errnoText(errno));
  }
  return Result::success();
}

std::string findExecutable(const std::string& command) {
  if (command.empty()) {
    return {};
  }
  if (command.find('/') != std::string::npos) {
    return ::access(command.c_str(), X_OK) == 0 ? command : std::string();
  }
  const char* path_env = std::getenv("PATH");
  const std::string path = path_env != nullptr ? path_env : "/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find(':', start);
    if (end == std::string::npos) {
      end = path.size();
    }
    std::string dir = path.substr(start, end - start);
    if (dir.empty()) {
      dir = ".";
    }
    const std::string candidate = dir + "/" + command;
    struct stat st {};
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        ::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
    start = end + 1;
  }
  return {};
}

std::string currentUserName() {
  long size = ::sysconf(_SC_GETPW_R_SIZE_MAX);
  std::vector<char> buffer(size > 0 ? static_cast<std::size_t>(size) : 16384);
  passwd pw{};
  passwd* result = nullptr;
  int rc;
  while ((rc = ::getpwuid_r(::geteuid(), &pw, buffer.data(), buffer.size(), &result)) == ERANGE) {
    buffer.resize(buffer.size() * 2);
  }
  if (rc != 0 || result == nullptr || result->pw_name == nullptr) {
    return {};
  }
  return result->pw_name;
}

std::string hostTimezone() {
  char target[4096];
  const ssize_t n = ::readlink("/etc/localtime", target, sizeof target - 1);
  if (n > 0) {
    const std::string link(target, static_cast<std::size_t>(n));
    const std::size_t at = link.find("zoneinfo/");
    if (at != std::string::npos && at + 9 < link.size()) {
      return link.substr(at + 9);
    }
  }
  std::ifstream file("/etc/timezone");
  std::string zone;
  if (file && std::getline(file, zone)) {
    while (!zone.empty() && (zone.back() == ' ' || zone.back() == '\r')) {
      zone.pop_back();
    }
    return zone;
  }
  return {};
}

bool cronPlatform(std::string& reason) {
#if defined(__linux__) || defined(__APPLE__)
  reason.clear();
  return true;
#else
  reason = "the cron backend supports Linux and macOS only";
  return false;
#endif
}

bool directoryExists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

}  // namespace crontopus::plugins::cron::platform
