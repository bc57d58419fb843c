// Formatting instants as RFC 3339 UTC text, e.g. "2026-11-22T02:50:01.123456Z".
// Pure functions; thread-safe.
#ifndef GOVSTREAM_TIME_RFC3339_H_
#define GOVSTREAM_TIME_RFC3339_H_

#include <cstdint>
#include <string>

namespace govstream::time {

// Microseconds since the Unix epoch (may be negative) -> RFC 3339 UTC with
// six fractional digits.
std::string FormatRfc3339Us(int64_t us);

}  // namespace govstream::time

#endif  // GOVSTREAM_TIME_RFC3339_H_
