#pragma once

namespace crontopus::core {

const char* version() noexcept;

}  // namespace crontopus::core
