#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "Config.h"
#include "platform/Platform.h"

using crontopus::core::AgentConfig;
using crontopus::core::ConfigException;
using crontopus::core::expandHome;
using crontopus::core::parseConfig;
using testing::HasSubstr;

namespace {

std::string errorOf(const std::string& yaml) {
  try {
    parseConfig(yaml, "config.yaml");
  } catch (const ConfigException& e) {
    return e.message();
  }
  return "(no error)";
}

}  // namespace

TEST(Config, DefaultsFollowTheSeed) {
  AgentConfig c = parseConfig("", "config.yaml");
  const std::string home = crontopus::core::platform::homeDirectory();
  EXPECT_EQ(c.agent.hostname, crontopus::core::platform::hostName());
  EXPECT_EQ(c.agent.name, c.agent.hostname);
  EXPECT_EQ(c.agent.platform, "linux");
  EXPECT_EQ(c.agent.state_dir, home + "/.crontopus");
  EXPECT_EQ(c.agent.token_path, home + "/.crontopus/agent-token");
  EXPECT_TRUE(c.agent.labels.empty());
  EXPECT_EQ(c.backend.api_url, "");
  EXPECT_EQ(c.backend.heartbeat_interval, 30);
  EXPECT_FALSE(c.backend.allow_insecure_http);
  EXPECT_EQ(c.git.branch, "main");
  EXPECT_EQ(c.git.sync_interval, 30);
  EXPECT_EQ(c.git.local_path, home + "/.crontopus/job-manifests");
  EXPECT_EQ(c.git.timeout, 60);
  EXPECT_EQ(c.git.max_size_mb, 100);
  EXPECT_EQ(c.scheduler.backend, "auto");
  EXPECT_TRUE(c.scheduler.options.empty());
  EXPECT_EQ(c.log.level, "information");
  EXPECT_EQ(c.log.target, "console");
  EXPECT_TRUE(c.warnings.empty());
}

TEST(Config, ReadsEveryKey) {
  const std::string yaml = R"(agent:
  name: my-agent
  hostname: server-01
  platform: darwin
  version: "0.1.0"
  state_dir: /var/lib/crontopus
  token_path: ~/token
  default_timezone: Europe/Berlin
  labels: {role: database, env: prod}
backend:
  api_url: "https://crontopus.example"
  enrollment_token: "secret-enroll"
  ca_file: /etc/ssl/ca.pem
  heartbeat_interval: 45
  allow_insecure_http: true
git:
  url: "https://git.example/acme/jobs.git"
  branch: release
  sync_interval: 120
  local_path: /srv/jobs
  ca_file: ~/ca.pem
  allow_insecure_http: true
  timeout: 20
  max_size_mb: 50
  auth:
    type: basic
    username: alice
    password: s3cret
    key_path: ~/.ssh/id_ed25519
    passphrase: pp
    known_hosts: ~/.ssh/known_hosts
scheduler:
  backend: cron
  options:
    user: bob
    cron_file: /etc/cron.d/crontopus
plugins_dir: /opt/crontopus/plugins
log:
  level: debug
  target: file
  file: /var/log/crontopus.log
)";
  AgentConfig c = parseConfig(yaml, "config.yaml");
  const std::string home = crontopus::core::platform::homeDirectory();
  EXPECT_EQ(c.agent.name, "my-agent");
  EXPECT_EQ(c.agent.hostname, "server-01");
  EXPECT_EQ(c.agent.platform, "darwin");
  EXPECT_EQ(c.agent.version, "0.1.0");
  EXPECT_EQ(c.agent.state_dir, "/var/lib/crontopus");
  EXPECT_EQ(c.agent.token_path, home + "/token");
  EXPECT_EQ(c.agent.default_timezone, "Europe/Berlin");
  EXPECT_EQ(c.agent.labels.at("role"), "database");
  EXPECT_EQ(c.agent.labels.at("env"), "prod");
  EXPECT_EQ(c.backend.api_url, "https://crontopus.example");
  EXPECT_EQ(c.backend.enrollment_token, "secret-enroll");
  EXPECT_EQ(c.backend.ca_file, "/etc/ssl/ca.pem");
  EXPECT_EQ(c.backend.heartbeat_interval, 45);
  EXPECT_TRUE(c.backend.allow_insecure_http);
  EXPECT_EQ(c.git.url, "https://git.example/acme/jobs.git");
  EXPECT_EQ(c.git.branch, "release");
  EXPECT_EQ(c.git.sync_interval, 120);
  EXPECT_EQ(c.git.local_path, "/srv/jobs");
  EXPECT_EQ(c.git.ca_file, home + "/ca.pem");
  EXPECT_TRUE(c.git.allow_insecure_http);
  EXPECT_EQ(c.git.timeout, 20);
  EXPECT_EQ(c.git.max_size_mb, 50);
  EXPECT_EQ(c.git.auth.type, "basic");
  EXPECT_EQ(c.git.auth.username, "alice");
  EXPECT_EQ(c.git.auth.password, "s3cret");
  EXPECT_EQ(c.git.auth.key_path, home + "/.ssh/id_ed25519");
  EXPECT_EQ(c.git.auth.passphrase, "pp");
  EXPECT_EQ(c.git.auth.known_hosts, home + "/.ssh/known_hosts");
  EXPECT_EQ(c.scheduler.backend, "cron");
  EXPECT_EQ(c.scheduler.options.at("user"), "bob");
  EXPECT_EQ(c.scheduler.options.at("cron_file"), "/etc/cron.d/crontopus");
  EXPECT_EQ(c.scheduler.option_positions.at("user").line, 35);
  EXPECT_EQ(c.plugins_dir, "/opt/crontopus/plugins");
  EXPECT_EQ(c.log.level, "debug");
  EXPECT_EQ(c.log.target, "file");
  EXPECT_EQ(c.log.file, "/var/log/crontopus.log");
  EXPECT_TRUE(c.warnings.empty());
}

TEST(Config, StateDirMovesTheDerivedDefaults) {
  AgentConfig c = parseConfig("agent:\n  state_dir: /var/lib/crontopus\n", "c.yaml");
  EXPECT_EQ(c.agent.token_path, "/var/lib/crontopus/agent-token");
  EXPECT_EQ(c.git.local_path, "/var/lib/crontopus/job-manifests");
}

TEST(Config, UnknownKeysAreWarningsWithTheirPosition) {
  AgentConfig c = parseConfig("git:\n  branch: main\n  syncinterval: 10\nfoo: 1\n", "c.yaml");
  ASSERT_EQ(c.warnings.size(), 2u);
  EXPECT_EQ(c.warnings[0].str(),
            "c.yaml:3:3: git.syncinterval: unknown key, ignored (check its spelling)");
  EXPECT_EQ(c.warnings[1].key, "foo");
  EXPECT_EQ(c.warnings[1].line, 4);
}

TEST(Config, WrongTypeIsAnErrorWithLineAndColumn) {
  EXPECT_EQ(errorOf("git:\n  branch: [a, b]\n"), "config.yaml:2:11: git.branch: must be a string");
  EXPECT_EQ(errorOf("git:\n  sync_interval: soon\n"),
            "config.yaml:2:18: git.sync_interval: must be a whole number");
  EXPECT_EQ(errorOf("backend:\n  allow_insecure_http: yes\n"),
            "config.yaml:2:24: backend.allow_insecure_http: must be true or false");
  EXPECT_EQ(errorOf("agent:\n  labels: [x]\n"),
            "config.yaml:2:11: agent.labels: must be a mapping of strings to strings");
  EXPECT_EQ(errorOf("agent: 5\n"), "config.yaml:1:8: agent: must be a mapping of keys to values");
}

TEST(Config, ImpossibleValuesAreErrors) {
  EXPECT_EQ(errorOf("git:\n  sync_interval: -5\n"),
            "config.yaml:2:18: git.sync_interval: must be between 1 and 604800, got -5");
  EXPECT_EQ(errorOf("backend:\n  heartbeat_interval: 0\n"),
            "config.yaml:2:23: backend.heartbeat_interval: must be between 1 and 604800, got 0");
  EXPECT_THAT(errorOf("git:\n  auth:\n    type: kerberos\n"),
              HasSubstr("config.yaml:3:11: git.auth.type: must be one of: basic, token, ssh"));
  EXPECT_THAT(errorOf("git:\n  auth:\n    type: ssh\n"),
              HasSubstr("git.auth.key_path: is required when git.auth.type is ssh"));
  EXPECT_THAT(errorOf("git:\n  auth:\n    type: basic\n"),
              HasSubstr("git.auth.username: is required when git.auth.type is basic"));
  EXPECT_EQ(
      parseConfig("git:\n  auth:\n    type: token\n    password: t\n", "c.yaml").git.auth.type,
      "token");
  EXPECT_THAT(errorOf("log:\n  level: loud\n"),
              HasSubstr("config.yaml:2:10: log.level: must be one of"));
  EXPECT_THAT(errorOf("log:\n  target: file\n"),
              HasSubstr("log.file: is required when log.target is file"));
}

TEST(Config, ReportsEveryErrorAtOnce) {
  std::string msg =
      errorOf("git:\n  sync_interval: -1\n  branch: [x]\nbackend:\n  heartbeat_interval: x\n");
  EXPECT_THAT(msg, HasSubstr("git.sync_interval"));
  EXPECT_THAT(msg, HasSubstr("git.branch"));
  EXPECT_THAT(msg, HasSubstr("backend.heartbeat_interval"));
}

TEST(Config, SyntaxErrorsCarryTheirPosition) {
  EXPECT_THAT(errorOf("git:\n  branch: [a, b\n"), HasSubstr("config.yaml:"));
  EXPECT_THAT(errorOf("git: {\n"), HasSubstr("(syntax)"));
}

// Found by fuzz_config: yaml-cpp 0.7 never returned from these (looping and allocating), so a
// bad config file hung the agent. Each must be a syntax error at once.
TEST(Config, TextThatHungYamlCppIsASyntaxError) {
  for (const std::string text : {",ab: :\n", ",ab: :", "git: {branch: main}\n,x: :\n"}) {
    EXPECT_THAT(errorOf(text), HasSubstr("(syntax)")) << text;
    EXPECT_THAT(errorOf(text), HasSubstr("config.yaml:")) << text;
  }
}

// Found by fuzz_config: a section given twice, once as a scalar, made the check for a required
// key subscript the scalar, and yaml-cpp's exception escaped the loader (std::terminate).
TEST(Config, DuplicateSectionIsAnErrorNotACrash) {
  EXPECT_THAT(errorOf("git: x\ngit:\n  auth: {type: ssh}\n"),
              HasSubstr("git.auth.key_path: is required when git.auth.type is ssh"));
  EXPECT_THAT(errorOf("git: [x]\ngit:\n  auth: {type: basic}\n"),
              HasSubstr("git.auth.username: is required"));
  EXPECT_THAT(errorOf("log: x\nlog: {target: file}\n"), HasSubstr("log.file: is required"));
}

TEST(Config, MoreThanOneDocumentIsAnError) {
  EXPECT_THAT(errorOf("git:\n  branch: a\n---\ngit:\n  branch: b\n"),
              HasSubstr("has 2 YAML documents; a configuration file holds exactly one"));
}

TEST(Config, MissingFileNamesThePath) {
  try {
    crontopus::core::loadConfig("/nonexistent/config.yaml");
    FAIL();
  } catch (const ConfigException& e) {
    EXPECT_THAT(e.message(), HasSubstr("/nonexistent/config.yaml: cannot read"));
  }
}

TEST(Config, ExpandsHome) {
  const std::string home = crontopus::core::platform::homeDirectory();
  EXPECT_EQ(expandHome("~"), home);
  EXPECT_EQ(expandHome("~/a/b"), home + "/a/b");
  EXPECT_EQ(expandHome("/abs/~"), "/abs/~");
  EXPECT_EQ(expandHome("~other/x"), "~other/x");
}

TEST(Config, TheExampleConfigurationLoadsWithItsDocumentedDefaults) {
  AgentConfig example =
      crontopus::core::loadConfig(std::string(SOURCE_DIR) + "/etc/config.example.yaml");
  AgentConfig defaults = parseConfig("", "empty.yaml");
  EXPECT_TRUE(example.warnings.empty());
  EXPECT_EQ(example.agent.state_dir, defaults.agent.state_dir);
  EXPECT_EQ(example.agent.token_path, defaults.agent.token_path);
  EXPECT_EQ(example.git.local_path, defaults.git.local_path);
  EXPECT_EQ(example.git.branch, defaults.git.branch);
  EXPECT_EQ(example.git.sync_interval, defaults.git.sync_interval);
  EXPECT_EQ(example.git.timeout, defaults.git.timeout);
  EXPECT_EQ(example.git.max_size_mb, defaults.git.max_size_mb);
  EXPECT_EQ(example.backend.heartbeat_interval, defaults.backend.heartbeat_interval);
  EXPECT_EQ(example.scheduler.backend, defaults.scheduler.backend);
  EXPECT_EQ(example.log.level, defaults.log.level);
  EXPECT_EQ(example.log.target, defaults.log.target);
  EXPECT_EQ(example.metrics.listen, defaults.metrics.listen);
  EXPECT_EQ(example.metrics.allow_remote, defaults.metrics.allow_remote);
}
