#include <gtest/gtest.h>
#include <sys/stat.h>

#include "TestSupport.h"

namespace crontopus::plugins::cron::test {
namespace {

using sdk::ChangeKind;
using sdk::ErrorCode;

std::unique_ptr<CronScheduler> withShim(const TempDir& dir, sdk::OptionValues options = {}) {
  auto plugin = std::make_unique<CronScheduler>();
  plugin->setHostZoneForTesting("Etc/UTC");
  options["crontab_command"] = writeShim(dir);
  sdk::Result ok = plugin->configure(makeContext(options));
  EXPECT_TRUE(ok.ok()) << ok.message();
  return plugin;
}

std::unique_ptr<CronScheduler> inMemory(std::shared_ptr<MemoryStore::State> state) {
  auto plugin = std::make_unique<CronScheduler>();
  plugin->setHostZoneForTesting("Etc/UTC");
  plugin->setStoreForTesting(std::make_unique<MemoryStore>(std::move(state)));
  sdk::Result ok = plugin->configure(makeContext());
  EXPECT_TRUE(ok.ok()) << ok.message();
  return plugin;
}

std::string rendered(const CronScheduler& plugin, const sdk::Job& job) {
  sdk::RenderedEntry out;
  sdk::Result ok = plugin.render(job, out);
  EXPECT_TRUE(ok.ok()) << ok.message();
  return out.text;
}

std::map<std::string, sdk::Job> jobs(std::initializer_list<sdk::Job> list) {
  std::map<std::string, sdk::Job> out;
  for (const sdk::Job& job : list) {
    out[job.identity()] = job;
  }
  return out;
}

// Foreign text of every kind, around three managed blocks: one edited by hand, one whose entry
// was deleted by hand, one intact; the file ends without a newline.
struct Corpus {
  std::string head, middle, tail, intact_block, before;
};

Corpus makeCorpus(const CronScheduler& plugin) {
  Corpus c;
  c.head =
      "# m h  dom mon dow   command\n"
      "SHELL=/bin/bash\n"
      "MAILTO=\"ops@example.com\"\n"
      "\n"
      "@reboot /usr/local/bin/start-thing\n"
      "#Ansible: nightly cleanup\n"
      "0 3 * * * /usr/local/bin/cleanup >/dev/null 2>&1\n"
      "\t*/10\t*  * * *\t  /usr/bin/odd-spacing   # trailing comment  \n"
      "   \t\n";
  c.middle = "# a user comment right after a marker whose entry was deleted\r\n";
  c.tail =
      "#  CRONTOPUS:lookalike-not-ours\n"
      "15 * * * * echo 100\\% done\n"
      "30 4 * * 1 /no/final/newline";
  c.intact_block = rendered(plugin, makeJob("prod", "intact", "0 1 * * *"));
  c.before = c.head + "# CRONTOPUS:prod/edited id=1\n" +
             "7 7 * * * '/usr/bin/crontopus-agent' run --state-dir '/var/lib/crontopus' "
             "'prod/edited'\n" +
             "# CRONTOPUS:prod/deleted\n" + c.middle + c.intact_block + c.tail;
  return c;
}

std::map<std::string, sdk::Job> corpusJobs() {
  sdk::Job edited = makeJob("prod", "edited", "0 5 * * *");
  edited.id = "1";
  return jobs({edited, makeJob("prod", "deleted", "0 6 * * *"),
               makeJob("prod", "intact", "0 1 * * *"), makeJob("prod", "new-one", "@hourly")});
}

void expectCorpusResult(const CronScheduler& plugin, const Corpus& c, const std::string& after) {
  auto desired = corpusJobs();
  EXPECT_EQ(after, c.head + rendered(plugin, desired["prod/edited"]) +
                       rendered(plugin, desired["prod/deleted"]) + c.middle + c.intact_block +
                       c.tail + "\n" + rendered(plugin, desired["prod/new-one"]));
}

TEST(CronApply, PreservationCorpusThroughTheCrontabCommand) {
  TempDir dir;
  auto plugin = withShim(dir);
  const Corpus c = makeCorpus(*plugin);
  writeText(dir.file("crontab"), c.before);

  auto changes = planChanges(*plugin, corpusJobs());
  // The plan sees the hand edit and the hand deletion as drift, the intact block as in sync.
  std::map<std::string, ChangeKind> kinds;
  for (const auto& change : changes) {
    kinds[change.identity] = change.kind;
  }
  EXPECT_EQ(kinds, (std::map<std::string, ChangeKind>{{"prod/edited", ChangeKind::kDrift},
                                                      {"prod/deleted", ChangeKind::kDrift},
                                                      {"prod/new-one", ChangeKind::kAdd}}));
  sdk::Result applied = plugin->apply(changes);
  ASSERT_TRUE(applied.ok()) << applied.message();
  expectCorpusResult(*plugin, c, readText(dir.file("crontab")));
  // listOwned read once, apply read once more and wrote once.
  EXPECT_EQ(shimCalls(dir), (std::vector<std::string>{"-l", "-l", "-"}));

  // Nothing to do the second time: no change, no write.
  changes = planChanges(*plugin, corpusJobs());
  EXPECT_TRUE(changes.empty());
  ASSERT_TRUE(plugin->apply(changes).ok());
  EXPECT_EQ(shimWrites(dir), 1);
  // A change whose text is already installed does not write either.
  const std::string installed = rendered(*plugin, corpusJobs()["prod/intact"]);
  ASSERT_TRUE(plugin->apply({{ChangeKind::kDrift, "prod/intact", installed, false, "x"}}).ok());
  EXPECT_EQ(shimWrites(dir), 1);
}

TEST(CronApply, PreservationCorpusInMemoryThenRemoveEverything) {
  auto state = std::make_shared<MemoryStore::State>();
  auto plugin = inMemory(state);
  const Corpus c = makeCorpus(*plugin);
  state->text = c.before;
  ASSERT_TRUE(plugin->apply(planChanges(*plugin, corpusJobs())).ok());
  expectCorpusResult(*plugin, c, state->text);

  ASSERT_TRUE(plugin->apply(planChanges(*plugin, {})).ok());
  EXPECT_EQ(state->text, c.head + c.middle + c.tail + "\n");
  EXPECT_EQ(state->writes, 2);
}

TEST(CronApply, PauseResumeUpdateInPlace) {
  auto state = std::make_shared<MemoryStore::State>();
  auto plugin = inMemory(state);
  state->text = "# keep\n";
  auto desired = jobs({makeJob("a", "one"), makeJob("a", "two"), makeJob("b", "three")});
  ASSERT_TRUE(plugin->apply(planChanges(*plugin, desired)).ok());
  const std::string initial = state->text;
  EXPECT_EQ(initial, "# keep\n" + rendered(*plugin, desired["a/one"]) +
                         rendered(*plugin, desired["a/two"]) +
                         rendered(*plugin, desired["b/three"]));

  desired["a/one"].paused = true;
  desired["a/two"].schedule = "1 1 1 1 1";
  ASSERT_TRUE(
      plugin
          ->apply({{ChangeKind::kPause, "a/one", rendered(*plugin, desired["a/one"]), true, ""},
                   {ChangeKind::kUpdate, "a/two", rendered(*plugin, desired["a/two"]), false, ""}})
          .ok());
  std::vector<sdk::InstalledEntry> installed;
  ASSERT_TRUE(plugin->listOwned(installed).ok());
  ASSERT_EQ(installed.size(), 3u);
  EXPECT_EQ(installed[0].identity, "a/one");
  EXPECT_TRUE(installed[0].paused);
  EXPECT_EQ(installed[0].text, rendered(*plugin, desired["a/one"]));
  EXPECT_EQ(installed[1].identity, "a/two");
  EXPECT_EQ(installed[1].text, rendered(*plugin, desired["a/two"]));
  EXPECT_FALSE(installed[2].paused);

  desired["a/one"].paused = false;
  ASSERT_TRUE(
      plugin
          ->apply({{ChangeKind::kResume, "a/one", rendered(*plugin, desired["a/one"]), false, ""},
                   {ChangeKind::kRemove, "b/three", "", false, ""}})
          .ok());
  EXPECT_EQ(state->text,
            "# keep\n" + rendered(*plugin, desired["a/one"]) + rendered(*plugin, desired["a/two"]));
}

TEST(CronApply, ConflictWhenTheCrontabChangesBetweenReads) {
  TempDir dir;
  auto plugin = withShim(dir);
  writeText(dir.file("crontab"), "# theirs\n");
  // Someone runs crontab -e right after the agent's first read.
  writeText(dir.file("after-read.sh"),
            "printf '0 0 * * * their-new-job\\n' >> '" + dir.file("crontab") + "'\n");
  auto changes = planChanges(*plugin, jobs({makeJob("ns", "job")}));
  sdk::Result result = plugin->apply(changes);
  EXPECT_EQ(result.code(), ErrorCode::kConflict) << result.message();
  EXPECT_EQ(readText(dir.file("crontab")), "# theirs\n0 0 * * * their-new-job\n");
  EXPECT_EQ(shimWrites(dir), 0);

  // The same without listOwned: apply's own two reads.
  writeText(dir.file("after-read.sh"),
            "printf '# another edit\\n' >> '" + dir.file("crontab") + "'\n");
  result = plugin->apply(changes);
  EXPECT_EQ(result.code(), ErrorCode::kConflict) << result.message();
  EXPECT_EQ(shimWrites(dir), 0);

  // The cycle starts over and succeeds, keeping their edits.
  ASSERT_TRUE(plugin->apply(planChanges(*plugin, jobs({makeJob("ns", "job")}))).ok());
  EXPECT_EQ(readText(dir.file("crontab")), "# theirs\n0 0 * * * their-new-job\n# another edit\n" +
                                               rendered(*plugin, makeJob("ns", "job")));
}

TEST(CronApply, FailingListWritesNothing) {
  TempDir dir;
  auto plugin = withShim(dir);
  writeText(dir.file("crontab"), "# theirs\n");
  writeText(dir.file("fail-read"), "");
  std::vector<sdk::InstalledEntry> installed;
  sdk::Result listed = plugin->listOwned(installed);
  EXPECT_EQ(listed.code(), ErrorCode::kIo);
  EXPECT_NE(listed.message().find("cannot open spool"), std::string::npos) << listed.message();
  EXPECT_NE(listed.message().find("status 1"), std::string::npos) << listed.message();
  sdk::Result applied = plugin->apply(
      {{ChangeKind::kAdd, "ns/job", rendered(*plugin, makeJob("ns", "job")), false, ""}});
  EXPECT_EQ(applied.code(), ErrorCode::kIo);
  EXPECT_EQ(shimWrites(dir), 0);
  EXPECT_EQ(readText(dir.file("crontab")), "# theirs\n");
}

TEST(CronApply, CrontabThatRefusesWithoutReadingStdinIsAnErrorNotASigpipe) {
  TempDir dir;
  const std::string shim = dir.file("refusing-crontab");
  writeText(shim,
            "#!/bin/sh\n"
            "[ \"$1\" = -l ] && exit 0\n"
            "echo 'crontab: refused for the test' >&2\n"
            "exit 3\n");
  ASSERT_EQ(::chmod(shim.c_str(), 0755), 0);
  auto plugin = std::make_unique<CronScheduler>();
  ASSERT_TRUE(plugin->configure(makeContext({{"crontab_command", shim}})).ok());
  std::map<std::string, sdk::Job> many;  // far more than a pipe buffer
  for (int i = 0; i < 3000; ++i) {
    sdk::Job job = makeJob("bulk", "job-" + std::to_string(i));
    many[job.identity()] = job;
  }
  sdk::Result result = plugin->apply(planChanges(*plugin, many));
  EXPECT_EQ(result.code(), ErrorCode::kIo);
  EXPECT_NE(result.message().find("refused for the test"), std::string::npos) << result.message();
  EXPECT_NE(result.message().find("status 3"), std::string::npos) << result.message();
}

TEST(CronApply, NoCrontabYetIsEmptyAndUserOptionUsesDashU) {
  TempDir dir;
  auto plugin = withShim(dir, {{"user", "alice"}});
  std::vector<sdk::InstalledEntry> installed;
  ASSERT_TRUE(plugin->listOwned(installed).ok());
  EXPECT_TRUE(installed.empty());
  ASSERT_TRUE(plugin->apply(planChanges(*plugin, jobs({makeJob("ns", "job")}))).ok());
  EXPECT_EQ(readText(dir.file("crontab")), rendered(*plugin, makeJob("ns", "job")));
  EXPECT_EQ(shimCalls(dir),
            (std::vector<std::string>{"-u alice -l", "-u alice -l", "-u alice -l", "-u alice -"}));
  EXPECT_EQ(plugin->runUser(), "alice");
}

TEST(CronApply, RefusesMoreThanTenThousandLines) {
  auto state = std::make_shared<MemoryStore::State>();
  auto plugin = inMemory(state);
  std::string foreign;
  for (int i = 0; i < 9998; ++i) {
    foreign += "# line\n";
  }
  state->text = foreign;
  // 9,998 + 2 = 10,000 lines: accepted.
  ASSERT_TRUE(plugin->apply(planChanges(*plugin, jobs({makeJob("ns", "a")}))).ok());
  EXPECT_EQ(state->writes, 1);
  // 10,002 lines: refused before writing, naming the limit, the count and cron_file.
  sdk::Result result =
      plugin->apply(planChanges(*plugin, jobs({makeJob("ns", "a"), makeJob("ns", "b")})));
  EXPECT_EQ(result.code(), ErrorCode::kLimit);
  EXPECT_NE(result.message().find("10,002 lines"), std::string::npos) << result.message();
  EXPECT_NE(result.message().find("10,000"), std::string::npos) << result.message();
  EXPECT_NE(result.message().find("cron_file"), std::string::npos) << result.message();
  EXPECT_EQ(state->writes, 1);
}

TEST(CronApply, RejectsAChangeItDidNotRender) {
  auto state = std::make_shared<MemoryStore::State>();
  auto plugin = inMemory(state);
  const std::string good = rendered(*plugin, makeJob("ns", "job"));
  for (const std::string& text :
       {good + "* * * * * injected\n", std::string("* * * * * x 'ns/job'\n"),
        rendered(*plugin, makeJob("ns", "other")), std::string()}) {
    EXPECT_EQ(plugin->apply({{ChangeKind::kAdd, "ns/job", text, false, ""}}).code(),
              ErrorCode::kInternal);
  }
  EXPECT_EQ(state->writes, 0);
  EXPECT_EQ(state->reads, 0);
}

TEST(CronApply, CronFileModeWritesAtomicallyWithMode0644) {
  TempDir dir;
  const std::string path = dir.file("crontopus");
  auto plugin = std::make_unique<CronScheduler>();
  plugin->setHostZoneForTesting("Etc/UTC");
  ASSERT_TRUE(plugin->configure(makeContext({{"cron_file", path}, {"user", "alice"}})).ok());
  EXPECT_TRUE(plugin->support().supported) << plugin->support().reason;

  writeText(path, "# theirs\nSHELL=/bin/sh\n0 0 * * * root /usr/bin/other");
  ASSERT_EQ(::chmod(path.c_str(), 0600), 0);
  struct stat before {};
  ASSERT_EQ(::stat(path.c_str(), &before), 0);

  auto desired = jobs({makeJob("ns", "a", "@weekly"), makeJob("ns", "b")});
  ASSERT_TRUE(plugin->apply(planChanges(*plugin, desired)).ok());
  EXPECT_EQ(readText(path), "# theirs\nSHELL=/bin/sh\n0 0 * * * root /usr/bin/other\n" +
                                rendered(*plugin, desired["ns/a"]) +
                                rendered(*plugin, desired["ns/b"]));
  EXPECT_NE(readText(path).find("\n0 0 * * 0 alice '/usr/bin/crontopus-agent' run"),
            std::string::npos);
  struct stat after {};
  ASSERT_EQ(::stat(path.c_str(), &after), 0);
  EXPECT_EQ(after.st_mode & 07777, 0644u);
  EXPECT_NE(after.st_ino, before.st_ino);  // replaced by rename, never rewritten in place
  std::size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    (void)entry;
    ++files;
  }
  EXPECT_EQ(files, 1u);  // no temporary file left behind

  // Unchanged: the file is not touched.
  ASSERT_TRUE(plugin->apply(planChanges(*plugin, desired)).ok());
  struct stat again {};
  ASSERT_EQ(::stat(path.c_str(), &again), 0);
  EXPECT_EQ(again.st_ino, after.st_ino);

  // No line limit in a cron.d file.
  std::map<std::string, sdk::Job> many;
  for (int i = 0; i < 5200; ++i) {
    sdk::Job job = makeJob("bulk", "job-" + std::to_string(i));
    many[job.identity()] = job;
  }
  sdk::Result big = plugin->apply(planChanges(*plugin, many));
  ASSERT_TRUE(big.ok()) << big.message();
  std::vector<sdk::InstalledEntry> installed;
  ASSERT_TRUE(plugin->listOwned(installed).ok());
  EXPECT_EQ(installed.size(), 5200u);
}

TEST(CronApply, CronFileMissingIsEmpty) {
  TempDir dir;
  auto plugin = std::make_unique<CronScheduler>();
  ASSERT_TRUE(plugin->configure(makeContext({{"cron_file", dir.file("new_file")}})).ok());
  std::vector<sdk::InstalledEntry> installed;
  ASSERT_TRUE(plugin->listOwned(installed).ok());
  EXPECT_TRUE(installed.empty());
  ASSERT_TRUE(plugin->apply(planChanges(*plugin, jobs({makeJob("ns", "a")}))).ok());
  EXPECT_NE(readText(dir.file("new_file")).find("# CRONTOPUS:ns/a\n"), std::string::npos);
}

}  // namespace
}  // namespace crontopus::plugins::cron::test
