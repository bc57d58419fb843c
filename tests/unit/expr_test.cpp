// Unit tests for lib/expr: values, number formatting, ordering, the parser's
// refusals and error positions, and the literal prefilter analysis. The
// end-to-end agreement with jq itself is tested by tests/jq/.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "base/bytes_equal.h"
#include "base/short_key_cache.h"
#include "expr/expr.h"
#include "expr/json.h"
#include "expr/projection.h"
#include "expr/value.h"

namespace ge = govstream::expr;

namespace {

// Parses `json` and evaluates `expr` on it; returns the compact output,
// "<empty>", or "<error: message>".
std::string Run(const std::string& expr, const std::string& json) {
  std::unique_ptr<ge::Expression> e;
  auto s = ge::Expression::Compile(expr, &e);
  if (!s.ok()) return "<compile: " + s.message() + ">";
  static ge::JsonParser parser;
  static ge::Arena arena;
  arena.Reset();
  std::string padded = json + std::string(64, ' ');
  ge::Value in, out;
  std::string error;
  REQUIRE(parser.Parse(std::string_view(padded.data(), json.size()), &arena, &in, &error));
  switch (e->Eval(in, &arena, &out, &error)) {
    case ge::Expression::Result::kValue: return ge::ToJson(out);
    case ge::Expression::Result::kEmpty: return "<empty>";
    case ge::Expression::Result::kError: return "<error: " + error + ">";
  }
  return "?";
}

}  // namespace

TEST_CASE("numbers print as jq 1.6 prints them", "[expr][value]") {
  struct Case {
    double v;
    const char* text;
  };
  const Case cases[] = {
      {0, "0"},         {-0.0, "-0"},        {3, "3"},           {0.1, "0.1"},
      {1e15, "1000000000000000"},            {1e16, "1e+16"},    {1e17, "1e+17"},
      {0.0001, "0.0001"}, {0.00001, "1e-05"}, {1e-7, "1e-07"},   {1.5e300, "1.5e+300"},
      {18446744073709551616.0, "18446744073709552000"},          {123456789012.0, "123456789012"},
      {0.30000000000000004, "0.30000000000000004"},              {-2.5, "-2.5"},
      {std::numeric_limits<double>::infinity(), "1.7976931348623157e+308"},
      {std::nan(""), "null"},
  };
  for (const Case& c : cases) {
    std::string out;
    ge::AppendNumber(c.v, &out);
    CHECK(out == c.text);
  }
}

TEST_CASE("jq's total order across types", "[expr][value]") {
  // Each value sorts strictly before the next.
  const char* ordered[] = {"null", "false", "true", "-1", "0", "2.5", "\"\"", "\"a\"", "\"ab\"", "\"b\"",
                           "[]", "[1]", "[1,0]", "[2]", "{}", "{\"a\":2}", "{\"a\":1,\"b\":0}", "{\"b\":0}"};
  for (size_t i = 0; i + 1 < std::size(ordered); ++i) {
    INFO(ordered[i] << " < " << ordered[i + 1]);
    CHECK(Run(std::string(ordered[i]) + " < " + ordered[i + 1], "null") == "true");
    CHECK(Run(std::string(ordered[i + 1]) + " < " + ordered[i], "null") == "false");
  }
}

TEST_CASE("paths, indices and ? follow jq", "[expr]") {
  const std::string rec = R"({"a":{"b":[10,20,30]},"k-d":1,"s p":2,"n":5,"s":"str"})";
  CHECK(Run(".a.b[0]", rec) == "10");
  CHECK(Run(".a.b[-1]", rec) == "30");
  CHECK(Run(".a.b[3]", rec) == "null");
  CHECK(Run(".a.b[1.5]", rec) == "null");
  CHECK(Run(R"(.["k-d"])", rec) == "1");
  CHECK(Run(R"(."s p")", rec) == "2");
  CHECK(Run(".missing.deeper", rec) == "null");
  CHECK(Run(".n.x", rec) == "<error: Cannot index number with \"x\">");
  CHECK(Run(".n.x?", rec) == "<empty>");
  CHECK(Run(".s[0]", rec) == "<error: Cannot index string with number>");
  CHECK(Run(".a.b[.n - 4]", rec) == "20");
  CHECK(Run(".a.b | .[[20]]", rec) == "[1]");
}

TEST_CASE("operators follow jq", "[expr]") {
  CHECK(Run("1 + 2 * 3", "null") == "7");
  CHECK(Run("-1 + 2", "null") == "1");
  CHECK(Run("-5 % 3", "null") == "-2");
  CHECK(Run("5.9 % 2.1", "null") == "1");
  CHECK(Run(R"("ab" * 2.7)", "null") == R"("abab")");
  CHECK(Run(R"("ab" * 0)", "null") == "null");
  CHECK(Run(R"("a,b" / ",")", "null") == R"(["a","b"])");
  CHECK(Run("[1,2,1] - [1]", "null") == "[2]");
  CHECK(Run(R"({"a":{"b":1,"c":2}} * {"a":{"b":3}})", "null") == R"({"a":{"b":3,"c":2}})");
  CHECK(Run(R"({"a":1} + {"b":2} + {"a":3})", "null") == R"({"a":3,"b":2})");
  CHECK(Run("null + 1", "null") == "1");
  CHECK(Run(R"(1 + "a")", "null") == R"(<error: number (1) and string ("a") cannot be added>)");
  CHECK(Run(".x // \"d\"", R"({"x":false})") == R"("d")");
  CHECK(Run(".x // \"d\"", R"({"x":0})") == "0");
  CHECK(Run("1 / .z", R"({"z":0})") ==
        "<error: number (1) and number (0) cannot be divided because the divisor is zero>");
}

TEST_CASE("builtins follow jq", "[expr]") {
  CHECK(Run("length", R"("héllo")") == "5");
  CHECK(Run("length", "-3") == "3");
  CHECK(Run("keys", R"({"b":1,"A":2,"a":3})") == R"(["A","a","b"])");
  CHECK(Run(R"(has("a"))", R"({"a":null})") == "true");
  CHECK(Run("has(1)", "[1]") == "false");
  CHECK(Run(R"(contains({"a":[1]}))", R"({"a":[1,2],"b":3})") == "true");
  CHECK(Run(R"(join("-"))", R"([1,null,"a",true])") == R"("1--a-true")");
  CHECK(Run(R"(test("^/api/v\\d"))", R"("/api/v2/x")") == "true");
  CHECK(Run(R"(test("B$"))", "\"ab\\n\"") == "false");
  CHECK(Run(R"(test("b$"))", "\"ab\\n\"") == "true");
  CHECK(Run(R"(test("AB"; "i"))", R"("xaby")") == "true");
  CHECK(Run("fromdateiso8601", R"("2015-03-05T23:51:47Z")") == "1425599507");
  CHECK(Run("todateiso8601", "1425599507.9") == R"("2015-03-05T23:51:47Z")");
  CHECK(Run("tonumber", R"(" 012 ")") == "12");
  CHECK(Run("tostring", R"({"a":[1,"x"]})") == R"("{\"a\":[1,\"x\"]}")");
  CHECK(Run("any", "[false,null,1]") == "true");
  CHECK(Run("all(. > 1)", "[2,3]") == "true");
  CHECK(Run("select(.a) | .b", R"({"a":false,"b":1})") == "<empty>");
  CHECK(Run("{a, \"b\", c: (.a + 1), (.k): 2}", R"({"a":1,"b":2,"k":"z"})") == R"({"a":1,"b":2,"c":2,"z":2})");
  CHECK(Run("[.a, select(false), .b]", R"({"a":1,"b":2})") == "[1,2]");
}

TEST_CASE("big numbers and lone surrogates parse as jq reads them", "[expr][json]") {
  CHECK(Run(".", "100000000000000000000000") == "1e+23");
  CHECK(Run(".", "1e400") == "1.7976931348623157e+308");
  CHECK(Run(". == \"\\ufffd\"", "\"\\ud800\"") == "true");
}

TEST_CASE("invalid JSON is rejected with a reason", "[expr][json]") {
  ge::JsonParser parser;
  ge::Arena arena;
  for (std::string bad : {"{\"a\":1", "[1,]", "{\"a\" 1}", "nul", "\"\\x\"", "{\"a\":1}x", "01", "\xff"}) {
    std::string padded = bad + std::string(64, ' ');
    ge::Value v;
    std::string error;
    INFO(bad);
    CHECK_FALSE(parser.Parse(std::string_view(padded.data(), bad.size()), &arena, &v, &error));
    CHECK_FALSE(error.empty());
  }
}

TEST_CASE("expressions outside the subset are refused with a column", "[expr][parser]") {
  struct Case {
    const char* expr;
    const char* message_part;
  };
  const Case cases[] = {
      {".[]", "iteration"},         {".a | .[]", "column 7"},     {"..", "recursive descent"},
      {".a as $x | $x", "as"},      {"$x", "variable"},           {"if . then 1 else 2 end", "if-then-else"},
      {"reduce . as $x (0; .)", "reduce"}, {"def f: 1; f", "def"}, {"\"\\(1)\"", "interpolation"},
      {"1, 2", "comma"},            {".[1:2]", "slicing"},        {"@base64", "format string"},
      {".a = 1", "assignment"},     {"map(.)", "'map/1'"},        {"1 < 2 < 3", "do not chain"},
      {"{a: 1 + 2}", "syntax error"}, {".a.[\"b\"]", "syntax error"}, {"(1", "expected ')'"},
      {"test(\"(a)\\\\1\")", "RE2"}, {"test(\"a\"; \"q\")", "not a valid modifier"}, {"length(1)", "takes 0"},
  };
  for (const Case& c : cases) {
    std::unique_ptr<ge::Expression> e;
    auto s = ge::Expression::Compile(c.expr, &e);
    INFO(c.expr << " -> " << s.message());
    REQUIRE_FALSE(s.ok());
    CHECK(s.code() == govstream::Status::Code::kInvalidArgument);
    CHECK(s.message().find(c.message_part) != std::string::npos);
    CHECK(s.message().find('^') != std::string::npos);
  }
}

TEST_CASE("required literal for the prefilter", "[expr][prefilter]") {
  struct Case {
    const char* expr;
    const char* literal;
  };
  const Case cases[] = {
      {R"(.path | test("^/api/v1"))", "/api/v1"},
      {R"(.path | test("^/api/v1"; "i"))", ""},
      {R"(.path | test("a|b"))", ""},
      {R"(.method == "POST")", "POST"},
      {R"(.method == "PO\"ST")", ""},
      {R"(.path | startswith("/static/"))", "/static/"},
      {R"(.status >= 500 and (.path | contains("login")))", "login"},
      {R"(.a == "x" or .b == "y")", ""},
      {R"(.status >= 500)", ""},
      {R"((.path | ascii_downcase) | test("api"))", ""},
      {R"(select(.host == "web-1"))", "web-1"},
      {R"(.x | test("ab+c"))", "ab"},
  };
  for (const Case& c : cases) {
    std::unique_ptr<ge::Expression> e;
    REQUIRE(ge::Expression::Compile(c.expr, &e).ok());
    INFO(c.expr);
    CHECK(e->required_literal() == c.literal);
  }
}

namespace {

// FieldSlots over `exprs`; the slot values of `json` as compact JSON joined
// by '|', or "<refused>" when Extract declines the record.
std::string Slots(const std::vector<std::string>& exprs, const std::string& json) {
  std::vector<std::unique_ptr<ge::Expression>> owned;
  std::vector<const ge::Expression*> used;
  for (const std::string& text : exprs) {
    owned.emplace_back();
    REQUIRE(ge::Expression::Compile(text, &owned.back()).ok());
    used.push_back(owned.back().get());
  }
  auto slots = ge::FieldSlots::Analyze(used);
  if (!slots) return "<no slots>";
  static simdjson::ondemand::parser parser;
  std::string padded = json + std::string(simdjson::SIMDJSON_PADDING, ' ');
  std::vector<ge::Value> values(slots->size());
  if (!slots->Extract(&parser, std::string_view(padded.data(), json.size()), values.data())) return "<refused>";
  std::string out;
  for (size_t i = 0; i < used.size(); ++i) {
    if (i > 0) out += '|';
    out += ge::ToJson(values[slots->slot_of(i)]);
  }
  return out;
}

}  // namespace

TEST_CASE("FieldSlots serve only single top-level fields", "[expr][projection]") {
  CHECK(Slots({".a.b"}, "{}") == "<no slots>");
  CHECK(Slots({".a", ".[0]"}, "{}") == "<no slots>");
  CHECK(Slots({".a + 1"}, "{}") == "<no slots>");
  CHECK(Slots({"."}, "{}") == "<no slots>");
  CHECK(Slots({".[\"a\\\"b\"]"}, "{}") == "<no slots>");  // a name JSON must escape
  std::vector<std::unique_ptr<ge::Expression>> owned(3);
  REQUIRE(ge::Expression::Compile(".host", &owned[0]).ok());
  REQUIRE(ge::Expression::Compile(".ms", &owned[1]).ok());
  REQUIRE(ge::Expression::Compile(".host", &owned[2]).ok());
  auto slots = ge::FieldSlots::Analyze({owned[0].get(), owned[1].get(), owned[2].get()});
  REQUIRE(slots);
  CHECK(slots->size() == 2);  // .host is read once
  CHECK(slots->slot_of(0) == slots->slot_of(2));
  CHECK(slots->name(slots->slot_of(1)) == "ms");
}

TEST_CASE("FieldSlots read records as the full parse evaluates them", "[expr][projection]") {
  const std::string rec = R"({"x":[1,{"host":"no"}],"host":"web-1","ms":12.5,"ok":true,"n":null})";
  CHECK(Slots({".host", ".ms", ".ok", ".n", ".gone"}, rec) == R"("web-1"|12.5|true|null|null)");
  CHECK(Slots({".a?"}, R"({"a":3})") == "3");
  CHECK(Slots({".host"}, "{}") == "null");
  // Duplicate keys: the first occurrence wins, as in JsonParser.
  CHECK(Slots({".ms", ".host"}, R"({"ms":1,"host":"a","ms":2,"host":"b"})") == R"(1|"a")");
  CHECK(Run(".ms", R"({"ms":1,"host":"a","ms":2})") == "1");
  // Strings are raw bytes (UTF-8 kept as is).
  CHECK(Slots({".h"}, R"({"h":"h\u00e9"})") == "<refused>");
  CHECK(Slots({".h"}, "{\"h\":\"h\xc3\xa9\"}") == "\"h\xc3\xa9\"");
  // Refused: escapes in a key read before the match or in a selected string.
  CHECK(Slots({".host"}, R"({"h\u006fst":"b","host":"a"})") == "<refused>");
  CHECK(Slots({".host"}, R"({"host":"a\"b"})") == "<refused>");
  CHECK(Slots({".host"}, R"({"\u0068ost":"b","host":"a"})") == "<refused>");
  CHECK(Slots({".ms", ".host"}, R"({"m\u0073":1,"ms":2,"host":"a"})") == "<refused>");
  // ... but not in keys that cannot be a wanted name (a first byte no name
  // starts with, and not an escape), ...
  CHECK(Slots({".host"}, R"({"p\u0061th":"x","host":"a"})") == R"("a")");
  CHECK(Slots({".host", ".ms"}, R"({"path\"":1,"ms":2,"host":"a"})") == R"("a"|2)");
  // ... nor in fields after every slot was found, nor in skipped values.
  CHECK(Slots({".host"}, R"({"other":"x\ny","host":"a","h\u006fst":"b"})") == R"("a")");
  // Refused: non-objects, arrays or objects as values, parse errors.
  CHECK(Slots({".host"}, R"(["host"])") == "<refused>");
  CHECK(Slots({".host"}, "42") == "<refused>");
  CHECK(Slots({".host"}, "null") == "<refused>");
  CHECK(Slots({".host"}, R"({"host":["a"]})") == "<refused>");
  CHECK(Slots({".host"}, R"({"host":{"a":1}})") == "<refused>");
  CHECK(Slots({".ms"}, R"({"ms":tru})") == "<refused>");
  CHECK(Slots({".ms"}, "") == "<refused>");
  // The empty name: its raw key starts with the closing quote.
  CHECK(Slots({".[\"\"]"}, R"({"a":1,"":2})") == "2");
  CHECK(Slots({".[\"\"]"}, R"({"\u0041":1,"":2})") == "<refused>");
  // Without fields, any object is accepted.
  CHECK(Slots({}, R"({"a":1})") == "");
}

TEST_CASE("BytesEqual compares every byte of short ranges", "[base]") {
  const std::string a = "web-18.prod.example.net/abcdefghij";
  for (size_t n = 0; n <= a.size(); ++n) {
    std::string b = a.substr(0, n);
    CHECK(govstream::BytesEqual(a.data(), b.data(), n));
    for (size_t i = 0; i < n; ++i) {
      std::string c = b;
      c[i] ^= 1;
      CHECK_FALSE(govstream::BytesEqual(a.data(), c.data(), n));
    }
  }
}

TEST_CASE("ShortKeyCache finds exactly the keys put, up to 24 bytes", "[base]") {
  govstream::ShortKeyCache<int> cache;
  const std::string base = "web-18.prod.example.net/abcdefghij";
  // Every length: a key differing from a cached one in any single byte, or
  // only in length, is not found.
  for (size_t n = 0; n <= 30; ++n) {
    cache.Clear();
    std::string k = base.substr(0, n);
    cache.Put(k, static_cast<int>(n));
    int v = -1;
    const bool cached = n <= govstream::ShortKeyCache<int>::kMaxBytes;
    INFO(n);
    CHECK(cache.Find(k, &v) == cached);
    if (cached) CHECK(v == static_cast<int>(n));
    for (size_t i = 0; i < n; ++i) {
      std::string c = k;
      c[i] ^= 1;
      CHECK_FALSE(cache.Find(c, &v));
    }
    CHECK_FALSE(cache.Find(base.substr(0, n + 1), &v));
    if (n > 0) CHECK_FALSE(cache.Find(base.substr(0, n - 1), &v));
    if (n > 0) CHECK_FALSE(cache.Find(std::string(n, '\0'), &v));  // zero padding is not a key byte
  }
  // Many keys: each lookup returns its own value or misses (a colliding key
  // replaced it), never another key's value; Clear forgets everything.
  cache.Clear();
  std::vector<std::string> keys;
  for (int i = 0; i < 1000; ++i) keys.push_back("host-" + std::to_string(i) + (i % 2 ? ".example.net" : ""));
  for (size_t i = 0; i < keys.size(); ++i) cache.Put(keys[i], static_cast<int>(i));
  size_t hits = 0;
  for (size_t i = 0; i < keys.size(); ++i) {
    int v = -1;
    if (cache.Find(keys[i], &v)) {
      ++hits;
      CHECK(v == static_cast<int>(i));
    }
  }
  CHECK(hits > 0);
  CHECK(hits <= 256);
  cache.Clear();
  for (const std::string& k : keys) {
    int v = -1;
    CHECK_FALSE(cache.Find(k, &v));
  }
  // Erase forgets one key only.
  cache.Put(keys[0], 0);
  cache.Put("other", 7);
  cache.Erase(keys[0]);
  cache.Erase("absent");
  int v = -1;
  CHECK_FALSE(cache.Find(keys[0], &v));
  CHECK(cache.Find("other", &v));
  CHECK(v == 7);
}

TEST_CASE("ShortKeyCache stands aside while most lookups miss", "[base]") {
  govstream::ShortKeyCache<int> cache;
  int v = -1;
  cache.Put("web-1", 1);
  REQUIRE(cache.Find("web-1", &v));
  // Many distinct keys: nearly every lookup misses.
  for (int i = 0; i < 10000; ++i) CHECK_FALSE(cache.Find("user-" + std::to_string(i), &v));
  CHECK_FALSE(cache.Find("web-1", &v));  // standing aside: Find misses ...
  cache.Put("web-2", 2);
  CHECK_FALSE(cache.Find("web-2", &v));  // ... and Put does nothing
  // After a longer stretch, it caches again (web-1 was never evicted).
  for (int i = 0; i < 100000; ++i) cache.Find("web-1", &v);
  CHECK(cache.Find("web-1", &v));
  CHECK(v == 1);
  cache.Put("web-2", 2);
  CHECK(cache.Find("web-2", &v));
  CHECK(v == 2);
}
