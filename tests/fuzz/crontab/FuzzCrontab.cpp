// libFuzzer target for the cron backend's crontab document (plugins/cron CrontabDocument): any
// bytes as a crontab. Checks the ownership promise rather than only "no crash":
// - serialize(parse(x)) is x itself (plus the '\n' cron needs after a last line lacking one);
// - after one apply's worth of edits (every owned block removed or replaced by a rendered block,
//   well-formed blocks possibly left alone, one new job appended) the foreign lines are exactly
//   those of x, in order, and a second parse finds exactly the blocks that were written;
// - the result is a fixed point: parsing and serializing it again changes nothing.
// Any violation aborts, so libFuzzer keeps the input as a crash reproducer.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>

#include "CrontabDocument.h"
#include "EntryFormat.h"

namespace {

using crontopus::plugins::cron::CrontabDocument;

void require(bool condition) {
  if (!condition)
    std::abort();
}

// The document with every owned block removed: the foreign lines only.
std::string foreign(std::string_view text) {
  CrontabDocument doc = CrontabDocument::parse(text);
  for (const auto& entry : doc.owned())
    doc.remove(entry.identity);
  return doc.serialize();
}

// An identity the agent could render: <namespace>/<name> in the manifest's character set.
bool renderable(const std::string& identity) {
  const auto slash = identity.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == identity.size() ||
      identity.find('/', slash + 1) != std::string::npos)
    return false;
  for (char c : identity) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
          c == '/'))
      return false;
  }
  return true;
}

// What the cron plugin renders for a job (EntryFormat.h), with an id taken from the input so
// that percent-encoding is exercised.
std::string block(const std::string& identity, std::string_view id, bool paused) {
  using namespace crontopus::plugins::cron;
  return formatMarker(identity, id) + "\n" + (paused ? "#" : "") +
         "*/5 * * * * '/usr/bin/crontopus-run' run --state-dir '/var/lib/crontopus' " +
         quoteForCron(identity) + "\n";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  // Round trip.
  CrontabDocument doc = CrontabDocument::parse(text);
  std::string expected(text);
  if (!expected.empty() && expected.back() != '\n')
    expected += '\n';
  require(doc.serialize() == expected);

  const std::string foreign_before = foreign(text);

  // One apply: each owned identity is removed, replaced, or (when already well-formed) kept.
  std::map<std::string, std::string> written;  // identity -> block expected after the edit
  std::size_t k = 0;
  for (const auto& entry : doc.owned()) {
    const std::uint8_t choice = size == 0 ? 0 : data[(k++ * 7919) % size] % 3;
    const bool wellFormed = crontopus::plugins::cron::isWellFormedBlock(entry.text, entry.identity);
    if (!renderable(entry.identity) || choice == 0) {
      doc.remove(entry.identity);
    } else if (choice == 2 && wellFormed) {
      written[entry.identity] = entry.text;
    } else {
      const std::string b = block(entry.identity, text.substr(0, k % 24), choice == 1);
      require(crontopus::plugins::cron::isWellFormedBlock(b, entry.identity));
      doc.put(entry.identity, b);
      written[entry.identity] = b;
    }
  }
  const std::string added = "fuzz/added-job";
  if (written.count(added) == 0) {
    const std::string b = block(added, text.substr(0, 40), false);
    require(crontopus::plugins::cron::isWellFormedBlock(b, added));
    doc.put(added, b);
    written[added] = b;
  }
  const std::string after = doc.serialize();

  // Every foreign byte kept, in order, and still foreign on the next read.
  require(foreign(after) == foreign_before);
  // Exactly the blocks written, each once and whole.
  const CrontabDocument again = CrontabDocument::parse(after);
  const auto owned = again.owned();
  require(owned.size() == written.size());
  for (const auto& entry : owned) {
    auto it = written.find(entry.identity);
    require(it != written.end());
    require(entry.text == it->second);
  }
  require(again.serialize() == after);
  return 0;
}
