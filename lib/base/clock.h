// Clock readings shared by the programs.
//
// NowMs/NowNs: a monotonic clock, for timeouts, intervals and latencies;
// never compared across processes. WallUs/WallMs: the wall clock (Unix
// epoch), for timestamps that are shown or sent.
#pragma once

#include <chrono>
#include <cstdint>

namespace govstream {

inline int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

inline int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

inline uint64_t WallUs() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
}

inline int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace govstream
