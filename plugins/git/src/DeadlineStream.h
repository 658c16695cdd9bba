#pragma once

#include <git2.h>
#include <git2/sys/stream.h>

#include <thread>

namespace crontopus::plugins::git {

// The per-OS half of NetworkDeadline (src/posix: BSD sockets and poll; src/windows: Winsock and
// select); the scope and its watchdog (NetworkDeadline.cpp) are shared.

// libgit2's stream constructor for plain TCP: connect, read and write wait at most until the
// deadline of the scope active on the calling thread.
int deadlineStreamInit(git_stream** out, const char* host, const char* port);

// Shuts down every socket the thread `owner` opened through the stream (the watchdog's move
// when the deadline passes), which wakes whatever blocks on them.
void shutdownSocketsOf(std::thread::id owner);

}  // namespace crontopus::plugins::git
