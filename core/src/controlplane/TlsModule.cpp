// crontopus-tls.so: HttpClient's HTTPS support, the only code that links Poco NetSSL (see
// TlsModule.h for why it is a module).
#include "controlplane/TlsModule.h"

#include <dirent.h>

#include <cstdlib>
#include <cstring>
#include <mutex>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/SSLException.h>
#include <Poco/Net/SSLManager.h>

#include "crontopus/sdk/Export.h"

namespace crontopus::core::controlplane {
namespace {

// Whether `dir` holds OpenSSL's subject-hash links (c_rehash, Debian's update-ca-certificates).
bool hashedDirectory(const char* dir) {
  DIR* d = opendir(dir);
  if (d == nullptr)
    return false;
  bool found = false;
  while (const dirent* entry = readdir(d)) {
    const char* name = entry->d_name;
    const std::size_t n = std::strlen(name);
    if (n >= 10 && name[8] == '.' && std::strspn(name, "0123456789abcdef") == 8 &&
        std::strspn(name + 9, "0123456789") == n - 9) {
      found = true;
      break;
    }
  }
  closedir(d);
  return found;
}

// The system CA store. OpenSSL's default is a bundle file parsed whole on every start (the 144
// certificates of Debian's ca-certificates cost ~45 ms of CPU with OpenSSL 3, most of an https
// check-in) plus a hashed directory read one issuer at a time when a chain needs it. Debian's
// update-ca-certificates writes both from the same certificates, so a hashed directory alone
// trusts exactly the same CAs. SSL_CERT_FILE / SSL_CERT_DIR, or a directory without hash links,
// keep OpenSSL's own default.
void loadSystemStore(SSL_CTX* ctx) {
  const char* dir = X509_get_default_cert_dir();
  if (std::getenv(X509_get_default_cert_file_env()) == nullptr &&
      std::getenv(X509_get_default_cert_dir_env()) == nullptr && hashedDirectory(dir) &&
      SSL_CTX_load_verify_dir(ctx, dir) == 1)
    return;
  SSL_CTX_set_default_verify_paths(ctx);
}

class NetSslConnector : public TlsConnector {
 public:
  explicit NetSslConnector(const std::string& ca_file) {
    static std::once_flag once;
    std::call_once(once, [] { Poco::Net::initializeSSL(); });
    Poco::Net::Context::Params params;
    params.caLocation = ca_file;
    params.loadDefaultCAs = false;  // loadSystemStore() below
    params.verificationMode = Poco::Net::Context::VERIFY_STRICT;
    params.verificationDepth = 9;
    params.cipherList = "HIGH:!aNULL:!eNULL:!MD5:!RC4";
    context_ = new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, params);
    loadSystemStore(context_->sslContext());
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
