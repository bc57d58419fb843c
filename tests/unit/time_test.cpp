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
