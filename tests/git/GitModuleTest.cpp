#include <Poco/ClassLoader.h>
#include <Poco/SharedLibrary.h>
#include <gtest/gtest.h>

#include <cstring>

#include "GitTestSupport.h"
#include "crontopus/sdk/Plugin.h"

namespace crontopus::plugins::git::test {
namespace {

// The built module, loaded the way the agent does: info function first, then the Poco manifest.
TEST(GitModule, DeclaresItselfAndSyncsThroughTheClassLoader) {
  Poco::SharedLibrary library(CRONTOPUS_GIT_MODULE);
  auto info_fn =
      reinterpret_cast<CrontopusPluginInfoFn>(library.getSymbol(CRONTOPUS_PLUGIN_INFO_SYMBOL));
  ASSERT_NE(info_fn, nullptr);
  const CrontopusPluginInfo* info = info_fn();
  EXPECT_STREQ(info->kind, "source");
  EXPECT_STREQ(info->id, "git");
  EXPECT_EQ(info->abi_major, static_cast<std::uint32_t>(CRONTOPUS_SDK_ABI_MAJOR));
  EXPECT_STREQ(info->class_name, "crontopus::plugins::git::GitSourcePlugin");
  library.unload();

  TempDir dir;
  OriginRepo origin(dir.path());
  std::string head = origin.commit({{"a.yaml", "1\n"}});
  Poco::ClassLoader<sdk::SourcePlugin> loader;
  loader.loadLibrary(CRONTOPUS_GIT_MODULE);
  {
    std::unique_ptr<sdk::SourcePlugin> plugin(
        loader.create("crontopus::plugins::git::GitSourcePlugin"));
    sdk::PluginContext context;
    ASSERT_TRUE(plugin->configure(context));
    sdk::SourceRequest request;
    request.url = origin.bare().string();
    request.local_path = (dir.path() / "mirror").string();
    sdk::SyncResult out;
    auto r = plugin->sync(request, out);
    ASSERT_TRUE(r) << r.message();
    EXPECT_EQ(out.revision, head);
  }
  // The host never unloads while objects live; the objects are gone now.
  loader.unloadLibrary(CRONTOPUS_GIT_MODULE);
}

}  // namespace
}  // namespace crontopus::plugins::git::test
