// winsock2.h before windows.h (which git2.h may pull in), or the old winsock.h wins.
#include <winsock2.h>
#include <ws2tcpip.h>

#include "DeadlineStream.h"
#include "NetworkDeadline.h"

#include <git2.h>
#include <git2/sys/stream.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <system_error>
#include <type_traits>

namespace crontopus::plugins::git {
namespace {

// The Winsock counterpart of the POSIX stream: connect, read and write wait at most until the
// deadline of the scope active on the thread, and the watchdog shuts down the scope thread's
// sockets when it passes. libgit2's HTTP(S) transport on Windows is WinHTTP, which does not use
// this stream: there the deadline is checked in libgit2's progress callbacks only (see
// plugins/git/README.md); this stream bounds git:// remotes.

std::mutex g_sockets_mutex;
std::multimap<std::thread::id, SOCKET>& sockets() {
  static std::multimap<std::thread::id, SOCKET> map;
  return map;
}

void addSocket(SOCKET s) {
  std::lock_guard lock(g_sockets_mutex);
  sockets().emplace(std::this_thread::get_id(), s);
}

// Unregisters and closes under the lock, so a watchdog never shuts down a reused handle.
void closeSocket(SOCKET s) {
  std::lock_guard lock(g_sockets_mutex);
  auto& map = sockets();
  for (auto it = map.begin(); it != map.end(); ++it) {
    if (it->second == s) {
      map.erase(it);
      break;
    }
  }
  ::closesocket(s);
}

// Same leading layout as libgit2 1.5's git_socket_stream on Windows (SOCKET s).
struct DeadlineStream {
  git_stream parent;
  char* host;
  char* port;
  SOCKET s;
  bool winsock_started;
};
static_assert(std::is_standard_layout_v<DeadlineStream>);

std::string socketErrorText(int code) {
  return std::system_category().message(code);
}

int timeoutError(const char* what, const DeadlineStream* st) {
  NetworkDeadline* scope = NetworkDeadline::current();
  std::string message =
      std::string(what) + " " + st->host + ":" + st->port + ": " +
      (scope != nullptr && scope->stopRequested() ? "the agent is stopping" : "deadline exceeded");
  git_error_set_str(GIT_ERROR_NET, message.c_str());
  return -1;
}

int osError(const char* what, const DeadlineStream* st, int code) {
  std::string message =
      std::string(what) + " " + st->host + ":" + st->port + ": " + socketErrorText(code);
  git_error_set_str(GIT_ERROR_NET, message.c_str());
  return -1;
}

// Waits until the socket is readable (or writable) or the deadline passes: 1 ready, 0 timed
// out, -1 error (WSAGetLastError). select(), not WSAPoll: WSAPoll does not report a failed
// non-blocking connect on older Windows versions. A connect that failed shows in `except`.
int waitFor(DeadlineStream* st, bool write) {
  NetworkDeadline* scope = NetworkDeadline::current();
  if (scope != nullptr && scope->expired()) {
    return 0;
  }
  fd_set ready;
  fd_set except;
  FD_ZERO(&ready);
  FD_ZERO(&except);
  FD_SET(st->s, &ready);
  FD_SET(st->s, &except);
  timeval limit{};
  timeval* timeout = nullptr;
  if (scope != nullptr) {
    auto left = std::chrono::ceil<std::chrono::microseconds>(scope->deadline() -
                                                             NetworkDeadline::Clock::now());
    long long micros = std::clamp<long long>(left.count(), 0, static_cast<long long>(INT_MAX));
    limit.tv_sec = static_cast<long>(micros / 1000000);
    limit.tv_usec = static_cast<long>(micros % 1000000);
    timeout = &limit;
  }
  int rc = ::select(0, write ? nullptr : &ready, write ? &ready : nullptr, &except, timeout);
  if (rc == SOCKET_ERROR) {
    return -1;
  }
  if (rc == 0 || (scope != nullptr && scope->expired())) {
    return 0;
  }
  return 1;
}

int streamConnect(git_stream* stream) {
  auto* st = reinterpret_cast<DeadlineStream*>(stream);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* info = nullptr;
  int gai = ::getaddrinfo(st->host, st->port, &hints, &info);
  if (gai != 0) {
    std::string message = std::string("cannot resolve ") + st->host + ": " + socketErrorText(gai);
    git_error_set_str(GIT_ERROR_NET, message.c_str());
    return -1;
  }
  int last_error = WSAECONNREFUSED;
  bool timed_out = false;
  for (addrinfo* ai = info; ai != nullptr; ai = ai->ai_next) {
    SOCKET s = ::WSASocketW(ai->ai_family, ai->ai_socktype, ai->ai_protocol, nullptr, 0,
                            WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
    if (s == INVALID_SOCKET) {
      last_error = ::WSAGetLastError();
      continue;
    }
    addSocket(s);
    st->s = s;
    u_long non_blocking = 1;
    int rc = ::ioctlsocket(s, FIONBIO, &non_blocking);
    if (rc == 0) {
      rc = ::connect(s, ai->ai_addr, static_cast<int>(ai->ai_addrlen));
    }
    if (rc == SOCKET_ERROR && ::WSAGetLastError() == WSAEWOULDBLOCK) {
      int ready = waitFor(st, true);
      if (ready == 1) {
        int so_error = 0;
        int len = sizeof(so_error);
        rc = ::getsockopt(s, SOL_SOCKET, SO_ERROR, reinterpret_cast<char*>(&so_error), &len) == 0 &&
                     so_error == 0
                 ? 0
                 : SOCKET_ERROR;
        if (so_error != 0) {
          ::WSASetLastError(so_error);
        }
      } else {
        timed_out = ready == 0;
        rc = SOCKET_ERROR;
      }
    }
    if (rc == 0) {
      // Blocking from here on; our reads and writes wait before each call.
      u_long blocking = 0;
      ::ioctlsocket(s, FIONBIO, &blocking);
      BOOL one = TRUE;
      ::setsockopt(s, IPPROTO_TCP, TCP_NODELAY, reinterpret_cast<const char*>(&one), sizeof(one));
      ::freeaddrinfo(info);
      return 0;
    }
    last_error = ::WSAGetLastError();
    st->s = INVALID_SOCKET;
    closeSocket(s);
    if (timed_out) {
      break;
    }
  }
  ::freeaddrinfo(info);
  if (timed_out) {
    return timeoutError("connecting to", st);
  }
  return osError("cannot connect to", st, last_error);
}

int streamCertificate(git_cert** out, git_stream* stream) {
  (void)out;
  (void)stream;
  git_error_set_str(GIT_ERROR_NET, "a plain socket has no certificate");
  return -1;
}

int streamSetProxy(git_stream* stream, const git_proxy_options* options) {
  (void)stream;
  (void)options;
  git_error_set_str(GIT_ERROR_NET, "proxies are not supported by the crontopus git plugin");
  return -1;
}

ssize_t streamRead(git_stream* stream, void* data, size_t len) {
  auto* st = reinterpret_cast<DeadlineStream*>(stream);
  int ready = waitFor(st, false);
  if (ready == 0) {
    return timeoutError("reading from", st);
  }
  if (ready < 0) {
    return osError("cannot read from", st, ::WSAGetLastError());
  }
  int n =
      ::recv(st->s, static_cast<char*>(data), static_cast<int>(std::min<size_t>(len, INT_MAX)), 0);
  if (n == SOCKET_ERROR) {
    NetworkDeadline* scope = NetworkDeadline::current();
    if (scope != nullptr && scope->expired()) {
      return timeoutError("reading from", st);
    }
    return osError("cannot read from", st, ::WSAGetLastError());
  }
  NetworkDeadline* scope = NetworkDeadline::current();
  if (n == 0 && scope != nullptr && scope->expired()) {
    return timeoutError("reading from", st);
  }
  return n;
}

ssize_t streamWrite(git_stream* stream, const char* data, size_t len, int flags) {
  (void)flags;
  auto* st = reinterpret_cast<DeadlineStream*>(stream);
  size_t written = 0;
  while (written < len) {
    int ready = waitFor(st, true);
    if (ready == 0) {
      return timeoutError("writing to", st);
    }
    if (ready < 0) {
      return osError("cannot write to", st, ::WSAGetLastError());
    }
    int n = ::send(st->s, data + written,
                   static_cast<int>(std::min<size_t>(len - written, INT_MAX)), 0);
    if (n == SOCKET_ERROR) {
      return osError("cannot write to", st, ::WSAGetLastError());
    }
    written += static_cast<size_t>(n);
  }
  return static_cast<ssize_t>(written);
}

int streamClose(git_stream* stream) {
  auto* st = reinterpret_cast<DeadlineStream*>(stream);
  if (st->s != INVALID_SOCKET) {
    closeSocket(st->s);
    st->s = INVALID_SOCKET;
  }
  return 0;
}

void streamFree(git_stream* stream) {
  auto* st = reinterpret_cast<DeadlineStream*>(stream);
  streamClose(stream);
  if (st->winsock_started) {
    ::WSACleanup();
  }
  std::free(st->host);
  std::free(st->port);
  std::free(st);
}

}  // namespace

void shutdownSocketsOf(std::thread::id owner) {
  std::lock_guard lock(g_sockets_mutex);
  auto range = sockets().equal_range(owner);
  for (auto it = range.first; it != range.second; ++it) {
    ::shutdown(it->second, SD_BOTH);
  }
}

int deadlineStreamInit(git_stream** out, const char* host, const char* port) {
  auto* st = static_cast<DeadlineStream*>(std::calloc(1, sizeof(DeadlineStream)));
  if (st == nullptr) {
    git_error_set_str(GIT_ERROR_NOMEMORY, "out of memory");
    return -1;
  }
  st->host = ::_strdup(host);
  st->port = ::_strdup(port);
  st->s = INVALID_SOCKET;
  if (st->host == nullptr || st->port == nullptr) {
    std::free(st->host);
    std::free(st->port);
    std::free(st);
    git_error_set_str(GIT_ERROR_NOMEMORY, "out of memory");
    return -1;
  }
  // Reference-counted by Winsock: the plugin does not depend on the host having started it.
  WSADATA wsa;
  int rc = ::WSAStartup(MAKEWORD(2, 2), &wsa);
  if (rc != 0) {
    std::string message = "cannot start Winsock: " + socketErrorText(rc);
    std::free(st->host);
    std::free(st->port);
    std::free(st);
    git_error_set_str(GIT_ERROR_NET, message.c_str());
    return -1;
  }
  st->winsock_started = true;
  st->parent.version = GIT_STREAM_VERSION;
  st->parent.encrypted = 0;
  st->parent.proxy_support = 0;
  st->parent.connect = streamConnect;
  st->parent.certificate = streamCertificate;
  st->parent.set_proxy = streamSetProxy;
  st->parent.read = streamRead;
  st->parent.write = streamWrite;
  st->parent.close = streamClose;
  st->parent.free = streamFree;
  *out = &st->parent;
  return 0;
}

}  // namespace crontopus::plugins::git
