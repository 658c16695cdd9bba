#pragma once

#include <string>
#include <utility>

#include "crontopus/sdk/Export.h"

namespace crontopus::sdk {

// Error classes a plugin call can report. The host decides retry and back-off from these:
// kAuth backs off harder than kNetwork, kConfig is not retried until the configuration changes.
enum class ErrorCode {
  kOk = 0,
  kConfig,       // invalid option or configuration; retrying will not help
  kUnsupported,  // this host cannot do it (wrong platform, daemon not running)
  kNetwork,      // connection, DNS, timeout, server error: worth retrying
  kAuth,         // credentials rejected: retry only rarely
  kTls,          // certificate verification failed
  kNotFound,     // a branch, file or entry does not exist
  kConflict,     // someone else changed the target while we worked; start the cycle over
  kLimit,        // a size or count limit would be exceeded
  kIo,           // local file system or subprocess failure
  kInternal,     // a bug: an unexpected state or exception inside the plugin
};

CRONTOPUS_SDK_API const char* errorCodeName(ErrorCode code) noexcept;

// What every plugin call returns. Plugins never let an exception cross the library boundary;
// they return a Result instead. `message` is meant for the operator: it names what failed, on
// which input, and what to do. It must never contain a secret.
class Result {
 public:
  Result() = default;
  static Result success() { return Result(); }
  static Result failure(ErrorCode code, std::string message) {
    Result r;
    r.code_ = code;
    r.message_ = std::move(message);
    return r;
  }

  bool ok() const noexcept { return code_ == ErrorCode::kOk; }
  explicit operator bool() const noexcept { return ok(); }
  ErrorCode code() const noexcept { return code_; }
  const std::string& message() const noexcept { return message_; }

 private:
  ErrorCode code_ = ErrorCode::kOk;
  std::string message_;
};

}  // namespace crontopus::sdk
