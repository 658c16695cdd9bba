#include "platform/JobProcess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <deque>

#include "CommandQuoting.h"

namespace crontopus::core::platform {

namespace {

volatile sig_atomic_t g_stop_signal = 0;

void onStopSignal(int sig) {
  g_stop_signal = sig;
}

}  // namespace

std::string jobCommandLine(const std::string& command, const std::vector<std::string>& args,
                           const std::vector<std::string>& /*environment*/) {
  return shellCommandLine(command, args);
}

JobProcessOutcome runJobProcess(const JobProcessSpec& spec) {
  JobProcessOutcome outcome;
  const auto started = std::chrono::steady_clock::now();
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
    outcome.start_error = std::string("cannot create a pipe: ") + std::strerror(errno);
    outcome.exit_code = 127;
    return outcome;
  }
  int out_fd = -1;
  if (!spec.output_path.empty()) {
    out_fd = open(spec.output_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  }
  std::vector<char*> envp;
  for (const auto& e : spec.env)
    envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  struct sigaction action {};
  action.sa_handler = onStopSignal;
  sigemptyset(&action.sa_mask);
  struct sigaction old_term {
  }, old_int{}, old_hup{};
  sigaction(SIGTERM, &action, &old_term);
  sigaction(SIGINT, &action, &old_int);
  sigaction(SIGHUP, &action, &old_hup);

  pid_t pid = fork();
  if (pid < 0) {
    outcome.start_error = std::string("cannot fork: ") + std::strerror(errno);
    outcome.exit_code = 127;
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    if (out_fd >= 0)
      close(out_fd);
    return outcome;
  }
  if (pid == 0) {
    // Child: only async-signal-safe calls from here to exec.
    setpgid(0, 0);
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    sigaction(SIGTERM, &dfl, nullptr);
    sigaction(SIGINT, &dfl, nullptr);
    sigaction(SIGHUP, &dfl, nullptr);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0)
      dup2(devnull, 0);
    dup2(pipe_fds[1], 1);
    dup2(pipe_fds[1], 2);
    if (!spec.working_dir.empty() && chdir(spec.working_dir.c_str()) != 0) {
      const char msg[] = "crontopus-agent run: cannot change to the working directory\n";
      ssize_t ignored = write(2, msg, sizeof msg - 1);
      (void)ignored;
      _exit(126);
    }
    execle("/bin/sh", "sh", "-c", spec.shell_command.c_str(), static_cast<char*>(nullptr),
           envp.data());
    _exit(127);
  }
  setpgid(pid, pid);  // also from the parent, so the group exists before we might signal it
  close(pipe_fds[1]);

  const auto deadline = started + std::chrono::seconds(spec.timeout_seconds);
  std::chrono::steady_clock::time_point kill_at{};
  bool term_sent = false;
  std::size_t written = 0;
  bool pipe_open = true;
  int status = 0;
  bool reaped = false;
  std::chrono::steady_clock::time_point drain_until{};
  int reap_poll_us = 500;
  char buf[16384];
  while (!reaped || pipe_open) {
    const auto now = std::chrono::steady_clock::now();
    if (!reaped && !term_sent && (now >= deadline || g_stop_signal != 0)) {
      if (g_stop_signal != 0) {
        outcome.interrupted = true;
      } else {
        outcome.timed_out = true;
      }
      kill(-pid, SIGTERM);
      term_sent = true;
      kill_at = now + std::chrono::seconds(spec.kill_grace_seconds);
    }
    if (term_sent && now >= kill_at)
      kill(-pid, SIGKILL);
    int wait_ms = 200;
    if (!pipe_open) {
      // Output closed but the process lives: usually it is exiting (the pipe closes before the
      // exit status is ready), else it closed its stdout and goes on. Poll 0.5 ms, doubling to
      // 20 ms: a fixed 20 ms added that much wall time to nearly every run.
      pid_t r = waitpid(pid, &status, WNOHANG);
      if (r == pid) {
        reaped = true;
        break;
      }
      usleep(reap_poll_us);
      reap_poll_us = std::min(reap_poll_us * 2, 20000);
      continue;
    }
    struct pollfd pfd {
      pipe_fds[0], POLLIN, 0
    };
    int pr = poll(&pfd, 1, wait_ms);
    if (pr > 0) {
      ssize_t n = read(pipe_fds[0], buf, sizeof buf);
      if (n > 0) {
        keepTail(outcome.tail, buf, static_cast<std::size_t>(n), spec.tail_bytes);
        if (out_fd >= 0 && written < spec.output_cap) {
          std::size_t take =
              std::min<std::size_t>(static_cast<std::size_t>(n), spec.output_cap - written);
          if (::write(out_fd, buf, take) > 0)
            written += take;
        }
      } else if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
        pipe_open = false;
      }
    }
    if (!reaped) {
      pid_t r = waitpid(pid, &status, WNOHANG);
      if (r == pid) {
        reaped = true;
        // A background child may hold the pipe open: collect what is already written, then
        // stop reading rather than tie the run to a daemon the job started on purpose.
        drain_until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
      }
    } else if (pipe_open && std::chrono::steady_clock::now() >= drain_until) {
      pipe_open = false;
    }
  }
  close(pipe_fds[0]);
  if (term_sent) {
    // The shell may die of the SIGTERM while a process of its group ignores it; the loop above
    // ends with the shell. The group still gets its SIGKILL once the grace period is over.
    while (kill(-pid, 0) == 0 && std::chrono::steady_clock::now() < kill_at)
      usleep(20000);
    kill(-pid, SIGKILL);
  }
  if (out_fd >= 0) {
    if (written >= spec.output_cap) {
      const char note[] = "\n[crontopus: output truncated at the size cap]\n";
      ssize_t ignored = ::write(out_fd, note, sizeof note - 1);
      (void)ignored;
    }
    close(out_fd);
  }
  sigaction(SIGTERM, &old_term, nullptr);
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGHUP, &old_hup, nullptr);
  if (WIFEXITED(status)) {
    outcome.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    outcome.signal = WTERMSIG(status);
    outcome.exit_code = 128 + outcome.signal;
  }
  outcome.elapsed = std::chrono::steady_clock::now() - started;
  return outcome;
}

}  // namespace crontopus::core::platform
