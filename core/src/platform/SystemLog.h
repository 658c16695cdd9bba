#pragma once

#include <string>

#include <Poco/AutoPtr.h>
#include <Poco/Channel.h>

namespace crontopus::core::platform {

// The host's system log as a Poco channel: syslog(3) on Unix (the journal under systemd), with
// `ident` as the program name and the process id on each line. Used for `log.target: syslog`
// and for --daemon, whose standard streams point nowhere.
Poco::AutoPtr<Poco::Channel> systemLogChannel(const std::string& ident);

}  // namespace crontopus::core::platform
