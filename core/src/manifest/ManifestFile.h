#pragma once

#include <cstddef>
#include <filesystem>
#include <string>

namespace crontopus::core {

// Reads a manifest file into `content`, refusing anything that is not a regular file (a FIFO
// named x.yaml must not block the agent) and anything over `max_bytes` (checked before and while
// reading, so a huge or growing file costs at most max_bytes + 1). On failure returns false and
// sets `error` to a message naming what went wrong (not the path: the caller has it).
// One implementation per OS under posix/ and windows/.
bool readManifestFile(const std::filesystem::path& path, std::size_t max_bytes,
                      std::string& content, std::string& error);

}  // namespace crontopus::core
