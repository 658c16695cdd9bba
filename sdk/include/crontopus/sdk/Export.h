#pragma once

// Symbols of the SDK library and the plugin entry points keep default visibility; everything
// else in our targets is hidden.
#if defined(_WIN32)
#if defined(CRONTOPUS_SDK_BUILDING)
#define CRONTOPUS_SDK_API __declspec(dllexport)
#else
#define CRONTOPUS_SDK_API __declspec(dllimport)
#endif
#define CRONTOPUS_PLUGIN_EXPORT __declspec(dllexport)
#else
#define CRONTOPUS_SDK_API __attribute__((visibility("default")))
#define CRONTOPUS_PLUGIN_EXPORT __attribute__((visibility("default")))
#endif
