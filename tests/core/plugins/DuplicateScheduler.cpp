#include "TestScheduler.h"

// Same id as GoodScheduler.cpp: the second one found must be refused.
CRONTOPUS_DECLARE_SCHEDULER_PLUGIN(crontopus::tests::TestScheduler, "test-good", "9.9.8",
                                   "duplicate id")
