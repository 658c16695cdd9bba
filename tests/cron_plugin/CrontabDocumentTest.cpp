#include <gtest/gtest.h>

#include "CrontabDocument.h"

namespace crontopus::plugins::cron {
namespace {

const std::string kEntryA =
    "*/5 * * * * '/usr/bin/crontopus-agent' run --state-dir '/var/lib/crontopus' 'ns/a'";
const std::string kBlockA = "# CRONTOPUS:ns/a\n" + kEntryA + "\n";

TEST(CrontabDocument, UnchangedTextRoundTripsByteForByte) {
  for (const std::string& text :
       {std::string(), std::string("\n"), std::string("# c\n\n\nA=b\n"), std::string("x\r\ny\r\n"),
        std::string("\t \t\n  \n"), "a\n" + kBlockA + "b\n", kBlockA + kBlockA}) {
    EXPECT_EQ(CrontabDocument::parse(text).serialize(), text);
  }
}

TEST(CrontabDocument, AddsOnlyAMissingFinalNewline) {
  EXPECT_EQ(CrontabDocument::parse("# a\r\nlast").serialize(), "# a\r\nlast\n");
  EXPECT_EQ(CrontabDocument::parse("only").serialize(), "only\n");
}

TEST(CrontabDocument, FindsBlocksAndTheirState) {
  const std::string text = "# mine\n" + kBlockA + "# CRONTOPUS:ns/b id=7\n#" + kEntryA +
                           "-but-b 'ns/b'\n# CRONTOPUS:ns/deleted\n# user comment\n";
  auto owned = CrontabDocument::parse(text).owned();
  ASSERT_EQ(owned.size(), 3u);
  EXPECT_EQ(owned[0].identity, "ns/a");
  EXPECT_EQ(owned[0].text, kBlockA);
  EXPECT_FALSE(owned[0].paused);
  EXPECT_EQ(owned[1].identity, "ns/b");
  EXPECT_TRUE(owned[1].paused);
  // The entry was deleted by hand: the marker stays owned, the comment after it is not ours.
  EXPECT_EQ(owned[2].identity, "ns/deleted");
  EXPECT_EQ(owned[2].text, "# CRONTOPUS:ns/deleted\n");
  EXPECT_FALSE(owned[2].paused);
}

TEST(CrontabDocument, EntryMustNameTheIdentityAsAWord) {
  const std::string text = "# CRONTOPUS:ns/a\n* * * * * run 'ns/ab'\n";
  auto owned = CrontabDocument::parse(text).owned();
  ASSERT_EQ(owned.size(), 1u);
  EXPECT_EQ(owned[0].text, "# CRONTOPUS:ns/a\n");
}

TEST(CrontabDocument, PutReplacesInPlaceAndAppendsInIdentityOrder) {
  const std::string text = "top\n# CRONTOPUS:ns/a\nedited 'ns/a'\nbottom";
  CrontabDocument doc = CrontabDocument::parse(text);
  doc.put("ns/z", "# CRONTOPUS:ns/z\nz 'ns/z'\n");
  doc.put("ns/a", kBlockA);
  doc.put("ns/m", "# CRONTOPUS:ns/m\nm 'ns/m'\n");
  EXPECT_EQ(doc.serialize(),
            "top\n" + kBlockA + "bottom\n# CRONTOPUS:ns/m\nm 'ns/m'\n# CRONTOPUS:ns/z\nz 'ns/z'\n");
}

TEST(CrontabDocument, DuplicatesNeverLookInSyncAndCollapse) {
  const std::string text = kBlockA + "mid\n" + kBlockA;
  CrontabDocument doc = CrontabDocument::parse(text);
  auto owned = doc.owned();
  ASSERT_EQ(owned.size(), 1u);
  EXPECT_NE(owned[0].text, kBlockA);
  doc.put("ns/a", kBlockA);
  EXPECT_EQ(doc.serialize(), kBlockA + "mid\n");
}

TEST(CrontabDocument, RemoveDeletesEveryBlockOfTheIdentity) {
  CrontabDocument doc = CrontabDocument::parse("x\n" + kBlockA + "y\n# CRONTOPUS:ns/a\n");
  doc.remove("ns/a");
  doc.remove("ns/absent");
  EXPECT_EQ(doc.serialize(), "x\ny\n");
}

TEST(CrontabDocument, OwnedLineWithoutNewlineIsDrift) {
  auto owned = CrontabDocument::parse(kBlockA.substr(0, kBlockA.size() - 1)).owned();
  ASSERT_EQ(owned.size(), 1u);
  EXPECT_NE(owned[0].text, kBlockA);
}

TEST(CrontabDocument, SeedFormatMarkerOwnsTheCronLineAfterIt) {
  CrontabDocument doc = CrontabDocument::parse(
      "# CRONTOPUS:old-job\n0 1 * * * /opt/old.sh\n# CRONTOPUS:old-gone\n# comment\nA=b\n");
  auto owned = doc.owned();
  ASSERT_EQ(owned.size(), 2u);
  EXPECT_EQ(owned[0].text, "# CRONTOPUS:old-job\n0 1 * * * /opt/old.sh\n");
  EXPECT_EQ(owned[1].text, "# CRONTOPUS:old-gone\n");
  doc.remove("old-job");
  doc.remove("old-gone");
  EXPECT_EQ(doc.serialize(), "# comment\nA=b\n");
}

TEST(CrontabDocument, CarriageReturnInAnOwnedLineIsDrift) {
  const std::string text = "# CRONTOPUS:ns/a\r\n" + kEntryA + "\r\n";
  CrontabDocument doc = CrontabDocument::parse(text);
  auto owned = doc.owned();
  ASSERT_EQ(owned.size(), 1u);
  EXPECT_EQ(owned[0].text, text);
  doc.put("ns/a", kBlockA);
  EXPECT_EQ(doc.serialize(), kBlockA);
}

TEST(CrontabDocument, WellFormedBlock) {
  EXPECT_TRUE(isWellFormedBlock(kBlockA, "ns/a"));
  EXPECT_FALSE(isWellFormedBlock(kBlockA, "ns/b"));
  EXPECT_FALSE(isWellFormedBlock(kBlockA + "extra\n", "ns/a"));
  EXPECT_FALSE(isWellFormedBlock("# CRONTOPUS:ns/a\n", "ns/a"));
  EXPECT_FALSE(isWellFormedBlock("# CRONTOPUS:ns/a\n" + kEntryA, "ns/a"));
  EXPECT_FALSE(isWellFormedBlock("# CRONTOPUS:ns/a\n" + kEntryA + "\r\n", "ns/a"));
}

}  // namespace
}  // namespace crontopus::plugins::cron
