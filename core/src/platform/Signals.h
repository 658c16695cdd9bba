#pragma once

namespace crontopus::core::platform {

enum class SignalEvent { kStop, kSyncNow, kReload };

// Turns process signals into events for the agent loop: SIGTERM/SIGINT/SIGQUIT stop it, SIGHUP
// asks for a cycle now, SIGUSR1 for the configuration file to be read again. Construct it in the
// main thread before starting any other thread (the signals are blocked there and inherited
// blocked), then call wait() from the main thread.
class SignalWaiter {
 public:
  SignalWaiter();
  ~SignalWaiter();
  SignalWaiter(const SignalWaiter&) = delete;
  SignalWaiter& operator=(const SignalWaiter&) = delete;

  SignalEvent wait();
};

}  // namespace crontopus::core::platform
