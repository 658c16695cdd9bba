#include "platform/SystemLog.h"

#include <Poco/SyslogChannel.h>

namespace crontopus::core::platform {

Poco::AutoPtr<Poco::Channel> systemLogChannel(const std::string& ident) {
  return new Poco::SyslogChannel(ident, Poco::SyslogChannel::SYSLOG_PID,
                                 Poco::SyslogChannel::SYSLOG_DAEMON);
}

}  // namespace crontopus::core::platform
