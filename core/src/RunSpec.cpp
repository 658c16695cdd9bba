#include "RunSpec.h"

#include "JsonWriter.h"

#include <sstream>

#include <Poco/Exception.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

namespace crontopus::core {

RunSpec runSpecFor(const sdk::Job& job, const std::string& effective_zone, bool gate) {
  RunSpec s;
  s.ns = job.ns;
  s.name = job.name;
  s.command = job.command;
  s.args = job.args;
  s.env = job.env;
  s.working_dir = job.working_dir;
  s.schedule = job.schedule;
  s.timezone = effective_zone;
  s.gate = gate;
  s.timeout_seconds = job.checkin.timeout_seconds;
  s.retry = job.retry;
  s.checkin_enabled = job.checkin.enabled;
  // Not job.checkin.secret: nothing in a run uses it (the protocol has no field for it), and a
  // run spec is a file on disk, in the run user's home for cron's `user` option.
  return s;
}

std::string toJson(const RunSpec& s) {
  JsonWriter w;
  w.beginObject()
      .field("version", 1)
      .field("namespace", s.ns)
      .field("name", s.name)
      .field("command", s.command);
  w.key("args").beginArray();
  for (const auto& a : s.args)
    w.value(a);
  w.endArray();
  w.key("env").beginObject();
  for (const auto& [k, v] : s.env)
    w.field(k, v);
  w.endObject();
  w.field("working_dir", s.working_dir)
      .field("schedule", s.schedule)
      .field("timezone", s.timezone)
      .field("gate", s.gate)
      .field("timeout_seconds", s.timeout_seconds);
  w.key("retry")
      .beginObject()
      .field("enabled", s.retry.enabled)
      .field("attempts", s.retry.attempts)
      .field("backoff", s.retry.backoff == sdk::Backoff::kFixed ? "fixed" : "exponential")
      .endObject();
  w.key("checkin").beginObject().field("enabled", s.checkin_enabled).endObject();
  w.key("control_plane")
      .beginObject()
      .field("api_url", s.control_plane.api_url)
      .field("token_path", s.control_plane.token_path)
      .field("spool_dir", s.control_plane.spool_dir)
      .field("ca_file", s.control_plane.ca_file)
      .field("allow_insecure_http", s.control_plane.allow_insecure_http)
      .endObject();
  w.endObject();
  return w.str() + "\n";
}

namespace {

// Poco answers a missing or mistyped array or object with a null pointer, whose dereference
// throws a bare "Null pointer"; name the key instead.
template <typename Ptr>
Ptr required(Ptr p, const char* key) {
  if (p.isNull())
    throw Poco::NotFoundException(std::string(key) + " is missing or of the wrong type");
  return p;
}

}  // namespace

RunSpec runSpecFromJson(const std::string& text, const std::string& origin) {
  try {
    Poco::JSON::Parser parser;
    auto o = parser.parse(text).extract<Poco::JSON::Object::Ptr>();
    if (o->getValue<int>("version") != 1) {
      throw Poco::DataFormatException(origin + ": unsupported run spec version");
    }
    RunSpec s;
    s.ns = o->getValue<std::string>("namespace");
    s.name = o->getValue<std::string>("name");
    s.command = o->getValue<std::string>("command");
    for (const auto& a : *required(o->getArray("args"), "args"))
      s.args.push_back(a.convert<std::string>());
    auto env = required(o->getObject("env"), "env");
    for (const auto& key : env->getNames())
      s.env[key] = env->getValue<std::string>(key);
    s.working_dir = o->getValue<std::string>("working_dir");
    s.schedule = o->getValue<std::string>("schedule");
    s.timezone = o->getValue<std::string>("timezone");
    s.gate = o->getValue<bool>("gate");
    s.timeout_seconds = o->getValue<int>("timeout_seconds");
    auto retry = required(o->getObject("retry"), "retry");
    s.retry.enabled = retry->getValue<bool>("enabled");
    s.retry.attempts = retry->getValue<int>("attempts");
    s.retry.backoff = retry->getValue<std::string>("backoff") == "fixed"
                          ? sdk::Backoff::kFixed
                          : sdk::Backoff::kExponential;
    auto checkin = required(o->getObject("checkin"), "checkin");
    s.checkin_enabled = checkin->getValue<bool>("enabled");
    // Specs written by earlier builds also carry "secret": ignored, and gone once the agent
    // rewrites them (its first cycle after a restart).
    // Absent in specs written before the control plane existed: standalone until rewritten.
    if (auto cp = o->getObject("control_plane")) {
      s.control_plane.api_url = cp->getValue<std::string>("api_url");
      s.control_plane.token_path = cp->getValue<std::string>("token_path");
      s.control_plane.spool_dir = cp->getValue<std::string>("spool_dir");
      s.control_plane.ca_file = cp->getValue<std::string>("ca_file");
      s.control_plane.allow_insecure_http = cp->getValue<bool>("allow_insecure_http");
    }
    return s;
  } catch (const Poco::DataFormatException&) {
    throw;
  } catch (const Poco::Exception& e) {
    throw Poco::DataFormatException(origin + ": not a valid run spec (" + e.displayText() +
                                    "); run `crontopus-agent apply` to rewrite it");
  }
}

std::string jobDirectory(const std::string& state_dir, const std::string& identity) {
  const auto slash = identity.find('/');
  return state_dir + "/jobs/" + identity.substr(0, slash);
}

std::string runSpecPath(const std::string& state_dir, const std::string& identity) {
  const auto slash = identity.find('/');
  return jobDirectory(state_dir, identity) + "/" + identity.substr(slash + 1) + ".json";
}

}  // namespace crontopus::core
