// Pretends to be built against a newer minor version of the SDK than the host's.
#include "crontopus/sdk/Version.h"
#undef CRONTOPUS_SDK_ABI_MINOR
#define CRONTOPUS_SDK_ABI_MINOR 99
#include "TestScheduler.h"

CRONTOPUS_DECLARE_SCHEDULER_PLUGIN(crontopus::tests::TestScheduler, "test-newer-minor", "1.0.0",
                                   "newer ABI minor")
