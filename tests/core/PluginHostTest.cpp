#include <sys/stat.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <Poco/File.h>

#include "Config.h"
#include "PluginHost.h"
#include "TestSupport.h"

using crontopus::core::PluginHost;
using crontopus::core::PluginRecord;
using crontopus::tests::TempDir;
using testing::HasSubstr;

namespace {

const std::string kPluginDir = TEST_PLUGIN_DIR;

// Copies the named test plugins into `dir` with safe permissions.
void install(const TempDir& dir, std::initializer_list<const char*> names) {
  for (const char* n : names) {
    const std::string target = dir / (std::string(n) + ".so");
    Poco::File(kPluginDir + "/" + n + ".so").copyTo(target);
    chmod(target.c_str(), 0755);
  }
}

const PluginRecord& recordFor(const PluginHost& host, const std::string& file) {
  for (const auto& r : host.records()) {
    if (r.path.size() >= file.size() &&
        r.path.compare(r.path.size() - file.size(), file.size(), file) == 0) {
      return r;
    }
  }
  throw std::runtime_error("no record for " + file);
}

}  // namespace

TEST(PluginHost, LoadsAGoodPluginAndCreatesIt) {
  TempDir dir;
  install(dir, {"GoodScheduler"});
  PluginHost host;
  host.scan(dir.path());
  const PluginRecord& r = recordFor(host, "GoodScheduler.so");
  ASSERT_TRUE(r.loaded) << r.reason;
  EXPECT_EQ(r.kind, "scheduler");
  EXPECT_EQ(r.id, "test-good");
  EXPECT_EQ(r.version, "9.9.9");
  auto plugin = host.createScheduler("test-good");
  ASSERT_NE(plugin, nullptr);
  crontopus::core::AgentConfig config = crontopus::core::defaultConfig();
  auto context = crontopus::core::makePluginContext(config, "test-good");
  context.options = PluginHost::validateOptions("test-good", plugin->optionSpecs(), {});
  ASSERT_TRUE(plugin->configure(context).ok());
  crontopus::sdk::Job job;
  job.ns = "prod";
  job.name = "backup";
  crontopus::sdk::RenderedEntry entry;
  ASSERT_TRUE(plugin->render(job, entry).ok());
  EXPECT_EQ(entry.text, "hello prod/backup");
}

TEST(PluginHost, RefusesAWrongAbiMajorNamingBothVersions) {
  TempDir dir;
  install(dir, {"WrongAbi"});
  PluginHost host;
  host.scan(dir.path());
  const PluginRecord& r = recordFor(host, "WrongAbi.so");
  EXPECT_FALSE(r.loaded);
  EXPECT_THAT(r.reason, HasSubstr("SDK ABI 2.0"));
  EXPECT_THAT(r.reason, HasSubstr("agent's ABI 1.0"));
  EXPECT_THAT(r.reason, HasSubstr("rebuild"));
  EXPECT_THROW(host.createScheduler("test-wrong-abi"), Poco::NotFoundException);
}

TEST(PluginHost, RefusesANewerAbiMinor) {
  TempDir dir;
  install(dir, {"NewerMinor"});
  PluginHost host;
  host.scan(dir.path());
  const PluginRecord& r = recordFor(host, "NewerMinor.so");
  EXPECT_FALSE(r.loaded);
  EXPECT_THAT(r.reason, HasSubstr("newer than the agent's ABI 1.0"));
}

TEST(PluginHost, RefusesASharedLibraryThatIsNotAPlugin) {
  TempDir dir;
  install(dir, {"NotPlugin"});
  PluginHost host;
  host.scan(dir.path());
  const PluginRecord& r = recordFor(host, "NotPlugin.so");
  EXPECT_FALSE(r.loaded);
  EXPECT_THAT(r.reason, HasSubstr("not a crontopus plugin"));
  EXPECT_THAT(r.reason, HasSubstr("crontopus_plugin_info"));
}

TEST(PluginHost, RefusesAPocoLibraryWithoutTheInfoSymbol) {
  TempDir dir;
  install(dir, {"NoInfo"});
  PluginHost host;
  host.scan(dir.path());
  const PluginRecord& r = recordFor(host, "NoInfo.so");
  EXPECT_FALSE(r.loaded);
  EXPECT_THAT(r.reason, HasSubstr("no crontopus_plugin_info symbol"));
}

TEST(PluginHost, RefusesAFileThatIsNotALibraryAtAll) {
  TempDir dir;
  crontopus::tests::writeFile(dir / "garbage.so", "this is not ELF", 0644);
  PluginHost host;
  host.scan(dir.path());
  const PluginRecord& r = recordFor(host, "garbage.so");
  EXPECT_FALSE(r.loaded);
  EXPECT_THAT(r.reason, HasSubstr("not a loadable library"));
}

TEST(PluginHost, RefusesTheSecondPluginWithTheSameId) {
  TempDir dir;
  install(dir, {"GoodScheduler", "DuplicateScheduler"});
  PluginHost host;
  host.scan(dir.path());
  // Files are examined in name order: DuplicateScheduler.so comes first and wins.
  const PluginRecord& first = recordFor(host, "DuplicateScheduler.so");
  const PluginRecord& second = recordFor(host, "GoodScheduler.so");
  EXPECT_TRUE(first.loaded) << first.reason;
  EXPECT_FALSE(second.loaded);
  EXPECT_THAT(second.reason, HasSubstr("duplicate scheduler plugin id \"test-good\""));
  EXPECT_THAT(second.reason, HasSubstr("DuplicateScheduler.so"));
}

TEST(PluginHost, RefusesEverythingInAWorldWritableDirectory) {
  TempDir dir;
  install(dir, {"GoodScheduler"});
  ASSERT_EQ(chmod(dir.path().c_str(), 0777), 0);
  PluginHost host;
  host.scan(dir.path());
  ASSERT_EQ(host.records().size(), 1u);
  EXPECT_FALSE(host.records()[0].loaded);
  EXPECT_THAT(host.records()[0].reason, HasSubstr("writable by group or others"));
  EXPECT_THAT(host.records()[0].reason, HasSubstr("chmod go-w"));
  EXPECT_THROW(host.createScheduler("test-good"), Poco::NotFoundException);
}

TEST(PluginHost, RefusesAGroupWritablePluginFile) {
  TempDir dir;
  install(dir, {"GoodScheduler"});
  ASSERT_EQ(chmod((dir / "GoodScheduler.so").c_str(), 0775), 0);
  PluginHost host;
  host.scan(dir.path());
  const PluginRecord& r = recordFor(host, "GoodScheduler.so");
  EXPECT_FALSE(r.loaded);
  EXPECT_THAT(r.reason, HasSubstr("plugin file refused: writable by group or others (mode 0775)"));
}

TEST(PluginHost, IgnoresFilesWithoutTheLibrarySuffix) {
  TempDir dir;
  install(dir, {"GoodScheduler"});
  crontopus::tests::writeFile(dir / "README.txt", "notes");
  PluginHost host;
  host.scan(dir.path());
  EXPECT_EQ(host.records().size(), 1u);
}

TEST(PluginHost, MissingDirectoryIsAnError) {
  PluginHost host;
  EXPECT_THROW(host.scan("/nonexistent/crontopus/plugins"), Poco::FileNotFoundException);
}

TEST(PluginHost, AutoSelectsThePlatformBackend) {
  EXPECT_EQ(PluginHost::schedulerIdFor("auto", "linux"), "cron");
  EXPECT_EQ(PluginHost::schedulerIdFor("auto", "darwin"), "cron");
  EXPECT_EQ(PluginHost::schedulerIdFor("auto", "windows"), "taskscheduler");
  EXPECT_EQ(PluginHost::schedulerIdFor("systemd-timer", "linux"), "systemd-timer");
}

TEST(PluginHost, ValidatesOptionsAgainstTheSpecs) {
  using crontopus::sdk::OptionSpec;
  using crontopus::sdk::OptionType;
  std::vector<OptionSpec> specs = {{"user", OptionType::kString, "", "user"},
                                   {"persistent", OptionType::kBool, "false", "bool"},
                                   {"retries", OptionType::kInt, "3", "int"},
                                   {"file", OptionType::kPath, "", "path"}};
  crontopus::core::AgentConfig::Scheduler raw;
  raw.options = {{"persistent", "true"}, {"file", "~/x"}};
  auto values = PluginHost::validateOptions("cron", specs, raw);
  EXPECT_EQ(values.at("persistent"), "true");
  EXPECT_EQ(values.at("retries"), "3");
  EXPECT_EQ(values.at("user"), "");
  EXPECT_EQ(values.at("file"), crontopus::core::expandHome("~/x"));
  EXPECT_NE(values.at("file").substr(0, 1), "~");

  raw.options = {{"persistent", "yes"}, {"retries", "many"}, {"colour", "red"}};
  try {
    PluginHost::validateOptions("cron", specs, raw);
    FAIL() << "expected ConfigException";
  } catch (const crontopus::core::ConfigException& e) {
    EXPECT_THAT(e.message(), HasSubstr("scheduler.options.persistent: must be true or false"));
    EXPECT_THAT(e.message(), HasSubstr("scheduler.options.retries: must be a whole number"));
    EXPECT_THAT(
        e.message(),
        HasSubstr("scheduler.options.colour: unknown option for scheduler backend \"cron\""));
  }
}
