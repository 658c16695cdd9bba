// `crontopus-agent config`: the agent's own checks, then the effective configuration as YAML
// with defaults filled in and secrets masked.
#include <filesystem>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "TestSupport.h"

using crontopus::tests::readFile;
using crontopus::tests::runProcess;
using crontopus::tests::TempDir;
using crontopus::tests::writeFile;
using testing::HasSubstr;
using testing::Not;

namespace {

const std::string kAgent = AGENT_BIN;
const char* const kSecrets[] = {"enroll-SECRET-1", "pw-SECRET-2", "pp-SECRET-3"};

std::string configWithSecrets(const std::string& state_dir) {
  return "agent:\n"
         "  state_dir: " +
         state_dir +
         "\n"
         "  labels: {role: database}\n"
         "backend:\n"
         "  api_url: https://cp.example.com\n"
         "  enrollment_token: \"enroll-SECRET-1\"\n"
         "git:\n"
         "  url: https://git.example.com/acme/jobs.git\n"
         "  auth: {type: basic, username: alice, password: \"pw-SECRET-2\", passphrase: "
         "\"pp-SECRET-3\"}\n"
         "scheduler:\n"
         "  backend: cron\n"
         "  options: {crontab_command: /usr/bin/crontab}\n";
}

}  // namespace

TEST(ConfigCommand, PrintsTheEffectiveConfigurationWithSecretsMasked) {
  TempDir dir;
  writeFile(dir / "config.yaml", configWithSecrets(dir / "state"));
  auto r = runProcess({kAgent, "--config", dir / "config.yaml", "config"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* secret : kSecrets) {
    EXPECT_THAT(r.out + r.err, Not(HasSubstr(secret)));
  }
  EXPECT_THAT(r.out, HasSubstr("  enrollment_token: \"***\"\n"));
  EXPECT_THAT(r.out, HasSubstr("    password: \"***\"\n"));
  EXPECT_THAT(r.out, HasSubstr("    passphrase: \"***\"\n"));
  EXPECT_THAT(r.out, HasSubstr("    username: alice\n"));
  // Defaults filled in, paths derived from the state directory.
  EXPECT_THAT(r.out, HasSubstr("  branch: main\n"));
  EXPECT_THAT(r.out, HasSubstr("  sync_interval: 30\n"));
  EXPECT_THAT(r.out, HasSubstr("  heartbeat_interval: 30\n"));
  EXPECT_THAT(r.out, HasSubstr("  token_path: " + (dir / "state") + "/agent-token\n"));
  EXPECT_THAT(r.out, HasSubstr("  local_path: " + (dir / "state") + "/job-manifests\n"));
  EXPECT_THAT(r.out, HasSubstr("    role: database\n"));
  // The backend's own options: the given one, and the defaults of those not given.
  EXPECT_THAT(r.out, HasSubstr("  backend: cron\n"));
  EXPECT_THAT(r.out, HasSubstr("    crontab_command: /usr/bin/crontab\n"));
  EXPECT_THAT(r.out, HasSubstr("    cron_file: \"\"\n"));
  EXPECT_THAT(r.out, HasSubstr("  level: information\n"));
  // Nothing is created: the command only reads.
  EXPECT_FALSE(std::filesystem::exists(dir / "state"));

  // What it prints is a configuration the agent loads, and prints back the same way.
  writeFile(dir / "printed.yaml", r.out);
  auto again = runProcess({kAgent, "--config", dir / "printed.yaml", "config"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(again.out.substr(again.out.find('\n')), r.out.substr(r.out.find('\n')));
}

// Every key of etc/config.example.yaml (the documented keys, each with its default), as dotted
// paths; scheduler.options is the backend's own map and is checked separately.
void collectKeys(const YAML::Node& node, const std::string& prefix, std::vector<std::string>& out) {
  for (const auto& item : node) {
    const std::string key = prefix + item.first.as<std::string>();
    out.push_back(key);
    if (item.second.IsMap() && key != "scheduler.options")
      collectKeys(item.second, key + ".", out);
  }
}

YAML::Node at(YAML::Node node, const std::string& dotted) {
  std::size_t start = 0;
  while (node) {
    const std::size_t dot = dotted.find('.', start);
    node.reset(node[dotted.substr(start, dot - start)]);  // reset: `=` would assign into it
    if (dot == std::string::npos)
      return node;
    start = dot + 1;
  }
  return node;
}

TEST(ConfigCommand, PrintsEverySectionAndKeyOfTheExample) {
  TempDir dir;
  const std::string example = readFile(std::string(SOURCE_DIR) + "/etc/config.example.yaml");
  writeFile(dir / "config.yaml", example);
  auto r = runProcess({kAgent, "--config", dir / "config.yaml", "config"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const YAML::Node printed = YAML::Load(r.out);
  std::vector<std::string> keys;
  collectKeys(YAML::Load(example), "", keys);
  ASSERT_GT(keys.size(), 30u);  // the example is read, not an empty document
  for (const std::string& key : keys) {
    EXPECT_TRUE(at(printed, key).IsDefined()) << key << " is not printed:\n" << r.out;
  }
  // The sections the issue names, with their defaults.
  EXPECT_EQ(at(printed, "metrics.listen").as<std::string>(), "");
  EXPECT_EQ(at(printed, "metrics.allow_remote").as<std::string>(), "false");
  EXPECT_EQ(at(printed, "log.target").as<std::string>(), "console");
  EXPECT_EQ(at(printed, "git.timeout").as<std::string>(), "60");
  EXPECT_EQ(at(printed, "git.max_size_mb").as<std::string>(), "100");
  EXPECT_EQ(at(printed, "backend.heartbeat_interval").as<std::string>(), "30");
  // `auto` resolved to this host's backend, with every option the backend declares.
  EXPECT_EQ(at(printed, "scheduler.backend").as<std::string>(), "cron");
  for (const char* option : {"user", "crontab_command", "cron_file"}) {
    EXPECT_TRUE(at(printed, std::string("scheduler.options.") + option).IsDefined()) << option;
  }

  // Given values are printed as given.
  writeFile(dir / "config.yaml",
            "metrics: {listen: \"127.0.0.1:9191\"}\nlog: {target: file, file: " + (dir / "a.log") +
                "}\n");
  r = runProcess({kAgent, "--config", dir / "config.yaml", "config"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(at(YAML::Load(r.out), "metrics.listen").as<std::string>(), "127.0.0.1:9191");
  EXPECT_EQ(at(YAML::Load(r.out), "log.file").as<std::string>(), dir / "a.log");
}

TEST(ConfigCommand, LogLevelFromTheCommandLineIsTheEffectiveOne) {
  TempDir dir;
  writeFile(dir / "config.yaml", "log: {level: warning}\n");
  auto r = runProcess({kAgent, "--config", dir / "config.yaml", "config"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("  level: warning\n"));
  r = runProcess({kAgent, "--config", dir / "config.yaml", "--log-level", "debug", "config"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("  level: debug\n"));
}

TEST(ConfigCommand, AnInvalidFileExitsOneWithEveryPosition) {
  TempDir dir;
  writeFile(dir / "config.yaml",
            "git:\n  sync_interval: -3\n  auth: {type: basic, password: \"pw-SECRET-2\"}\n"
            "log:\n  level: loud\n");
  auto r = runProcess({kAgent, "--config", dir / "config.yaml", "config"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_THAT(r.err, HasSubstr(dir / "config.yaml" + ":2:18: git.sync_interval: must be between"));
  EXPECT_THAT(r.err, HasSubstr(dir / "config.yaml" + ":5:10: log.level"));
  EXPECT_THAT(r.err, Not(HasSubstr("pw-SECRET-2")));
}

TEST(ConfigCommand, SchedulerOptionsAreCheckedAgainstThePluginsSpecs) {
  TempDir dir;
  writeFile(dir / "config.yaml",
            "scheduler:\n  backend: cron\n  options:\n    frob: 1\n    cron_file: relative\n");
  auto r = runProcess({kAgent, "--config", dir / "config.yaml", "config"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_THAT(r.err, HasSubstr(dir / "config.yaml" +
                               ":4:5: scheduler.options.frob: unknown option for scheduler "
                               "backend \"cron\""));

  // A value of the right type that the plugin itself refuses (configure()).
  writeFile(dir / "config.yaml", "scheduler:\n  backend: cron\n  options: {cron_file: relative}\n");
  r = runProcess({kAgent, "--config", dir / "config.yaml", "config"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("cron_file: 'relative' must be an absolute path"));
}

TEST(ConfigCommand, AMissingFileIsAnError) {
  TempDir dir;
  auto r = runProcess({kAgent, "--config", dir / "absent.yaml", "config"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr(dir / "absent.yaml"));
}

// As the daemon would before its first call: an https:// control plane loads the HTTPS module
// and backend.ca_file, and an unreadable CA file is a configuration error naming the key.
TEST(ConfigCommand, AnHttpsControlPlaneWhoseCaFileCannotBeLoadedIsRefused) {
  TempDir dir;
  writeFile(dir / "not-a-cert.pem", "not a certificate\n");
  writeFile(dir / "config.yaml", "agent: {state_dir: " + (dir / "state") +
                                     "}\n"
                                     "backend:\n  api_url: https://cp.example.com\n  ca_file: " +
                                     (dir / "not-a-cert.pem") + "\n");
  auto r = runProcess({kAgent, "--config", dir / "config.yaml", "config"});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_THAT(r.err, HasSubstr(dir / "config.yaml"));
  EXPECT_THAT(r.err, HasSubstr("backend.ca_file " + (dir / "not-a-cert.pem") +
                               ": cannot load the CA certificates"));
}
