#include "GitSourcePlugin.h"

namespace crontopus::plugins::git {

std::vector<sdk::OptionSpec> GitSourcePlugin::optionSpecs() const {
  // Everything this plugin needs arrives in sdk::SourceRequest (the agent's `git:` section).
  return {};
}

sdk::Result GitSourcePlugin::configure(const sdk::PluginContext& context) {
  try {
    if (!session_.error().empty()) {
      return sdk::Result::failure(sdk::ErrorCode::kInternal, "git: " + session_.error());
    }
    context_ = context;
    sync_ = std::make_unique<GitSync>(context_.logger, context_.stop_requested);
    return sdk::Result::success();
  } catch (const std::exception& e) {
    return sdk::Result::failure(sdk::ErrorCode::kInternal,
                                std::string("git: configure failed: ") + e.what());
  }
}

sdk::Result GitSourcePlugin::sync(const sdk::SourceRequest& request, sdk::SyncResult& out) {
  if (!sync_) {
    return sdk::Result::failure(sdk::ErrorCode::kInternal, "git: sync called before configure");
  }
  if (!session_.error().empty()) {
    return sdk::Result::failure(sdk::ErrorCode::kInternal, "git: " + session_.error());
  }
  return sync_->sync(request, out);  // GitSync::sync catches everything itself
}

}  // namespace crontopus::plugins::git
