#pragma once

#include <string>

namespace crontopus::plugins::git {

// OpenSSH known_hosts matching for the SSH host key libgit2 hands to certificate_check
// (libgit2 1.5 accepts any host key unless the callback refuses it).
enum class HostKeyStatus {
  kMatch,     // a line for this host carries exactly this key
  kMismatch,  // the host is listed, but with other keys: the key changed
  kUnknown,   // no line names this host
  kRevoked,   // the key is marked @revoked
};

// `content` is the text of a known_hosts file. `host` as in the URL, `port` the SSH port (22 =
// plain entries, others `[host]:port`). `key_blob` is the raw public key in SSH wire format, as
// base64-decoded from a known_hosts line. Supports plain, wildcard, negated and hashed (|1|)
// host patterns; @cert-authority lines are ignored (libgit2 gives us no certificate).
HostKeyStatus checkKnownHosts(const std::string& content, const std::string& host, int port,
                              const std::string& key_blob);

// The SSH name of a wire-format key ("ssh-ed25519"...), or "" if the blob is malformed.
std::string sshKeyType(const std::string& key_blob);

}  // namespace crontopus::plugins::git
