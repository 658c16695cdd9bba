#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace crontopus::core {

// A compact JSON emitter for the files the agent writes on every cycle and every run (run specs,
// state, run log lines). Poco::JSON's Object/Stringifier costs ~150k instructions per small
// object, which dominated a cycle with a thousand jobs; this writes straight into one string.
// Reading stays with Poco::JSON::Parser.
//
// Strings are written as given (UTF-8 passes through) with the escapes RFC 8259 requires:
// quote, backslash and every control character below 0x20.
class JsonWriter {
 public:
  JsonWriter& beginObject();
  JsonWriter& endObject();
  JsonWriter& beginArray();
  JsonWriter& endArray();
  JsonWriter& key(std::string_view name);
  JsonWriter& value(std::string_view text);
  JsonWriter& value(const char* text) { return value(std::string_view(text)); }
  JsonWriter& value(const std::string& text) { return value(std::string_view(text)); }
  JsonWriter& value(std::int64_t number);
  JsonWriter& value(int number) { return value(static_cast<std::int64_t>(number)); }
  JsonWriter& value(bool flag);

  // key(name).value(v) in one call.
  template <typename T>
  JsonWriter& field(std::string_view name, const T& v) {
    return key(name).value(v);
  }

  const std::string& str() const { return out_; }

 private:
  void separate();
  void string(std::string_view text);

  std::string out_;
  std::vector<bool> first_;  // per open container: nothing written in it yet
  bool after_key_ = false;
};

}  // namespace crontopus::core
