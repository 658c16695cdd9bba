#include "manifest/ManifestFile.h"

#include <fstream>
#include <system_error>

namespace crontopus::core {

bool readManifestFile(const std::filesystem::path& path, std::size_t max_bytes,
                      std::string& content, std::string& error) {
  std::error_code ec;
  // Windows has no FIFOs in the file namespace; a regular-file check before opening suffices.
  if (!std::filesystem::is_regular_file(path, ec)) {
    error = ec ? "cannot stat: " + ec.message() : std::string("not a regular file");
    return false;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = "cannot open";
    return false;
  }
  content.clear();
  char buffer[16384];
  while (in && content.size() <= max_bytes) {
    in.read(buffer, sizeof buffer);
    content.append(buffer, static_cast<std::size_t>(in.gcount()));
  }
  if (in.bad()) {
    error = "read error";
    return false;
  }
  if (content.size() > max_bytes) {
    error = "file is larger than 1 MiB";
    return false;
  }
  return true;
}

}  // namespace crontopus::core
