#include "manifest/ManifestParser.h"

#include <date/tz.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdlib>
#include <exception>
#include <initializer_list>
#include <memory>
#include <system_error>
#include <thread>
#include <utility>

#include "crontopus/sdk/CronExpression.h"
#include "manifest/ManifestFile.h"
#include "manifest/YamlTree.h"

namespace fs = std::filesystem;

namespace crontopus::core {

namespace {

constexpr int kMaxNameLength = 63;
constexpr long long kMaxCheckinTimeout = 604800;
constexpr long long kMaxRetryAttempts = 100;
constexpr std::string_view kNameRule =
    "lowercase letters, digits and '-', starting and ending "
    "with a letter or digit, at most 63 characters";

bool isLowerAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

bool hasControl(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

bool hasNul(std::string_view s) {
  return s.find('\0') != std::string_view::npos;
}

bool isEnvName(std::string_view s) {
  if (s.empty())
    return false;
  auto alpha = [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; };
  if (!alpha(s[0]))
    return false;
  return std::all_of(s.begin() + 1, s.end(),
                     [&](char c) { return alpha(c) || (c >= '0' && c <= '9'); });
}

// Manifests are validated in CI on Linux for agents that may run on Windows, so a workingDir is
// absolute in either convention: "/x", "C:\x", "C:/x" or a UNC path "\\server\share".
bool isAbsolutePath(std::string_view p) {
  if (!p.empty() && p[0] == '/')
    return true;
  if (p.size() >= 3 && ((p[0] >= 'A' && p[0] <= 'Z') || (p[0] >= 'a' && p[0] <= 'z')) &&
      p[1] == ':' && (p[2] == '\\' || p[2] == '/')) {
    return true;
  }
  return p.size() >= 3 && p[0] == '\\' && p[1] == '\\';
}

bool hasDotDotComponent(std::string_view p) {
  std::size_t start = 0;
  while (start <= p.size()) {
    std::size_t end = p.find_first_of("/\\", start);
    if (end == std::string_view::npos)
      end = p.size();
    if (p.substr(start, end - start) == "..")
      return true;
    start = end + 1;
  }
  return false;
}

bool zoneExists(const std::string& name) {
  try {
    return date::locate_zone(name) != nullptr;
  } catch (const std::exception&) {
    return false;  // locate_zone reports an unknown name only by throwing
  }
}

bool endsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool isManifestName(std::string_view name) {
  return endsWith(name, ".yaml") || endsWith(name, ".yml");
}

std::string quoteText(std::string_view s) {
  // Messages quote user text; keep them on one line whatever the text holds.
  std::string out = "\"";
  std::size_t cut = std::min<std::size_t>(s.size(), 80);
  // Never cut inside a UTF-8 sequence: messages end up in JSON.
  while (cut < s.size() && cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80)
    --cut;
  for (char c : s.substr(0, cut)) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    } else if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else {
      out += c;
    }
  }
  if (cut < s.size())
    out += "...";
  out += '"';
  return out;
}

// The namespace a relative path belongs to, per the spec: its first directory component.
std::string namespaceOf(const std::string& relative_path) {
  std::size_t slash = relative_path.find('/');
  return slash == std::string::npos ? "default" : relative_path.substr(0, slash);
}

// What one file produced. `identity` is set whenever metadata.name and the namespace are both
// readable and valid, even if the file failed otherwise: the reconciler keeps that job.
struct FileResult {
  std::string file;
  // On the heap so that 10,000 results (most of them valid) do not each carry a Job inline
  // next to the desired-set map the jobs end up in: that would double the peak memory.
  std::unique_ptr<sdk::Job> job;
  std::string identity;
  int name_line = 0;
  int name_column = 0;
  std::vector<ManifestDiagnostic> errors;
  std::vector<ManifestDiagnostic> warnings;
};

// Converts one YamlTree into a Job, collecting every problem rather than stopping at the first.
class JobReader {
 public:
  JobReader(const YamlTree& tree, const ManifestParseOptions& options, FileResult& out)
      : tree_(tree), options_(options), out_(out) {}

  void read(const std::string& ns) {
    const YamlTree::Node& root = tree_.root();
    if (root.kind != YamlTree::Kind::kMap) {
      error(root, "", "a manifest must be a YAML mapping with apiVersion, kind, metadata, spec");
      return;
    }
    job_.ns = ns;
    job_.source_file = out_.file;
    auto top = fields(root, "", {"apiVersion", "kind", "metadata", "spec"});
    expectConstant(root, top[0], "apiVersion", "v1");
    expectConstant(root, top[1], "kind", "Job");
    readMetadata(root, top[2]);
    readSpec(root, top[3]);

    if (!unknown_.empty()) {
      std::string list;
      constexpr std::size_t kListed = 10;  // a generated file may carry thousands
      for (std::size_t i = 0; i < unknown_.size() && i < kListed; ++i) {
        list += (list.empty() ? "" : ", ") + unknown_[i];
      }
      if (unknown_.size() > kListed) {
        list += " and " + std::to_string(unknown_.size() - kListed) + " more";
      }
      out_.warnings.push_back({out_.file, unknown_line_, unknown_column_, unknown_field_,
                               "unknown key(s) ignored: " + list});
    }
    if (out_.errors.empty())
      out_.job = std::make_unique<sdk::Job>(std::move(job_));
  }

 private:
  using Node = YamlTree::Node;

  void error(const Node& at, std::string field, std::string message) {
    out_.errors.push_back({out_.file, at.line, at.column, std::move(field), std::move(message)});
  }
  void warning(const Node& at, std::string field, std::string message) {
    out_.warnings.push_back({out_.file, at.line, at.column, std::move(field), std::move(message)});
  }

  // A field path through a user-written key. A key with a control character is written quoted
  // and escaped, so that a field in an error message or a log line stays on one line.
  static std::string join(std::string_view path, std::string_view key) {
    const bool plain = std::none_of(key.begin(), key.end(), [](char c) {
      return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
    });
    std::string out(path);
    if (!path.empty())
      out += '.';
    out += plain ? std::string(key) : quoteText(key);
    return out;
  }

  static const char* kindName(const Node& n) {
    switch (n.kind) {
      case YamlTree::Kind::kNull:
        return "null";
      case YamlTree::Kind::kScalar:
        return "a scalar";
      case YamlTree::Kind::kSequence:
        return "a list";
      case YamlTree::Kind::kMap:
        return "a mapping";
    }
    return "?";
  }

  static bool isAbsent(const Node* n) { return n == nullptr || n->kind == YamlTree::Kind::kNull; }

  // Looks up `known` keys in `map`; a null value counts as absent (the control plane may write
  // `timezone: null` for an unset field). Unknown keys are remembered for one warning per file.
  std::vector<const Node*> fields(const Node& map, std::string_view path,
                                  std::initializer_list<std::string_view> known) {
    std::vector<const Node*> found(known.size(), nullptr);
    for (std::uint32_t i = 0; i + 1 < map.child_count; i += 2) {
      const Node& key = tree_.node(tree_.child(map, i));
      const Node& value = tree_.node(tree_.child(map, i + 1));
      if (key.kind != YamlTree::Kind::kScalar) {
        error(key, std::string(path),
              std::string("a mapping key must be a string, found ") + kindName(key));
        continue;
      }
      std::size_t index = 0;
      for (std::string_view k : known) {
        if (k == key.value)
          break;
        ++index;
      }
      if (index < known.size()) {
        found[index] = &value;
      } else {
        // The warning points at the earliest unknown key in the file, whatever order the
        // sections are read in.
        if (unknown_.empty() || key.line < unknown_line_ ||
            (key.line == unknown_line_ && key.column < unknown_column_)) {
          unknown_line_ = key.line;
          unknown_column_ = key.column;
          unknown_field_ = join(path, key.value);
        }
        unknown_.push_back(join(path, key.value));
      }
    }
    return found;
  }

  // A map-valued section: returns the node when it is a mapping, nullptr when absent (error if
  // required) or of the wrong type (error).
  const Node* section(const Node& parent, const Node* n, const std::string& field, bool required) {
    if (isAbsent(n)) {
      if (required) {
        // A present-but-null value is pointed at; a missing key at the mapping it belongs in.
        error(n != nullptr ? *n : parent, field,
              n != nullptr ? "required field is null" : "required field is missing");
      }
      return nullptr;
    }
    if (n->kind != YamlTree::Kind::kMap) {
      error(*n, field, std::string("expected a mapping, found ") + kindName(*n));
      return nullptr;
    }
    return n;
  }

  std::optional<std::string> string(const Node& parent, const Node* n, const std::string& field,
                                    bool required) {
    if (isAbsent(n)) {
      if (required) {
        // A present-but-null value is pointed at; a missing key at the mapping it belongs in.
        error(n != nullptr ? *n : parent, field,
              n != nullptr ? "required field is null" : "required field is missing");
      }
      return std::nullopt;
    }
    if (n->kind != YamlTree::Kind::kScalar) {
      error(*n, field, std::string("expected a string, found ") + kindName(*n));
      return std::nullopt;
    }
    if (hasNul(n->value)) {
      error(*n, field, "contains a NUL character");
      return std::nullopt;
    }
    return n->value;
  }

  std::optional<bool> boolean(const Node* n, const std::string& field) {
    if (isAbsent(n))
      return std::nullopt;
    if (n->kind == YamlTree::Kind::kScalar &&
        (n->style == YamlTree::Style::kPlain || n->style == YamlTree::Style::kBoolTag)) {
      const std::string& v = n->value;
      if (v == "true" || v == "True" || v == "TRUE")
        return true;
      if (v == "false" || v == "False" || v == "FALSE")
        return false;
    }
    std::string found =
        n->kind == YamlTree::Kind::kScalar
            ? (n->style == YamlTree::Style::kQuoted ? "the string " : "") + quoteText(n->value)
            : kindName(*n);
    error(*n, field, "expected true or false, found " + found);
    return std::nullopt;
  }

  std::optional<long long> integer(const Node* n, const std::string& field, long long min,
                                   long long max) {
    if (isAbsent(n))
      return std::nullopt;
    auto range_error = [&] {
      error(*n, field,
            "expected an integer from " + std::to_string(min) + " to " + std::to_string(max) +
                ", found " +
                (n->kind == YamlTree::Kind::kScalar
                     ? (n->style == YamlTree::Style::kQuoted ? "the string " : "") +
                           quoteText(n->value)
                     : std::string(kindName(*n))));
      return std::nullopt;
    };
    if (n->kind != YamlTree::Kind::kScalar ||
        (n->style != YamlTree::Style::kPlain && n->style != YamlTree::Style::kIntTag)) {
      return range_error();
    }
    std::string_view v = n->value;
    bool negative = false;
    if (!v.empty() && (v[0] == '+' || v[0] == '-')) {
      negative = v[0] == '-';
      v.remove_prefix(1);
    }
    if (v.empty() || v.size() > 12)
      return range_error();
    long long value = 0;
    for (char c : v) {
      if (c < '0' || c > '9')
        return range_error();
      value = value * 10 + (c - '0');
    }
    if (negative)
      value = -value;
    if (value < min || value > max)
      return range_error();
    return value;
  }

  std::optional<std::map<std::string, std::string>> stringMap(const Node* n,
                                                              const std::string& field,
                                                              bool env_keys) {
    if (isAbsent(n))
      return std::nullopt;
    if (n->kind != YamlTree::Kind::kMap) {
      error(*n, field, std::string("expected a mapping of strings, found ") + kindName(*n));
      return std::nullopt;
    }
    std::map<std::string, std::string> out;
    bool ok = true;
    for (std::uint32_t i = 0; i + 1 < n->child_count; i += 2) {
      const Node& key = tree_.node(tree_.child(*n, i));
      const Node& value = tree_.node(tree_.child(*n, i + 1));
      if (key.kind != YamlTree::Kind::kScalar) {
        error(key, field, std::string("a key must be a string, found ") + kindName(key));
        ok = false;
        continue;
      }
      std::string path = join(field, key.value);
      if (hasNul(key.value)) {
        error(key, field, "a key contains a NUL character");
        ok = false;
        continue;
      }
      if (env_keys && !isEnvName(key.value)) {
        error(key, path,
              "environment variable name " + quoteText(key.value) +
                  " must match [A-Za-z_][A-Za-z0-9_]*");
        ok = false;
        continue;
      }
      if (key.value.empty()) {
        error(key, field, "a key must not be empty");
        ok = false;
        continue;
      }
      auto v = string(key, &value, path, false);
      if (!v) {
        if (isAbsent(&value))
          error(key, path, "expected a string value, found null");
        ok = false;
        continue;
      }
      out.emplace(key.value, std::move(*v));
    }
    if (!ok)
      return std::nullopt;
    return out;
  }

  std::optional<std::vector<std::string>> stringList(const Node* n, const std::string& field) {
    if (isAbsent(n))
      return std::nullopt;
    if (n->kind != YamlTree::Kind::kSequence) {
      error(*n, field, std::string("expected a list of strings, found ") + kindName(*n));
      return std::nullopt;
    }
    std::vector<std::string> out;
    bool ok = true;
    for (std::uint32_t i = 0; i < n->child_count; ++i) {
      const Node& item = tree_.node(tree_.child(*n, i));
      std::string path = field + "[" + std::to_string(i) + "]";
      auto v = string(*n, &item, path, false);
      if (!v) {
        if (isAbsent(&item))
          error(item, path, "expected a string, found null");
        ok = false;
        continue;
      }
      out.push_back(std::move(*v));
    }
    if (!ok)
      return std::nullopt;
    return out;
  }

  void expectConstant(const Node& parent, const Node* n, const std::string& field,
                      std::string_view expected) {
    auto v = string(parent, n, field, true);
    if (v && *v != expected) {
      error(*n, field, "must be \"" + std::string(expected) + "\", found " + quoteText(*v));
    }
  }

  void readMetadata(const Node& root, const Node* node) {
    const Node* meta = section(root, node, "metadata", true);
    if (meta == nullptr)
      return;
    auto f =
        fields(*meta, "metadata", {"name", "tenant", "id", "namespace", "labels", "annotations"});
    if (auto name = string(*meta, f[0], "metadata.name", true)) {
      if (!isValidJobName(*name)) {
        error(*f[0], "metadata.name",
              "invalid name " + quoteText(*name) + ": " + std::string(kNameRule));
      } else {
        job_.name = *name;
        if (isValidJobName(job_.ns)) {
          out_.identity = job_.ns + "/" + job_.name;
          out_.name_line = f[0]->line;
          out_.name_column = f[0]->column;
        }
      }
    }
    if (auto tenant = string(*meta, f[1], "metadata.tenant", true)) {
      if (tenant->empty()) {
        error(*f[1], "metadata.tenant", "must not be empty");
      } else {
        job_.tenant = *tenant;
      }
    }
    if (auto id = string(*meta, f[2], "metadata.id", false)) {
      // Stricter than the spec's list on purpose: the id is written into the scheduler entry's
      // tag, where a newline would split a crontab line.
      if (hasControl(*id)) {
        error(*f[2], "metadata.id", "must not contain control characters");
      } else {
        job_.id = *id;
      }
    }
    if (auto declared = string(*meta, f[3], "metadata.namespace", false)) {
      if (*declared != job_.ns) {
        warning(*f[3], "metadata.namespace",
                "declares namespace " + quoteText(*declared) + " but the file lies in namespace " +
                    quoteText(job_.ns) + " (from its directory); using " + quoteText(job_.ns));
      }
    }
    if (auto labels = stringMap(f[4], "metadata.labels", false))
      job_.labels = std::move(*labels);
    if (auto ann = stringMap(f[5], "metadata.annotations", false)) {
      job_.annotations = std::move(*ann);
    }
  }

  void readSpec(const Node& root, const Node* node) {
    const Node* spec = section(root, node, "spec", true);
    if (spec == nullptr)
      return;
    auto f = fields(*spec, "spec",
                    {"schedule", "timezone", "command", "args", "workingDir", "env", "checkin",
                     "retry", "agent", "enabled", "paused"});
    readSchedule(*spec, f[0]);
    readTimezone(*spec, f[1]);
    if (auto command = string(*spec, f[2], "spec.command", true)) {
      if (command->find_first_not_of(" \t\r\n") == std::string::npos) {
        error(*f[2], "spec.command", "must not be empty");
      } else {
        job_.command = std::move(*command);
      }
    }
    if (auto args = stringList(f[3], "spec.args"))
      job_.args = std::move(*args);
    if (auto dir = string(*spec, f[4], "spec.workingDir", false)) {
      if (!isAbsolutePath(*dir)) {
        error(*f[4], "spec.workingDir", "must be an absolute path, found " + quoteText(*dir));
      } else {
        job_.working_dir = std::move(*dir);
      }
    }
    if (auto env = stringMap(f[5], "spec.env", true))
      job_.env = std::move(*env);
    readCheckin(*spec, f[6]);
    readRetry(*spec, f[7]);
    if (const Node* agent = section(*spec, f[8], "spec.agent", false)) {
      auto a = fields(*agent, "spec.agent", {"selector"});
      if (auto sel = stringMap(a[0], "spec.agent.selector", false))
        job_.selector = std::move(*sel);
    }
    if (auto enabled = boolean(f[9], "spec.enabled"))
      job_.enabled = *enabled;
    if (auto paused = boolean(f[10], "spec.paused"))
      job_.paused = *paused;
  }

  void readSchedule(const Node& spec, const Node* n) {
    auto schedule = string(spec, n, "spec.schedule", true);
    if (!schedule)
      return;
    if (hasControl(*schedule)) {
      error(*n, "spec.schedule", "must not contain control characters (newlines, tabs, ...)");
      return;
    }
    sdk::CronExpression expr;
    sdk::CronError cron_error;
    if (!sdk::CronExpression::parse(*schedule, expr, cron_error)) {
      std::string where = cron_error.field.empty() || cron_error.field == "expression"
                              ? std::string()
                              : cron_error.field + " field: ";
      error(*n, "spec.schedule",
            "invalid cron expression " + quoteText(*schedule) + ": " + where + cron_error.message);
      return;
    }
    job_.schedule = std::move(*schedule);
  }

  void readTimezone(const Node& spec, const Node* n) {
    auto zone = string(spec, n, "spec.timezone", false);
    if (!zone)
      return;
    if (zone->empty()) {
      error(*n, "spec.timezone", "must not be empty (omit it to use the agent's default zone)");
    } else if (hasControl(*zone)) {
      error(*n, "spec.timezone", "must not contain control characters");
    } else if ((*zone)[0] == '/' || (*zone)[0] == '\\' || hasDotDotComponent(*zone)) {
      error(*n, "spec.timezone",
            "must be an IANA zone name such as Europe/Berlin, not a path: " + quoteText(*zone));
    } else if (!zoneExists(*zone)) {
      error(*n, "spec.timezone",
            "unknown time zone " + quoteText(*zone) + " (not in the system's tz database)");
    } else {
      job_.timezone = std::move(*zone);
    }
  }

  void readCheckin(const Node& spec, const Node* node) {
    const Node* checkin = section(spec, node, "spec.checkin", false);
    if (checkin == nullptr)
      return;
    auto f = fields(*checkin, "spec.checkin", {"enabled", "secret", "timeout"});
    if (auto enabled = boolean(f[0], "spec.checkin.enabled"))
      job_.checkin.enabled = *enabled;
    if (auto secret = string(*checkin, f[1], "spec.checkin.secret", false)) {
      expandSecret(*f[1], *secret);
    }
    if (auto timeout = integer(f[2], "spec.checkin.timeout", 1, kMaxCheckinTimeout)) {
      job_.checkin.timeout_seconds = static_cast<int>(*timeout);
    }
  }

  // Replaces each ${NAME} from the environment. A '$' not followed by '{' is literal, so secrets
  // that merely contain '$' survive unchanged.
  void expandSecret(const Node& n, const std::string& text) {
    const std::string field = "spec.checkin.secret";
    std::string out;
    std::size_t pos = 0;
    while (pos < text.size()) {
      std::size_t start = text.find("${", pos);
      if (start == std::string::npos) {
        out.append(text, pos, std::string::npos);
        break;
      }
      out.append(text, pos, start - pos);
      std::size_t end = text.find('}', start + 2);
      if (end == std::string::npos) {
        error(n, field, "unterminated ${ (expected ${VARIABLE})");
        return;
      }
      std::string name = text.substr(start + 2, end - start - 2);
      if (!isEnvName(name)) {
        error(n, field, "invalid variable name " + quoteText(name) + " in ${...}");
        return;
      }
      std::optional<std::string> value;
      if (options_.env) {
        value = options_.env(name);
      } else if (const char* v = std::getenv(name.c_str())) {
        value = std::string(v);
      }
      if (!value) {
        std::string message = "environment variable " + name + " is not set";
        if (options_.missing_env_is_error) {
          error(n, field, message);
          return;
        }
        warning(n, field, message + " here; the agent must have it");
      } else {
        out += *value;
      }
      pos = end + 1;
    }
    if (hasNul(out)) {
      error(n, field, "expanded value contains a NUL character");
      return;
    }
    job_.checkin.secret = std::move(out);
  }

  void readRetry(const Node& spec, const Node* node) {
    const Node* retry = section(spec, node, "spec.retry", false);
    if (retry == nullptr)
      return;
    auto f = fields(*retry, "spec.retry", {"enabled", "attempts", "backoff"});
    if (auto enabled = boolean(f[0], "spec.retry.enabled"))
      job_.retry.enabled = *enabled;
    if (auto attempts = integer(f[1], "spec.retry.attempts", 0, kMaxRetryAttempts)) {
      job_.retry.attempts = static_cast<int>(*attempts);
    }
    if (auto backoff = string(*retry, f[2], "spec.retry.backoff", false)) {
      if (*backoff == "fixed") {
        job_.retry.backoff = sdk::Backoff::kFixed;
      } else if (*backoff == "exponential") {
        job_.retry.backoff = sdk::Backoff::kExponential;
      } else {
        error(*f[2], "spec.retry.backoff",
              "must be \"fixed\" or \"exponential\", found " + quoteText(*backoff));
      }
    }
  }

  const YamlTree& tree_;
  const ManifestParseOptions& options_;
  FileResult& out_;
  sdk::Job job_;
  std::vector<std::string> unknown_;
  std::string unknown_field_;
  int unknown_line_ = 0;
  int unknown_column_ = 0;
};

FileResult parseContent(std::string_view content, const std::string& relative_path,
                        const ManifestParseOptions& options, YamlTree& tree) {
  FileResult result;
  result.file = relative_path;
  std::string ns = namespaceOf(relative_path);
  if (!isValidJobName(ns)) {
    result.errors.push_back({relative_path, 0, 0, "",
                             "directory " + quoteText(ns) + " is not a valid namespace (" +
                                 std::string(kNameRule) + "); no file below it is applied"});
    return result;
  }
  if (content.size() > ManifestParser::kMaxFileBytes) {
    result.errors.push_back({relative_path, 0, 0, "", "file is larger than 1 MiB"});
    return result;
  }
  if (!tree.parse(content)) {
    result.errors.push_back(
        {relative_path, tree.errorLine(), tree.errorColumn(), "", tree.error()});
    return result;
  }
  JobReader(tree, options, result).read(ns);
  return result;
}

bool isInside(const fs::path& canonical_target, const fs::path& canonical_root) {
  auto rel = canonical_target.lexically_relative(canonical_root);
  if (rel.empty() || rel == ".")
    return false;
  return *rel.begin() != "..";
}

struct Candidate {
  // A plain string, not fs::path: a path keeps a parsed copy of every component, several
  // hundred bytes per file that 10,000 candidates would hold for the whole parse.
  fs::path::string_type path;
  std::string relative;
  bool symlink = false;
};

void walk(const fs::path& dir, const std::string& relative_dir, std::vector<Candidate>& files,
          ManifestSet& set) {
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  auto list_error = [&](const std::error_code& e) {
    set.errors.push_back(
        {relative_dir, 0, 0, "", "cannot list directory: " + e.message() + " (nothing removed)"});
    set.tree_complete = false;
  };
  if (ec) {
    list_error(ec);
    return;
  }
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) {
      list_error(ec);
      return;
    }
    const fs::directory_entry& entry = *it;
    std::string name = entry.path().filename().string();
    if (name.empty() || name[0] == '.')
      continue;
    std::string relative = relative_dir.empty() ? name : relative_dir + "/" + name;
    // The directory_entry answers these from the type readdir returned, without a stat per
    // entry (which would cost more than parsing a small manifest).
    std::error_code sec;
    bool symlink = entry.is_symlink(sec);
    bool directory = !sec && !symlink && entry.is_directory(sec);
    if (sec) {
      set.errors.push_back({relative, 0, 0, "", "cannot stat: " + sec.message()});
      if (isManifestName(name)) {
        set.failed_files.insert(relative);
      } else {
        set.tree_complete = false;  // it may have been a directory full of manifests
      }
      continue;
    }
    if (directory) {
      walk(entry.path(), relative, files, set);
    } else if (symlink) {
      if (isManifestName(name)) {
        files.push_back({entry.path().native(), relative, true});
      } else if (fs::is_directory(entry.status(sec))) {
        set.warnings.push_back(
            {relative, 0, 0, "", "symlinked directory is not followed; its files are ignored"});
      }
    } else if (isManifestName(name)) {
      files.push_back({entry.path().native(), relative, false});
    }
  }
}

FileResult unreadable(const std::string& file, std::string message) {
  FileResult r;
  r.file = file;
  r.errors.push_back({file, 0, 0, "", std::move(message)});
  return r;
}

FileResult processCandidate(const Candidate& c, const fs::path& canonical_root,
                            const ManifestParseOptions& options, YamlTree& tree,
                            std::string& content) {
  fs::path target = c.path;
  if (c.symlink) {
    std::error_code ec;
    fs::path resolved = fs::canonical(c.path, ec);
    if (ec)
      return unreadable(c.relative, "symlink cannot be resolved: " + ec.message());
    if (!isInside(resolved, canonical_root)) {
      return unreadable(c.relative, "symlink points outside the repository (to " +
                                        resolved.string() + "); refused");
    }
    target = resolved;
  }
  std::string read_error;
  if (!readManifestFile(target, ManifestParser::kMaxFileBytes, content, read_error)) {
    return unreadable(c.relative, read_error);
  }
  return parseContent(content, c.relative, options, tree);
}

// Parsing dominates (the walk is cheap), and files are independent, so they are spread over a
// few threads; results keep the sorted file order so output is deterministic.
std::vector<FileResult> processAll(const std::vector<Candidate>& files,
                                   const fs::path& canonical_root,
                                   const ManifestParseOptions& options) {
  constexpr std::size_t kFilesPerWorker = 256;
  constexpr std::size_t kBatch = 32;  // small batches balance the threads on a busy machine
  constexpr unsigned kMaxWorkers = 4;
  std::vector<FileResult> results(files.size());
  std::size_t workers = std::min<std::size_t>(
      {std::max(1u, std::min(kMaxWorkers, std::thread::hardware_concurrency())),
       (files.size() + kFilesPerWorker - 1) / kFilesPerWorker});
  std::atomic<std::size_t> next{0};
  auto run = [&] {
    YamlTree tree;
    std::string content;
    for (;;) {
      std::size_t begin = next.fetch_add(kBatch, std::memory_order_relaxed);
      if (begin >= files.size())
        return;
      std::size_t end = std::min(files.size(), begin + kBatch);
      for (std::size_t i = begin; i < end; ++i) {
        results[i] = processCandidate(files[i], canonical_root, options, tree, content);
      }
    }
  };
  if (workers <= 1) {
    run();
    return results;
  }
  zoneExists("UTC");  // load the tz database index once, before the threads race to do it
  std::vector<std::exception_ptr> failures(workers);
  std::vector<std::thread> threads;
  for (std::size_t w = 1; w < workers; ++w) {
    threads.emplace_back([&, w] {
      try {
        run();
      } catch (...) {
        failures[w] = std::current_exception();  // rethrown on the calling thread below
      }
    });
  }
  try {
    run();  // the calling thread is worker 0
  } catch (...) {
    failures[0] = std::current_exception();
  }
  for (auto& t : threads)
    t.join();
  for (auto& f : failures) {
    if (f)
      std::rethrow_exception(f);
  }
  return results;
}

}  // namespace

bool isValidJobName(std::string_view v) {
  if (v.empty() || v.size() > kMaxNameLength)
    return false;
  if (!isLowerAlnum(v.front()) || !isLowerAlnum(v.back()))
    return false;
  return std::all_of(v.begin(), v.end(), [](char c) { return isLowerAlnum(c) || c == '-'; });
}

// Folds per-file results into a ManifestSet: identity conflicts, selectors, held identities.
class ManifestParser::Collector {
 public:
  Collector(const ManifestParseOptions& options, ManifestSet& set) : options_(options), set_(set) {}

  void add(FileResult r) {
    results_.push_back(std::move(r));
    account(results_.size() - 1);
  }

  // Takes a whole batch in place: 10,000 results held twice would double the peak memory.
  void addAll(std::vector<FileResult>&& results) {
    results_ = std::move(results);
    for (std::size_t i = 0; i < results_.size(); ++i)
      account(i);
  }

  void finish() {
    for (auto& [identity, indices] : claims_) {
      if (indices.size() > 1) {
        set_.held_identities.insert(identity);
        for (std::size_t i : indices) {
          FileResult& r = results_[i];
          std::string others;
          for (std::size_t j : indices) {
            if (j != i)
              others += (others.empty() ? "" : ", ") + results_[j].file;
          }
          set_.errors.push_back({r.file, r.name_line, r.name_column, "metadata.name",
                                 "identity " + identity + " is also defined by " + others +
                                     "; neither file is applied"});
          set_.failed_files.insert(r.file);
          set_.failed_file_identity[r.file] = identity;
          r.job.reset();
        }
        continue;
      }
      FileResult& r = results_[indices.front()];
      if (!r.job)
        continue;
      if (selected(*r.job)) {
        set_.jobs.emplace(identity, std::move(*r.job));
        r.job.reset();
      } else {
        set_.unselected.insert(identity);
      }
    }
    std::stable_sort(set_.errors.begin(), set_.errors.end(), byPosition);
    std::stable_sort(set_.warnings.begin(), set_.warnings.end(), byPosition);
  }

 private:
  void account(std::size_t index) {
    FileResult& r = results_[index];
    ++set_.files_read;
    for (auto& e : r.errors)
      set_.errors.push_back(std::move(e));
    for (auto& w : r.warnings)
      set_.warnings.push_back(std::move(w));
    if (!r.identity.empty())
      claims_[r.identity].push_back(index);
    if (!r.job) {
      set_.failed_files.insert(r.file);
      if (!r.identity.empty()) {
        set_.failed_file_identity[r.file] = r.identity;
        set_.held_identities.insert(r.identity);
      }
    }
  }

  static bool byPosition(const ManifestDiagnostic& a, const ManifestDiagnostic& b) {
    if (a.file != b.file)
      return a.file < b.file;
    if (a.line != b.line)
      return a.line < b.line;
    return a.column < b.column;
  }

  bool selected(const sdk::Job& job) const {
    if (!options_.agent)
      return true;
    const AgentIdentity& agent = *options_.agent;
    for (const auto& [key, value] : job.selector) {
      if (key == "hostname") {
        // Host names are case-insensitive (RFC 4343).
        if (value.size() != agent.hostname.size() ||
            !std::equal(value.begin(), value.end(), agent.hostname.begin(), [](char a, char b) {
              return std::tolower(static_cast<unsigned char>(a)) ==
                     std::tolower(static_cast<unsigned char>(b));
            })) {
          return false;
        }
      } else if (key == "name") {
        if (value != agent.name)
          return false;
      } else {
        auto it = agent.labels.find(key);
        if (it == agent.labels.end() || it->second != value)
          return false;
      }
    }
    return true;
  }

  const ManifestParseOptions& options_;
  ManifestSet& set_;
  std::vector<FileResult> results_;
  std::map<std::string, std::vector<std::size_t>> claims_;
};

ManifestParser::ManifestParser(ManifestParseOptions options) : options_(std::move(options)) {}

ManifestSet ManifestParser::parseTree(const fs::path& root) const {
  ManifestSet set;
  std::error_code ec;
  fs::path canonical_root = fs::canonical(root, ec);
  if (ec || !fs::is_directory(canonical_root, ec)) {
    set.errors.push_back({"", 0, 0, "",
                          "cannot read manifest directory " + root.string() + ": " +
                              (ec ? ec.message() : std::string("not a directory"))});
    set.tree_complete = false;
    return set;
  }
  std::vector<Candidate> files;
  walk(canonical_root, "", files, set);
  std::sort(files.begin(), files.end(),
            [](const Candidate& a, const Candidate& b) { return a.relative < b.relative; });

  Collector collector(options_, set);
  for (FileResult& r : processAll(files, canonical_root, options_))
    collector.add(std::move(r));
  collector.finish();
  return set;
}

ManifestSet ManifestParser::parseFile(const fs::path& file) const {
  // Find the work tree root, if any, so the namespace is what the agent would compute.
  std::error_code ec;
  fs::path absolute = fs::absolute(file, ec);
  std::string relative;
  if (!ec) {
    for (fs::path dir = absolute.parent_path(); !dir.empty(); dir = dir.parent_path()) {
      if (fs::exists(dir / ".git", ec)) {
        relative = absolute.lexically_relative(dir).generic_string();
        break;
      }
      if (dir == dir.parent_path())
        break;
    }
  }
  if (relative.empty()) {
    fs::path parent = file.parent_path().filename();
    relative = parent.empty() || parent == "." || parent == ".."
                   ? file.filename().string()
                   : parent.string() + "/" + file.filename().string();
  }
  ManifestSet set;
  Collector collector(options_, set);
  std::string content;
  std::string read_error;
  if (!readManifestFile(file, kMaxFileBytes, content, read_error)) {
    collector.add(unreadable(relative, read_error));
  } else {
    YamlTree tree;
    collector.add(parseContent(content, relative, options_, tree));
  }
  collector.finish();
  return set;
}

ManifestSet ManifestParser::parseBuffer(std::string_view content,
                                        const std::string& relative_path) const {
  ManifestSet set;
  Collector collector(options_, set);
  YamlTree tree;
  collector.add(parseContent(content, relative_path, options_, tree));
  collector.finish();
  return set;
}

}  // namespace crontopus::core
