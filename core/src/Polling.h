#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>

#include <Poco/SHA2Engine.h>

#include <crontopus/sdk/Result.h>

namespace crontopus::core::polling {

// A fleet of agents with the same interval must not hit the git server in the same second: each
// host waits interval + a fixed share (0..10 %) derived from its machine id and agent name.
inline std::chrono::milliseconds stableJitter(const std::string& machine_id,
                                              const std::string& agent_name, int interval_s) {
  Poco::SHA2Engine engine(Poco::SHA2Engine::SHA_256);
  engine.update(machine_id + "/" + agent_name);
  const auto& digest = engine.digest();
  std::uint32_t value = 0;
  for (std::size_t i = 0; i < 4; ++i)
    value = (value << 8) | digest[i];
  const auto max_ms = static_cast<std::uint64_t>(interval_s) * 100;  // 10 %
  return std::chrono::milliseconds(max_ms == 0 ? 0 : value % max_ms);
}

// The wait before the next cycle. After failures (`failures` in a row, this one included) the
// wait doubles, up to 10x the interval; rejected credentials (kAuth) start 8x higher, because git
// hosts ban addresses that keep failing to log in. The jitter is added in every case.
inline std::chrono::milliseconds nextDelay(int interval_s, std::chrono::milliseconds jitter,
                                           bool ok, sdk::ErrorCode failure, int failures) {
  const std::chrono::milliseconds interval(static_cast<std::int64_t>(interval_s) * 1000);
  if (ok)
    return interval + jitter;
  const int shift = std::min(failures + (failure == sdk::ErrorCode::kAuth ? 3 : 0), 10);
  const std::chrono::milliseconds grown = interval * (std::int64_t{1} << shift);
  return std::min<std::chrono::milliseconds>(grown, interval * 10) + jitter;
}

}  // namespace crontopus::core::polling
