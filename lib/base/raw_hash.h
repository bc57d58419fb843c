// RawHash, RawEq: a cheap inline hash and equality for hash maps keyed by
// short byte strings (host names, paths, ...), with heterogeneous
// (std::string_view) lookup. absl's default string hash is a library call
// that dominates hashing keys of a few dozen bytes. Each map should seed
// its RawHash differently (e.g. from its own address), so that colliding
// key sets cannot be prepared in advance for every run.
// Pure functions; thread-safe.
#ifndef GOVSTREAM_BASE_RAW_HASH_H_
#define GOVSTREAM_BASE_RAW_HASH_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "base/bytes_equal.h"

namespace govstream {

// The slots a hash table holds for `entries`, as memory_bytes counts them:
// at a load of 1/2, near the low end of what absl keeps (7/16 to 7/8), so
// an upper estimate. From the size, not the capacity: after erasures absl's
// capacity depends on where tombstones fell, so on the per-process hash
// seed, and the figure would differ from run to run. Linear, so that groups
// spread over several tables (--threads) count as in one.
inline size_t HashSlots(size_t entries) { return 2 * entries; }

// One multiply-fold step: mixes v into h.
inline uint64_t RawHashMix(uint64_t h, uint64_t v) {
  const unsigned __int128 m = static_cast<unsigned __int128>(h ^ v) * 0x9e3779b97f4a7c15u;
  return static_cast<uint64_t>(m) ^ static_cast<uint64_t>(m >> 64);
}

struct RawHash {
  using is_transparent = void;
  uint64_t seed = 0;
  size_t operator()(std::string_view s) const {
    auto load = [](const char* p, size_t n) {
      uint64_t v = 0;
      std::memcpy(&v, p, n);
      return v;
    };
    const char* p = s.data();
    const size_t n = s.size();
    uint64_t h = RawHashMix(seed, n);
    if (n < 8) return RawHashMix(h, load(p, n));
    size_t i = 0;
    for (; i + 8 < n; i += 8) h = RawHashMix(h, load(p + i, 8));
    return RawHashMix(h, load(p + n - 8, 8));  // the last 8 bytes (may overlap)
  }
};

struct RawEq {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const {
    return a.size() == b.size() && BytesEqual(a.data(), b.data(), a.size());
  }
};

// A per-object seed for RawHash.
inline uint64_t RawHashSeed(const void* owner) {
  return RawHashMix(reinterpret_cast<uintptr_t>(owner), 0x5851f42d4c957f2du);
}

}  // namespace govstream

#endif  // GOVSTREAM_BASE_RAW_HASH_H_
