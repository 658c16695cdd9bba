// A Poco class library without the crontopus info function.
#include "TestScheduler.h"

POCO_BEGIN_MANIFEST(crontopus::sdk::SchedulerPlugin)
POCO_EXPORT_CLASS(crontopus::tests::TestScheduler)
POCO_END_MANIFEST
