#include "controlplane/TokenFile.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <sstream>

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/JSON/Stringifier.h>

#include "controlplane/HttpClient.h"
#include "platform/Files.h"
#include "platform/SecretFile.h"

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

}  // namespace

std::optional<AgentToken> readTokenFile(const std::string& path) {
  std::optional<std::string> content;
  try {
    content = platform::readSecretFile(path, "the token file");
  } catch (const Poco::FileAccessDeniedException& e) {
    throw TokenFileException(e.message());
  }
  if (!content)
    return std::nullopt;
  const std::string& text = *content;
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
  platform::writeSecretFile(path, out.str());
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
