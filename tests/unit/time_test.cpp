#include <catch2/catch.hpp>

#include "time/duration.h"

using govstream::time::FormatDurationMs;
using govstream::time::ParseDurationMs;

TEST_CASE("durations parse as users write them", "[time]") {
  struct Case {
    const char* text;
    int64_t ms;
  };
  const Case cases[] = {{"250ms", 250},          {"10s", 10'000},        {"5m", 300'000},
                        {"1h", 3'600'000},       {"1d", 86'400'000},     {"1h30m", 5'400'000},
                        {"2m30s500ms", 150'500}, {"0s", 0},              {"1m1ms", 60'001}};
  for (const Case& c : cases) {
    INFO(c.text);
    auto v = ParseDurationMs(c.text);
    REQUIRE(v.has_value());
    CHECK(*v == c.ms);
  }
}

TEST_CASE("bad durations are refused", "[time]") {
  for (const char* bad : {"", "10", "s", "1x", "-1s", "1.5s", "10 s", "1h-", "99999999999999999999d"}) {
    INFO(bad);
    CHECK_FALSE(ParseDurationMs(bad).has_value());
  }
}

TEST_CASE("durations format back to the shortest form", "[time]") {
  CHECK(FormatDurationMs(0) == "0s");
  CHECK(FormatDurationMs(250) == "250ms");
  CHECK(FormatDurationMs(5'400'000) == "1h30m");
  CHECK(FormatDurationMs(90'061'001) == "1d1h1m1s1ms");
  for (int64_t ms : {1, 999, 1000, 61'000, 3'600'001, 86'400'000}) {
    CHECK(ParseDurationMs(FormatDurationMs(ms)) == ms);
  }
}

// ---- timestamps (time/timestamp.h)

#include "time/timestamp.h"

using govstream::time::DaysFromCivil;
using govstream::time::EpochToMs;
using govstream::time::FormatRfc3339;
using govstream::time::ParseRfc3339;
using govstream::time::TimeFormat;
using govstream::time::TimeUnit;

namespace {

int64_t Rfc(const char* text) {
  int64_t ms = 0;
  std::string error;
  INFO(text);
  REQUIRE(ParseRfc3339(text, &ms, &error));
  return ms;
}

int64_t WithFormat(const char* format, const char* text) {
  TimeFormat f;
  REQUIRE(TimeFormat::Compile(format, &f).ok());
  int64_t ms = 0;
  std::string error;
  INFO(format << " on " << text << ": " << error);
  REQUIRE(f.Parse(text, &ms, &error));
  return ms;
}

}  // namespace

TEST_CASE("civil dates count days from the epoch", "[time]") {
  CHECK(DaysFromCivil(1970, 1, 1) == 0);
  CHECK(DaysFromCivil(1970, 1, 2) == 1);
  CHECK(DaysFromCivil(1969, 12, 31) == -1);
  CHECK(DaysFromCivil(2000, 3, 1) == 11017);
  CHECK(DaysFromCivil(2026, 3, 1) == 20513);
}

TEST_CASE("RFC 3339 timestamps with Z, offsets and fractions", "[time]") {
  CHECK(Rfc("1970-01-01T00:00:00Z") == 0);
  CHECK(Rfc("2026-03-01T12:00:05Z") == 1772366405000);
  CHECK(Rfc("2026-03-01T12:00:05.250Z") == 1772366405250);
  CHECK(Rfc("2026-03-01T12:00:05.2Z") == 1772366405200);
  CHECK(Rfc("2026-03-01T12:00:05.123456789Z") == 1772366405123);  // truncated to ms
  CHECK(Rfc("2026-03-01T13:00:05+01:00") == 1772366405000);
  CHECK(Rfc("2026-03-01T06:30:05-05:30") == 1772366405000);
  CHECK(Rfc("2026-03-01T13:00:05+0100") == 1772366405000);
  CHECK(Rfc("2026-03-01 12:00:05z") == 1772366405000);
  CHECK(Rfc("2024-02-29T00:00:00Z") == DaysFromCivil(2024, 2, 29) * 86400000);
  CHECK(Rfc("1969-12-31T23:59:59.500Z") == -500);
}

TEST_CASE("malformed RFC 3339 timestamps are refused with a reason", "[time]") {
  for (const char* bad : {"", "2026-03-01", "2026-03-01T12:00:05", "2026-03-01T12:00Z", "2026-13-01T00:00:00Z",
                          "2023-02-29T00:00:00Z", "2026-03-01T25:00:00Z", "2026-03-01T12:00:05.Z",
                          "2026-03-01T12:00:05Zjunk", "2026-03-01T12:00:05+1:00", "12/Mar/2026:00:00:00 +0000",
                          "2026-03-01T12:00:05 Z"}) {
    int64_t ms = 0;
    std::string error;
    INFO(bad);
    CHECK_FALSE(ParseRfc3339(bad, &ms, &error));
    CHECK_FALSE(error.empty());
  }
}

TEST_CASE("epoch numbers in each unit", "[time]") {
  int64_t ms = 0;
  REQUIRE(EpochToMs(1772366405, TimeUnit::kSeconds, &ms));
  CHECK(ms == 1772366405000);
  REQUIRE(EpochToMs(1772366405.25, TimeUnit::kSeconds, &ms));
  CHECK(ms == 1772366405250);
  REQUIRE(EpochToMs(1772366405250, TimeUnit::kMillis, &ms));
  CHECK(ms == 1772366405250);
  REQUIRE(EpochToMs(1772366405250999.0, TimeUnit::kMicros, &ms));
  CHECK(ms == 1772366405250);
  REQUIRE(EpochToMs(1.7723664052509e18, TimeUnit::kNanos, &ms));
  CHECK(ms / 1000 == 1772366405);
  REQUIRE(EpochToMs(-0.5, TimeUnit::kSeconds, &ms));
  CHECK(ms == -500);
  CHECK_FALSE(EpochToMs(1e300, TimeUnit::kSeconds, &ms));
  CHECK_FALSE(EpochToMs(std::nan(""), TimeUnit::kSeconds, &ms));
}

TEST_CASE("RFC 3339 formatting in UTC round-trips", "[time]") {
  CHECK(FormatRfc3339(0) == "1970-01-01T00:00:00Z");
  CHECK(FormatRfc3339(1772366405000) == "2026-03-01T12:00:05Z");
  CHECK(FormatRfc3339(1772366405250) == "2026-03-01T12:00:05.250Z");
  CHECK(FormatRfc3339(-500) == "1969-12-31T23:59:59.500Z");
  for (int64_t ms : {int64_t{0}, int64_t{951782400000}, int64_t{1709164800123}, int64_t{-86400001},
                     int64_t{4102444799999}}) {
    CHECK(Rfc(FormatRfc3339(ms).c_str()) == ms);
  }
  // Every field's digits, at both ends of the 4-digit years and beyond.
  CHECK(FormatRfc3339(-62167219200000) == "0000-01-01T00:00:00Z");
  CHECK(FormatRfc3339(253402300799999) == "9999-12-31T23:59:59.999Z");
  CHECK(FormatRfc3339(253402300800000) == "+10000-01-01T00:00:00Z");
  CHECK(FormatRfc3339(-62167219200001) == "-0001-12-31T23:59:59.999Z");
  CHECK(FormatRfc3339(1700000000007) == "2023-11-14T22:13:20.007Z");
  CHECK(FormatRfc3339(1700000000070) == "2023-11-14T22:13:20.070Z");
  // A spread of instants over the 4-digit years round-trips.
  uint64_t x = 88172645463325252u;
  for (int i = 0; i < 20000; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    const int64_t ms = -62167219200000 + static_cast<int64_t>(x % uint64_t{315569520000000});
    const std::string text = FormatRfc3339(ms);
    INFO(text);
    CHECK(Rfc(text.c_str()) == ms);
  }
}

TEST_CASE("strptime-style formats: Apache, syslog, ISO variants", "[time]") {
  const char* apache = "%d/%b/%Y:%H:%M:%S %z";
  CHECK(WithFormat(apache, "01/Mar/2026:13:00:05 +0100") == 1772366405000);
  CHECK(WithFormat(apache, "01/mar/2026:12:00:05 +0000") == 1772366405000);
  CHECK(WithFormat(apache, "01/Mar/2026:07:00:05 -0500") == 1772366405000);
  CHECK(WithFormat("%Y-%m-%dT%H:%M:%S.%f%z", "2026-03-01T12:00:05.25Z") == 1772366405250);
  CHECK(WithFormat("%F %T", "2026-03-01 12:00:05") == 1772366405000);
  CHECK(WithFormat("%Y %j %T", "2026 060 12:00:05") == 1772366405000);  // 1 March = day 60
  CHECK(WithFormat("%b %e %T %Y", "Mar  1 12:00:05 2026") == 1772366405000);
  CHECK(WithFormat("%B %d, %Y %R %Z", "March 01, 2026 12:00 UTC") == 1772366400000);
  // %b, %h and %B read full names and abbreviations alike, as strptime does.
  CHECK(WithFormat("%d %b %Y", "01 March 2026") == 1772323200000);
  CHECK(WithFormat("%d %h %Y", "01 march 2026") == 1772323200000);
  CHECK(WithFormat("%d %B %Y", "01 MAR 2026") == 1772323200000);
  CHECK(WithFormat("%D %T", "03/01/26 12:00:05") == 1772366405000);
  CHECK(WithFormat("%s", "1772366405") == 1772366405000);
  CHECK(WithFormat("%H:%M:%S", "00:00:01") == 1000);  // date defaults to the epoch
  CHECK(WithFormat("100%% %Y", "100% 2026") == DaysFromCivil(2026, 1, 1) * 86400000);
}

TEST_CASE("strptime-style formats refuse bad formats and non-matching text", "[time]") {
  TimeFormat f;
  govstream::Status s = TimeFormat::Compile("%d/%q", &f);
  CHECK_FALSE(s.ok());
  CHECK(s.message().find("'%q'") != std::string::npos);
  CHECK_FALSE(TimeFormat::Compile("%Y%", &f).ok());
  REQUIRE(TimeFormat::Compile("%d/%b/%Y:%H:%M:%S %z", &f).ok());
  for (const char* bad : {"", "01/Foo/2026:12:00:05 +0000", "32/Mar/2026:12:00:05 +0000",
                          "01/Mar/2026:24:00:05 +0000", "01/Mar/2026:12:00:05", "01/Mar/2026:12:00:05 +0000 x",
                          "2026-03-01T12:00:05Z"}) {
    int64_t ms = 0;
    std::string error;
    INFO(bad);
    CHECK_FALSE(f.Parse(bad, &ms, &error));
    CHECK(error.find("does not match --time-format") == 0);
  }
}

TEST_CASE("Rfc3339Cache parses as ParseRfc3339", "[time]") {
  const char* texts[] = {
      "2023-11-14T22:13:20.031Z",      "2023-11-14T22:13:20.5Z",       "2023-11-14T22:13:20Z",
      "2023-11-14T22:13:20,123456Z",   "2023-11-14T22:13:20.031+01:00", "2023-11-14T22:13:20.031-0130",
      "2023-11-14T22:13:20.Z",         "2023-11-14T22:13:20.031",       "2023-11-14T22:13:20.031Zx",
      "2023-11-14T22:13:20",           "2023-11-14T22:13:20+25:00",     "2023-11-14T22:13:21.000Z",
      "2016-12-31T23:59:60.999Z",      "2016-12-31T23:59:60Z",          "2023-11-14T24:00:00Z",
      "2023-11-14T24:00:00.001Z",      "2023-11-14T24:00:00Z",          "2023-02-30T01:00:00Z",
      "2023-02-30T01:00:00.5Z",        "2023-11-14t22:13:20.031z",      "2023-11-14 22:13:20.031z",
      "2023-11-14T22:13:20.031z",      "+023-11-14T22:13:20Z",          "2023-11-14T22:13:20.031Z",
      // Same minute, other seconds (the cached prefix ends at the minute).
      "2023-11-14T22:13:59.999Z",      "2023-11-14T22:13:00Z",          "2023-11-14T22:13:60Z",
      "2023-11-14T22:13:61Z",          "2023-11-14T22:13:99.1Z",        "2023-11-14T22:13:5Z",
      "2023-11-14T22:13:5a.1Z",        "2023-11-14T22:13-20.1Z",        "2023-11-14T22:13:",
      "2023-11-14T22:13:2",            "2023-11-14T22:13:20",           "2023-11-14T22:13:19.9+02:00",
      "2023-11-14T22:14:01.5Z",        "2023-11-14T22:13:20.031Z",
  };
  govstream::time::Rfc3339Cache cache;
  for (int round = 0; round < 2; ++round) {
    for (const char* text : texts) {
      int64_t want = 0, got = 0;
      std::string want_error, got_error;
      bool want_ok = govstream::time::ParseRfc3339(text, &want, &want_error);
      bool got_ok = cache.Parse(text, &got, &got_error);
      INFO(text);
      CHECK(got_ok == want_ok);
      if (want_ok) CHECK(got == want);
      if (!want_ok) CHECK(got_error == want_error);
    }
  }
}
