#pragma once

#include <Poco/AutoPtr.h>
#include <Poco/Channel.h>
#include <Poco/Logger.h>
#include <Poco/Message.h>
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include "GitSourcePlugin.h"
#include "GitTestSupport.h"

namespace crontopus::plugins::git::test {

// Records everything the plugin logs, to check that no secret ever reaches a log.
class CaptureChannel : public Poco::Channel {
 public:
  void log(const Poco::Message& message) override {
    std::lock_guard lock(mutex_);
    text_ += message.getText() + "\n";
  }
  std::string text() {
    std::lock_guard lock(mutex_);
    return text_;
  }

 private:
  std::mutex mutex_;
  std::string text_;
};

// A fresh temp dir, an origin repository in it, and a configured plugin per test.
class GitSyncFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    origin_ = std::make_unique<OriginRepo>(dir_.path());
    channel_ = new CaptureChannel;
    std::string name = std::string("crontopus.plugin.git.test.") +
                       ::testing::UnitTest::GetInstance()->current_test_info()->name();
    logger_ = &Poco::Logger::get(name);
    logger_->setChannel(channel_);
    logger_->setLevel(Poco::Message::PRIO_TRACE);
    plugin_ = newPlugin();
    request_.url = origin_->bare().string();
    request_.local_path = (dir_.path() / "mirror").string();
    request_.timeout_seconds = 20;
  }

  std::unique_ptr<GitSourcePlugin> newPlugin() {
    auto plugin = std::make_unique<GitSourcePlugin>();
    sdk::PluginContext context;
    context.logger = logger_;
    context.plugin_state_dir = (dir_.path() / "state").string();
    context.stop_requested = &stop_;
    EXPECT_TRUE(plugin->configure(context));
    return plugin;
  }

  sdk::Result sync(sdk::SyncResult& out) { return plugin_->sync(request_, out); }

  TempDir dir_;
  std::unique_ptr<OriginRepo> origin_;
  Poco::AutoPtr<CaptureChannel> channel_;
  Poco::Logger* logger_ = nullptr;
  std::atomic<bool> stop_{false};
  std::unique_ptr<GitSourcePlugin> plugin_;
  sdk::SourceRequest request_;
};

}  // namespace crontopus::plugins::git::test
