#include "crontopus/sdk/Result.h"
#include "crontopus/sdk/SchedulerPlugin.h"

namespace crontopus::sdk {

const char* errorCodeName(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::kOk:
      return "ok";
    case ErrorCode::kConfig:
      return "config";
    case ErrorCode::kUnsupported:
      return "unsupported";
    case ErrorCode::kNetwork:
      return "network";
    case ErrorCode::kAuth:
      return "auth";
    case ErrorCode::kTls:
      return "tls";
    case ErrorCode::kNotFound:
      return "not-found";
    case ErrorCode::kConflict:
      return "conflict";
    case ErrorCode::kLimit:
      return "limit";
    case ErrorCode::kIo:
      return "io";
    case ErrorCode::kInternal:
      return "internal";
  }
  return "unknown";
}

const char* changeKindName(ChangeKind kind) noexcept {
  switch (kind) {
    case ChangeKind::kAdd:
      return "add";
    case ChangeKind::kUpdate:
      return "update";
    case ChangeKind::kPause:
      return "pause";
    case ChangeKind::kResume:
      return "resume";
    case ChangeKind::kRemove:
      return "remove";
    case ChangeKind::kDrift:
      return "drift";
  }
  return "unknown";
}

}  // namespace crontopus::sdk
