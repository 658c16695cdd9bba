#include "NetworkDeadline.h"

#include <algorithm>

#include "DeadlineStream.h"

namespace crontopus::plugins::git {
namespace {

thread_local NetworkDeadline* t_current = nullptr;

}  // namespace

NetworkDeadline::NetworkDeadline(Clock::time_point deadline,
                                 const std::atomic<bool>* stop_requested)
    : deadline_(deadline), stop_requested_(stop_requested), owner_(std::this_thread::get_id()) {
  t_current = this;
  watchdog_ = std::thread([this] { watch(); });
}

NetworkDeadline::~NetworkDeadline() {
  {
    std::lock_guard lock(mutex_);
    finished_ = true;
  }
  wake_.notify_all();
  watchdog_.join();
  t_current = nullptr;
}

bool NetworkDeadline::stopRequested() const noexcept {
  return stop_requested_ != nullptr && stop_requested_->load();
}

bool NetworkDeadline::expired() const noexcept {
  return fired_.load() || stopRequested() || Clock::now() >= deadline_;
}

NetworkDeadline* NetworkDeadline::current() noexcept {
  return t_current;
}

void NetworkDeadline::watch() {
  std::unique_lock lock(mutex_);
  // Wakes at least every 200 ms so that a stop request is noticed without the agent having to
  // reach into this object.
  while (!finished_) {
    auto next = std::min(deadline_, Clock::now() + std::chrono::milliseconds(200));
    wake_.wait_until(lock, next, [this] { return finished_; });
    if (finished_) {
      return;
    }
    if (Clock::now() >= deadline_ || stopRequested()) {
      fired_ = true;
      shutdownSocketsOf(owner_);
      return;
    }
  }
}

bool installDeadlineSocketStream() {
  git_stream_registration registration{};
  registration.version = GIT_STREAM_VERSION;
  registration.init = deadlineStreamInit;
  registration.wrap = nullptr;
  return git_stream_register(GIT_STREAM_STANDARD, &registration) == 0;
}

}  // namespace crontopus::plugins::git
