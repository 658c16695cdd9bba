#include "NetworkDeadline.h"
#include "DeadlineStream.h"

#include <fcntl.h>
#include <git2.h>
#include <git2/sys/stream.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <type_traits>

namespace crontopus::plugins::git {
namespace {

// Sockets opened by our stream, by the thread that opened them, so that a watchdog can shut
// down exactly its own thread's connections.
std::mutex g_sockets_mutex;
std::multimap<std::thread::id, int>& sockets() {
  static std::multimap<std::thread::id, int> map;
  return map;
}

void addSocket(int fd) {
  std::lock_guard lock(g_sockets_mutex);
  sockets().emplace(std::this_thread::get_id(), fd);
}

// Unregisters and closes under the lock, so a watchdog never shuts down a reused descriptor.
void closeSocket(int fd) {
  std::lock_guard lock(g_sockets_mutex);
  auto& map = sockets();
  for (auto it = map.begin(); it != map.end(); ++it) {
    if (it->second == fd) {
      map.erase(it);
      break;
    }
  }
  ::close(fd);
}

// Same leading layout as libgit2 1.5's git_socket_stream: its SSH transport reads the
// descriptor `s` from the stream it gets from the standard-stream registry.
struct DeadlineStream {
  git_stream parent;
  char* host;
  char* port;
  int s;
};
static_assert(std::is_standard_layout_v<DeadlineStream>);

// Milliseconds left for poll(): -1 (wait forever) without a deadline, 0 when already expired.
int remainingMillis() {
  NetworkDeadline* scope = NetworkDeadline::current();
  if (scope == nullptr) {
    return -1;
  }
  if (scope->expired()) {
    return 0;
  }
  // Rounded up, so that poll() returns only once the deadline has really passed.
  auto left = std::chrono::ceil<std::chrono::milliseconds>(scope->deadline() -
                                                           NetworkDeadline::Clock::now());
  return left.count() <= 0 ? 0 : static_cast<int>(std::min<long long>(left.count(), 1 << 30));
}

int timeoutError(const char* what, const DeadlineStream* st) {
  NetworkDeadline* scope = NetworkDeadline::current();
  std::string message =
      std::string(what) + " " + st->host + ":" + st->port + ": " +
      (scope != nullptr && scope->stopRequested() ? "the agent is stopping" : "deadline exceeded");
  git_error_set_str(GIT_ERROR_NET, message.c_str());
  return -1;
}

int osError(const char* what, const DeadlineStream* st, int err) {
  std::string message =
      std::string(what) + " " + st->host + ":" + st->port + ": " + std::strerror(err);
  git_error_set_str(GIT_ERROR_NET, message.c_str());
  return -1;
}

// Waits for `events` on the stream's socket until the deadline; 1 ready, 0 timed out, -1 error.
int waitFor(DeadlineStream* st, short events) {
  for (;;) {
    pollfd pfd{st->s, events, 0};
    int rc = ::poll(&pfd, 1, remainingMillis());
    if (rc < 0 && errno == EINTR) {
      continue;
    }
    if (rc < 0) {
      return -1;
    }
    if (rc == 0) {
      return 0;
    }
    NetworkDeadline* scope = NetworkDeadline::current();
    if (scope != nullptr && scope->expired()) {
      return 0;
    }
    return 1;
  }
}

int streamConnect(git_stream* stream) {
  auto* st = reinterpret_cast<DeadlineStream*>(stream);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* info = nullptr;
  int gai = ::getaddrinfo(st->host, st->port, &hints, &info);
  if (gai != 0) {
    std::string message = std::string("cannot resolve ") + st->host + ": " + ::gai_strerror(gai);
    git_error_set_str(GIT_ERROR_NET, message.c_str());
    return -1;
  }
  int last_errno = ECONNREFUSED;
  bool timed_out = false;
  for (addrinfo* ai = info; ai != nullptr; ai = ai->ai_next) {
    int fd =
        ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
    if (fd < 0) {
      last_errno = errno;
      continue;
    }
    addSocket(fd);
    st->s = fd;
    int rc = ::connect(fd, ai->ai_addr, ai->ai_addrlen);
    if (rc < 0 && errno == EINPROGRESS) {
      int ready = waitFor(st, POLLOUT);
      if (ready == 1) {
        int so_error = 0;
        socklen_t len = sizeof(so_error);
        rc = ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len) == 0 && so_error == 0 ? 0 : -1;
        errno = so_error != 0 ? so_error : errno;
      } else {
        timed_out = ready == 0;
        rc = -1;
      }
    }
    if (rc == 0) {
      // Blocking from here on: libssh2 expects a blocking descriptor; our own reads and
      // writes poll before each call.
      int flags = ::fcntl(fd, F_GETFL);
      ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
      // Request/response traffic: do not hold back a request's tail waiting for an ACK.
      int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      ::freeaddrinfo(info);
      return 0;
    }
    last_errno = errno;
    st->s = -1;
    closeSocket(fd);
    if (timed_out) {
      break;
    }
  }
  ::freeaddrinfo(info);
  if (timed_out) {
    return timeoutError("connecting to", st);
  }
  return osError("cannot connect to", st, last_errno);
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
  int ready = waitFor(st, POLLIN);
  if (ready == 0) {
    return timeoutError("reading from", st);
  }
  if (ready < 0) {
    return osError("cannot read from", st, errno);
  }
  for (;;) {
    ssize_t n = ::recv(st->s, data, len, 0);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return osError("cannot read from", st, errno);
    }
    NetworkDeadline* scope = NetworkDeadline::current();
    if (n == 0 && scope != nullptr && scope->expired()) {
      return timeoutError("reading from", st);
    }
    return n;
  }
}

ssize_t streamWrite(git_stream* stream, const char* data, size_t len, int flags) {
  (void)flags;
  auto* st = reinterpret_cast<DeadlineStream*>(stream);
  size_t written = 0;
  while (written < len) {
    int ready = waitFor(st, POLLOUT);
    if (ready == 0) {
      return timeoutError("writing to", st);
    }
    if (ready < 0) {
      return osError("cannot write to", st, errno);
    }
    ssize_t n = ::send(st->s, data + written, len - written, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return osError("cannot write to", st, errno);
    }
    written += static_cast<size_t>(n);
  }
  return static_cast<ssize_t>(written);
}

int streamClose(git_stream* stream) {
  auto* st = reinterpret_cast<DeadlineStream*>(stream);
  if (st->s >= 0) {
    closeSocket(st->s);
    st->s = -1;
  }
  return 0;
}

void streamFree(git_stream* stream) {
  auto* st = reinterpret_cast<DeadlineStream*>(stream);
  streamClose(stream);
  std::free(st->host);
  std::free(st->port);
  std::free(st);
}

}  // namespace

void shutdownSocketsOf(std::thread::id owner) {
  std::lock_guard lock(g_sockets_mutex);
  auto range = sockets().equal_range(owner);
  for (auto it = range.first; it != range.second; ++it) {
    ::shutdown(it->second, SHUT_RDWR);
  }
}

int deadlineStreamInit(git_stream** out, const char* host, const char* port) {
  auto* st = static_cast<DeadlineStream*>(std::calloc(1, sizeof(DeadlineStream)));
  if (st == nullptr) {
    git_error_set_str(GIT_ERROR_NOMEMORY, "out of memory");
    return -1;
  }
  st->host = ::strdup(host);
  st->port = ::strdup(port);
  st->s = -1;
  if (st->host == nullptr || st->port == nullptr) {
    std::free(st->host);
    std::free(st->port);
    std::free(st);
    git_error_set_str(GIT_ERROR_NOMEMORY, "out of memory");
    return -1;
  }
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
