#pragma once

#include <cstdint>

#include <Poco/ClassLibrary.h>
#include <Poco/Version.h>

#include "crontopus/sdk/Export.h"
#include "crontopus/sdk/SchedulerPlugin.h"
#include "crontopus/sdk/SourcePlugin.h"
#include "crontopus/sdk/Version.h"

// What a plugin library tells the host before any of its C++ code runs. Plain C layout so that
// the host can read it from any library, even one built against another SDK.
extern "C" {

#define CRONTOPUS_PLUGIN_INFO_SYMBOL "crontopus_plugin_info"

struct CrontopusPluginInfo {
  std::uint32_t struct_size;   // sizeof(CrontopusPluginInfo) as the plugin saw it
  std::uint32_t abi_major;     // CRONTOPUS_SDK_ABI_MAJOR the plugin was built against
  std::uint32_t abi_minor;     // CRONTOPUS_SDK_ABI_MINOR the plugin was built against
  std::uint32_t poco_version;  // POCO_VERSION the plugin was built against
  const char* kind;            // "scheduler" or "source"
  const char* id;              // unique plugin id, e.g. "cron"
  const char* plugin_version;  // the plugin's own version
  const char* stdlib;          // CRONTOPUS_SDK_STDLIB
  const char* class_name;      // the class exported through the Poco manifest
  const char* description;     // one line for `plugins`
};

typedef const CrontopusPluginInfo* (*CrontopusPluginInfoFn)();
}

#define CRONTOPUS_PLUGIN_INFO_IMPL_(KIND, CLASS, ID, VERSION, DESCRIPTION)                \
  extern "C" CRONTOPUS_PLUGIN_EXPORT const CrontopusPluginInfo* crontopus_plugin_info() { \
    static const CrontopusPluginInfo info = {sizeof(CrontopusPluginInfo),                 \
                                             CRONTOPUS_SDK_ABI_MAJOR,                     \
                                             CRONTOPUS_SDK_ABI_MINOR,                     \
                                             POCO_VERSION,                                \
                                             KIND,                                        \
                                             ID,                                          \
                                             VERSION,                                     \
                                             CRONTOPUS_SDK_STDLIB,                        \
                                             #CLASS,                                      \
                                             DESCRIPTION};                                \
    return &info;                                                                         \
  }

// Declare the one scheduler plugin class of a library. Use once, in one .cpp file, at global scope:
//   CRONTOPUS_DECLARE_SCHEDULER_PLUGIN(MyScheduler, "my-id", "1.0.0", "one-line description")
// MyScheduler must be default-constructible and derive from crontopus::sdk::SchedulerPlugin.
#define CRONTOPUS_DECLARE_SCHEDULER_PLUGIN(CLASS, ID, VERSION, DESCRIPTION) \
  CRONTOPUS_PLUGIN_INFO_IMPL_("scheduler", CLASS, ID, VERSION, DESCRIPTION) \
  POCO_BEGIN_MANIFEST(crontopus::sdk::SchedulerPlugin)                      \
  POCO_EXPORT_CLASS(CLASS)                                                  \
  POCO_END_MANIFEST

// Declare the one source plugin class of a library; as above, deriving from SourcePlugin.
#define CRONTOPUS_DECLARE_SOURCE_PLUGIN(CLASS, ID, VERSION, DESCRIPTION) \
  CRONTOPUS_PLUGIN_INFO_IMPL_("source", CLASS, ID, VERSION, DESCRIPTION) \
  POCO_BEGIN_MANIFEST(crontopus::sdk::SourcePlugin)                      \
  POCO_EXPORT_CLASS(CLASS)                                               \
  POCO_END_MANIFEST
