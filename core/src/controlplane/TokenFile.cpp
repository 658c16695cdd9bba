#include "controlplane/TokenFile.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <sstream>

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/JSON/Stringifier.h>

#include "controlplane/HttpClient.h"
#include "platform/Files.h"

namespace crontopus::core::controlplane {

POCO_IMPLEMENT_EXCEPTION(TokenFileException, Poco::Exception, "Token file error")

namespace {

std::int64_t idField(const Poco::JSON::Object& o, const std::string& key) {
  if (!o.has(key) || o.isNull(key))
    return 0;
  const Poco::Dynamic::Var v = o.get(key);
  if (!v.isInteger() || v.isBoolean())
    throw Poco::DataFormatException(key + " is not an integer");
  return v.convert<std::int64_t>();
}

std::string octal(unsigned mode) {
  std::ostringstream s;
  s << "0" << std::oct << (mode & 07777);
  return s.str();
}

}  // namespace

std::optional<AgentToken> readTokenFile(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    if (errno == ENOENT)
      return std::nullopt;
    throw TokenFileException("cannot read the token file " + path + ": " + std::strerror(errno) +
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
    throw TokenFileException("the token file " + path + " is not a regular file");
  if (st.st_uid != geteuid()) {
    throw TokenFileException("the token file " + path + " is owned by uid " +
                             std::to_string(st.st_uid) + ", not the agent's user (uid " +
                             std::to_string(geteuid()) +
                             "), who could replace the token; run `chown " +
                             std::to_string(geteuid()) + " " + path + "`");
  }
  if ((st.st_mode & 077) != 0) {
    throw TokenFileException("the token file " + path + " has mode " + octal(st.st_mode) +
                             ": other users could read or replace the endpoint token; run "
                             "`chmod 600 " +
                             path + "` (and consider re-enrolling if it was exposed)");
  }
  std::string reason;
  try {
    Poco::JSON::Parser parser;
    auto o = parser.parse(text).extract<Poco::JSON::Object::Ptr>();
    AgentToken t;
    const std::int64_t endpoint = idField(*o, "endpoint_id");
    t.endpoint_id = endpoint != 0 ? endpoint : idField(*o, "agent_id");
    if (!o->has("token") || !o->get("token").isString())
      throw Poco::DataFormatException("no token string");
    t.token = o->getValue<std::string>("token");
    if (t.endpoint_id <= 0 || t.token.empty())
      throw Poco::DataFormatException("agent_id or token missing");
    return t;
  } catch (const Poco::Exception& e) {
    reason = e.message();
  } catch (const std::exception& e) {
    reason = e.what();
  }
  // The parser's message may quote the file's text, so only its first words are kept.
  throw TokenFileException("the token file " + path + " is not valid (" +
                           reason.substr(0, reason.find(':')) +
                           "; expected {\"agent_id\": <number>, \"token\": \"<string>\"}); "
                           "delete it to enroll again with backend.enrollment_token");
}

void writeTokenFile(const std::string& path, const AgentToken& token) {
  Poco::JSON::Object o(Poco::JSON_PRESERVE_KEY_ORDER);
  o.set("agent_id", static_cast<Poco::Int64>(token.endpoint_id));
  o.set("token", token.token);
  std::ostringstream out;
  Poco::JSON::Stringifier::condense(o, out);
  out << "\n";
  const std::filesystem::path p(path);
  if (p.has_parent_path())
    platform::makeDirectories(p.parent_path().string(), 0700);
  platform::writeFileAtomic(path, out.str(), 0600);
}

AgentToken parseEnrollmentResponse(const std::string& body) {
  std::string reason;
  try {
    Poco::JSON::Parser parser;
    auto o = parser.parse(body).extract<Poco::JSON::Object::Ptr>();
    AgentToken t;
    const std::int64_t endpoint = idField(*o, "endpoint_id");
    t.endpoint_id = endpoint != 0 ? endpoint : idField(*o, "agent_id");
    if (o->has("token") && o->get("token").isString())
      t.token = o->getValue<std::string>("token");
    if (t.endpoint_id > 0 && !t.token.empty())
      return t;
    reason = "no positive agent_id/endpoint_id with a token";
  } catch (const Poco::Exception& e) {
    reason = e.message();
  } catch (const std::exception& e) {
    reason = e.what();
  }
  throw ControlPlaneException("the enrollment answer is not usable (" +
                              reason.substr(0, reason.find(':')) +
                              "); is backend.api_url the Crontopus API?");
}

}  // namespace crontopus::core::controlplane
