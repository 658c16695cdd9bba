#pragma once

#include <optional>
#include <string>

// A secret on disk (the agent's control-plane token): readable and writable by its owner only,
// enforced on every read. Unix: plain content at mode 0600. Windows: an owner-only ACL, and the
// content encrypted with DPAPI (machine scope when the agent runs as LocalSystem, else the
// user's), so a copy of the file is useless elsewhere.
namespace crontopus::core::platform {

// Returns nullopt when `path` does not exist. Throws Poco::FileAccessDeniedException, with a
// message naming `what` and `path` and saying how to fix it, when it cannot be read, is not a
// regular file, others could read or replace it, or (Windows) it cannot be decrypted. The
// message never contains the content.
std::optional<std::string> readSecretFile(const std::string& path, const std::string& what);

// Writes atomically (temporary file, sync, rename), owner-only from creation on.
void writeSecretFile(const std::string& path, const std::string& content);

}  // namespace crontopus::core::platform
