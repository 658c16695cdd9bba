#pragma once

// ABI contract between the agent and its plugins. A host accepts a plugin whose ABI major equals
// its own and whose ABI minor is not newer than its own. Adding a virtual at the end of an
// interface bumps the minor; any other change to an interface or a shared struct bumps the major.
#define CRONTOPUS_SDK_ABI_MAJOR 1
#define CRONTOPUS_SDK_ABI_MINOR 0

// The C++ standard library family a plugin was built with. Objects such as std::string cross the
// boundary, so host and plugin must share it.
#if defined(_LIBCPP_VERSION)
#define CRONTOPUS_SDK_STDLIB "libc++"
#elif defined(__GLIBCXX__)
#define CRONTOPUS_SDK_STDLIB "libstdc++"
#elif defined(_MSC_VER)
#define CRONTOPUS_SDK_STDLIB "msvc"
#else
#define CRONTOPUS_SDK_STDLIB "unknown"
#endif
