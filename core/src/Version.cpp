#include "Version.h"

namespace crontopus::core {

const char* version() noexcept {
  return CRONTOPUS_VERSION;
}

}  // namespace crontopus::core
