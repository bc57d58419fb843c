// Timestamps: event times as they appear in records, parsed to integral
// milliseconds since the Unix epoch (UTC), and formatted back as RFC 3339.
//
// Three input forms (DESIGN.md, "Timestamps"):
//   - RFC 3339 / ISO 8601 text: "2026-03-01T12:00:05Z",
//     "2026-03-01T12:00:05.250+01:00", "2026-03-01 12:00:05.1234Z" (a space
//     may replace the T; the fraction may have any number of digits and is
//     truncated to milliseconds; a zone, Z or +HH:MM / +HHMM, is required).
//   - epoch numbers in a TimeUnit (s, ms, us, ns); fractions are allowed and
//     truncated toward minus infinity to milliseconds.
//   - any other text through a TimeFormat: strptime-style directives,
//     implemented here (no C library, no locale): %Y %m %d %e %H %M %S %f %z
//     %Z %b %h %B %j %y %T %D %F %R %s %n %t %% (see TimeFormat::Compile).
//
// Everything here is a pure function or an immutable value: thread-safe.
// Failures are values (Status / false with a reason), never exceptions.
#ifndef GOVSTREAM_TIME_TIMESTAMP_H_
#define GOVSTREAM_TIME_TIMESTAMP_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace govstream::time {

enum class TimeUnit { kSeconds, kMillis, kMicros, kNanos };

// "s", "ms", "us", "ns" -> the unit; nullopt otherwise.
std::optional<TimeUnit> ParseTimeUnit(std::string_view text);

// Days since 1970-01-01 of a proleptic Gregorian date (month 1-12).
int64_t DaysFromCivil(int64_t year, unsigned month, unsigned day);

// Parses RFC 3339 text; false (with *error set to a short reason) when the
// text is not a complete RFC 3339 timestamp with a zone.
bool ParseRfc3339(std::string_view text, int64_t* ms, std::string* error);

// ParseRfc3339 with a one-entry cache of the date and time of day up to
// the minute (the first 16 bytes, "YYYY-MM-DDTHH:MM"): a timestamp sharing
// them with the last one parsed only has its seconds, fraction and zone
// read. Same results and errors as ParseRfc3339. Not thread-safe.
class Rfc3339Cache {
 public:
  bool Parse(std::string_view text, int64_t* ms, std::string* error);

 private:
  // "YYYY-MM-DDTHH:MM": the seconds, fraction and zone are read each time.
  static constexpr size_t kPrefix = 16;
  bool valid_ = false;
  char prefix_[kPrefix] = {};
  int64_t base_ = 0;  // ms of the prefix (second 0), at UTC
};

// An epoch number in `unit` to milliseconds; false when it is not finite or
// out of range (|ms| beyond +-2^62).
bool EpochToMs(double value, TimeUnit unit, int64_t* ms);

// "2026-03-01T12:00:05Z", with ".250" before the Z when the milliseconds are
// not zero. Always UTC.
std::string FormatRfc3339(int64_t ms);
void AppendRfc3339(int64_t ms, std::string* out);
// Microseconds since the epoch, always with six fractional digits:
// "2026-11-22T02:50:01.123456Z" (the messaging envelope and $SYS stats).
std::string FormatRfc3339Us(int64_t us);

// A compiled strptime-style format. Directives:
//   %Y year (4 digits, optional sign)   %m month 01-12    %d / %e day 1-31
//   %H hour 00-23   %M minute 00-59     %S second 00-60 (60 counts as 59+1)
//   %f fraction of a second (1-9 digits, truncated to ms)
//   %z zone: Z, +HH, +HHMM or +HH:MM    %Z zone name: UTC, GMT or Z only
//   %b / %h month abbreviation (Jan..Dec, any case)  %B full month name
//   %j day of the year 001-366 (with %Y, instead of %m/%d)
//   %y two-digit year (69-99 -> 19xx, 00-68 -> 20xx)
//   %s epoch seconds (may be negative); %T = %H:%M:%S; %D = %m/%d/%y;
//   %F = %Y-%m-%d; %R = %H:%M; %n, %t and a space match any run of white
//   space (also none); %% a literal percent sign.
// Numeric fields accept up to their width in digits (leading spaces allowed,
// as strptime does). Fields not given default to 1970-01-01 00:00:00 UTC;
// without %z/%Z the text is read as UTC. The whole text must match (trailing
// white space is allowed).
class TimeFormat {
 public:
  // InvalidArgument naming the directive when the format is not valid.
  static Status Compile(std::string_view format, TimeFormat* out);
  // False with *error set when `text` does not match.
  bool Parse(std::string_view text, int64_t* ms, std::string* error) const;
  const std::string& text() const { return text_; }

 private:
  struct Item {
    char directive;  // 0: literal, ' ': white space, else the directive
    std::string literal;
  };
  std::string text_;
  std::vector<Item> items_;
};

}  // namespace govstream::time

#endif  // GOVSTREAM_TIME_TIMESTAMP_H_
