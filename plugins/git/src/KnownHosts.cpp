#include "KnownHosts.h"

#include <Poco/Base64Decoder.h>
#include <Poco/HMACEngine.h>
#include <Poco/SHA1Engine.h>

#include <algorithm>
#include <cctype>
#include <sstream>
#include <vector>

namespace crontopus::plugins::git {
namespace {

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

bool decodeBase64(const std::string& text, std::string& out) {
  try {
    std::istringstream in(text);
    Poco::Base64Decoder decoder(in);
    out.assign(std::istreambuf_iterator<char>(decoder), std::istreambuf_iterator<char>());
    return !out.empty();
  } catch (const std::exception&) {
    return false;
  }
}

// OpenSSH's match_pattern: '*' any run, '?' any one character.
bool globMatch(const char* pattern, const char* text) {
  for (;;) {
    if (*pattern == '\0') {
      return *text == '\0';
    }
    if (*pattern == '*') {
      ++pattern;
      if (*pattern == '\0') {
        return true;
      }
      for (; *text != '\0'; ++text) {
        if (globMatch(pattern, text)) {
          return true;
        }
      }
      return false;
    }
    if (*text == '\0') {
      return false;
    }
    if (*pattern != '?' && *pattern != *text) {
      return false;
    }
    ++pattern;
    ++text;
  }
}

bool hashedMatch(const std::string& entry, const std::string& name) {
  // |1|base64(salt)|base64(HMAC-SHA1(salt, name))
  auto second = entry.find('|', 3);
  if (second == std::string::npos) {
    return false;
  }
  std::string salt;
  std::string expected;
  if (!decodeBase64(entry.substr(3, second - 3), salt) ||
      !decodeBase64(entry.substr(second + 1), expected)) {
    return false;
  }
  Poco::HMACEngine<Poco::SHA1Engine> hmac(salt);
  hmac.update(name);
  const auto& digest = hmac.digest();
  return expected.size() == digest.size() &&
         std::equal(digest.begin(), digest.end(), expected.begin(),
                    [](unsigned char a, char b) { return a == static_cast<unsigned char>(b); });
}

// Does the comma-separated host field name `name`? A matching negated pattern vetoes the line.
bool hostsMatch(const std::string& field, const std::string& name) {
  if (field.starts_with("|1|")) {
    return hashedMatch(field, name);
  }
  bool matched = false;
  std::stringstream patterns(field);
  std::string pattern;
  while (std::getline(patterns, pattern, ',')) {
    bool negated = !pattern.empty() && pattern.front() == '!';
    if (negated) {
      pattern.erase(0, 1);
    }
    if (globMatch(lower(pattern).c_str(), name.c_str())) {
      if (negated) {
        return false;
      }
      matched = true;
    }
  }
  return matched;
}

}  // namespace

std::string sshKeyType(const std::string& key_blob) {
  if (key_blob.size() < 4) {
    return {};
  }
  auto byte = [&](size_t i) {
    return static_cast<std::uint32_t>(static_cast<unsigned char>(key_blob[i]));
  };
  std::uint32_t len = byte(0) << 24 | byte(1) << 16 | byte(2) << 8 | byte(3);
  if (len == 0 || len > key_blob.size() - 4 || len > 64) {
    return {};
  }
  return key_blob.substr(4, len);
}

HostKeyStatus checkKnownHosts(const std::string& content, const std::string& host, int port,
                              const std::string& key_blob) {
  const std::string name =
      port == 22 || port == 0 ? lower(host) : "[" + lower(host) + "]:" + std::to_string(port);
  bool listed = false;
  bool matched = false;
  std::istringstream lines(content);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string first;
    if (!(fields >> first) || first.front() == '#') {
      continue;
    }
    std::string marker;
    std::string hosts = first;
    if (first.front() == '@') {
      marker = first;
      if (!(fields >> hosts)) {
        continue;
      }
    }
    std::string type;
    std::string key_text;
    if (!(fields >> type >> key_text)) {
      continue;
    }
    if (marker == "@cert-authority" || !hostsMatch(hosts, name)) {
      continue;
    }
    std::string blob;
    if (!decodeBase64(key_text, blob)) {
      continue;
    }
    if (marker == "@revoked") {
      if (blob == key_blob) {
        return HostKeyStatus::kRevoked;
      }
      continue;
    }
    if (!marker.empty()) {
      continue;
    }
    listed = true;
    if (blob == key_blob) {
      matched = true;
    }
  }
  if (matched) {
    return HostKeyStatus::kMatch;
  }
  return listed ? HostKeyStatus::kMismatch : HostKeyStatus::kUnknown;
}

}  // namespace crontopus::plugins::git
