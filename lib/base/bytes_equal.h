// BytesEqual: equality of two short byte ranges without a call to memcmp
// (keys and host names are a few to a few dozen bytes; the library call
// dominates comparing them). Reads only the n bytes of each range.
// Pure function; thread-safe.
#ifndef GOVSTREAM_BASE_BYTES_EQUAL_H_
#define GOVSTREAM_BASE_BYTES_EQUAL_H_

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace govstream {

inline bool BytesEqual(const char* a, const char* b, size_t n) {
  auto load8 = [](const char* p) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    return v;
  };
  auto load4 = [](const char* p) {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
  };
  if (n >= 8) {
    for (size_t i = 0; i + 8 < n; i += 8) {
      if (load8(a + i) != load8(b + i)) return false;
    }
    return load8(a + n - 8) == load8(b + n - 8);  // the last 8 (may overlap)
  }
  if (n >= 4) return load4(a) == load4(b) && load4(a + n - 4) == load4(b + n - 4);
  for (size_t i = 0; i < n; ++i) {
    if (a[i] != b[i]) return false;
  }
  return true;
}

}  // namespace govstream

#endif  // GOVSTREAM_BASE_BYTES_EQUAL_H_
