#include "TestCorpus.h"

#include <cstdint>
#include <cstdio>
#include <set>

namespace crontopus::tests::systemd_timer {
namespace {

// splitmix64: portable, unlike std::uniform_int_distribution, whose output differs by library.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  unsigned below(unsigned n) { return static_cast<unsigned>(next() % n); }
  unsigned between(unsigned lo, unsigned hi) { return lo + below(hi - lo + 1); }
  double unit() { return static_cast<double>(next() >> 11) / 9007199254740992.0; }
  template <typename T, std::size_t N>
  const T& pick(const T (&items)[N]) {
    return items[below(N)];
  }

 private:
  std::uint64_t state_;
};

constexpr const char* kMonths[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                   "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr const char* kDays[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};

struct Field {
  unsigned lo;
  unsigned hi;
  const char* const* names;
  unsigned name_count;
};
constexpr Field kFields[] = {
    {0, 59, nullptr, 0},  {0, 23, nullptr, 0}, {1, 31, nullptr, 0},
    {1, 12, kMonths, 12}, {0, 7, kDays, 7},  // day-of-week 7 is Sunday again
};

std::string mixedCase(Rng& rng, const char* name) {
  std::string out;
  for (const char* c = name; *c; ++c) {
    out += rng.unit() < 0.5 ? static_cast<char>(*c - 'A' + 'a') : *c;
  }
  return out;
}

std::string value(Rng& rng, const Field& f, unsigned v) {
  if (f.names != nullptr && v - f.lo < f.name_count && rng.unit() < 0.4) {
    return mixedCase(rng, f.names[v - f.lo]);
  }
  if (rng.unit() < 0.05) {
    return "0" + std::to_string(v);
  }
  return std::to_string(v);
}

std::string item(Rng& rng, const Field& f) {
  static constexpr unsigned kStarSteps[] = {1, 2, 3, 4, 5, 6, 7, 10, 13, 15, 20, 30, 45, 59};
  static constexpr unsigned kSpans[] = {1, 3, 8, 20, 60};
  static constexpr unsigned kSteps[] = {1, 2, 3, 4, 5, 7, 11, 25};
  switch (rng.below(7)) {
    case 0:
    case 1:
      return value(rng, f, rng.between(f.lo, f.hi));
    case 2: {
      unsigned step = rng.pick(kStarSteps);
      return "*/" + std::to_string(step > f.hi ? f.hi : step);
    }
    default:
      break;
  }
  const unsigned a = rng.between(f.lo, f.hi);
  const unsigned span = rng.pick(kSpans);
  const unsigned b = rng.between(a, a + span > f.hi ? f.hi : a + span);
  const unsigned kind = rng.below(3);
  if (kind == 0) {
    return value(rng, f, a) + "-" + value(rng, f, b);
  }
  const std::string step = std::to_string(rng.pick(kSteps));
  if (kind == 1) {
    return value(rng, f, a) + "-" + value(rng, f, b) + "/" + step;
  }
  return std::to_string(a) + "/" + step;
}

std::string field(Rng& rng, unsigned index, double star_weight) {
  const Field& f = kFields[index];
  const double r = rng.unit();
  if (r < star_weight) {
    return "*";
  }
  if (r < star_weight + 0.1) {
    static constexpr unsigned kSteps[] = {1, 2, 3, 5, 7, 15};
    return "*/" + std::to_string(rng.pick(kSteps));
  }
  static constexpr unsigned kCounts[] = {1, 1, 1, 2, 3, 4};
  const unsigned n = rng.pick(kCounts);
  std::string text;
  for (unsigned i = 0; i < n; ++i) {
    std::string it = item(rng, f);
    if (i > 0 && it.front() == '*') {
      continue;  // a `*` item after the first is legal but says nothing new
    }
    text += (text.empty() ? "" : ",") + it;
  }
  return text;
}

}  // namespace

std::vector<std::string> cronCorpus(std::size_t count, bool with_reboot) {
  std::vector<std::string> corpus = {"@yearly", "@annually", "@monthly", "@weekly",
                                     "@daily",  "@midnight", "@hourly"};
  if (with_reboot) {
    corpus.push_back("@reboot");
  }
  const char* fixed[] = {
      "* * * * *",          "0 0 13 * 5",
      "0 0 */2 * 5",        "0 0 13 * */2",
      "0 0 1,15 * mon-FRI", "0 0 * * 7",
      "0 0 * * sun-7",      "0 0 * * 5-7",
      "30 2 29 2 *",        "0 0 31 * *",
      "59 23 31 12 *",      "5/10 3/6 2/7 2/3 1/2",
      "0 0 29 2 1",         "0 12 * jan-Mar,sep-dec 1-5",
      "0 0 30 2 *",         "0 0 1 * 0-6",
      "0 0 1-31 * 1",       "30 2 * * *",
      "0 2 * * *",          "30 1 * * *",
      "*/15 2 * * *",       "0 1-3 * * *",
      "15,45 * * * *",      "0 3 * * sun",
      "30 2 8-14 3 0",      "30 1 1-7 11 0",
      "* 2 29 3 *",         "*/7 1,2 25 10 *",
      "0 */2 * * *",        "59 1 * * *",
      "0 0 * * *",          "1-59/2 0-5 * * *",
  };
  for (const char* f : fixed) {
    corpus.push_back(f);
  }
  std::set<std::string> seen(corpus.begin(), corpus.end());
  Rng rng(20261126);
  while (corpus.size() < count) {
    std::string expr = field(rng, 0, 0.15) + " " + field(rng, 1, 0.25) + " " + field(rng, 2, 0.45) +
                       " " + field(rng, 3, 0.6) + " " + field(rng, 4, 0.5);
    if (seen.insert(expr).second) {
      corpus.push_back(expr);
    }
  }
  return corpus;
}

}  // namespace crontopus::tests::systemd_timer

namespace crontopus::tests::systemd_timer {

std::chrono::sys_seconds utcTime(const std::string& text) {
  int y = 0;
  unsigned mo = 0, d = 0, h = 0, mi = 0, s = 0;
  if (std::sscanf(text.c_str(), "%d-%u-%u %u:%u:%u", &y, &mo, &d, &h, &mi, &s) != 6) {
    return {};
  }
  const std::chrono::sys_days day{std::chrono::year{y} / std::chrono::month{mo} /
                                  std::chrono::day{d}};
  return day + std::chrono::hours(h) + std::chrono::minutes(mi) + std::chrono::seconds(s);
}

}  // namespace crontopus::tests::systemd_timer
