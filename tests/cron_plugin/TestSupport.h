#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "CronScheduler.h"
#include "CrontabStore.h"
#include "crontopus/sdk/Job.h"
#include "crontopus/sdk/PluginContext.h"

namespace crontopus::plugins::cron::test {

// A fresh directory per test, removed afterwards.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "cronplugin-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      ADD_FAILURE() << "mkdtemp failed";
    }
    path_ = pattern;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline std::string readText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

inline void writeText(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  ASSERT_TRUE(out.good()) << path;
}

inline bool exists(const std::string& path) {
  return std::filesystem::exists(path);
}

// A crontab held in memory; counts reads and writes and can run an edit after a read.
class MemoryStore : public CrontabStore {
 public:
  struct State {
    std::string text;
    int reads = 0;
    int writes = 0;
    std::size_t limit = CommandCrontabStore::kDebianLineLimit;
    std::function<void(std::string&)> after_read;  // runs once, after the next read
  };
  explicit MemoryStore(std::shared_ptr<State> state) : state_(std::move(state)) {}
  sdk::Result read(std::string& text) override {
    ++state_->reads;
    text = state_->text;
    if (state_->after_read) {
      auto edit = std::move(state_->after_read);
      state_->after_read = nullptr;
      edit(state_->text);
    }
    return sdk::Result::success();
  }
  sdk::Result write(const std::string& text) override {
    ++state_->writes;
    state_->text = text;
    return sdk::Result::success();
  }
  std::size_t lineLimit() const override { return state_->limit; }
  std::string describe() const override { return "the in-memory crontab"; }

 private:
  std::shared_ptr<State> state_;
};

inline sdk::PluginContext makeContext(sdk::OptionValues options = {}) {
  sdk::PluginContext context;
  context.options = std::move(options);
  context.agent_path = "/usr/bin/crontopus-agent";
  context.agent_state_dir = "/var/lib/crontopus";
  return context;
}

inline sdk::Job makeJob(const std::string& ns, const std::string& name,
                        const std::string& schedule = "*/5 * * * *") {
  sdk::Job job;
  job.ns = ns;
  job.name = name;
  job.tenant = "acme";
  job.schedule = schedule;
  job.command = "echo secret-command";
  job.env["TOKEN"] = "secret-env";
  job.checkin.secret = "secret-checkin";
  return job;
}

// What a reconciler does: compares the installed set with the rendered desired set.
inline std::vector<sdk::Change> planChanges(CronScheduler& plugin,
                                            const std::map<std::string, sdk::Job>& desired) {
  std::vector<sdk::InstalledEntry> installed;
  sdk::Result listed = plugin.listOwned(installed);
  EXPECT_TRUE(listed.ok()) << listed.message();
  std::map<std::string, sdk::InstalledEntry> by_identity;
  for (auto& entry : installed) {
    by_identity[entry.identity] = entry;
  }
  std::vector<sdk::Change> changes;
  for (const auto& [identity, job] : desired) {
    sdk::RenderedEntry rendered;
    sdk::Result ok = plugin.render(job, rendered);
    EXPECT_TRUE(ok.ok()) << ok.message();
    auto it = by_identity.find(identity);
    if (it == by_identity.end()) {
      changes.push_back({sdk::ChangeKind::kAdd, identity, rendered.text, job.paused, "new"});
    } else if (it->second.text != rendered.text) {
      changes.push_back({sdk::ChangeKind::kDrift, identity, rendered.text, job.paused, "differs"});
    }
  }
  for (const auto& [identity, entry] : by_identity) {
    if (desired.count(identity) == 0) {
      changes.push_back({sdk::ChangeKind::kRemove, identity, "", false, "gone"});
    }
  }
  return changes;
}

// A stand-in for the crontab command: keeps the crontab in DIR/crontab, logs each call's
// arguments to DIR/calls, fails `-l` when DIR/fail-read exists, and runs DIR/after-read.sh once
// after a successful `-l` (to simulate `crontab -e` between two reads).
inline std::string writeShim(const TempDir& dir) {
  const std::string path = dir.file("crontab-shim");
  writeText(
      path,
      "#!/bin/sh\n"
      "d='" +
          dir.path() +
          "'\n"
          "printf '%s\\n' \"$*\" >> \"$d/calls\"\n"
          "if [ \"$1\" = -u ]; then shift 2; fi\n"
          "case \"$1\" in\n"
          "  -l)\n"
          "    if [ -f \"$d/fail-read\" ]; then echo 'crontab: cannot open spool' >&2; exit 1; fi\n"
          "    if [ -f \"$d/crontab\" ]; then cat \"$d/crontab\"; else echo 'no crontab for "
          "tester' >&2; exit 1; fi\n"
          "    if [ -f \"$d/after-read.sh\" ]; then sh \"$d/after-read.sh\"; rm -f "
          "\"$d/after-read.sh\"; fi\n"
          "    ;;\n"
          "  -) cat > \"$d/crontab.new\" && mv \"$d/crontab.new\" \"$d/crontab\" ;;\n"
          "  *) echo \"shim: unexpected arguments: $*\" >&2; exit 2 ;;\n"
          "esac\n");
  EXPECT_EQ(::chmod(path.c_str(), 0755), 0);
  return path;
}

inline std::vector<std::string> shimCalls(const TempDir& dir) {
  std::vector<std::string> calls;
  std::istringstream in(readText(dir.file("calls")));
  for (std::string line; std::getline(in, line);) {
    calls.push_back(line);
  }
  return calls;
}

inline int shimWrites(const TempDir& dir) {
  int writes = 0;
  for (const std::string& call : shimCalls(dir)) {
    if (call == "-" || (call.size() > 2 && call.compare(call.size() - 2, 2, " -") == 0)) {
      ++writes;
    }
  }
  return writes;
}

}  // namespace crontopus::plugins::cron::test
