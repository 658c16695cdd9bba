#include "platform/SecretFile.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>

#include <Poco/Exception.h>

#include "platform/Files.h"

namespace crontopus::core::platform {

namespace {

std::string octal(unsigned mode) {
  std::ostringstream s;
  s << "0" << std::oct << (mode & 07777);
  return s.str();
}

}  // namespace

std::optional<std::string> readSecretFile(const std::string& path, const std::string& what) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    if (errno == ENOENT)
      return std::nullopt;
    throw Poco::FileAccessDeniedException("cannot read " + what + " " + path + ": " +
                                          std::strerror(errno) +
                                          " (it must be readable by the user the agent runs as)");
  }
  struct stat st {};
  std::string text;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 077) == 0) {
    char buffer[4096];
    ssize_t n = 0;
    while ((n = read(fd, buffer, sizeof buffer)) > 0 && text.size() < 65536)
      text.append(buffer, static_cast<std::size_t>(n));
  }
  close(fd);
  if (!S_ISREG(st.st_mode))
    throw Poco::FileAccessDeniedException(what + " " + path + " is not a regular file");
  if (st.st_uid != geteuid()) {
    throw Poco::FileAccessDeniedException(
        what + " " + path + " is owned by uid " + std::to_string(st.st_uid) +
        ", not the agent's user (uid " + std::to_string(geteuid()) +
        "), who could replace the token; run `chown " + std::to_string(geteuid()) + " " + path +
        "`");
  }
  if ((st.st_mode & 077) != 0) {
    throw Poco::FileAccessDeniedException(what + " " + path + " has mode " + octal(st.st_mode) +
                                          ": other users could read or replace the endpoint "
                                          "token; run `chmod 600 " +
                                          path + "` (and consider re-enrolling if it was exposed)");
  }
  return text;
}

void writeSecretFile(const std::string& path, const std::string& content) {
  writeFileAtomic(path, content, 0600);
}

}  // namespace crontopus::core::platform
