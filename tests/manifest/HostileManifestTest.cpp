// The hostile-manifest corpus (tests/manifest/hostile: corpus/ and expected.tsv, written by
// generate.py) in one repository with a few valid manifests, plus what the test makes itself (files
// over 1 MiB, symlinks to /etc/passwd and out of the repository). For every file:
// - `validate` reports exactly the expected error, naming the file and the field, on one line;
// - `apply` through the cron backend (a crontab behind a crontab_command shim that already holds
//   foreign lines) and through the systemd-timer backend (an offline root) installs exactly the
//   accepted jobs: every crontab line is a foreign line kept as it was, a marker or a run-wrapper
//   entry for an accepted identity; every unit line is a section, a comment or one of the keys the
//   backend writes, with ExecStart the run wrapper for the unit's own identity;
// - the agent's output names every refused file.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <gtest/gtest.h>

#include "TestSupport.h"

namespace crontopus::tests {
namespace {

namespace fs = std::filesystem;

struct Case {
  std::string path;
  std::string outcome;  // error | ok | unselected
  std::string field;    // error: the field; ok/unselected: the identity
  std::string message;  // error: a part of the message
};

std::vector<Case> loadCases() {
  std::ifstream in(std::string(HOSTILE_DIR) + "/expected.tsv", std::ios::binary);
  std::vector<Case> cases;
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#')
      continue;
    std::vector<std::string> parts;
    std::size_t start = 0;
    for (std::size_t tab; (tab = line.find('\t', start)) != std::string::npos; start = tab + 1)
      parts.push_back(line.substr(start, tab - start));
    parts.push_back(line.substr(start));
    parts.resize(4);
    cases.push_back({parts[0], parts[1], parts[2], parts[3]});
  }
  return cases;
}

bool hasControl(const std::string& s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f)
      return true;
  }
  return false;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    out.push_back(line);
  return out;
}

std::string validManifest(const std::string& name, const std::string& extra = "") {
  return "apiVersion: v1\nkind: Job\nmetadata:\n  name: " + name +
         "\n  tenant: acme\nspec:\n  schedule: \"0 2 * * *\"\n  command: /bin/true\n" + extra;
}

class HostileManifests : public ::testing::Test {
 protected:
  void SetUp() override {
    cases_ = loadCases();
    ASSERT_GE(cases_.size(), 100u);
    repo_ = dir_ / "repo";
    fs::copy(std::string(HOSTILE_DIR) + "/corpus", repo_, fs::copy_options::recursive);
    // What git should not carry: over 1 MiB, and symlinks out of the repository.
    const std::string generated = repo_ + "/generated";
    fs::create_directories(generated);
    writeFile(generated + "/huge-comment.yaml",
              validManifest("huge-comment") + "# " + std::string(1100 * 1024, 'x') + "\n");
    std::string huge_command = validManifest("huge-command");
    huge_command.replace(huge_command.find("/bin/true"), 9, std::string(1100 * 1024, 'y'));
    writeFile(generated + "/huge-command.yaml", huge_command);
    writeFile(dir_ / "outside.yaml", validManifest("outside"));
    ASSERT_EQ(symlink("/etc/passwd", (generated + "/passwd-link.yaml").c_str()), 0);
    ASSERT_EQ(symlink((dir_ / "outside.yaml").c_str(), (generated + "/outside-link.yaml").c_str()),
              0);
    ASSERT_EQ(symlink("../../outside.yaml", (generated + "/dotdot-link.yaml").c_str()), 0);
    git({"init", "-q", "-b", "main"});
    git({"add", "-A"});
    git({"commit", "-q", "-m", "hostile"});
    for (const auto& c : cases_) {
      if (c.outcome == "ok")
        accepted_.insert(c.field);
    }
  }

  void git(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {
        "git", "-C", repo_, "-c", "user.name=t", "-c", "user.email=t@example.invalid"};
    argv.insert(argv.end(), args.begin(), args.end());
    const auto r = runProcess(argv);
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  std::string config(const std::string& name, const std::string& scheduler) {
    const std::string state = dir_ / (name + "-state");
    fs::create_directories(state);
    ::chmod(state.c_str(), 0700);
    const std::string path = dir_ / (name + ".yaml");
    writeFile(path, "agent:\n  state_dir: " + state +
                        "\n  labels: {role: web}\ngit:\n  url: file://" + repo_ +
                        "\n  branch: main\n  local_path: " + state +
                        "/job-manifests\nscheduler:\n" + scheduler);
    return path;
  }

  // The agent's output names every refused file.
  void expectRefusedFilesNamed(const ProcessResult& r) {
    const std::string output = r.out + r.err;
    for (const auto& c : cases_) {
      if (c.outcome == "error") {
        EXPECT_NE(output.find(c.path), std::string::npos) << c.path << " not named in:\n" << output;
      }
    }
  }

  TempDir dir_;
  std::string repo_;
  std::vector<Case> cases_;
  std::set<std::string> accepted_;  // identities that must be installed
};

TEST_F(HostileManifests, ValidateGivesEachFileItsErrorOnOneLine) {
  const auto r = runProcess({AGENT_BIN, "validate", repo_, "--format", "json"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  Poco::JSON::Parser parser;
  auto root = parser.parse(r.out).extract<Poco::JSON::Object::Ptr>();
  std::multimap<std::string, std::pair<std::string, std::string>> errors;  // file -> field, msg
  for (const auto& e : *root->getArray("errors")) {
    const auto o = e.extract<Poco::JSON::Object::Ptr>();
    const std::string field = o->getValue<std::string>("field");
    const std::string message = o->getValue<std::string>("message");
    EXPECT_FALSE(hasControl(field) || hasControl(message)) << field << ": " << message;
    errors.emplace(o->getValue<std::string>("file"), std::make_pair(field, message));
  }
  std::size_t jobs = 0;
  std::set<std::string> known;
  for (const auto& c : cases_) {
    known.insert(c.path);
    const auto [begin, end] = errors.equal_range(c.path);
    if (c.outcome != "error") {
      ++jobs;
      EXPECT_EQ(begin, end) << c.path << ": unexpected error " << begin->second.first << ": "
                            << begin->second.second;
      continue;
    }
    bool found = false;
    std::string seen;
    for (auto it = begin; it != end; ++it) {
      found = found || (it->second.first == c.field &&
                        it->second.second.find(c.message) != std::string::npos);
      seen += "\n  " + it->second.first + ": " + it->second.second;
    }
    EXPECT_TRUE(found) << c.path << ": expected " << c.field << ": ..." << c.message
                       << "..., got:" << (seen.empty() ? " no error" : seen);
  }
  for (const auto& [file, error] : errors)
    EXPECT_TRUE(known.count(file)) << "error for a file not in expected.tsv: " << file;
  EXPECT_EQ(root->getValue<std::size_t>("jobs"), jobs);

  // The text form: one line per error, each naming its file.
  const auto text = runProcess({AGENT_BIN, "validate", repo_});
  for (const auto& line : lines(text.out)) {
    if (line.find(" jobs, ") != std::string::npos)
      continue;
    EXPECT_TRUE(known.count(line.substr(0, line.find(':')))) << "stray line: " << line;
  }
}

TEST_F(HostileManifests, CronGetsOnlyAcceptedEntriesAndKeepsForeignLines) {
  const std::string shim_dir = dir_ / "cron";
  fs::create_directories(shim_dir);
  const std::string shim = shim_dir + "/crontab-shim";
  writeFile(shim,
            "#!/bin/sh\nd='" + shim_dir +
                "'\ncase \"$1\" in\n"
                "  -l) if [ -f \"$d/crontab\" ]; then cat \"$d/crontab\"; else echo 'no crontab "
                "for t' >&2; exit 1; fi ;;\n"
                "  -) cat > \"$d/crontab.new\" && mv \"$d/crontab.new\" \"$d/crontab\" ;;\n"
                "  *) exit 2 ;;\nesac\n",
            0755);
  const std::vector<std::string> foreign = {
      "# the operator's own lines", "MAILTO=ops@example.com",
      "0 5 * * * /usr/local/bin/rotate # CRONTOPUS:not-a-marker", "",
      "# CRONTOPUS is mentioned here but this is no marker"};
  std::string before;
  for (const auto& l : foreign)
    before += l + "\n";
  writeFile(shim_dir + "/crontab", before);
  const std::string cfg =
      config("cron", "  backend: cron\n  options:\n    crontab_command: " + shim + "\n");
  const std::string state = dir_ / "cron-state";

  const auto apply = runProcess({AGENT_BIN, "--config", cfg, "apply"});
  EXPECT_EQ(apply.exit_code, 1) << apply.out << apply.err;  // jobs in error
  expectRefusedFilesNamed(apply);

  const auto crontab = lines(readFile(shim_dir + "/crontab"));
  ASSERT_GE(crontab.size(), foreign.size());
  for (std::size_t i = 0; i < foreign.size(); ++i)
    EXPECT_EQ(crontab[i], foreign[i]) << "foreign line " << i;
  const std::regex marker(R"(# CRONTOPUS:([a-z0-9-]+/[a-z0-9-]+)( id=[A-Za-z0-9._~:+@%-]+)?)");
  const std::regex entry(
      R"((#?)(@[a-z]+|[0-9*/,A-Za-z-]+( [0-9*/,A-Za-z-]+){4}) '([^'%\\]+)' run --state-dir '([^'%\\]+)' '([a-z0-9-]+/[a-z0-9-]+)')");
  std::set<std::string> installed;
  for (std::size_t i = foreign.size(); i < crontab.size(); i += 2) {
    std::smatch m, e;
    ASSERT_TRUE(std::regex_match(crontab[i], m, marker)) << "not a marker: " << crontab[i];
    ASSERT_LT(i + 1, crontab.size()) << "marker without entry: " << crontab[i];
    ASSERT_TRUE(std::regex_match(crontab[i + 1], e, entry)) << "not an entry: " << crontab[i + 1];
    EXPECT_EQ(e[6].str(), m[1].str()) << crontab[i + 1];
    EXPECT_EQ(e[5].str(), state);
    EXPECT_EQ(e[1].str() == "#", m[1].str() == "valid/paused") << crontab[i + 1];
    EXPECT_TRUE(installed.insert(m[1].str()).second) << "twice: " << m[1].str();
  }
  EXPECT_EQ(installed, accepted_);
  // Least privilege: every run spec (what the entry will execute) is 0600 and the agent's own.
  for (const auto& identity : installed) {
    const std::string spec = state + "/jobs/" + identity + ".json";
    struct stat st {};
    ASSERT_EQ(::stat(spec.c_str(), &st), 0) << spec;
    EXPECT_EQ(st.st_mode & 07777, 0600u) << spec;
    EXPECT_EQ(st.st_uid, geteuid()) << spec;
  }

  // A second cycle changes nothing.
  const auto plan = runProcess({AGENT_BIN, "--config", cfg, "plan", "--exit-code"});
  EXPECT_EQ(plan.exit_code, 0) << plan.out << plan.err;
}

TEST_F(HostileManifests, SystemdGetsOnlyAcceptedUnitsWithoutInjectedKeys) {
  const std::string root = dir_ / "root";
  const std::string units = root + "/etc/systemd/system";
  fs::create_directories(units);
  const std::string cfg = config("systemd",
                                 "  backend: systemd-timer\n  options:\n"
                                 "    scope: system\n    root: " +
                                     root + "\n");
  const std::string state = dir_ / "systemd-state";
  const auto apply = runProcess({AGENT_BIN, "--config", cfg, "apply"});
  EXPECT_EQ(apply.exit_code, 1) << apply.out << apply.err;
  expectRefusedFilesNamed(apply);

  const std::set<std::string> keys = {
      "Description", "X-Crontopus-Identity", "Type",       "ExecStart",
      "OnCalendar",  "AccuracySec",          "Persistent", "WantedBy"};
  const std::set<std::string> sections = {"[Unit]", "[Service]", "[Timer]", "[Install]"};
  std::map<std::string, std::set<std::string>> kinds;  // identity -> {service, timer}
  for (const auto& f : fs::directory_iterator(units)) {
    if (!f.is_regular_file())
      continue;
    const std::string file = f.path().filename().string();
    const std::string ext = f.path().extension().string();
    ASSERT_TRUE(ext == ".service" || ext == ".timer") << file;
    std::string identity;
    std::map<std::string, int> seen;
    for (const auto& line : lines(readFile(f.path().string()))) {
      if (line.empty() || line[0] == '#' || sections.count(line))
        continue;
      const auto eq = line.find('=');
      ASSERT_NE(eq, std::string::npos) << file << ": stray line " << line;
      const std::string key = line.substr(0, eq);
      const std::string value = line.substr(eq + 1);
      EXPECT_TRUE(keys.count(key)) << file << ": unexpected key " << line;
      if (key != "OnCalendar") {
        EXPECT_EQ(++seen[key], 1) << file << ": repeated " << line;
      }
      if (key == "X-Crontopus-Identity")
        identity = value;
    }
    ASSERT_TRUE(std::regex_match(identity, std::regex("[a-z0-9-]+/[a-z0-9-]+"))) << file;
    EXPECT_TRUE(kinds[identity].insert(ext).second) << file;
    if (ext == ".service") {
      const std::string text = readFile(f.path().string());
      const std::regex exec("\nExecStart=[^ \n]+ run --state-dir " + state + " " + identity + "\n");
      EXPECT_TRUE(std::regex_search(text, exec)) << file << ":\n" << text;
    }
  }
  std::set<std::string> installed;
  for (const auto& [identity, found] : kinds) {
    EXPECT_EQ(found.size(), 2u) << identity;
    installed.insert(identity);
  }
  EXPECT_EQ(installed, accepted_);
}

}  // namespace
}  // namespace crontopus::tests
