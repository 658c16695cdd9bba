#include <gtest/gtest.h>

#include <Poco/ClassLoader.h>
#include <Poco/SharedLibrary.h>

#include <cstring>
#include <memory>

#include "crontopus/sdk/Plugin.h"

namespace {

// The built module, loaded the way the agent loads plugins: the C info first, then the class
// through Poco's ClassLoader.
TEST(CronPluginModule, ExportsInfoAndTheSchedulerClass) {
  {
    Poco::SharedLibrary library(CRON_PLUGIN_PATH);
    ASSERT_TRUE(library.hasSymbol(CRONTOPUS_PLUGIN_INFO_SYMBOL));
    auto info_fn =
        reinterpret_cast<CrontopusPluginInfoFn>(library.getSymbol(CRONTOPUS_PLUGIN_INFO_SYMBOL));
    const CrontopusPluginInfo* info = info_fn();
    EXPECT_EQ(info->struct_size, sizeof(CrontopusPluginInfo));
    EXPECT_EQ(info->abi_major, static_cast<std::uint32_t>(CRONTOPUS_SDK_ABI_MAJOR));
    EXPECT_STREQ(info->kind, "scheduler");
    EXPECT_STREQ(info->id, "cron");
    EXPECT_STREQ(info->class_name, "crontopus::plugins::cron::CronScheduler");
    library.unload();
  }
  Poco::ClassLoader<crontopus::sdk::SchedulerPlugin> loader;
  loader.loadLibrary(CRON_PLUGIN_PATH);
  {
    std::unique_ptr<crontopus::sdk::SchedulerPlugin> plugin(
        loader.create("crontopus::plugins::cron::CronScheduler"));
    ASSERT_NE(plugin, nullptr);
    EXPECT_EQ(plugin->optionSpecs().size(), 3u);
    crontopus::sdk::PluginContext context;
    context.agent_path = "/usr/bin/crontopus-agent";
    context.agent_state_dir = "/var/lib/crontopus";
    ASSERT_TRUE(plugin->configure(context).ok());
    crontopus::sdk::Job job;
    job.ns = "ns";
    job.name = "job";
    job.schedule = "@hourly";
    crontopus::sdk::RenderedEntry rendered;
    ASSERT_TRUE(plugin->render(job, rendered).ok()) << "render through the module";
    EXPECT_EQ(rendered.text.substr(0, 19), "# CRONTOPUS:ns/job\n");
  }
  loader.unloadLibrary(CRON_PLUGIN_PATH);
}

}  // namespace
