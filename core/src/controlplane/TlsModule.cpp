// crontopus-tls.so: HttpClient's HTTPS support, the only code that links Poco NetSSL (see
// TlsModule.h for why it is a module).
#include "controlplane/TlsModule.h"

#include <mutex>

#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/SSLException.h>
#include <Poco/Net/SSLManager.h>

#include "crontopus/sdk/Export.h"

namespace crontopus::core::controlplane {
namespace {

class NetSslConnector : public TlsConnector {
 public:
  explicit NetSslConnector(const std::string& ca_file) {
    static std::once_flag once;
    std::call_once(once, [] { Poco::Net::initializeSSL(); });
    Poco::Net::Context::Params params;
    params.caLocation = ca_file;
    params.loadDefaultCAs = true;
    params.verificationMode = Poco::Net::Context::VERIFY_STRICT;
    params.verificationDepth = 9;
    params.cipherList = "HIGH:!aNULL:!eNULL:!MD5:!RC4";
    context_ = new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, params);
    context_->requireMinimumProtocol(Poco::Net::Context::PROTO_TLSV1_2);
    context_->enableExtendedCertificateVerification(true);
  }

  std::unique_ptr<Poco::Net::HTTPClientSession> newSession(const std::string& host,
                                                           Poco::UInt16 port) override {
    return std::make_unique<Poco::Net::HTTPSClientSession>(host, port, context_);
  }

  bool isTlsError(const Poco::Exception& e) const override {
    return dynamic_cast<const Poco::Net::SSLException*>(&e) != nullptr;
  }

 private:
  Poco::Net::Context::Ptr context_;
};

}  // namespace
}  // namespace crontopus::core::controlplane

extern "C" CRONTOPUS_PLUGIN_EXPORT const char* crontopus_tls_build() {
  static const std::string identity = crontopus::core::controlplane::tlsBuildIdentity();
  return identity.c_str();
}

extern "C" CRONTOPUS_PLUGIN_EXPORT crontopus::core::controlplane::TlsConnector*
crontopus_tls_create(const char* ca_file) {
  return new crontopus::core::controlplane::NetSslConnector(ca_file != nullptr ? ca_file : "");
}
