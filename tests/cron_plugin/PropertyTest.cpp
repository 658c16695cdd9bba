#include <gtest/gtest.h>

#include <iostream>
#include <random>

#include "TestSupport.h"

namespace crontopus::plugins::cron::test {
namespace {

// Random job changes and random foreign edits (by "someone else", between cycles); after every
// apply the foreign lines are exactly what they were and the owned entries are exactly the
// desired set. Foreign lines never contain "/job-", so the test can tell owned lines apart on its
// own: a marker, or the line right after a marker that names a job.
const std::vector<std::string> kForeignPool = {
    "# a comment",
    "",
    "   ",
    "\t",
    "SHELL=/bin/sh",
    "MAILTO=\"\"",
    "PATH=/usr/bin:/bin",
    "@reboot /bin/true",
    "#Ansible: thing",
    "0 1 * * * /usr/bin/backup --full",
    "\t*/3\t* * * *  echo  'tab'",
    "# CRONTOPUS mention in the middle",
    "#  CRONTOPUS:not-ours-spacing",
    "#CRONTOPUS:no-space",
    "15 * * * * echo 100\\% done",
    "dos line\r",
    "* * * * * /opt/x # CRONTOPUS:fake-suffix",
};
const std::vector<std::string> kSchedules = {"*/5 * * * *", "0 2 * * MON",          "@daily",
                                             "@reboot",     "5/15 1-3 * JAN-MAR *", "0 0 1,15 * *"};

struct Line {
  std::string text;  // without '\n'
  bool owned;
};

std::vector<Line> classify(const std::string& text) {
  std::vector<Line> lines;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) {
      nl = text.size();
    }
    std::string line = text.substr(pos, nl - pos);
    const bool marker = line.rfind("# CRONTOPUS:", 0) == 0;
    const bool entry = !lines.empty() && lines.back().owned &&
                       lines.back().text.rfind("# CRONTOPUS:", 0) == 0 &&
                       line.find("/job-") != std::string::npos;
    lines.push_back({std::move(line), marker || entry});
    pos = nl + 1;
  }
  return lines;
}

std::vector<std::string> foreignOf(const std::string& text) {
  std::vector<std::string> out;
  for (const Line& line : classify(text)) {
    if (!line.owned) {
      out.push_back(line.text);
    }
  }
  return out;
}

std::string join(const std::vector<Line>& lines, bool final_newline) {
  std::string out;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    out += lines[i].text;
    if (i + 1 < lines.size() || final_newline) {
      out += '\n';
    }
  }
  return out;
}

bool isMarker(const Line& line) {
  return line.text.rfind("# CRONTOPUS:", 0) == 0;
}

void foreignEdit(std::mt19937& rng, std::string& text) {
  std::vector<Line> lines = classify(text);
  const bool final_newline = text.empty() || text.back() == '\n';
  auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
  switch (rng() % 8) {
    case 0:
    case 1: {  // insert a foreign line anywhere but between a marker and its entry
      std::size_t at = pick(lines.size() + 1);
      if (at > 0 && isMarker(lines[at - 1])) {
        --at;
      }
      lines.insert(lines.begin() + static_cast<long>(at),
                   {kForeignPool[pick(kForeignPool.size())], false});
      break;
    }
    case 2: {  // delete a foreign line
      std::vector<std::size_t> foreign;
      for (std::size_t i = 0; i < lines.size(); ++i) {
        if (!lines[i].owned) {
          foreign.push_back(i);
        }
      }
      if (!foreign.empty()) {
        lines.erase(lines.begin() + static_cast<long>(foreign[pick(foreign.size())]));
      }
      break;
    }
    case 3:
    case 4:
    case 5: {  // hand-edit, hand-pause or delete an owned entry
      std::vector<std::size_t> entries;
      for (std::size_t i = 0; i < lines.size(); ++i) {
        if (lines[i].owned && !isMarker(lines[i])) {
          entries.push_back(i);
        }
      }
      if (entries.empty()) {
        break;
      }
      const std::size_t i = entries[pick(entries.size())];
      const int how = static_cast<int>(rng() % 3);
      if (how == 0) {
        lines[i].text = "5 5 5 5 5" + lines[i].text.substr(lines[i].text.find(" '"));
      } else if (how == 1) {
        lines[i].text = "#" + lines[i].text;
      } else {
        lines.erase(lines.begin() + static_cast<long>(i));
      }
      break;
    }
    case 6: {  // delete a whole block, or copy one to the end
      std::vector<std::size_t> markers;
      for (std::size_t i = 0; i < lines.size(); ++i) {
        if (isMarker(lines[i])) {
          markers.push_back(i);
        }
      }
      if (markers.empty()) {
        break;
      }
      const std::size_t m = markers[pick(markers.size())];
      const std::size_t end =
          (m + 1 < lines.size() && lines[m + 1].owned && !isMarker(lines[m + 1])) ? m + 2 : m + 1;
      if (rng() % 2 == 0) {
        lines.erase(lines.begin() + static_cast<long>(m), lines.begin() + static_cast<long>(end));
      } else {
        std::vector<Line> copy(lines.begin() + static_cast<long>(m),
                               lines.begin() + static_cast<long>(end));
        lines.insert(lines.end(), copy.begin(), copy.end());
      }
      break;
    }
    default: {  // drop the final newline after a foreign last line
      if (!lines.empty() && !lines.back().owned) {
        text = join(lines, false);
        return;
      }
      break;
    }
  }
  text = join(lines, final_newline);
}

void jobEdit(std::mt19937& rng, std::map<std::string, sdk::Job>& desired, int& counter) {
  const int what = static_cast<int>(rng() % 6);
  if (what <= 1 || desired.empty()) {
    sdk::Job job = makeJob("ns" + std::to_string(rng() % 3), "job-" + std::to_string(counter++),
                           kSchedules[rng() % kSchedules.size()]);
    if (rng() % 3 == 0) {
      job.id = "id-" + std::to_string(rng() % 1000) + (rng() % 2 ? " with space" : "");
    }
    job.paused = rng() % 4 == 0;
    desired[job.identity()] = job;
    return;
  }
  auto it = desired.begin();
  std::advance(it, static_cast<long>(rng() % desired.size()));
  switch (what) {
    case 2:
      desired.erase(it);
      break;
    case 3:
      it->second.schedule = kSchedules[rng() % kSchedules.size()];
      break;
    case 4:
      it->second.paused = !it->second.paused;
      break;
    default:
      it->second.id = it->second.id.empty() ? "new-id" : "";
      break;
  }
}

TEST(CronProperty, ForeignLinesKeptAndOwnedEntriesMatchDesired) {
  std::mt19937 rng(20261126);
  constexpr int kSequences = 1000;
  int total_applies = 0;
  int total_writes = 0;
  std::map<sdk::ChangeKind, int> kinds;
  for (int sequence = 0; sequence < kSequences; ++sequence) {
    auto state = std::make_shared<MemoryStore::State>();
    CronScheduler plugin;
    plugin.setHostZoneForTesting("Etc/UTC");
    plugin.setStoreForTesting(std::make_unique<MemoryStore>(state));
    ASSERT_TRUE(plugin.configure(makeContext()).ok());

    std::vector<Line> initial;
    const int foreign_count = static_cast<int>(rng() % 8);
    for (int i = 0; i < foreign_count; ++i) {
      initial.push_back({kForeignPool[rng() % kForeignPool.size()], false});
    }
    state->text = join(initial, rng() % 4 != 0);
    std::map<std::string, sdk::Job> desired;
    int counter = 0;

    const int steps = 1 + static_cast<int>(rng() % 6);
    for (int step = 0; step < steps; ++step) {
      const int job_edits = static_cast<int>(rng() % 4);
      for (int k = 0; k < job_edits; ++k) {
        jobEdit(rng, desired, counter);
      }
      if (step > 0) {
        const int edits = static_cast<int>(rng() % 4);
        for (int k = 0; k < edits; ++k) {
          foreignEdit(rng, state->text);
        }
      }
      const std::string before = state->text;
      const std::vector<std::string> foreign_before = foreignOf(before);
      const int writes_before = state->writes;

      auto changes = planChanges(plugin, desired);
      for (const auto& change : changes) {
        ++kinds[change.kind];
      }
      sdk::Result applied = plugin.apply(changes);
      ASSERT_TRUE(applied.ok()) << "sequence " << sequence << " step " << step << ": "
                                << applied.message();
      ++total_applies;

      ASSERT_EQ(foreignOf(state->text), foreign_before)
          << "sequence " << sequence << " step " << step << "\nbefore:\n"
          << before << "\nafter:\n"
          << state->text;
      if (state->writes != writes_before) {
        ++total_writes;
        EXPECT_EQ(state->writes, writes_before + 1);
        ASSERT_TRUE(state->text.empty() || state->text.back() == '\n');
      }
      std::vector<sdk::InstalledEntry> installed;
      ASSERT_TRUE(plugin.listOwned(installed).ok());
      std::map<std::string, std::string> installed_text;
      for (const auto& entry : installed) {
        ASSERT_TRUE(installed_text.emplace(entry.identity, entry.text).second);
      }
      ASSERT_EQ(installed_text.size(), desired.size()) << "sequence " << sequence;
      for (const auto& [identity, job] : desired) {
        sdk::RenderedEntry rendered;
        ASSERT_TRUE(plugin.render(job, rendered).ok());
        ASSERT_EQ(installed_text[identity], rendered.text) << "sequence " << sequence << "\n"
                                                           << state->text;
      }
      // Converged: the next cycle has nothing to do and writes nothing.
      const int writes_after = state->writes;
      auto again = planChanges(plugin, desired);
      ASSERT_TRUE(again.empty()) << "sequence " << sequence;
      ASSERT_TRUE(plugin.apply(again).ok());
      ASSERT_EQ(state->writes, writes_after);
    }
  }
  // The sequences exercise every kind of change and many writes.
  EXPECT_GE(total_applies, kSequences);
  EXPECT_GE(total_writes, kSequences);
  EXPECT_GE(kinds[sdk::ChangeKind::kAdd], 500);
  EXPECT_GE(kinds[sdk::ChangeKind::kDrift], 500);
  EXPECT_GE(kinds[sdk::ChangeKind::kRemove], 200);
  std::cout << "applies " << total_applies << ", writes " << total_writes << ", adds "
            << kinds[sdk::ChangeKind::kAdd] << ", drift/updates " << kinds[sdk::ChangeKind::kDrift]
            << ", removes " << kinds[sdk::ChangeKind::kRemove] << "\n";
}

}  // namespace
}  // namespace crontopus::plugins::cron::test
