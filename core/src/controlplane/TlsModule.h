#pragma once

#include <memory>
#include <string>

#include <Poco/Types.h>
#include <Poco/Version.h>

namespace Poco {
class Exception;
namespace Net {
class HTTPClientSession;
}  // namespace Net
}  // namespace Poco

// HTTPS for HttpClient lives in a module of its own, crontopus-tls.so in <prefix>/lib/crontopus,
// loaded only when backend.api_url is https://. Poco NetSSL brings PocoUtil, PocoXML, expat,
// PocoCrypto and OpenSSL with it: linked into crontopus-run, their loading was about half of each
// run's CPU even for runs that post nothing or post over plain http (bench/controlplane).
namespace crontopus::core::controlplane {

// What the module provides: client sessions verified against the system CA store plus ca_file
// (TLS 1.2 or later, host name checked), and telling its TLS errors from network errors.
class TlsConnector {
 public:
  virtual ~TlsConnector() = default;
  virtual std::unique_ptr<Poco::Net::HTTPClientSession> newSession(const std::string& host,
                                                                   Poco::UInt16 port) = 0;
  // Whether e is a TLS failure (handshake, certificate) rather than a network error.
  virtual bool isTlsError(const Poco::Exception& e) const = 0;
};

// The module's entry points (extern "C", looked up by name).
inline constexpr const char* kTlsModuleBuildSymbol = "crontopus_tls_build";
inline constexpr const char* kTlsModuleCreateSymbol = "crontopus_tls_create";
// Returns the module's build identity (tlsBuildIdentity() as compiled into the module).
using TlsModuleBuildFn = const char* (*)();
// Returns a new connector owned by the caller; throws Poco::Exception when ca_file (may be
// empty) or the system store cannot be loaded.
using TlsModuleCreateFn = TlsConnector* (*)(const char* ca_file);

// The loader and the module exchange C++ objects, so both must come from the same build: same
// agent version, Poco version and compiler. A module that says otherwise is refused.
inline std::string tlsBuildIdentity() {
  return std::string("crontopus-tls " CRONTOPUS_VERSION " poco ") + std::to_string(POCO_VERSION) +
         " " __VERSION__;
}

// The module's path: <dir of the executable>/../lib/crontopus/crontopus-tls.so when that exists
// (installed, the .deb, the build tree), else the configured install prefix's.
std::string tlsModulePath();

// Loads the module (once per process) and creates a connector. Throws ControlPlaneException when
// the module is missing, refused (writable by others, another build) or broken, naming its
// path; lets the module's Poco::Exception through when ca_file cannot be loaded.
std::unique_ptr<TlsConnector> makeTlsConnector(const std::string& ca_file);

}  // namespace crontopus::core::controlplane
