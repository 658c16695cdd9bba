#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace crontopus::plugins::git {

// A deadline for the network operation running on the calling thread.
//
// libgit2 1.5 has no timeout option, and its progress callbacks are silent while a socket read
// blocks (a server that accepts and never answers, or an SSH handshake inside libssh2). So the
// plugin installs its own socket stream (installDeadlineSocketStream) whose connect, read and
// write wait at most until the deadline of the scope active on the thread, and a watchdog thread
// that shuts down the scope thread's sockets when the deadline passes, which also wakes libssh2,
// since it reads the descriptor directly.
//
// Threading: a scope belongs to the thread that created it; scopes do not nest. The watchdog is
// joined in the destructor, so no thread outlives the operation.
class NetworkDeadline {
 public:
  using Clock = std::chrono::steady_clock;

  NetworkDeadline(Clock::time_point deadline, const std::atomic<bool>* stop_requested);
  ~NetworkDeadline();
  NetworkDeadline(const NetworkDeadline&) = delete;
  NetworkDeadline& operator=(const NetworkDeadline&) = delete;

  Clock::time_point deadline() const noexcept { return deadline_; }
  // True once the deadline has passed (or the agent asked to stop).
  bool expired() const noexcept;
  bool stopRequested() const noexcept;

  // The scope active on the calling thread, or nullptr.
  static NetworkDeadline* current() noexcept;

 private:
  void watch();

  Clock::time_point deadline_;
  const std::atomic<bool>* stop_requested_;
  std::thread::id owner_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool finished_ = false;
  std::atomic<bool> fired_{false};
  std::thread watchdog_;
};

// Registers the deadline-aware stream as libgit2's standard socket stream (plain TCP, and the
// transport under TLS). Returns false with a libgit2 error set when registration fails.
bool installDeadlineSocketStream();

}  // namespace crontopus::plugins::git
