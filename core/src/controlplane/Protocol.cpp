#include "controlplane/Protocol.h"

#include <algorithm>
#include <sstream>

#include <Poco/DigestEngine.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/JSON/Stringifier.h>
#include <Poco/SHA2Engine.h>
#include <Poco/String.h>
#include <Poco/URI.h>

#include "Version.h"
#include "controlplane/HttpClient.h"

namespace crontopus::core::controlplane {

namespace {

std::string condensed(const Poco::JSON::Object& o) {
  std::ostringstream out;
  Poco::JSON::Stringifier::condense(o, out);
  return out.str();
}

}  // namespace

std::string machineIdHash(const std::string& raw) {
  const std::string id = Poco::toLower(Poco::trim(raw));
  if (id.empty())
    return {};
  Poco::SHA2Engine engine(Poco::SHA2Engine::SHA_256);
  engine.update(id);
  return Poco::DigestEngine::digestToHex(engine.digest());
}

std::string stripCredentials(const std::string& url) {
  if (url.find("://") == std::string::npos)
    return url;  // scp-like user@host:path or a local path: no password can be in it
  try {
    Poco::URI uri(url);
    const std::string scheme = Poco::toLower(uri.getScheme());
    std::string user = uri.getUserInfo();
    if (scheme == "http" || scheme == "https" || user.find(':') != std::string::npos) {
      user = scheme == "http" || scheme == "https" ? "" : user.substr(0, user.find(':'));
    }
    uri.setUserInfo(user);
    uri.setRawQuery("");
    uri.setFragment("");
    return uri.toString();
  } catch (const Poco::Exception&) {
    // Not parseable: better to report no URL than one that may hold a secret.
    return {};
  }
}

std::string enrollmentBody(const AgentConfig& config, const std::string& raw_machine_id) {
  Poco::JSON::Object o(Poco::JSON_PRESERVE_KEY_ORDER);
  o.set("name", config.agent.name);
  o.set("hostname", config.agent.hostname);
  const std::string machine_id = machineIdHash(raw_machine_id);
  if (!machine_id.empty())
    o.set("machine_id", machine_id);
  o.set("platform", config.agent.platform);
  o.set("version", std::string(version()));
  const std::string git_url = stripCredentials(config.git.url);
  if (!git_url.empty())
    o.set("git_repo_url", git_url);
  if (!config.git.branch.empty())
    o.set("git_branch", config.git.branch);
  return condensed(o);
}

std::string heartbeatBody(const std::string& platform) {
  Poco::JSON::Object o(Poco::JSON_PRESERVE_KEY_ORDER);
  o.set("status", "active");
  o.set("platform", platform);
  o.set("version", std::string(version()));
  return condensed(o);
}

std::string jobInstancesBody(const std::map<std::string, JobState>& jobs) {
  Poco::JSON::Array list;
  for (const auto& [identity, job] : jobs) {
    const auto slash = identity.find('/');
    Poco::JSON::Object item(Poco::JSON_PRESERVE_KEY_ORDER);
    item.set("job_name", slash == std::string::npos ? identity : identity.substr(slash + 1));
    item.set("namespace", slash == std::string::npos ? "default" : identity.substr(0, slash));
    const bool known = job.status == "scheduled" || job.status == "paused" || job.status == "error";
    item.set("status", known ? job.status : "error");
    item.set("source", "crontopus");
    item.set("original_command", job.command);
    list.add(item);
  }
  Poco::JSON::Object o;
  o.set("instances", list);
  return condensed(o);
}

}  // namespace crontopus::core::controlplane
