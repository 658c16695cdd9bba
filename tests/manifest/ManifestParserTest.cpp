#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include "ManifestTestUtil.h"
#include "manifest/ManifestParser.h"

namespace crontopus::core::test {
namespace {

namespace fs = std::filesystem;

class ManifestParserTest : public ManifestTreeTest {};

TEST_F(ManifestParserTest, ReadsEveryFieldOfAFullManifest) {
  write("production/backups/db.yaml", R"(apiVersion: v1
kind: Job
metadata:
  name: daily-backup
  tenant: acme-corp
  id: 3f6c2a1e-0000-4000-8000-000000000001
  namespace: production
  labels: {env: prod, tier: "1"}
  annotations: {owner: ops}
spec:
  schedule: "0 2 * * *"
  timezone: Europe/Berlin
  command: /opt/backup.sh --all
  args: ["--db=prod", "two words"]
  workingDir: /opt/data
  env: {LOG_LEVEL: info, MULTI: "a\nb"}
  checkin:
    enabled: false
    secret: s3cret
    timeout: 7200
  retry:
    enabled: true
    attempts: 5
    backoff: fixed
  agent:
    selector:
      hostname: db-01
      role: database
  enabled: true
  paused: true
)");
  ManifestSet set = parse();
  ASSERT_TRUE(set.errors.empty()) << dump(set);
  EXPECT_TRUE(set.warnings.empty());
  EXPECT_TRUE(set.tree_complete);
  ASSERT_EQ(set.jobs.size(), 1u);
  const sdk::Job& job = set.jobs.at("production/daily-backup");
  EXPECT_EQ(job.ns, "production");
  EXPECT_EQ(job.name, "daily-backup");
  EXPECT_EQ(job.identity(), "production/daily-backup");
  EXPECT_EQ(job.id, "3f6c2a1e-0000-4000-8000-000000000001");
  EXPECT_EQ(job.tenant, "acme-corp");
  EXPECT_EQ(job.labels, (std::map<std::string, std::string>{{"env", "prod"}, {"tier", "1"}}));
  EXPECT_EQ(job.annotations.at("owner"), "ops");
  EXPECT_EQ(job.schedule, "0 2 * * *");
  EXPECT_EQ(job.timezone, "Europe/Berlin");
  EXPECT_EQ(job.command, "/opt/backup.sh --all");
  EXPECT_EQ(job.args, (std::vector<std::string>{"--db=prod", "two words"}));
  EXPECT_EQ(job.working_dir, "/opt/data");
  EXPECT_EQ(job.env.at("LOG_LEVEL"), "info");
  EXPECT_EQ(job.env.at("MULTI"), "a\nb");  // values may hold newlines: never in an entry
  EXPECT_FALSE(job.checkin.enabled);
  EXPECT_EQ(job.checkin.secret, "s3cret");
  EXPECT_EQ(job.checkin.timeout_seconds, 7200);
  EXPECT_TRUE(job.retry.enabled);
  EXPECT_EQ(job.retry.attempts, 5);
  EXPECT_EQ(job.retry.backoff, sdk::Backoff::kFixed);
  EXPECT_EQ(job.selector.at("hostname"), "db-01");
  EXPECT_EQ(job.selector.at("role"), "database");
  EXPECT_TRUE(job.enabled);
  EXPECT_TRUE(job.paused);
  EXPECT_EQ(job.source_file, "production/backups/db.yaml");
}

// What a YAML library such as PyYAML writes for the control plane: sorted keys, explicit nulls,
// quoting only where needed, "---" header. It must be accepted unchanged.
TEST_F(ManifestParserTest, AcceptsControlPlaneStyleOutput) {
  write("production/nightly-report.yaml", R"(---
apiVersion: v1
kind: Job
metadata:
  annotations: {}
  id: 9b1e6c1a-7d1f-4a59-9a43-5f8d2f0c0e11
  labels:
    created-by: control-plane
  name: nightly-report
  namespace: production
  tenant: acme-corp
spec:
  agent:
    selector: null
  args: []
  checkin:
    enabled: true
    secret: null
    timeout: 3600
  command: /usr/bin/env python3 -c 'print("report")'
  enabled: true
  env: {}
  paused: false
  retry:
    attempts: 3
    backoff: exponential
    enabled: false
  schedule: '*/5 * * * *'
  timezone: null
  workingDir: null
)");
  ManifestSet set = parse();
  ASSERT_TRUE(set.errors.empty()) << dump(set);
  EXPECT_TRUE(set.warnings.empty());
  const sdk::Job& job = set.jobs.at("production/nightly-report");
  EXPECT_EQ(job.schedule, "*/5 * * * *");
  EXPECT_EQ(job.command, "/usr/bin/env python3 -c 'print(\"report\")'");
  EXPECT_EQ(job.id, "9b1e6c1a-7d1f-4a59-9a43-5f8d2f0c0e11");
  EXPECT_TRUE(job.args.empty());
  EXPECT_TRUE(job.selector.empty());
}

TEST_F(ManifestParserTest, AppliesDefaultsAndRootNamespace) {
  write("minimal.yml", manifest("minimal"));
  ManifestSet set = parse();
  ASSERT_TRUE(set.errors.empty()) << dump(set);
  const sdk::Job& job = set.jobs.at("default/minimal");
  EXPECT_EQ(job.ns, "default");
  EXPECT_TRUE(job.id.empty());  // carried, never generated
  EXPECT_TRUE(job.timezone.empty());
  EXPECT_TRUE(job.working_dir.empty());
  EXPECT_TRUE(job.checkin.enabled);
  EXPECT_EQ(job.checkin.timeout_seconds, 3600);
  EXPECT_FALSE(job.retry.enabled);
  EXPECT_EQ(job.retry.attempts, 3);
  EXPECT_EQ(job.retry.backoff, sdk::Backoff::kExponential);
  EXPECT_TRUE(job.enabled);
  EXPECT_FALSE(job.paused);
  EXPECT_EQ(set.files_read, 1u);
}

TEST_F(ManifestParserTest, NullOptionalFieldsCountAsAbsent) {
  write("a.yaml", manifest("a", "  timezone: null\n  env: ~\n  checkin:\n", "  id:\n"));
  ManifestSet set = parse();
  ASSERT_TRUE(set.errors.empty()) << dump(set);
  EXPECT_TRUE(set.jobs.at("default/a").id.empty());
}

TEST_F(ManifestParserTest, DisabledJobsStayInTheDesiredSetMarkedDisabled) {
  write("ops/a.yaml", manifest("a", "  enabled: false\n"));
  ManifestSet set = parse();
  ASSERT_TRUE(set.errors.empty()) << dump(set);
  EXPECT_FALSE(set.jobs.at("ops/a").enabled);
}

TEST_F(ManifestParserTest, NamespaceFromDirectoryWinsOverMetadataWithAWarning) {
  write("staging/a.yaml", manifest("a", "", "  namespace: production\n"));
  ManifestSet set = parse();
  ASSERT_TRUE(set.errors.empty()) << dump(set);
  EXPECT_EQ(set.jobs.count("staging/a"), 1u);
  ASSERT_EQ(set.warnings.size(), 1u);
  EXPECT_EQ(set.warnings[0].field, "metadata.namespace");
  EXPECT_EQ(set.warnings[0].file, "staging/a.yaml");
  EXPECT_EQ(set.warnings[0].line, 6);
}

TEST_F(ManifestParserTest, InvalidNamespaceDirectoryFailsEveryFileBelowIt) {
  write("Bad_NS/a.yaml", manifest("a"));
  write("Bad_NS/deep/b.yaml", manifest("b"));
  write("good/c.yaml", manifest("c"));
  ManifestSet set = parse();
  EXPECT_EQ(set.errors.size(), 2u) << dump(set);
  EXPECT_NE(errorFor(set, "Bad_NS/a.yaml"), nullptr);
  EXPECT_NE(errorFor(set, "Bad_NS/deep/b.yaml"), nullptr);
  EXPECT_NE(errorFor(set, "Bad_NS/a.yaml")->message.find("namespace"), std::string::npos);
  EXPECT_EQ(set.jobs.size(), 1u);
  EXPECT_EQ(set.failed_files.size(), 2u);
  EXPECT_TRUE(set.tree_complete);
}

struct FieldCase {
  const char* label;
  std::string text;
  std::string field;
  int line;
};

class FieldErrorTest : public ManifestTreeTest, public ::testing::WithParamInterface<FieldCase> {};

TEST_P(FieldErrorTest, ReportsFieldAndPosition) {
  const FieldCase& c = GetParam();
  write("ns/job.yaml", c.text);
  ManifestSet set = parse();
  ASSERT_FALSE(set.errors.empty()) << c.label;
  const ManifestDiagnostic& e = set.errors.front();
  EXPECT_EQ(e.file, "ns/job.yaml") << c.label;
  EXPECT_EQ(e.field, c.field) << c.label << ": " << dump(set);
  EXPECT_EQ(e.line, c.line) << c.label << ": " << dump(set);
  if (c.line > 0) {
    EXPECT_GT(e.column, 0) << c.label;
  }
  EXPECT_TRUE(set.jobs.empty()) << c.label;
  EXPECT_EQ(set.failed_files.count("ns/job.yaml"), 1u) << c.label;
}

// Replaces the first occurrence of `from` in a valid manifest.
std::string edit(const std::string& from, const std::string& to,
                 std::string text = manifest("job")) {
  auto pos = text.find(from);
  if (pos != std::string::npos)
    text.replace(pos, from.size(), to);
  return text;
}

const std::string kMissing = "";

INSTANTIATE_TEST_SUITE_P(
    Rules, FieldErrorTest,
    ::testing::Values(
        FieldCase{"apiVersion v2", edit("apiVersion: v1", "apiVersion: v2"), "apiVersion", 1},
        FieldCase{"apiVersion missing", edit("apiVersion: v1\n", ""), "apiVersion", 1},
        FieldCase{"kind", edit("kind: Job", "kind: CronJob"), "kind", 2},
        FieldCase{"metadata list",
                  edit("metadata:\n  name: job\n  tenant: acme\n", "metadata: []\n"), "metadata",
                  3},
        FieldCase{"spec missing", "apiVersion: v1\nkind: Job\nmetadata: {name: a, tenant: t}\n",
                  "spec", 1},
        FieldCase{"name missing", edit("  name: job\n", ""), "metadata.name", 4},
        FieldCase{"name null", edit("name: job", "name: ~"), "metadata.name", 4},
        FieldCase{"spec null",
                  edit("spec:\n  schedule: \"0 2 * * *\"\n  command: /bin/true\n", "spec:\n"),
                  "spec", 6},
        FieldCase{"name pattern", manifest("Daily_Backup"), "metadata.name", 4},
        FieldCase{"name trailing dash", manifest("backup-"), "metadata.name", 4},
        FieldCase{"name 64 chars", manifest(std::string(64, 'a')), "metadata.name", 4},
        FieldCase{"name control", edit("name: job", "name: \"jo\\tb\""), "metadata.name", 4},
        FieldCase{"tenant empty", edit("tenant: acme", "tenant: \"\""), "metadata.tenant", 5},
        FieldCase{"tenant missing", edit("  tenant: acme\n", ""), "metadata.tenant", 4},
        FieldCase{"id control", manifest("job", "", "  id: \"a\\nb\"\n"), "metadata.id", 6},
        FieldCase{"labels list", manifest("job", "", "  labels: [a, b]\n"), "metadata.labels", 6},
        FieldCase{"schedule missing", edit("  schedule: \"0 2 * * *\"\n", ""), "spec.schedule", 7},
        FieldCase{"schedule 6 fields", edit("0 2 * * *", "0 0 2 * * *"), "spec.schedule", 7},
        FieldCase{"schedule out of range", edit("0 2 * * *", "0 24 * * *"), "spec.schedule", 7},
        FieldCase{"schedule newline", edit("0 2 * * *", "0 2 * * *\\n* * * * *"), "spec.schedule",
                  7},
        FieldCase{"schedule list", edit("\"0 2 * * *\"", "[0, 2]"), "spec.schedule", 7},
        FieldCase{"command missing", edit("  command: /bin/true\n", ""), "spec.command", 7},
        FieldCase{"command list", edit("command: /bin/true", "command: [/bin/true]"),
                  "spec.command", 8},
        FieldCase{"command empty", edit("command: /bin/true", "command: \"  \""), "spec.command",
                  8},
        FieldCase{"command NUL", edit("command: /bin/true", "command: \"/bin/true\\0x\""),
                  "spec.command", 8},
        FieldCase{"args string", manifest("job", "  args: --x\n"), "spec.args", 9},
        FieldCase{"args nested", manifest("job", "  args: [a, [b]]\n"), "spec.args[1]", 9},
        FieldCase{"args NUL", manifest("job", "  args: [\"a\\0\"]\n"), "spec.args[0]", 9},
        FieldCase{"workingDir relative", manifest("job", "  workingDir: data/x\n"),
                  "spec.workingDir", 9},
        FieldCase{"env key digit", manifest("job", "  env: {1FOO: x}\n"), "spec.env.1FOO", 9},
        FieldCase{"env key dash", manifest("job", "  env:\n    FOO-BAR: x\n"), "spec.env.FOO-BAR",
                  10},
        FieldCase{"env key control", manifest("job", "  env: {\"A\\tB\": x}\n"),
                  "spec.env.\"A\\x09B\"", 9},
        FieldCase{"env value map", manifest("job", "  env:\n    FOO: {a: b}\n"), "spec.env.FOO",
                  10},
        FieldCase{"env value NUL", manifest("job", "  env: {FOO: \"a\\0\"}\n"), "spec.env.FOO", 9},
        FieldCase{"timezone unknown", manifest("job", "  timezone: Mars/Olympus\n"),
                  "spec.timezone", 9},
        FieldCase{"timezone path", manifest("job", "  timezone: /etc/localtime\n"), "spec.timezone",
                  9},
        FieldCase{"timezone dotdot", manifest("job", "  timezone: ../../etc/passwd\n"),
                  "spec.timezone", 9},
        FieldCase{"timezone inner dotdot", manifest("job", "  timezone: Europe/../UTC\n"),
                  "spec.timezone", 9},
        FieldCase{"timezone control", manifest("job", "  timezone: \"UTC\\n\"\n"), "spec.timezone",
                  9},
        FieldCase{"checkin timeout 0", manifest("job", "  checkin:\n    timeout: 0\n"),
                  "spec.checkin.timeout", 10},
        FieldCase{"checkin timeout too big", manifest("job", "  checkin:\n    timeout: 604801\n"),
                  "spec.checkin.timeout", 10},
        FieldCase{"checkin timeout quoted", manifest("job", "  checkin:\n    timeout: \"3600\"\n"),
                  "spec.checkin.timeout", 10},
        FieldCase{"checkin timeout float", manifest("job", "  checkin:\n    timeout: 1.5\n"),
                  "spec.checkin.timeout", 10},
        FieldCase{"checkin enabled yes", manifest("job", "  checkin:\n    enabled: yes\n"),
                  "spec.checkin.enabled", 10},
        FieldCase{"checkin not a map", manifest("job", "  checkin: true\n"), "spec.checkin", 9},
        FieldCase{"retry attempts -1", manifest("job", "  retry: {attempts: -1}\n"),
                  "spec.retry.attempts", 9},
        FieldCase{"retry attempts 101", manifest("job", "  retry: {attempts: 101}\n"),
                  "spec.retry.attempts", 9},
        FieldCase{"retry attempts huge",
                  manifest("job", "  retry: {attempts: 99999999999999999999}\n"),
                  "spec.retry.attempts", 9},
        FieldCase{"retry backoff", manifest("job", "  retry: {backoff: linear}\n"),
                  "spec.retry.backoff", 9},
        FieldCase{"retry enabled string", manifest("job", "  retry: {enabled: \"true\"}\n"),
                  "spec.retry.enabled", 9},
        FieldCase{"selector list", manifest("job", "  agent:\n    selector: [a]\n"),
                  "spec.agent.selector", 10},
        FieldCase{"enabled quoted", manifest("job", "  enabled: \"true\"\n"), "spec.enabled", 9},
        FieldCase{"enabled yes", manifest("job", "  enabled: yes\n"), "spec.enabled", 9},
        FieldCase{"enabled list", manifest("job", "  enabled: [true]\n"), "spec.enabled", 9},
        FieldCase{"paused number", manifest("job", "  paused: 1\n"), "spec.paused", 9},
        FieldCase{"secret unset",
                  manifest("job", "  checkin: {secret: \"${CRONTOPUS_TEST_UNSET_VAR}\"}\n"),
                  "spec.checkin.secret", 9},
        FieldCase{"secret malformed", manifest("job", "  checkin: {secret: \"${OOPS\"}\n"),
                  "spec.checkin.secret", 9},
        FieldCase{"not a mapping", "- a\n- b\n", "", 1},
        FieldCase{"syntax error", "apiVersion: v1\nkind: [Job\n", "", 3}),
    [](const ::testing::TestParamInfo<FieldCase>& info) {
      std::string name;
      for (char c : std::string(info.param.label)) {
        name += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
      }
      return name;
    });

TEST_F(ManifestParserTest, AcceptsBoundaryValuesAndWindowsPaths) {
  write("a.yaml", manifest("a",
                           "  workingDir: 'C:\\jobs'\n"
                           "  checkin: {timeout: 604800}\n"
                           "  retry: {attempts: 0, enabled: FALSE}\n"
                           "  timezone: UTC\n"
                           "  enabled: True\n"));
  write("b.yaml",
        manifest(std::string(63, 'b'), "  checkin: {timeout: 1}\n  retry: {attempts: 100}\n"));
  ManifestSet set = parse();
  ASSERT_TRUE(set.errors.empty()) << dump(set);
  EXPECT_EQ(set.jobs.at("default/a").working_dir, "C:\\jobs");
  EXPECT_EQ(set.jobs.at("default/a").checkin.timeout_seconds, 604800);
  EXPECT_EQ(set.jobs.at("default/a").retry.attempts, 0);
  EXPECT_EQ(set.jobs.size(), 2u);
}

// Found by the hostile-manifest corpus: an env key with a newline put the raw newline into the
// error's field, so `validate` printed a forged second line. The key is quoted and escaped.
TEST_F(ManifestParserTest, FieldPathThroughAKeyWithControlCharactersStaysOneLine) {
  write("ops/a.yaml", manifest("a", "  env: {\"K\\nX\": v}\n"));
  write("ops/b.yaml", manifest("b", "", "  labels: {\"k\\ry\": [x]}\n"));
  const auto set = parse();
  const auto* a = errorFor(set, "ops/a.yaml");
  ASSERT_NE(a, nullptr) << dump(set);
  EXPECT_EQ(a->field, "spec.env.\"K\\x0aX\"");
  const auto* b = errorFor(set, "ops/b.yaml");
  ASSERT_NE(b, nullptr) << dump(set);
  EXPECT_EQ(b->field, "metadata.labels.\"k\\x0dy\"");
}

TEST_F(ManifestParserTest, ReportsEveryErrorOfAFileNotJustTheFirst) {
  write("a.yaml", manifest("a", "  enabled: maybe\n  paused: perhaps\n  workingDir: rel\n"));
  ManifestSet set = parse();
  EXPECT_EQ(set.errors.size(), 3u) << dump(set);
}

TEST_F(ManifestParserTest, WarnsOnceForUnknownKeys) {
  write("a.yaml",
        manifest("a", "  future: 1\n  checkin: {other: x}\n", "  extra: y\n") + "status: {}\n");
  ManifestSet set = parse();
  ASSERT_TRUE(set.errors.empty()) << dump(set);
  EXPECT_EQ(set.jobs.size(), 1u);
  ASSERT_EQ(set.warnings.size(), 1u);
  const std::string& m = set.warnings[0].message;
  for (const char* key : {"spec.future", "spec.checkin.other", "metadata.extra", "status"}) {
    EXPECT_NE(m.find(key), std::string::npos) << key << " in " << m;
  }
  EXPECT_EQ(set.warnings[0].line, 6);  // metadata.extra comes first in the file
}

TEST_F(ManifestParserTest, OneBadFileDoesNotAffectOthers) {
  write("production/good-1.yaml", manifest("good-1"));
  write("production/bad.yaml", "apiVersion: v1\nkind: Job\nmetadata: {name: bad, tenant: t\n");
  write("staging/nested/deeper/good-2.yml", manifest("good-2"));
  ManifestSet set = parse();
  ASSERT_EQ(set.errors.size(), 1u) << dump(set);
  EXPECT_EQ(set.errors[0].file, "production/bad.yaml");
  EXPECT_GT(set.errors[0].line, 0);
  EXPECT_EQ(set.jobs.size(), 2u);
  EXPECT_EQ(set.jobs.count("production/good-1"), 1u);
  EXPECT_EQ(set.jobs.count("staging/good-2"), 1u);
  EXPECT_EQ(set.failed_files, std::set<std::string>{"production/bad.yaml"});
  EXPECT_TRUE(set.failed_file_identity.empty());  // the syntax error hides the name
  EXPECT_TRUE(set.tree_complete);
  EXPECT_EQ(set.files_read, 3u);
}

TEST_F(ManifestParserTest, FailedFileKeepsItsIdentityHeld) {
  write("production/db.yaml", manifest("db", "  timezone: Nowhere/Land\n"));
  ManifestSet set = parse();
  ASSERT_EQ(set.errors.size(), 1u);
  EXPECT_TRUE(set.jobs.empty());
  EXPECT_EQ(set.failed_file_identity.at("production/db.yaml"), "production/db");
  EXPECT_EQ(set.held_identities, std::set<std::string>{"production/db"});
}

TEST_F(ManifestParserTest, DuplicateIdentitiesReportBothFilesAndApplyNeither) {
  write("production/a.yaml", manifest("backup"));
  write("production/sub/b.yaml", manifest("backup"));
  write("staging/backup.yaml", manifest("backup"));  // other namespace: no conflict
  ManifestSet set = parse();
  ASSERT_EQ(set.errors.size(), 2u) << dump(set);
  EXPECT_EQ(set.errors[0].file, "production/a.yaml");
  EXPECT_EQ(set.errors[1].file, "production/sub/b.yaml");
  EXPECT_EQ(set.errors[0].field, "metadata.name");
  EXPECT_EQ(set.errors[0].line, 4);
  EXPECT_NE(set.errors[0].message.find("production/sub/b.yaml"), std::string::npos);
  EXPECT_NE(set.errors[1].message.find("production/a.yaml"), std::string::npos);
  EXPECT_EQ(set.jobs.count("production/backup"), 0u);
  EXPECT_EQ(set.jobs.count("staging/backup"), 1u);
  EXPECT_EQ(set.held_identities, std::set<std::string>{"production/backup"});
  EXPECT_EQ(set.failed_files.size(), 2u);
}

TEST_F(ManifestParserTest, DuplicateOfAFailedFileIsStillAConflict) {
  write("ops/a.yaml", manifest("x", "  paused: nope\n"));
  write("ops/b.yaml", manifest("x"));
  ManifestSet set = parse();
  EXPECT_TRUE(set.jobs.empty());
  EXPECT_EQ(set.held_identities, std::set<std::string>{"ops/x"});
  EXPECT_NE(errorFor(set, "ops/b.yaml"), nullptr);
}

TEST_F(ManifestParserTest, RootFileAndDefaultDirectoryShareTheNamespace) {
  write("x.yaml", manifest("x"));
  write("default/x.yaml", manifest("x"));
  ManifestSet set = parse();
  EXPECT_EQ(set.errors.size(), 2u);
  EXPECT_TRUE(set.jobs.empty());
}

// Large trees are parsed on several threads; the outcome must not depend on that.
TEST_F(ManifestParserTest, LargeTreeGivesTheSameResultAsFileByFile) {
  constexpr int kFiles = 900;
  for (int i = 0; i < kFiles; ++i) {
    std::string ns = "ns-" + std::to_string(i % 3);
    std::string name = "job-" + std::to_string(i);
    if (i == 850)
      name = "job-10";  // same namespace as job-10 (850 % 3 == 10 % 3): a conflict
    std::string text = i % 7 == 0 ? manifest(name, "  paused: maybe\n") : manifest(name);
    write(ns + "/dir-" + std::to_string(i % 11) + "/" + std::to_string(i) + ".yaml", text);
  }
  ManifestSet set = parse();
  std::size_t bad = (kFiles + 6) / 7;
  EXPECT_EQ(set.files_read, static_cast<std::size_t>(kFiles));
  EXPECT_EQ(set.errors.size(), bad + 2) << dump(set);
  EXPECT_EQ(set.jobs.size(), kFiles - bad - 2);
  EXPECT_EQ(set.held_identities.count("ns-1/job-10"), 1u);
  EXPECT_TRUE(std::is_sorted(
      set.errors.begin(), set.errors.end(),
      [](const ManifestDiagnostic& a, const ManifestDiagnostic& b) { return a.file < b.file; }));
  // As a Git work tree, single files get the namespace the tree walk gives them.
  write(".git/HEAD", "ref: refs/heads/main\n");
  std::size_t per_file_errors = 0;
  for (const auto& [identity, job] : set.jobs) {
    ManifestSet one = ManifestParser().parseFile(root_ / job.source_file);
    per_file_errors += one.errors.size();
    EXPECT_EQ(one.jobs.count(identity), 1u) << identity;
  }
  EXPECT_EQ(per_file_errors, 0u);
}

TEST_F(ManifestParserTest, SelectorMatchesHostnameNameAndLabels) {
  write("a/any.yaml", manifest("any"));
  write("a/host.yaml", manifest("host", "  agent: {selector: {hostname: DB-01}}\n"));
  write("a/name.yaml", manifest("name", "  agent: {selector: {name: agent-7}}\n"));
  write("a/label.yaml", manifest("label", "  agent: {selector: {role: database, zone: eu}}\n"));
  write("a/other.yaml", manifest("other", "  agent: {selector: {hostname: web-01}}\n"));
  write("a/partial.yaml", manifest("partial", "  agent: {selector: {role: database, zone: us}}\n"));
  write("a/missing.yaml", manifest("missing", "  agent: {selector: {rack: r1}}\n"));

  ManifestParseOptions options;
  options.agent = AgentIdentity{"db-01", "agent-7", {{"role", "database"}, {"zone", "eu"}}};
  ManifestSet set = parse(options);
  ASSERT_TRUE(set.errors.empty()) << dump(set);
  EXPECT_EQ(set.jobs.size(), 4u);
  for (const char* id : {"a/any", "a/host", "a/name", "a/label"}) {
    EXPECT_EQ(set.jobs.count(id), 1u) << id;
  }
  EXPECT_EQ(set.unselected, (std::set<std::string>{"a/other", "a/partial", "a/missing"}));

  // Without an agent identity (validate), everything matches.
  ManifestSet all = parse();
  EXPECT_EQ(all.jobs.size(), 7u);
  EXPECT_TRUE(all.unselected.empty());
}

TEST_F(ManifestParserTest, ExpandsSecretFromInjectedEnvironment) {
  write("a.yaml", manifest("a", "  checkin: {secret: \"pre-${TOKEN}-${_B2}-$HOME-$${X\"}\n"));
  ManifestParseOptions options;
  options.env = [](const std::string& name) -> std::optional<std::string> {
    if (name == "TOKEN")
      return "t0k";
    if (name == "_B2")
      return "";
    return std::nullopt;
  };
  ManifestSet set = parse(options);
  // "$${X" holds an unterminated "${": refused rather than guessed at.
  ASSERT_EQ(set.errors.size(), 1u) << dump(set);

  write("a.yaml", manifest("a", "  checkin: {secret: \"pre-${TOKEN}-${_B2}-$HOME-$\"}\n"));
  set = parse(options);
  ASSERT_TRUE(set.errors.empty()) << dump(set);
  EXPECT_EQ(set.jobs.at("default/a").checkin.secret, "pre-t0k--$HOME-$");
}

TEST_F(ManifestParserTest, MissingSecretVariableIsAnErrorForTheAgentAndAWarningForValidate) {
  write("a.yaml", manifest("a", "  checkin:\n    secret: ${NOPE}\n"));
  write("b.yaml", manifest("b"));
  ManifestParseOptions options;
  options.env = [](const std::string&) { return std::optional<std::string>(); };
  ManifestSet agent = parse(options);
  ASSERT_EQ(agent.errors.size(), 1u);
  EXPECT_EQ(agent.errors[0].field, "spec.checkin.secret");
  EXPECT_EQ(agent.errors[0].line, 10);
  EXPECT_NE(agent.errors[0].message.find("NOPE"), std::string::npos);
  EXPECT_EQ(agent.jobs.size(), 1u);
  EXPECT_EQ(agent.failed_file_identity.at("a.yaml"), "default/a");

  options.missing_env_is_error = false;
  ManifestSet ci = parse(options);
  EXPECT_TRUE(ci.errors.empty());
  ASSERT_EQ(ci.warnings.size(), 1u);
  EXPECT_EQ(ci.warnings[0].field, "spec.checkin.secret");
  EXPECT_EQ(ci.jobs.size(), 2u);
}

TEST_F(ManifestParserTest, SkipsDotDirectoriesDotFilesAndOtherExtensions) {
  write(".git/config.yaml", "not: [valid");
  write(".github/workflows/ci.yml", "on: push\n");
  write(".gitlab-ci.yml", "stages: []\n");
  write("production/.hidden/x.yaml", "garbage: [");
  write("README.md", "# jobs\n");
  write("production/.gitkeep", "");
  write("production/notes.txt", "x");
  write("production/job.YAML", "ignored: upper-case extension");
  write("production/job.yml", manifest("job"));
  ManifestSet set = parse();
  EXPECT_TRUE(set.errors.empty()) << dump(set);
  EXPECT_EQ(set.jobs.size(), 1u);
  EXPECT_EQ(set.files_read, 1u);
}

TEST_F(ManifestParserTest, SymlinkOutsideTheRepositoryIsAnErrorNamingTheFile) {
  write("production/ok.yaml", manifest("ok"));
  fs::create_symlink("/etc/passwd", root_ / "production" / "passwd.yaml");
  ManifestSet set = parse();
  const ManifestDiagnostic* e = errorFor(set, "production/passwd.yaml");
  ASSERT_NE(e, nullptr) << dump(set);
  EXPECT_NE(e->message.find("outside"), std::string::npos);
  EXPECT_EQ(set.jobs.size(), 1u);
  EXPECT_EQ(set.failed_files.count("production/passwd.yaml"), 1u);
  EXPECT_TRUE(set.tree_complete);
}

TEST_F(ManifestParserTest, SymlinkEscapingThroughDotDotIsRefused) {
  fs::path outside = root_.string() + "-outside.yaml";
  {
    std::ofstream out(outside);
    out << manifest("sneaky");
  }
  fs::create_directories(root_ / "ops");
  fs::create_symlink("../../" + outside.filename().string(), root_ / "ops" / "sneaky.yaml");
  ManifestSet set = parse();
  fs::remove(outside);
  ASSERT_NE(errorFor(set, "ops/sneaky.yaml"), nullptr) << dump(set);
  EXPECT_TRUE(set.jobs.empty());
}

TEST_F(ManifestParserTest, SymlinkInsideTheRepositoryIsFollowed) {
  write("shared/job.yaml.src", manifest("linked"));
  fs::create_directories(root_ / "ops");
  fs::create_symlink("../shared/job.yaml.src", root_ / "ops" / "linked.yaml");
  fs::create_symlink("nowhere.yaml", root_ / "ops" / "dangling.yaml");
  ManifestSet set = parse();
  EXPECT_EQ(set.jobs.count("ops/linked"), 1u) << dump(set);
  EXPECT_EQ(set.jobs.at("ops/linked").source_file, "ops/linked.yaml");
  ASSERT_NE(errorFor(set, "ops/dangling.yaml"), nullptr);
  EXPECT_EQ(set.errors.size(), 1u);
}

TEST_F(ManifestParserTest, SymlinkedDirectoryIsNotFollowed) {
  write("real/a.yaml", manifest("a"));
  fs::create_directory_symlink("real", root_ / "alias");
  fs::create_directory_symlink("/etc", root_ / "etc");
  ManifestSet set = parse();
  EXPECT_TRUE(set.errors.empty()) << dump(set);
  EXPECT_EQ(set.jobs.size(), 1u);
  EXPECT_EQ(set.warnings.size(), 2u);
}

TEST_F(ManifestParserTest, FifoNamedYamlIsAnErrorNotAHang) {
  write("ops/a.yaml", manifest("a"));
  ASSERT_EQ(mkfifo((root_ / "ops" / "pipe.yaml").c_str(), 0600), 0);
  ManifestSet set = parse();
  ASSERT_NE(errorFor(set, "ops/pipe.yaml"), nullptr);
  EXPECT_EQ(set.jobs.size(), 1u);
}

TEST_F(ManifestParserTest, MissingRootMakesTheTreeIncomplete) {
  ManifestSet set = ManifestParser().parseTree(root_ / "does-not-exist");
  EXPECT_FALSE(set.tree_complete);
  ASSERT_EQ(set.errors.size(), 1u);
}

TEST_F(ManifestParserTest, UnlistableDirectoryMakesTheTreeIncomplete) {
  write("ops/a.yaml", manifest("a"));
  write("locked/b.yaml", manifest("b"));
  // Root lists any directory, so as root the parse runs in a child that drops to `nobody` (the
  // agent of a fleet does not run as root); the child reports its findings in its exit code.
  const bool as_root = geteuid() == 0;
  if (as_root) {
    for (const auto& entry : fs::recursive_directory_iterator(root_)) {
      fs::permissions(entry.path(),
                      entry.is_directory()
                          ? fs::perms::all
                          : fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
    }
    chmod(root_.c_str(), 0755);  // mkdtemp made it 0700: let the unprivileged child in
  }
  fs::permissions(root_ / "locked", fs::perms::none);
  auto check = [&]() {
    ManifestSet set = parse();
    return (set.tree_complete ? 0 : 1) | (errorFor(set, "locked") != nullptr ? 2 : 0) |
           (set.jobs.size() == 1u ? 4 : 0);
  };
  int found = 0;
  if (as_root) {
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      if (setgid(65534) != 0 || setuid(65534) != 0)
        _exit(100);
      _exit(check());
    }
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    ASSERT_NE(WEXITSTATUS(status), 100) << "could not drop to nobody";
    found = WEXITSTATUS(status);
  } else {
    found = check();
  }
  fs::permissions(root_ / "locked", fs::perms::owner_all);
  EXPECT_TRUE(found & 1) << "tree_complete must be false";
  EXPECT_TRUE(found & 2) << "an error must name the locked directory";
  EXPECT_TRUE(found & 4) << "the readable job must still be parsed";
}

TEST_F(ManifestParserTest, SingleFileTakesNamespaceFromParentDirectory) {
  write("loose/staging/x.yaml", manifest("x"));
  ManifestSet set = ManifestParser().parseFile(root_ / "loose" / "staging" / "x.yaml");
  ASSERT_TRUE(set.errors.empty()) << dump(set);
  EXPECT_EQ(set.jobs.count("staging/x"), 1u);

  // Inside a Git work tree the namespace is the first directory below its root.
  write("repo/.git/HEAD", "ref: refs/heads/main\n");
  write("repo/production/backups/y.yaml", manifest("y"));
  set = ManifestParser().parseFile(root_ / "repo" / "production" / "backups" / "y.yaml");
  ASSERT_TRUE(set.errors.empty()) << dump(set);
  EXPECT_EQ(set.jobs.count("production/y"), 1u);
  EXPECT_EQ(set.jobs.at("production/y").source_file, "production/backups/y.yaml");
}

TEST_F(ManifestParserTest, BufferEntryPointUsesTheRelativePath) {
  ManifestSet set = ManifestParser().parseBuffer(manifest("m"), "team/m.yaml");
  ASSERT_TRUE(set.errors.empty()) << dump(set);
  EXPECT_EQ(set.jobs.count("team/m"), 1u);
  EXPECT_TRUE(isValidJobName("a-1"));
  EXPECT_FALSE(isValidJobName("-a"));
  EXPECT_FALSE(isValidJobName(""));
}

}  // namespace
}  // namespace crontopus::core::test
