#include "manifest/ValidateCommand.h"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

#include <exception>

#include "manifest/ManifestParser.h"

namespace crontopus::core {

namespace {

std::string formatLine(const ManifestDiagnostic& d) {
  std::string line = d.file.empty() ? std::string(".") : d.file;
  if (d.line > 0) {
    line += ":" + std::to_string(d.line) + ":" + std::to_string(d.column);
  }
  line += ": ";
  if (!d.field.empty())
    line += d.field + ": ";
  line += d.message;
  return line;
}

// File names come from the file system and may hold any bytes; JSON must be valid UTF-8, so
// invalid sequences become U+FFFD.
std::string utf8(const std::string& in) {
  std::string out;
  out.reserve(in.size());
  std::size_t i = 0;
  while (i < in.size()) {
    auto c = static_cast<unsigned char>(in[i]);
    std::size_t len = c < 0x80           ? 1
                      : (c >> 5) == 0x6  ? 2
                      : (c >> 4) == 0xE  ? 3
                      : (c >> 3) == 0x1E ? 4
                                         : 0;
    bool ok = len > 0 && i + len <= in.size();
    for (std::size_t k = 1; ok && k < len; ++k) {
      ok = (static_cast<unsigned char>(in[i + k]) & 0xC0) == 0x80;
    }
    if (ok && len == 2)
      ok = c >= 0xC2;  // no overlong two-byte forms
    if (ok) {
      out.append(in, i, len);
      i += len;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return out;
}

Poco::JSON::Array::Ptr toJson(const std::vector<ManifestDiagnostic>& list) {
  Poco::JSON::Array::Ptr array = new Poco::JSON::Array;
  for (const auto& d : list) {
    Poco::JSON::Object::Ptr o = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
    o->set("file", utf8(d.file));
    o->set("line", d.line);
    o->set("column", d.column);
    o->set("field", utf8(d.field));
    o->set("message", utf8(d.message));
    array->add(o);
  }
  return array;
}

}  // namespace

int runValidate(const std::string& dir, bool json, std::ostream& out, std::ostream& err) {
  try {
    ManifestParseOptions options;
    options.missing_env_is_error = false;  // CI does not have the agent's environment
    ManifestSet set = ManifestParser(options).parseTree(dir);
    // Unselected jobs cannot occur (no agent identity), but count them anyway so the figure is
    // "valid jobs" whatever the options become.
    std::size_t jobs = set.jobs.size() + set.unselected.size();
    if (json) {
      Poco::JSON::Object result(Poco::JSON_PRESERVE_KEY_ORDER);
      result.set("jobs", jobs);
      result.set("errors", toJson(set.errors));
      result.set("warnings", toJson(set.warnings));
      result.stringify(out);
      out << '\n';
    } else {
      for (const auto& w : set.warnings)
        err << "warning: " << formatLine(w) << '\n';
      for (const auto& e : set.errors)
        out << formatLine(e) << '\n';
      // Always plural: scripts match this line.
      out << jobs << " jobs, " << set.errors.size() << " errors\n";
    }
    out.flush();
    return set.errors.empty() ? 0 : 1;
  } catch (const std::exception& e) {
    // The parser reports per-file problems as data; anything thrown here is unexpected (memory,
    // stream failure). Still answer with the documented exit code.
    err << "validate: " << e.what() << '\n';
    return 1;
  }
}

}  // namespace crontopus::core
