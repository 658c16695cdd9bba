#include "State.h"

#include <fstream>
#include <sstream>

#include <Poco/DigestEngine.h>
#include <Poco/File.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/JSON/Stringifier.h>
#include <Poco/Logger.h>
#include <Poco/SHA2Engine.h>

#include "platform/Files.h"

namespace crontopus::core {

std::string statePath(const std::string& state_dir) {
  return state_dir + "/state.json";
}

std::string sha256Hex(const std::string& text) {
  Poco::SHA2Engine engine(Poco::SHA2Engine::SHA_256);
  engine.update(text);
  return Poco::DigestEngine::digestToHex(engine.digest());
}

AgentState loadState(const std::string& state_dir) {
  const std::string path = statePath(state_dir);
  std::ifstream in(path, std::ios::binary);
  AgentState s;
  if (!in)
    return s;
  std::ostringstream text;
  text << in.rdbuf();
  try {
    Poco::JSON::Parser parser;
    auto o = parser.parse(text.str()).extract<Poco::JSON::Object::Ptr>();
    s.backend = o->optValue<std::string>("backend", "");
    s.revision = o->optValue<std::string>("revision", "");
    s.revision_time = o->optValue<Poco::Int64>("revision_time", 0);
    s.last_cycle_started = o->optValue<std::string>("last_cycle_started", "");
    s.last_cycle_finished = o->optValue<std::string>("last_cycle_finished", "");
    s.last_result = o->optValue<std::string>("last_result", "");
    if (auto errors = o->getArray("last_errors")) {
      for (const auto& e : *errors)
        s.last_errors.push_back(e.convert<std::string>());
    }
    if (auto jobs = o->getObject("jobs")) {
      for (const auto& id : jobs->getNames()) {
        auto j = jobs->getObject(id);
        JobState js;
        js.hash = j->optValue<std::string>("hash", "");
        js.status = j->optValue<std::string>("status", "");
        js.source_file = j->optValue<std::string>("source_file", "");
        js.schedule = j->optValue<std::string>("schedule", "");
        js.command = j->optValue<std::string>("command", "");
        js.paused = j->optValue<bool>("paused", false);
        js.error = j->optValue<std::string>("error", "");
        s.jobs[id] = js;
      }
    }
  } catch (const Poco::Exception& e) {
    Poco::Logger::get("crontopus")
        .warning(path + " is corrupt (" + e.displayText() +
                 "); set aside as state.json.corrupt, starting from the scheduler's own markers");
    Poco::File(path).renameTo(path + ".corrupt");
    return AgentState{};
  }
  return s;
}

void saveState(const std::string& state_dir, const AgentState& s) {
  Poco::JSON::Object o(Poco::JSON_PRESERVE_KEY_ORDER);
  o.set("version", 1);
  o.set("backend", s.backend);
  o.set("revision", s.revision);
  o.set("revision_time", static_cast<Poco::Int64>(s.revision_time));
  o.set("last_cycle_started", s.last_cycle_started);
  o.set("last_cycle_finished", s.last_cycle_finished);
  o.set("last_result", s.last_result);
  Poco::JSON::Array errors;
  for (const auto& e : s.last_errors)
    errors.add(e);
  o.set("last_errors", errors);
  Poco::JSON::Object jobs(Poco::JSON_PRESERVE_KEY_ORDER);
  for (const auto& [id, j] : s.jobs) {
    Poco::JSON::Object jo(Poco::JSON_PRESERVE_KEY_ORDER);
    jo.set("hash", j.hash);
    jo.set("status", j.status);
    jo.set("source_file", j.source_file);
    jo.set("schedule", j.schedule);
    jo.set("command", j.command);
    jo.set("paused", j.paused);
    jo.set("error", j.error);
    jobs.set(id, jo);
  }
  o.set("jobs", jobs);
  std::ostringstream out;
  Poco::JSON::Stringifier::stringify(o, out, 2);
  out << "\n";
  platform::makeDirectories(state_dir, 0700);
  platform::writeFileAtomic(statePath(state_dir), out.str(), 0600);
}

}  // namespace crontopus::core
