#include "platform/Signals.h"

// clang-format off
#include <winsock2.h>
#include <windows.h>
// clang-format on

#include <Poco/NamedEvent.h>
#include <Poco/Process.h>
#include <Poco/Util/ServerApplication.h>

namespace crontopus::core::platform {

namespace {

BOOL WINAPI onConsoleControl(DWORD) {
  // Ctrl+C, Ctrl+Break, closing the console, log-off, shut-down: stop like SIGTERM.
  Poco::Util::ServerApplication::terminate();
  return TRUE;
}

}  // namespace

// Windows has no signals to block. A service stop (Poco's service control handler) and the
// console events above call ServerApplication::terminate(), which sets the process's
// termination event; wait() waits for that event. There is no Windows counterpart of SIGHUP and
// SIGUSR1: restart the service to read the configuration again.
SignalWaiter::SignalWaiter() {
  SetConsoleCtrlHandler(onConsoleControl, TRUE);
}

SignalWaiter::~SignalWaiter() {
  SetConsoleCtrlHandler(onConsoleControl, FALSE);
}

SignalEvent SignalWaiter::wait() {
  // The named event ServerApplication::terminate() sets.
  Poco::NamedEvent terminate(Poco::ProcessImpl::terminationEventName(Poco::Process::id()));
  terminate.wait();
  return SignalEvent::kStop;
}

}  // namespace crontopus::core::platform
