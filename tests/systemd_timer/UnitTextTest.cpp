#include <gtest/gtest.h>

#include "UnitFiles.h"
#include "UnitNames.h"

namespace crontopus::plugins::systemd_timer {
namespace {

TEST(UnitNames, EscapesLikeSystemdEscape) {
  // Expected values are what `systemd-escape` prints for the same input.
  EXPECT_EQ(escapeUnitName("default/backup"), "default-backup");
  EXPECT_EQ(escapeUnitName("prod/db-backup"), "prod-db\\x2dbackup");
  EXPECT_EQ(escapeUnitName(".hidden/x y"), "\\x2ehidden-x\\x20y");
  EXPECT_EQ(escapeUnitName("a.b/c_d:e"), "a.b-c_d:e");
}

TEST(UnitNames, DashesInNamesDoNotCollide) {
  EXPECT_NE(unitStem("a-b/c"), unitStem("a/b-c"));
  EXPECT_EQ(unitStem("a-b/c"), "crontopus-a\\x2db-c");
}

TEST(UnitNames, ExecWordsAreQuotedOnlyWhenNeeded) {
  EXPECT_EQ(quoteExecWord("/usr/bin/crontopus-agent"), "/usr/bin/crontopus-agent");
  EXPECT_EQ(quoteExecWord("default/backup"), "default/backup");
  EXPECT_EQ(quoteExecWord("/var/lib/my state"), "\"/var/lib/my state\"");
  EXPECT_EQ(quoteExecWord("/p/100%"), "\"/p/100%%\"");
  EXPECT_EQ(quoteExecWord("/p/$HOME"), "\"/p/$$HOME\"");
  EXPECT_EQ(quoteExecWord("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(quoteExecWord(";"), "\";\"");
  EXPECT_EQ(quoteExecWord(""), "\"\"");
}

TEST(UnitFiles, MarkerIsTheFirstLineOnly) {
  EXPECT_EQ(markerIdentity("# CRONTOPUS:ns/name\n[Unit]\n"), "ns/name");
  EXPECT_FALSE(markerIdentity("[Unit]\n# CRONTOPUS:ns/name\n"));
  EXPECT_FALSE(markerIdentity("# CRONTOPUS:\n"));
  EXPECT_FALSE(markerIdentity(""));
}

TEST(UnitFiles, EntryTextRoundTrips) {
  EntryParts parts;
  parts.files = {{"b.timer", "# CRONTOPUS:x/y\n[Timer]\n"}, {"a.service", "# CRONTOPUS:x/y\n"}};
  parts.enabled = false;
  const std::string text = composeEntry(parts);
  EXPECT_EQ(text,
            "==> a.service <==\n# CRONTOPUS:x/y\n==> b.timer <==\n# CRONTOPUS:x/y\n[Timer]\n"
            "# enabled: no\n");
  EntryParts back;
  std::string error;
  ASSERT_TRUE(parseEntry(text, back, error)) << error;
  ASSERT_EQ(back.files.size(), 2u);
  EXPECT_EQ(back.files[0].name, "a.service");
  EXPECT_EQ(back.files[1].content, "# CRONTOPUS:x/y\n[Timer]\n");
  EXPECT_FALSE(back.enabled);
}

TEST(UnitFiles, MissingFinalNewlineIsVisible) {
  EntryParts with{{{"a.service", "x\n"}}, true};
  EntryParts without{{{"a.service", "x"}}, true};
  EXPECT_NE(composeEntry(with), composeEntry(without));
}

TEST(UnitFiles, MalformedEntryTextIsRejected) {
  EntryParts parts;
  std::string error;
  EXPECT_FALSE(parseEntry("stray\n# enabled: yes\n", parts, error));
  EXPECT_FALSE(parseEntry("==> a.timer <==\nx\n", parts, error));
  EXPECT_FALSE(parseEntry("==> a.timer <==\nx\n# enabled: yes\nmore\n", parts, error));
}

TEST(UnitFiles, ServiceRunsTheWrapperAndNothingElse) {
  UnitSettings settings;
  settings.agent_path = "/opt/crontopus agent/bin/crontopus-agent";
  settings.agent_state_dir = "/var/lib/crontopus";
  const std::string service = renderService("prod/db-backup", settings);
  EXPECT_EQ(service,
            "# CRONTOPUS:prod/db-backup\n"
            "# Written by crontopus-agent from the job manifest; local edits are reverted.\n"
            "[Unit]\n"
            "Description=crontopus job prod/db-backup\n"
            "X-Crontopus-Identity=prod/db-backup\n"
            "\n"
            "[Service]\n"
            "Type=oneshot\n"
            "ExecStart=\"/opt/crontopus agent/bin/crontopus-agent\" run --state-dir "
            "/var/lib/crontopus prod/db-backup\n");
  EXPECT_EQ(service.find("Environment"), std::string::npos);
  EXPECT_EQ(service.find("WorkingDirectory"), std::string::npos);
}

TEST(UnitFiles, TimerCarriesTriggersAccuracyAndPersistence) {
  UnitSettings settings;
  settings.accuracy = "1min";
  settings.persistent = true;
  CalendarPlan plan;
  plan.on_calendar = {"*-*-* 02:00:00 Europe/Berlin", "2027-03-28 01:00:00 UTC"};
  EXPECT_EQ(renderTimer("ns/n", "0 2 * * *", "Europe/Berlin", plan, settings),
            "# CRONTOPUS:ns/n\n"
            "# Written by crontopus-agent from the job manifest; local edits are reverted.\n"
            "[Unit]\n"
            "Description=crontopus schedule of ns/n: 0 2 * * * (Europe/Berlin)\n"
            "X-Crontopus-Identity=ns/n\n"
            "\n"
            "[Timer]\n"
            "OnCalendar=*-*-* 02:00:00 Europe/Berlin\n"
            "OnCalendar=2027-03-28 01:00:00 UTC\n"
            "AccuracySec=1min\n"
            "Persistent=true\n"
            "\n"
            "[Install]\n"
            "WantedBy=timers.target\n");
}

}  // namespace
}  // namespace crontopus::plugins::systemd_timer
