// Finds, checks and loads crontopus-tls.so (TlsModule.h).
#include <filesystem>
#include <mutex>

#include <Poco/Exception.h>
#include <Poco/SharedLibrary.h>

#include "controlplane/HttpClient.h"
#include "controlplane/TlsModule.h"
#include "platform/Platform.h"

namespace crontopus::core::controlplane {

namespace {

struct LoadedModule {
  std::string error;  // empty once loaded
  TlsModuleCreateFn create = nullptr;
};

LoadedModule load(const std::string& path) {
  LoadedModule m;
  const std::string where = "HTTPS support module " + path;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    m.error = where + " is missing; it is installed with crontopus-agent (reinstall it)";
    return m;
  }
  // The same rule as for plugins: code that others could replace never runs in the agent.
  for (const std::string& p : {std::filesystem::path(path).parent_path().string(), path}) {
    if (std::string why = platform::unsafePermissions(p); !why.empty()) {
      m.error = where + " refused: " + p + ": " + why;
      return m;
    }
  }
  // Poco::SharedLibrary's destructor leaves the library loaded: sessions and their vtables live
  // in it until the process ends.
  Poco::SharedLibrary library;
  try {
    library.load(path);
  } catch (const Poco::Exception& e) {
    m.error = where + " cannot be loaded: " + e.displayText();
    return m;
  }
  if (!library.hasSymbol(kTlsModuleBuildSymbol) || !library.hasSymbol(kTlsModuleCreateSymbol)) {
    library.unload();
    m.error = where + " refused: it is not a crontopus HTTPS module";
    return m;
  }
  const std::string build =
      reinterpret_cast<TlsModuleBuildFn>(library.getSymbol(kTlsModuleBuildSymbol))();
  if (build != tlsBuildIdentity()) {
    library.unload();
    m.error = where + " refused: it was built as \"" + build + "\", this program as \"" +
              tlsBuildIdentity() + "\"; install both from the same build";
    return m;
  }
  m.create = reinterpret_cast<TlsModuleCreateFn>(library.getSymbol(kTlsModuleCreateSymbol));
  return m;
}

}  // namespace

std::string tlsModulePath() {
  // <prefix>/bin/crontopus-run -> <prefix>/lib/crontopus/crontopus-tls.so, as for the plugins;
  // the configured prefix's when there is none there. Errors name the one beside the executable.
  std::filesystem::path beside;
  try {
    beside = std::filesystem::path(platform::executablePath()).parent_path().parent_path() / "lib" /
             "crontopus" / CRONTOPUS_TLS_MODULE_NAME;
  } catch (const Poco::Exception&) {
    return CRONTOPUS_INSTALL_TLS_MODULE;  // no /proc
  }
  std::error_code ec;
  if (!std::filesystem::exists(beside, ec) &&
      std::filesystem::exists(CRONTOPUS_INSTALL_TLS_MODULE, ec))
    return CRONTOPUS_INSTALL_TLS_MODULE;
  return beside.string();
}

std::unique_ptr<TlsConnector> makeTlsConnector(const std::string& ca_file) {
  static std::once_flag once;
  static LoadedModule module;
  std::call_once(once, [] { module = load(tlsModulePath()); });
  if (!module.error.empty())
    throw ControlPlaneException(module.error);
  return std::unique_ptr<TlsConnector>(module.create(ca_file.c_str()));
}

}  // namespace crontopus::core::controlplane
