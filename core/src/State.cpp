#include "State.h"

#include <fstream>
#include <sstream>

#include <Poco/DigestEngine.h>
#include <Poco/File.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Logger.h>
#include <Poco/SHA2Engine.h>

#include "JsonWriter.h"
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

namespace {

std::string readAll(const std::string& path, bool& found) {
  std::ifstream in(path, std::ios::binary);
  found = static_cast<bool>(in);
  std::ostringstream text;
  if (in)
    text << in.rdbuf();
  return text.str();
}

void setAside(const std::string& path, const Poco::Exception& e) {
  Poco::Logger::get("crontopus")
      .warning(path + " is corrupt (" + e.displayText() +
               "); set aside as *.corrupt, starting from the "
               "scheduler's own markers");
  Poco::File(path).renameTo(path + ".corrupt");
}

}  // namespace

AgentState loadState(const std::string& state_dir) {
  AgentState s;
  bool found = false;
  const std::string path = statePath(state_dir);
  const std::string text = readAll(path, found);
  if (found) {
    try {
      Poco::JSON::Parser parser;
      auto o = parser.parse(text).extract<Poco::JSON::Object::Ptr>();
      s.backend = o->optValue<std::string>("backend", "");
      s.revision = o->optValue<std::string>("revision", "");
      s.revision_time = o->optValue<Poco::Int64>("revision_time", 0);
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
      setAside(path, e);
      s = AgentState{};
    }
  }
  const std::string cycle_path = state_dir + "/last-cycle.json";
  const std::string cycle_text = readAll(cycle_path, found);
  if (found) {
    try {
      Poco::JSON::Parser parser;
      auto o = parser.parse(cycle_text).extract<Poco::JSON::Object::Ptr>();
      s.last_cycle_started = o->optValue<std::string>("started", "");
      s.last_cycle_finished = o->optValue<std::string>("finished", "");
      s.last_result = o->optValue<std::string>("result", "");
      if (auto errors = o->getArray("errors")) {
        for (const auto& e : *errors)
          s.last_errors.push_back(e.convert<std::string>());
      }
    } catch (const Poco::Exception& e) {
      setAside(cycle_path, e);
    }
  }
  return s;
}

void saveState(const std::string& state_dir, const AgentState& s) {
  JsonWriter w;
  w.beginObject()
      .field("version", 1)
      .field("backend", s.backend)
      .field("revision", s.revision)
      .field("revision_time", s.revision_time);
  w.key("jobs").beginObject();
  for (const auto& [id, j] : s.jobs) {
    w.key(id)
        .beginObject()
        .field("hash", j.hash)
        .field("status", j.status)
        .field("source_file", j.source_file)
        .field("schedule", j.schedule)
        .field("command", j.command)
        .field("paused", j.paused)
        .field("error", j.error)
        .endObject();
  }
  w.endObject().endObject();
  platform::makeDirectories(state_dir, 0700);
  platform::writeFileAtomic(statePath(state_dir), w.str() + "\n", 0600);
}

void saveCycle(const std::string& state_dir, const AgentState& s) {
  JsonWriter w;
  w.beginObject()
      .field("started", s.last_cycle_started)
      .field("finished", s.last_cycle_finished)
      .field("result", s.last_result);
  w.key("errors").beginArray();
  for (const auto& e : s.last_errors)
    w.value(e);
  w.endArray().endObject();
  platform::makeDirectories(state_dir, 0700);
  platform::writeFileAtomic(state_dir + "/last-cycle.json", w.str() + "\n", 0600);
}

}  // namespace crontopus::core
