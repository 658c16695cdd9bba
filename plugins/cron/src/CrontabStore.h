#pragma once

#include <cstddef>
#include <string>

#include "crontopus/sdk/Result.h"

namespace crontopus::plugins::cron {

// Where the crontab text lives: a user crontab behind the crontab command, or a cron.d file.
// Tests substitute their own.
class CrontabStore {
 public:
  virtual ~CrontabStore() = default;
  // The whole current text; a missing crontab or file is the empty text.
  virtual sdk::Result read(std::string& text) = 0;
  virtual sdk::Result write(const std::string& text) = 0;
  // The most lines the store accepts (0 = no limit).
  virtual std::size_t lineLimit() const = 0;
  // For messages: "the crontab of user alice", "/etc/cron.d/crontopus".
  virtual std::string describe() const = 0;
  // Subprocesses started so far (the benchmark reports it).
  virtual std::size_t invocations() const { return 0; }
};

// `crontab [-u USER] -l` / `crontab [-u USER] -`.
class CommandCrontabStore : public CrontabStore {
 public:
  // Debian's crontab refuses more (crontab.c: MAX_CRONTAB_LINES).
  static constexpr std::size_t kDebianLineLimit = 10000;

  CommandCrontabStore(std::string command, std::string user);
  sdk::Result read(std::string& text) override;
  sdk::Result write(const std::string& text) override;
  std::size_t lineLimit() const override { return kDebianLineLimit; }
  std::string describe() const override;
  std::size_t invocations() const override { return invocations_; }

 private:
  std::string commandLine(const char* action) const;

  std::string command_;
  std::string user_;
  std::size_t invocations_ = 0;
};

// A cron.d-format file, replaced atomically with mode 0644.
class FileCrontabStore : public CrontabStore {
 public:
  explicit FileCrontabStore(std::string path);
  sdk::Result read(std::string& text) override;
  sdk::Result write(const std::string& text) override;
  std::size_t lineLimit() const override { return 0; }
  std::string describe() const override { return path_; }

 private:
  std::string path_;
};

}  // namespace crontopus::plugins::cron
