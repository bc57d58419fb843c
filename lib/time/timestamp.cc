#include "time/timestamp.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>

namespace govstream::time {
namespace {

constexpr int64_t kMsPerDay = 86'400'000;
constexpr int64_t kMaxMs = int64_t{1} << 62;

constexpr std::string_view kMonths[12] = {"january", "february", "march",     "april",   "may",      "june",
                                          "july",    "august",   "september", "october", "november", "december"};

bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned DaysInMonth(int64_t y, unsigned m) {
  static constexpr unsigned kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

// Reads exactly n digits at text[*i].
bool Digits(std::string_view text, size_t* i, int n, int64_t* out) {
  int64_t v = 0;
  for (int k = 0; k < n; ++k) {
    if (*i >= text.size() || !IsDigit(text[*i])) return false;
    v = v * 10 + (text[(*i)++] - '0');
  }
  *out = v;
  return true;
}

// Reads 1..max digits (after optional leading spaces, as strptime does).
bool UpTo(std::string_view text, size_t* i, int max, int64_t* out) {
  while (*i < text.size() && text[*i] == ' ') ++*i;
  int64_t v = 0;
  int n = 0;
  while (n < max && *i < text.size() && IsDigit(text[*i])) {
    v = v * 10 + (text[(*i)++] - '0');
    ++n;
  }
  *out = v;
  return n > 0;
}

// Fraction digits after the point: milliseconds (truncated). At least one.
bool Fraction(std::string_view text, size_t* i, int64_t* ms) {
  int n = 0;
  int64_t v = 0;
  while (*i < text.size() && IsDigit(text[*i])) {
    if (n < 3) v = v * 10 + (text[*i] - '0');
    ++n;
    ++*i;
  }
  if (n == 0) return false;
  for (int k = n; k < 3; ++k) v *= 10;
  *ms = v;
  return true;
}

// Z, +HH, +HHMM, +HH:MM (colon optional unless `need_colon`). Offset in minutes.
bool Zone(std::string_view text, size_t* i, bool rfc3339, int64_t* minutes) {
  if (*i >= text.size()) return false;
  char c = text[*i];
  if (c == 'Z' || c == 'z') {
    ++*i;
    *minutes = 0;
    return true;
  }
  if (c != '+' && c != '-') return false;
  ++*i;
  int64_t hh, mm = 0;
  if (!Digits(text, i, 2, &hh)) return false;
  if (*i < text.size() && text[*i] == ':') {
    ++*i;
    if (!Digits(text, i, 2, &mm)) return false;
  } else if (rfc3339) {
    if (!Digits(text, i, 2, &mm)) return false;
  } else if (*i + 1 < text.size() && IsDigit(text[*i]) && IsDigit(text[*i + 1])) {
    Digits(text, i, 2, &mm);
  }
  if (hh > 23 || mm > 59) return false;
  *minutes = (c == '-' ? -1 : 1) * (hh * 60 + mm);
  return true;
}

bool Compose(int64_t y, int64_t mo, int64_t d, int64_t h, int64_t mi, int64_t s, int64_t ms, int64_t zone_min,
             int64_t* out, std::string* error) {
  if (mo < 1 || mo > 12) {
    *error = "month out of range";
    return false;
  }
  if (d < 1 || d > DaysInMonth(y, static_cast<unsigned>(mo))) {
    *error = "day out of range";
    return false;
  }
  if (h > 24 || mi > 59 || s > 60 || (h == 24 && (mi != 0 || s != 0 || ms != 0))) {
    *error = "time of day out of range";
    return false;
  }
  if (y < -292'000 || y > 292'000) {
    *error = "year out of range";
    return false;
  }
  int64_t days = DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  *out = days * kMsPerDay + ((h * 60 + mi - zone_min) * 60 + s) * 1000 + ms;
  return true;
}

}  // namespace

std::optional<TimeUnit> ParseTimeUnit(std::string_view text) {
  if (text == "s") return TimeUnit::kSeconds;
  if (text == "ms") return TimeUnit::kMillis;
  if (text == "us") return TimeUnit::kMicros;
  if (text == "ns") return TimeUnit::kNanos;
  return std::nullopt;
}

int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

bool ParseRfc3339(std::string_view text, int64_t* ms, std::string* error) {
  size_t i = 0;
  int64_t y, mo, d, h, mi, s, frac = 0, zone = 0;
  auto fail = [&](const char* why) {
    *error = why;
    return false;
  };
  if (!Digits(text, &i, 4, &y) || i >= text.size() || text[i++] != '-' || !Digits(text, &i, 2, &mo) ||
      i >= text.size() || text[i++] != '-' || !Digits(text, &i, 2, &d)) {
    return fail("not an RFC 3339 date (YYYY-MM-DD)");
  }
  if (i >= text.size() || (text[i] != 'T' && text[i] != 't' && text[i] != ' ')) {
    return fail("no time of day (expected T after the date)");
  }
  ++i;
  if (!Digits(text, &i, 2, &h) || i >= text.size() || text[i++] != ':' || !Digits(text, &i, 2, &mi) ||
      i >= text.size() || text[i++] != ':' || !Digits(text, &i, 2, &s)) {
    return fail("not an RFC 3339 time of day (HH:MM:SS)");
  }
  if (i < text.size() && (text[i] == '.' || text[i] == ',')) {
    ++i;
    if (!Fraction(text, &i, &frac)) return fail("no digits after the decimal point");
  }
  if (i >= text.size()) return fail("no time zone (expected Z or an offset such as +02:00)");
  if (!Zone(text, &i, true, &zone)) return fail("bad time zone (expected Z or an offset such as +02:00)");
  if (i != text.size()) return fail("unexpected text after the time zone");
  return Compose(y, mo, d, h, mi, s, frac, zone, ms, error);
}

bool Rfc3339Cache::Parse(std::string_view text, int64_t* ms, std::string* error) {
  if (valid_ && text.size() > kPrefix + 3 && std::memcmp(text.data(), prefix_, kPrefix) == 0) {
    // ":SS" and the rest exactly as ParseRfc3339 reads them; any failure:
    // the full parse gives the error.
    size_t i = kPrefix + 1;
    int64_t sec = 0, frac = 0, zone = 0;
    bool ok = text[kPrefix] == ':' && Digits(text, &i, 2, &sec) && sec <= 60;
    if (text[i] == '.' || text[i] == ',') {
      ++i;
      ok = ok && Fraction(text, &i, &frac);
    }
    if (ok && i < text.size() && Zone(text, &i, true, &zone) && i == text.size()) {
      *ms = base_ + sec * 1000 + frac - zone * 60'000;
      return true;
    }
  }
  if (!ParseRfc3339(text, ms, error)) return false;
  // Parsed: cache the prefix when it has the fixed layout (exactly the
  // digits and separators ParseRfc3339 read) and is not hour 24 (whose
  // validity depends on the fraction).
  valid_ = false;
  if (text.size() <= kPrefix + 3 || text[4] != '-' || text[7] != '-' || text[13] != ':' || text[16] != ':') {
    return true;
  }
  size_t i = 0;
  int64_t y, mo, d, h, mi;
  std::string unused;
  if (!Digits(text, &i, 4, &y) || !Digits(text, &(i = 5), 2, &mo) || !Digits(text, &(i = 8), 2, &d) ||
      !Digits(text, &(i = 11), 2, &h) || !Digits(text, &(i = 14), 2, &mi) || h == 24 ||
      !Compose(y, mo, d, h, mi, 0, 0, 0, &base_, &unused)) {
    return true;
  }
  std::memcpy(prefix_, text.data(), kPrefix);
  valid_ = true;
  return true;
}

bool EpochToMs(double value, TimeUnit unit, int64_t* ms) {
  if (!std::isfinite(value)) return false;
  double scaled = value;
  switch (unit) {
    case TimeUnit::kSeconds:
      scaled = value * 1000.0;
      break;
    case TimeUnit::kMillis:
      break;
    case TimeUnit::kMicros:
      scaled = value / 1000.0;
      break;
    case TimeUnit::kNanos:
      scaled = value / 1'000'000.0;
      break;
  }
  scaled = std::floor(scaled);
  if (!(scaled > -static_cast<double>(kMaxMs) && scaled < static_cast<double>(kMaxMs))) return false;
  *ms = static_cast<int64_t>(scaled);
  return true;
}

void AppendRfc3339(int64_t ms, std::string* out) {
  int64_t days = ms >= 0 ? ms / kMsPerDay : -((-ms + kMsPerDay - 1) / kMsPerDay);
  int64_t rem = ms - days * kMsPerDay;
  // Civil date from days (proleptic Gregorian).
  int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t y = yoe + era * 400;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t d = doy - (153 * mp + 2) / 5 + 1;
  const int64_t m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
  int64_t msec = rem % 1000;
  int64_t secs = rem / 1000;
  char buf[64];
  int n;
  if (y >= 0 && y <= 9999) {
    // The common case by hand (snprintf dominates writing many results).
    auto two = [](char* p, int64_t v) {
      p[0] = static_cast<char>('0' + v / 10);
      p[1] = static_cast<char>('0' + v % 10);
    };
    two(buf, y / 100);
    two(buf + 2, y % 100);
    buf[4] = '-';
    two(buf + 5, m);
    buf[7] = '-';
    two(buf + 8, d);
    buf[10] = 'T';
    two(buf + 11, secs / 3600);
    buf[13] = ':';
    two(buf + 14, secs / 60 % 60);
    buf[16] = ':';
    two(buf + 17, secs % 60);
    out->append(buf, 19);
    if (msec != 0) {
      buf[0] = '.';
      buf[1] = static_cast<char>('0' + msec / 100);
      two(buf + 2, msec % 100);
      out->append(buf, 4);
    }
    out->push_back('Z');
    return;
  } else {
    n = std::snprintf(buf, sizeof buf, "%+05lld-%02lld-%02lldT%02lld:%02lld:%02lld", static_cast<long long>(y),
                      static_cast<long long>(m), static_cast<long long>(d), static_cast<long long>(secs / 3600),
                      static_cast<long long>(secs / 60 % 60), static_cast<long long>(secs % 60));
  }
  out->append(buf, static_cast<size_t>(n));
  if (msec != 0) {
    n = std::snprintf(buf, sizeof buf, ".%03lld", static_cast<long long>(msec));
    out->append(buf, static_cast<size_t>(n));
  }
  out->push_back('Z');
}

std::string FormatRfc3339(int64_t ms) {
  std::string s;
  AppendRfc3339(ms, &s);
  return s;
}

std::string FormatRfc3339Us(int64_t us) {
  int64_t frac = us % 1000000;
  if (frac < 0) frac += 1000000;
  std::string s;
  AppendRfc3339((us - frac) / 1000, &s);  // whole seconds: no fraction written
  s.pop_back();                           // the 'Z'
  char buf[16];
  int n = std::snprintf(buf, sizeof buf, ".%06lldZ", static_cast<long long>(frac));
  s.append(buf, static_cast<size_t>(n));
  return s;
}

Status TimeFormat::Compile(std::string_view format, TimeFormat* out) {
  TimeFormat f;
  f.text_ = std::string(format);
  auto literal = [&](char c) {
    if (f.items_.empty() || f.items_.back().directive != 0) f.items_.push_back({0, {}});
    f.items_.back().literal.push_back(c);
  };
  auto space = [&] {
    if (f.items_.empty() || f.items_.back().directive != ' ') f.items_.push_back({' ', {}});
  };
  std::function<Status(std::string_view)> add = [&](std::string_view fmt) -> Status {
    for (size_t i = 0; i < fmt.size(); ++i) {
      char c = fmt[i];
      if (IsSpace(c)) {
        space();
        continue;
      }
      if (c != '%') {
        literal(c);
        continue;
      }
      if (++i >= fmt.size()) return Status::InvalidArgument("--time-format: '%' at the end of the format");
      char d = fmt[i];
      switch (d) {
        case '%':
          literal('%');
          break;
        case 'n':
        case 't':
          space();
          break;
        case 'T': {
          Status s = add("%H:%M:%S");
          if (!s.ok()) return s;
          break;
        }
        case 'D': {
          Status s = add("%m/%d/%y");
          if (!s.ok()) return s;
          break;
        }
        case 'F': {
          Status s = add("%Y-%m-%d");
          if (!s.ok()) return s;
          break;
        }
        case 'R': {
          Status s = add("%H:%M");
          if (!s.ok()) return s;
          break;
        }
        case 'h':
          f.items_.push_back({'b', {}});
          break;
        case 'e':
          f.items_.push_back({'d', {}});
          break;
        case 'Y':
        case 'm':
        case 'd':
        case 'H':
        case 'M':
        case 'S':
        case 'f':
        case 'z':
        case 'Z':
        case 'b':
        case 'B':
        case 'j':
        case 'y':
        case 's':
          f.items_.push_back({d, {}});
          break;
        default: {
          std::string m = "--time-format: unsupported directive '%";
          m.push_back(d);
          m.append("' (supported: %Y %m %d %e %H %M %S %f %z %Z %b %h %B %j %y %s %T %D %F %R %n %t %%)");
          return Status::InvalidArgument(m);
        }
      }
    }
    return Status::Ok();
  };
  Status s = add(format);
  if (!s.ok()) return s;
  *out = std::move(f);
  return Status::Ok();
}

bool TimeFormat::Parse(std::string_view text, int64_t* ms, std::string* error) const {
  int64_t y = 1970, mo = 1, d = 1, h = 0, mi = 0, s = 0, frac = 0, zone = 0, yday = -1;
  bool have_epoch = false;
  int64_t epoch = 0;
  size_t i = 0;
  auto fail = [&](const std::string& why) {
    *error = "does not match --time-format '" + text_ + "': " + why;
    return false;
  };
  for (const Item& it : items_) {
    switch (it.directive) {
      case 0:
        if (text.substr(i, it.literal.size()) != it.literal) return fail("expected '" + it.literal + "'");
        i += it.literal.size();
        break;
      case ' ':
        while (i < text.size() && IsSpace(text[i])) ++i;
        break;
      case 'Y': {
        bool neg = false;
        if (i < text.size() && (text[i] == '+' || text[i] == '-')) neg = text[i++] == '-';
        if (!UpTo(text, &i, 4, &y)) return fail("expected a year (%Y)");
        if (neg) y = -y;
        break;
      }
      case 'y':
        if (!UpTo(text, &i, 2, &y)) return fail("expected a two-digit year (%y)");
        y += y < 69 ? 2000 : 1900;
        break;
      case 'm':
        if (!UpTo(text, &i, 2, &mo)) return fail("expected a month (%m)");
        break;
      case 'd':
        if (!UpTo(text, &i, 2, &d)) return fail("expected a day (%d)");
        break;
      case 'H':
        if (!UpTo(text, &i, 2, &h) || h > 23) return fail("expected an hour 00-23 (%H)");
        break;
      case 'M':
        if (!UpTo(text, &i, 2, &mi) || mi > 59) return fail("expected minutes 00-59 (%M)");
        break;
      case 'S':
        if (!UpTo(text, &i, 2, &s) || s > 60) return fail("expected seconds 00-60 (%S)");
        break;
      case 'f': {
        size_t start = i;
        if (!Fraction(text, &i, &frac) || i - start > 9) return fail("expected 1-9 fraction digits (%f)");
        break;
      }
      case 'j':
        if (!UpTo(text, &i, 3, &yday) || yday < 1 || yday > 366) return fail("expected a day of the year (%j)");
        break;
      case 'z':
        if (!Zone(text, &i, false, &zone)) return fail("expected a zone offset such as +0200 or Z (%z)");
        break;
      case 'Z': {
        std::string_view rest = text.substr(i);
        if (rest.substr(0, 3) == "UTC" || rest.substr(0, 3) == "GMT") {
          i += 3;
        } else if (!rest.empty() && rest[0] == 'Z') {
          i += 1;
        } else {
          return fail("expected UTC, GMT or Z (%Z)");
        }
        zone = 0;
        break;
      }
      case 'b':
      case 'B': {
        int found = -1;
        size_t len = 0;
        for (int k = 0; k < 12 && found < 0; ++k) {
          std::string_view full = kMonths[k];
          // The full name or its abbreviation, for %b, %h and %B alike (as
          // strptime reads them).
          for (size_t n : {full.size(), size_t{3}}) {
            if (i + n > text.size()) continue;
            bool eq = true;
            for (size_t c = 0; c < n && eq; ++c) eq = Lower(text[i + c]) == full[c];
            if (eq) {
              found = k;
              len = n;
              break;
            }
          }
        }
        if (found < 0) return fail("expected a month name (%b)");
        mo = found + 1;
        i += len;
        break;
      }
      case 's': {
        bool neg = false;
        if (i < text.size() && (text[i] == '+' || text[i] == '-')) neg = text[i++] == '-';
        if (!UpTo(text, &i, 15, &epoch)) return fail("expected epoch seconds (%s)");
        if (neg) epoch = -epoch;
        have_epoch = true;
        break;
      }
    }
  }
  while (i < text.size() && IsSpace(text[i])) ++i;
  if (i != text.size()) return fail("unexpected text at '" + std::string(text.substr(i, 20)) + "'");
  if (have_epoch) {
    *ms = epoch * 1000 + frac;
    return true;
  }
  if (yday > 0) {
    if (yday > (IsLeap(y) ? 366 : 365)) return fail("day of the year out of range");
    int64_t days = DaysFromCivil(y, 1, 1) + yday - 1;
    *ms = days * kMsPerDay + ((h * 60 + mi - zone) * 60 + s) * 1000 + frac;
    return true;
  }
  std::string why;
  if (!Compose(y, mo, d, h, mi, s, frac, zone, ms, &why)) return fail(why);
  return true;
}

}  // namespace govstream::time
