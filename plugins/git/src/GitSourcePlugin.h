#pragma once

#include <memory>
#include <vector>

#include "GitSync.h"
#include "LibGit2.h"
#include "crontopus/sdk/SourcePlugin.h"

namespace crontopus::plugins::git {

// The "git" source plugin: a libgit2 mirror of one branch (see GitSync for the layout and the
// guarantees). Default-constructible for the Poco class loader; keeps libgit2 initialised for
// its lifetime.
class GitSourcePlugin : public sdk::SourcePlugin {
 public:
  GitSourcePlugin() = default;
  ~GitSourcePlugin() override = default;

  std::vector<sdk::OptionSpec> optionSpecs() const override;
  sdk::Result configure(const sdk::PluginContext& context) override;
  sdk::Result sync(const sdk::SourceRequest& request, sdk::SyncResult& out) override;

 private:
  LibGit2Session session_;
  sdk::PluginContext context_;
  std::unique_ptr<GitSync> sync_;
};

}  // namespace crontopus::plugins::git
