#include "RemoteUrl.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace crontopus::plugins::git {
namespace {

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

sdk::Result configError(const std::string& url, const std::string& why) {
  return sdk::Result::failure(sdk::ErrorCode::kConfig, "git.url '" + url + "': " + why);
}

// Splits "[user[:password]@]host[:port]" into its parts.
sdk::Result parseAuthority(const std::string& url, const std::string& authority, RemoteUrl& out) {
  std::string host_port = authority;
  auto at = authority.rfind('@');
  if (at != std::string::npos) {
    std::string userinfo = authority.substr(0, at);
    host_port = authority.substr(at + 1);
    if (userinfo.find(':') != std::string::npos) {
      // The password is not echoed back: the message shows only the host.
      return sdk::Result::failure(
          sdk::ErrorCode::kConfig,
          "git.url for host " + host_port +
              " contains a password; put credentials in git.auth (basic or token) instead");
    }
    out.user = userinfo;
  }
  std::string port_text;
  if (!host_port.empty() && host_port.front() == '[') {
    auto close = host_port.find(']');
    if (close == std::string::npos) {
      return configError(url, "unbalanced '[' in the host");
    }
    out.host = host_port.substr(1, close - 1);
    if (close + 1 < host_port.size()) {
      if (host_port[close + 1] != ':') {
        return configError(url, "unexpected text after ']'");
      }
      port_text = host_port.substr(close + 2);
    }
  } else {
    auto colon = host_port.rfind(':');
    if (colon != std::string::npos) {
      out.host = host_port.substr(0, colon);
      port_text = host_port.substr(colon + 1);
    } else {
      out.host = host_port;
    }
  }
  out.host = lower(out.host);
  if (out.host.empty()) {
    return configError(url, "no host name");
  }
  if (!port_text.empty()) {
    int port = 0;
    auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || ptr != port_text.data() + port_text.size() || port <= 0 ||
        port > 65535) {
      return configError(url, "invalid port '" + port_text + "'");
    }
    out.port = port;
  }
  return sdk::Result::success();
}

}  // namespace

int RemoteUrl::effectivePort() const noexcept {
  if (port != 0) {
    return port;
  }
  switch (kind) {
    case Kind::kHttps:
      return 443;
    case Kind::kHttp:
      return 80;
    case Kind::kSsh:
      return 22;
    case Kind::kGit:
      return 9418;
    case Kind::kFile:
      return 0;
  }
  return 0;
}

bool isLoopbackHost(const std::string& host) {
  std::string h = lower(host);
  if (h == "localhost" || h == "::1" || h == "ip6-localhost" || h.ends_with(".localhost")) {
    return true;
  }
  return h.starts_with("127.") && std::all_of(h.begin(), h.end(), [](char c) {
           return c == '.' || std::isdigit(static_cast<unsigned char>(c));
         });
}

sdk::Result parseRemoteUrl(const std::string& url, bool allow_insecure_http, RemoteUrl& out) {
  out = RemoteUrl{};
  out.text = url;
  if (url.empty()) {
    return sdk::Result::failure(sdk::ErrorCode::kConfig, "git.url is empty");
  }
  if (url.find_first_of("\r\n") != std::string::npos) {
    return sdk::Result::failure(sdk::ErrorCode::kConfig, "git.url contains a line break");
  }
  auto scheme_end = url.find("://");
  if (scheme_end != std::string::npos) {
    std::string scheme = lower(url.substr(0, scheme_end));
    std::string rest = url.substr(scheme_end + 3);
    if (scheme == "file") {
      out.kind = RemoteUrl::Kind::kFile;
      return sdk::Result::success();
    }
    if (scheme == "https") {
      out.kind = RemoteUrl::Kind::kHttps;
    } else if (scheme == "http") {
      out.kind = RemoteUrl::Kind::kHttp;
    } else if (scheme == "ssh" || scheme == "git+ssh" || scheme == "ssh+git") {
      out.kind = RemoteUrl::Kind::kSsh;
    } else if (scheme == "git") {
      out.kind = RemoteUrl::Kind::kGit;
    } else {
      return configError(url, "unsupported scheme '" + scheme +
                                  "' (use https, http, ssh, git, file or a local path)");
    }
    std::string authority = rest.substr(0, rest.find('/'));
    if (auto r = parseAuthority(url, authority, out); !r) {
      return r;
    }
    if ((out.kind == RemoteUrl::Kind::kHttp || out.kind == RemoteUrl::Kind::kHttps) &&
        !out.user.empty()) {
      return configError(url, "put the user name in git.auth.username, not in the URL");
    }
    if (out.kind == RemoteUrl::Kind::kHttp && !allow_insecure_http && !isLoopbackHost(out.host)) {
      return configError(url, "plain http to " + out.host +
                                  " would expose credentials and content; use https or set "
                                  "git.allow_insecure_http: true");
    }
    return sdk::Result::success();
  }
  // scp-like [user@]host:path: a colon before any slash, and not a local path.
  auto colon = url.find(':');
  auto slash = url.find('/');
#if defined(_WIN32)
  // C:\path or C:/path is a local path on Windows, as git itself reads it there.
  const bool drive_path = colon == 1 && std::isalpha(static_cast<unsigned char>(url[0])) &&
                          url.size() > 2 && (url[2] == '\\' || url[2] == '/');
#else
  const bool drive_path = false;
#endif
  if (!drive_path && url.front() != '/' && url.front() != '.' && colon != std::string::npos &&
      colon > 0 && (slash == std::string::npos || colon < slash)) {
    out.kind = RemoteUrl::Kind::kSsh;
    std::string authority = url.substr(0, colon);
    auto at = authority.rfind('@');
    if (at != std::string::npos) {
      out.user = authority.substr(0, at);
      authority = authority.substr(at + 1);
    }
    if (authority.front() == '[' && authority.back() == ']') {
      authority = authority.substr(1, authority.size() - 2);
    }
    out.host = lower(authority);
    if (out.host.empty() || url.size() == colon + 1) {
      return configError(url, "scp-like URLs need a host and a path (user@host:path)");
    }
    return sdk::Result::success();
  }
  out.kind = RemoteUrl::Kind::kFile;
  return sdk::Result::success();
}

}  // namespace crontopus::plugins::git
