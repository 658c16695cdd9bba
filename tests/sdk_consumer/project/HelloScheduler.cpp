#include <crontopus/sdk/CronExpression.h>
#include <crontopus/sdk/Plugin.h>

namespace hello {

// Renders "<canonical schedule> hello <identity>"; proves the SDK's cron engine links too.
class HelloScheduler : public crontopus::sdk::SchedulerPlugin {
 public:
  std::vector<crontopus::sdk::OptionSpec> optionSpecs() const override { return {}; }
  crontopus::sdk::Result configure(const crontopus::sdk::PluginContext&) override {
    return crontopus::sdk::Result::success();
  }
  crontopus::sdk::Support support() const override { return {true, ""}; }
  crontopus::sdk::Result listOwned(std::vector<crontopus::sdk::InstalledEntry>& out) override {
    out.clear();
    return crontopus::sdk::Result::success();
  }
  crontopus::sdk::Result render(const crontopus::sdk::Job& job,
                                crontopus::sdk::RenderedEntry& out) const override {
    crontopus::sdk::CronExpression expr;
    crontopus::sdk::CronError error;
    if (!crontopus::sdk::CronExpression::parse(job.schedule, expr, error)) {
      return crontopus::sdk::Result::failure(crontopus::sdk::ErrorCode::kConfig, error.message);
    }
    out.text = expr.canonical() + " hello " + job.identity();
    return crontopus::sdk::Result::success();
  }
  crontopus::sdk::Result apply(const std::vector<crontopus::sdk::Change>&) override {
    return crontopus::sdk::Result::success();
  }
};

}  // namespace hello

CRONTOPUS_DECLARE_SCHEDULER_PLUGIN(hello::HelloScheduler, "hello", "1.2.3",
                                   "out-of-tree example plugin")
