#include "TestScheduler.h"

CRONTOPUS_DECLARE_SCHEDULER_PLUGIN(crontopus::tests::TestScheduler, "test-good", "9.9.9",
                                   "loader test plugin")
