#pragma once

// A minimal scheduler used to exercise the plugin loader; it never touches the host.
#include "crontopus/sdk/Plugin.h"

namespace crontopus::tests {

class TestScheduler : public sdk::SchedulerPlugin {
 public:
  std::vector<sdk::OptionSpec> optionSpecs() const override {
    return {{"greeting", sdk::OptionType::kString, "hello", "a test option"}};
  }
  sdk::Result configure(const sdk::PluginContext& context) override {
    greeting_ = context.options.at("greeting");
    return sdk::Result::success();
  }
  sdk::Support support() const override { return {true, ""}; }
  sdk::Result listOwned(std::vector<sdk::InstalledEntry>& out) override {
    out.clear();
    return sdk::Result::success();
  }
  sdk::Result render(const sdk::Job& job, sdk::RenderedEntry& out) const override {
    out.text = greeting_ + " " + job.identity();
    return sdk::Result::success();
  }
  sdk::Result apply(const std::vector<sdk::Change>&) override { return sdk::Result::success(); }

 private:
  std::string greeting_;
};

}  // namespace crontopus::tests
