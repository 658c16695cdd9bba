#pragma once

#include <cmath>
#include <cstdlib>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace crontopus::tests {

// A strict reader of the Prometheus text exposition format 0.0.4, checking what promtool would:
// every line is HELP, TYPE or a sample; metric and label names are valid; each metric has one
// HELP and one TYPE before its samples; no series twice; a histogram's buckets are cumulative and
// end with le="+Inf" equal to _count, with _sum and _count present. Throws std::runtime_error
// naming the line on the first problem. Returns every series, written `name{a="b",c="d"}` with
// the labels sorted (just `name` without labels), with its value.
inline std::map<std::string, double> parsePromText(const std::string& text) {
  auto fail = [](int line, const std::string& what) {
    throw std::runtime_error("line " + std::to_string(line) + ": " + what);
  };
  auto validName = [](const std::string& s, bool colon) {
    if (s.empty())
      return false;
    for (std::size_t i = 0; i < s.size(); ++i) {
      const char c = s[i];
      const bool alpha =
          (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':');
      if (!alpha && !(i > 0 && c >= '0' && c <= '9'))
        return false;
    }
    return true;
  };
  auto parseValue = [](const std::string& s, double& v) {
    if (s == "+Inf" || s == "Inf") {
      v = INFINITY;
      return true;
    }
    if (s == "-Inf") {
      v = -INFINITY;
      return true;
    }
    if (s == "NaN") {
      v = NAN;
      return true;
    }
    if (s.empty())
      return false;
    char* end = nullptr;
    v = std::strtod(s.c_str(), &end);
    return end == s.c_str() + s.size();
  };

  struct Family {
    std::string type;
    bool help = false;
    bool samples = false;
  };
  std::map<std::string, Family> families;
  std::map<std::string, double> series;
  // histogram name -> label set without le -> (le, cumulative count) in order
  std::map<std::string, std::map<std::string, std::vector<std::pair<double, double>>>> buckets;
  std::map<std::string, std::map<std::string, std::set<std::string>>> parts;  // _sum/_count seen
  std::string last_family;
  std::set<std::string> closed;  // families whose samples ended (they must be contiguous)

  if (!text.empty() && text.back() != '\n')
    fail(0, "the text does not end with a newline");
  std::size_t pos = 0;
  int number = 0;
  while (pos < text.size()) {
    const std::size_t eol = text.find('\n', pos);
    const std::string line = text.substr(pos, eol - pos);
    pos = eol + 1;
    ++number;
    if (line.empty())
      fail(number, "empty line");
    if (line[0] == '#') {
      const bool help = line.rfind("# HELP ", 0) == 0;
      const bool type = line.rfind("# TYPE ", 0) == 0;
      if (!help && !type)
        fail(number, "a comment that is neither HELP nor TYPE: " + line);
      const std::string rest = line.substr(7);
      const std::size_t space = rest.find(' ');
      if (space == std::string::npos)
        fail(number, "HELP/TYPE without text: " + line);
      const std::string name = rest.substr(0, space);
      if (!validName(name, true))
        fail(number, "invalid metric name \"" + name + "\"");
      Family& f = families[name];
      if (f.samples)
        fail(number, "HELP/TYPE after the samples of " + name);
      if (help) {
        if (f.help)
          fail(number, "second HELP for " + name);
        f.help = true;
      } else {
        if (!f.type.empty())
          fail(number, "second TYPE for " + name);
        f.type = rest.substr(space + 1);
        static const std::set<std::string> kTypes = {"counter", "gauge", "histogram", "summary",
                                                     "untyped"};
        if (kTypes.count(f.type) == 0)
          fail(number, "unknown type \"" + f.type + "\"");
      }
      continue;
    }
    // name{labels} value
    std::size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ')
      ++i;
    const std::string name = line.substr(0, i);
    if (!validName(name, true))
      fail(number, "invalid metric name \"" + name + "\"");
    std::map<std::string, std::string> labels;
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (true) {
        if (i < line.size() && line[i] == '}') {
          ++i;
          break;
        }
        std::size_t eq = line.find('=', i);
        if (eq == std::string::npos)
          fail(number, "label without =");
        const std::string label = line.substr(i, eq - i);
        if (!validName(label, false) || label.rfind("__", 0) == 0)
          fail(number, "invalid label name \"" + label + "\"");
        i = eq + 1;
        if (i >= line.size() || line[i] != '"')
          fail(number, "label value not quoted");
        ++i;
        std::string value;
        while (true) {
          if (i >= line.size())
            fail(number, "unterminated label value");
          const char c = line[i++];
          if (c == '"')
            break;
          if (c == '\\') {
            if (i >= line.size())
              fail(number, "unterminated escape");
            const char e = line[i++];
            if (e == 'n')
              value += '\n';
            else if (e == '\\' || e == '"')
              value += e;
            else
              fail(number, std::string("invalid escape \\") + e);
          } else {
            value += c;
          }
        }
        if (!labels.emplace(label, value).second)
          fail(number, "label " + label + " twice");
        if (i < line.size() && line[i] == ',') {
          ++i;
          continue;
        }
        if (i >= line.size() || line[i] != '}')
          fail(number, "expected , or } after a label");
      }
    }
    if (i >= line.size() || line[i] != ' ')
      fail(number, "expected one space before the value");
    const std::string value_text = line.substr(i + 1);
    double value = 0;
    if (!parseValue(value_text, value))
      fail(number, "invalid value \"" + value_text + "\" (timestamps are not expected here)");

    // Which family: a histogram's samples carry a suffix.
    std::string family = name;
    std::string suffix;
    for (const char* s : {"_bucket", "_sum", "_count"}) {
      const std::string sfx = s;
      if (name.size() > sfx.size() &&
          name.compare(name.size() - sfx.size(), sfx.size(), sfx) == 0) {
        const std::string base = name.substr(0, name.size() - sfx.size());
        auto it = families.find(base);
        if (it != families.end() && it->second.type == "histogram") {
          family = base;
          suffix = sfx;
        }
      }
    }
    auto it = families.find(family);
    if (it == families.end() || it->second.type.empty() || !it->second.help)
      fail(number, "sample of " + family + " before its HELP and TYPE");
    if (closed.count(family) > 0)
      fail(number, "samples of " + family + " are not contiguous");
    if (!last_family.empty() && last_family != family)
      closed.insert(last_family);
    last_family = family;
    it->second.samples = true;
    if (it->second.type == "histogram" && suffix.empty())
      fail(number, "histogram sample without _bucket/_sum/_count: " + name);
    if (it->second.type == "counter" && value < 0)
      fail(number, "negative counter");

    std::string key = name;
    std::string rest_key;
    if (!labels.empty()) {
      key += "{";
      bool first = true;
      for (const auto& [k, v] : labels) {
        key += (first ? "" : ",") + k + "=\"" + v + "\"";
        if (k != "le")
          rest_key += k + "=" + v + ";";
        first = false;
      }
      key += "}";
    }
    if (!series.emplace(key, value).second)
      fail(number, "series twice: " + key);
    if (suffix == "_bucket") {
      auto le = labels.find("le");
      double bound = 0;
      if (le == labels.end() || !parseValue(le->second, bound))
        fail(number, "bucket without a valid le label");
      auto& list = buckets[family][rest_key];
      if (!list.empty() && (bound <= list.back().first || value < list.back().second))
        fail(number, "buckets not increasing in le or not cumulative");
      list.emplace_back(bound, value);
    } else if (!suffix.empty()) {
      if (labels.count("le") > 0)
        fail(number, suffix + " with an le label");
      parts[family][rest_key].insert(suffix);
    }
  }
  for (const auto& [family, f] : families) {
    if (f.type.empty() || !f.help)
      fail(number, family + " lacks HELP or TYPE");
    if (f.type != "histogram")
      continue;
    if (buckets[family].empty())
      fail(number, "histogram " + family + " has no buckets");
    for (const auto& [labels, list] : buckets[family]) {
      if (list.back().first != INFINITY)
        fail(number, "histogram " + family + " lacks le=\"+Inf\"");
      if (parts[family][labels] != std::set<std::string>{"_count", "_sum"})
        fail(number, "histogram " + family + " lacks _sum or _count");
      // Our histograms have no labels of their own; a labelled one would need its _count key.
      if (labels.empty() && series.at(family + "_count") != list.back().second)
        fail(number, "histogram " + family + ": +Inf bucket differs from _count");
    }
  }
  return series;
}

}  // namespace crontopus::tests
