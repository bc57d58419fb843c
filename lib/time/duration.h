// Durations as users write them: "250ms", "10s", "5m", "1h", "1d" and
// combinations such as "1h30m" or "2m30s500ms". A bare number is refused
// (the unit must be explicit). Values are integral milliseconds.
#ifndef GOVSTREAM_TIME_DURATION_H_
#define GOVSTREAM_TIME_DURATION_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace govstream::time {

// Parses a duration; nullopt when the text is not a valid duration or
// overflows int64 milliseconds.
std::optional<int64_t> ParseDurationMs(std::string_view text);

// Formats milliseconds back into the shortest combination ("1h30m", "250ms",
// "0s").
std::string FormatDurationMs(int64_t ms);

}  // namespace govstream::time

#endif  // GOVSTREAM_TIME_DURATION_H_
