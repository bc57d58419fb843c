// now, fromdateiso8601, todateiso8601 -- as jq 1.6 defines them:
//   def fromdateiso8601: strptime("%Y-%m-%dT%H:%M:%SZ") | mktime;
//   def todateiso8601: strftime("%Y-%m-%dT%H:%M:%SZ");
// using the same C library calls, so the accepted inputs are the same.
#include <fmt/core.h>

#include <cctype>
#include <chrono>
#include <cmath>
#include <cstring>
#include <ctime>

#include "expr/builtins.h"

namespace govstream::expr {
namespace {

constexpr const char* kIsoFormat = "%Y-%m-%dT%H:%M:%SZ";

Res Now(const CallNode&, const Value&, EvalContext&, Value* out) {
  auto now = std::chrono::system_clock::now().time_since_epoch();
  *out = Value::Number(std::chrono::duration<double>(now).count());
  return Res::kValue;
}

Res FromDate(const CallNode&, const Value& in, EvalContext& ctx, Value* out) {
  if (!in.is_string()) return ctx.Fail("strptime/1 requires string inputs and arguments");
  std::string s(in.string());
  struct tm tm;
  std::memset(&tm, 0, sizeof tm);
  const char* end = strptime(s.c_str(), kIsoFormat, &tm);
  if (end == nullptr || (*end != '\0' && !std::isspace(static_cast<unsigned char>(*end)))) {
    return ctx.Fail(fmt::format("date \"{}\" does not match format \"{}\"", s, kIsoFormat));
  }
  *out = Value::Number(static_cast<double>(timegm(&tm)));
  return Res::kValue;
}

Res ToDate(const CallNode&, const Value& in, EvalContext& ctx, Value* out) {
  if (!in.is_number()) return ctx.Fail("strftime/1 requires parsed datetime inputs");
  double d = in.number();
  if (std::isnan(d) || std::fabs(d) > 6.7e16) return ctx.Fail(Describe(in) + " is out of range for a date");
  time_t secs = static_cast<time_t>(d);
  struct tm tm;
  if (gmtime_r(&secs, &tm) == nullptr) return ctx.Fail(Describe(in) + " is out of range for a date");
  char buf[128];
  size_t n = strftime(buf, sizeof buf, kIsoFormat, &tm);
  if (n == 0) return ctx.Fail("strftime/1: unknown system failure");
  *out = MakeString(ctx, std::string_view(buf, n));
  return Res::kValue;
}

}  // namespace

std::vector<Builtin> TimeBuiltins() {
  return {
      {"now", 0, Now, nullptr, "seconds since the Unix epoch, as a number"},
      {"fromdateiso8601", 0, FromDate, nullptr, "\"2015-03-05T23:51:47Z\" to epoch seconds"},
      {"todateiso8601", 0, ToDate, nullptr, "epoch seconds to \"2015-03-05T23:51:47Z\""},
  };
}

}  // namespace govstream::expr
