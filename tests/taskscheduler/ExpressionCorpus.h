#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace crontopus::plugins::taskscheduler::test {

// A deterministic corpus of cron expressions: hand-picked ones (the examples, macros,
// leap days, daylight-saving hours, both day fields restricted) followed by generated ones.
// Generated with splitmix64, not <random>, so every standard library yields the same corpus.
inline std::vector<std::string> expressionCorpus(std::size_t generated) {
  std::vector<std::string> out = {
      "*/15 9-17 * * *", "5,35 */2 * * *", "* * * * *",      "0 * * * *",      "@hourly",
      "@daily",          "@weekly",        "@monthly",       "@yearly",        "0 0 29 2 *",
      "0 0 30 2 *",      "0 0 31 * *",     "0 0 13 * 5",     "0 0 */2 * 5",    "30 2 * * *",
      "0 2 * * *",       "0 3 * * *",      "0 1 * * *",      "*/5 1-3 * * *",  "0 0 1-7 * 1",
      "0 0 */7 * 1",     "0 0 1-14 * *",   "0 12 1-7 * */2", "0 12 22-31 * *", "0 12 * 2 0",
      "0 12 * 2,8 1-5"};
  out.insert(out.end(), {"0 12 */1 * 1-5", "0 12 22-31/1 * 3", "7 */3 1,15 * 1", "59 23 31 12 *",
                         "0 9-17/2 * jan-mar mon-fri", "0 0 * * 7", "*/7 * * * *",
                         "0,20,40 8-18 * * *", "1-59/2 0-23/5 * * *"});
  std::uint64_t state = 0x5EEDC0DEULL;
  auto next = [&]() {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  };
  auto pick = [&](unsigned n) { return static_cast<unsigned>(next() % n); };
  // One field over [lo, hi]: `*`, a value, a range, a step form, or a list of those.
  auto field = [&](unsigned lo, unsigned hi, unsigned star_weight) {
    auto item = [&]() -> std::string {
      unsigned span = hi - lo + 1;
      unsigned a = lo + pick(span);
      unsigned b = a + pick(hi - a + 1);
      switch (pick(6)) {
        case 0:
        case 1:
          return std::to_string(a);
        case 2:
          return std::to_string(a) + "-" + std::to_string(b);
        case 3:
          return "*/" + std::to_string(1 + pick(span / 2 + 1));
        case 4:
          return std::to_string(a) + "-" + std::to_string(b) + "/" +
                 std::to_string(1 + pick(span / 3 + 1));
        default:
          return std::to_string(a) + "/" + std::to_string(1 + pick(span / 2 + 1));
      }
    };
    if (pick(10) < star_weight) {
      return std::string("*");
    }
    std::string text = item();
    if (text[0] != '*') {
      for (unsigned extra = pick(3); extra > 0; --extra) {
        std::string more = item();
        if (more[0] != '*') {
          text += "," + more;
        }
      }
    }
    return text;
  };
  for (std::size_t i = 0; i < generated; ++i) {
    // Every fourth expression restricts both day fields (cron's OR, or AND with a `*/n` field).
    bool both_days = i % 4 == 0;
    std::string dom = field(1, 31, both_days ? 0 : 6);
    std::string dow = field(0, 7, both_days ? 0 : 6);
    out.push_back(field(0, 59, 1) + " " + field(0, 23, 3) + " " + dom + " " + field(1, 12, 7) +
                  " " + dow);
  }
  return out;
}

}  // namespace crontopus::plugins::taskscheduler::test
