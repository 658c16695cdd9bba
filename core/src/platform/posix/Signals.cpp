#include "platform/Signals.h"

#include <signal.h>

#include <cerrno>

namespace crontopus::core::platform {

namespace {
sigset_t loopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGQUIT);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIGUSR1);
  return set;
}
}  // namespace

SignalWaiter::SignalWaiter() {
  sigset_t set = loopSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

SignalWaiter::~SignalWaiter() = default;

SignalEvent SignalWaiter::wait() {
  sigset_t set = loopSignals();
  while (true) {
    int sig = 0;
    if (sigwait(&set, &sig) != 0)
      continue;
    if (sig == SIGHUP)
      return SignalEvent::kSyncNow;
    if (sig == SIGUSR1)
      return SignalEvent::kReload;
    return SignalEvent::kStop;
  }
}

}  // namespace crontopus::core::platform
