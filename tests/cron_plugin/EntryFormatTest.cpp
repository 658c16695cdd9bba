#include <gtest/gtest.h>

#include <random>

#include "EntryFormat.h"
#include "Platform.h"

namespace crontopus::plugins::cron {
namespace {

// What Debian's cron does to the command field before handing it to /bin/sh -c
// (do_command.c): "\%" becomes "%", a bare "%" ends the command (the rest is stdin).
std::string cronTranslate(const std::string& command) {
  std::string out;
  bool escaped = false;
  for (char ch : command) {
    if (escaped) {
      if (ch == '%') {
        out.back() = '%';
      } else {
        out += ch;
      }
      escaped = false;
      continue;
    }
    if (ch == '%') {
      break;
    }
    if (ch == '\\') {
      escaped = true;
    }
    out += ch;
  }
  return out;
}

// The word as /bin/sh sees it after cron's translation.
std::string throughCronAndShell(const std::string& word) {
  platform::ProcessOutput output;
  const std::string script = "printf '%s' " + cronTranslate(quoteForCron(word));
  sdk::Result ran =
      platform::runProcess({"/bin/sh", "-c", script}, {}, std::chrono::seconds(10), output);
  EXPECT_TRUE(ran.ok()) << ran.message();
  EXPECT_EQ(output.exit_code, 0) << output.err;
  return output.out;
}

TEST(EntryFormat, QuotesForShellAndEscapesPercent) {
  EXPECT_EQ(quoteForCron("/usr/bin/crontopus-agent"), "'/usr/bin/crontopus-agent'");
  EXPECT_EQ(quoteForCron("it's"), "'it'\\''s'");
  EXPECT_EQ(quoteForCron("50%"), "'50\\%'");
  EXPECT_EQ(quoteForCron("a\\%b"), "'a\\''\\%b'");
  EXPECT_EQ(quoteForCron(""), "''");
}

TEST(EntryFormat, OddWordsSurviveCronAndShell) {
  const std::vector<std::string> words = {
      "/opt/my agent/bin/crontopus-agent",
      "/srv/100%/state",
      "%%%",
      "a\\%b",
      "a\\\\%b",
      "trailing\\",
      "\\",
      "it's; rm -rf / #",
      "'\"'\"'",
      "$(touch /tmp/pwned) `id` ${HOME}",
      "'; echo injected; '",
      "%'%\\'%",
      "* * * * * evil",
  };
  for (const std::string& word : words) {
    EXPECT_EQ(throughCronAndShell(word), word) << word;
    EXPECT_EQ(quoteForCron(word).find('\n'), std::string::npos);
  }
}

TEST(EntryFormat, RandomWordsSurviveCronAndShell) {
  std::mt19937 rng(5);
  const std::string alphabet = "ab/%'\\\" $`;#*~";
  for (int round = 0; round < 60; ++round) {
    std::string word;
    const int length = static_cast<int>(rng() % 12);
    for (int k = 0; k < length; ++k) {
      word += alphabet[rng() % alphabet.size()];
    }
    EXPECT_EQ(throughCronAndShell(word), word) << word;
  }
}

TEST(EntryFormat, MarkerRoundTrip) {
  EXPECT_EQ(formatMarker("prod/backup", ""), "# CRONTOPUS:prod/backup");
  EXPECT_EQ(formatMarker("prod/backup", "3f6c-9a"), "# CRONTOPUS:prod/backup id=3f6c-9a");
  EXPECT_EQ(formatMarker("a/b", "x y\n%z"), "# CRONTOPUS:a/b id=x%20y%0A%25z");

  for (const char* id : {"", "3f6c8e1a-0000-4000-8000-abcdefabcdef", "x y\n%z\r\t\"'", "é"}) {
    auto marker = parseMarker(formatMarker("ns/name", id));
    ASSERT_TRUE(marker.has_value());
    EXPECT_EQ(marker->identity, "ns/name");
    EXPECT_EQ(marker->id, id);
    EXPECT_FALSE(hasControlCharacter(formatMarker("ns/name", id)));
  }
  auto crlf = parseMarker("# CRONTOPUS:ns/name id=7\r");
  ASSERT_TRUE(crlf.has_value());
  EXPECT_EQ(crlf->identity, "ns/name");
  EXPECT_EQ(crlf->id, "7");
  auto legacy = parseMarker("# CRONTOPUS:old-job");
  ASSERT_TRUE(legacy.has_value());
  EXPECT_EQ(legacy->identity, "old-job");
}

TEST(EntryFormat, OtherLinesAreNotMarkers) {
  for (const char* line : {"#CRONTOPUS:a/b", "#  CRONTOPUS:a/b", "# CRONTOPUS:", "# CRONTOPUS: a/b",
                           " # CRONTOPUS:a/b", "# crontopus:a/b", "#Ansible: x", ""}) {
    EXPECT_FALSE(parseMarker(line).has_value()) << line;
  }
}

}  // namespace
}  // namespace crontopus::plugins::cron
