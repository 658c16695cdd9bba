// Pretends to be built against a future SDK major version.
#include "crontopus/sdk/Version.h"
#undef CRONTOPUS_SDK_ABI_MAJOR
#define CRONTOPUS_SDK_ABI_MAJOR 2
#include "TestScheduler.h"

CRONTOPUS_DECLARE_SCHEDULER_PLUGIN(crontopus::tests::TestScheduler, "test-wrong-abi", "1.0.0",
                                   "wrong ABI major")
