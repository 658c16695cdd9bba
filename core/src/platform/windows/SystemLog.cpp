#include "platform/SystemLog.h"

#include <Poco/EventLogChannel.h>

namespace crontopus::core::platform {

// The Windows Event Log (Application), source `ident`.
Poco::AutoPtr<Poco::Channel> systemLogChannel(const std::string& ident) {
  return new Poco::EventLogChannel(ident);
}

}  // namespace crontopus::core::platform
