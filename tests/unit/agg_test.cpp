// Aggregate functions (lib/agg): the merge property of every function in the
// registry, and the parsing of aggregation and key specs.
//
// Merge property (aggregator.h): for inputs A and B, a state fed A merged
// with a state fed B gives the same result as one state fed A then B --
// exactly (byte-equal AppendResult) for the exact aggregates, within the
// documented error bounds for the sketches. first/last depend on order:
// merge(a, b) with a fed the first part.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "agg/aggregator.h"
#include "agg/canonical.h"
#include "agg/spec.h"
#include "expr/json.h"
#include "expr/value.h"

namespace ga = govstream::agg;
namespace ge = govstream::expr;

namespace {

// A generated list of values: numbers (negative too), strings, booleans,
// arrays and objects, with repeats (for distinct and top) and a skewed
// frequency distribution. Numbers are multiples of 1/8 below 1e4 in
// magnitude, so every partial sum and sum of squares is exact in a double:
// merging must then give byte-equal sums, means and variances.
struct Values {
  ge::Arena arena;  // owns the arrays and objects
  std::vector<ge::Value> all;
  std::vector<std::string> texts;  // keeps string values alive
};

std::unique_ptr<Values> MakeValues(size_t n, uint64_t seed, bool dyadic) {
  auto out = std::make_unique<Values>();
  out->texts.reserve(n);
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> kind(0, 99);
  std::uniform_int_distribution<int> eighths(-80000, 80000);
  std::uniform_int_distribution<int> small(0, 40);
  std::uniform_real_distribution<double> real(-1e6, 1e6);
  std::geometric_distribution<int> skew(0.15);
  for (size_t i = 0; i < n; ++i) {
    int k = kind(rng);
    if (k < 55) {
      out->all.push_back(ge::Value::Number(dyadic ? eighths(rng) / 8.0 : real(rng)));
    } else if (k < 62) {
      out->all.push_back(ge::Value::Number(small(rng) - 20));  // repeated numbers
    } else if (k < 82) {
      std::string text = "hot";
      if (k >= 70) {
        text = "s";
        text += std::to_string(skew(rng));
      }
      out->texts.push_back(text);
      out->all.push_back(ge::Value::String(out->texts.back()));
    } else if (k < 88) {
      out->all.push_back(ge::Value::Bool(k % 2 == 0));
    } else {
      std::string digit = std::to_string(small(rng) % 5);
      std::string text = k < 94 ? std::string("[") : std::string("{\"k\":");
      text += digit;
      text += k < 94 ? ",\"a\"]" : ",\"b\":[true,null]}";
      ge::Value v;
      std::string error;
      REQUIRE(ge::ParseJsonSlow(text, &out->arena, &v, &error));
      out->all.push_back(v);
    }
  }
  return out;
}

std::string Result(const ga::State& s) {
  std::string out;
  s.AppendResult(&out);
  return out;
}

// Feeds values [from, to) to `s`; a function without an argument (count) is
// fed null per record, as RunAggregate does.
void Feed(ga::State* s, const std::vector<ge::Value>& values, size_t from, size_t to, bool record_count) {
  for (size_t i = from; i < to; ++i) s->Add(record_count ? ge::Value::Null() : values[i]);
}

double ParseNumber(const std::string& json) {
  ge::Arena arena;
  ge::Value v;
  std::string error;
  REQUIRE(ge::ParseJsonSlow(json, &arena, &v, &error));
  REQUIRE(v.is_number());
  return v.number();
}

std::vector<double> Numbers(const std::vector<ge::Value>& values) {
  std::vector<double> out;
  for (const ge::Value& v : values) {
    if (v.is_number()) out.push_back(v.number());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Miller's non-interpolated percentile: rank floor(permille * n / 1000),
// clamped to n - 1 (integer math, no floating-point rounding).
double ExactAtPermille(const std::vector<double>& sorted, int permille) {
  size_t n = sorted.size();
  return sorted[std::min(static_cast<size_t>(permille) * n / 1000, n - 1)];
}

size_t DistinctCount(const std::vector<ge::Value>& values) {
  std::set<std::string> keys;
  for (const ge::Value& v : values) {
    std::string k;
    ga::AppendCanonical(v, &k);
    keys.insert(k);
  }
  return keys.size();
}

// top's result: canonical value -> reported count, in order.
std::vector<std::pair<std::string, uint64_t>> ParseTop(const std::string& json) {
  ge::Arena arena;
  ge::Value v;
  std::string error;
  REQUIRE(ge::ParseJsonSlow(json, &arena, &v, &error));
  REQUIRE(v.is_array());
  std::vector<std::pair<std::string, uint64_t>> out;
  ge::ForEachElement(v, [&](const ge::Value& e) {
    ge::Value value, count;
    REQUIRE(e.is_object());
    REQUIRE(e.find("value", &value));
    REQUIRE(e.find("count", &count));
    REQUIRE(count.is_number());
    std::string key;
    ga::AppendCanonical(value, &key);
    out.emplace_back(key, static_cast<uint64_t>(count.number()));
    return true;
  });
  return out;
}

struct Config {
  const ga::AggregatorDef* def;
  ga::Params params;
  int permille = -1;  // quantile only
  std::string label;
};

std::vector<Config> AllConfigs() {
  std::vector<Config> out;
  for (const ga::AggregatorDef& d : ga::Registry()) {
    if (d.extra == ga::AggregatorDef::Extra::kQuantile) {
      for (bool exact : {true, false}) {
        for (int pm : {0, 10, 290, 500, 570, 900, 990, 999, 1000}) {
          Config c{&d, {}, pm, ""};
          c.params.quantile = pm / 1000.0;
          c.params.exact = exact;
          c.label = std::string(d.name) + (exact ? " exact" : " sketch") + " q=" + std::to_string(pm / 1000.0);
          out.push_back(c);
        }
      }
    } else if (d.extra == ga::AggregatorDef::Extra::kK) {
      for (uint64_t k : {1, 3, 10, 40}) {
        Config c{&d, {}, -1, std::string(d.name) + " k=" + std::to_string(k)};
        c.params.k = k;
        out.push_back(c);
      }
    } else {
      out.push_back(Config{&d, {}, -1, std::string(d.name)});
    }
  }
  return out;
}

// Checks merge(first part, second part) against one state fed everything.
void CheckMerge(const Config& c, const std::vector<ge::Value>& values, size_t split, bool dyadic) {
  std::string name(c.def->name);
  bool record_count = c.def->arg == ga::AggregatorDef::Arg::kNone;
  std::unique_ptr<ga::State> whole = c.def->make(c.params);
  std::unique_ptr<ga::State> a = c.def->make(c.params);
  std::unique_ptr<ga::State> b = a->NewEmpty();  // as windows make pane states
  Feed(whole.get(), values, 0, values.size(), record_count);
  Feed(a.get(), values, 0, split, record_count);
  Feed(b.get(), values, split, values.size(), record_count);
  a->Merge(*b);
  std::string merged = Result(*a);
  std::string expected = Result(*whole);
  INFO(c.label << ", split at " << split << " of " << values.size());
  INFO("merged: " << merged.substr(0, 300));
  INFO("whole:  " << expected.substr(0, 300));

  if (name == "count" || name == "min" || name == "max" || name == "first" || name == "last" ||
      name == "distinct") {
    CHECK(merged == expected);
  } else if (name == "sum" || name == "avg" || name == "var" || name == "stddev") {
    if (dyadic) {
      CHECK(merged == expected);  // every partial sum is exact
    } else {
      // Floating-point addition is not associative: merged sums may differ
      // in the last bits, never more.
      REQUIRE(merged != "null");
      double m = ParseNumber(merged), w = ParseNumber(expected);
      CHECK(std::fabs(m - w) <= 1e-12 * std::max(std::fabs(m), std::fabs(w)) + 1e-300);
    }
  } else if (name == "quantile") {
    std::vector<double> sorted = Numbers(values);
    REQUIRE(!sorted.empty());
    double exact = ExactAtPermille(sorted, c.permille);
    double got = ParseNumber(merged);
    INFO("exact (Miller's rank) " << exact);
    if (c.params.exact) {
      CHECK(merged == expected);
      CHECK(got == exact);
    } else {
      CHECK(std::fabs(got - exact) <= 0.01 * std::fabs(exact) * (1 + 1e-12));
      // Same alpha, no collapsed buckets: bucket for bucket the same sketch.
      CHECK(merged == expected);
    }
  } else if (name == "approx_distinct") {
    double truth = static_cast<double>(DistinctCount(values));
    double got = ParseNumber(merged);
    INFO("true distinct " << truth);
    CHECK(std::fabs(got - truth) <= 3 * 0.0081 * truth);
    // The state depends only on the set of hashes added.
    CHECK(merged == expected);
  } else if (name == "top") {
    std::map<std::string, uint64_t> truth;
    for (const ge::Value& v : values) {
      std::string key;
      ga::AppendCanonical(v, &key);
      ++truth[key];
    }
    uint64_t n = values.size();
    uint64_t k = c.params.k;
    auto listed = ParseTop(merged);
    CHECK(listed.size() == std::min<uint64_t>(k, truth.size()));
    std::map<std::string, uint64_t> got(listed.begin(), listed.end());
    for (const auto& [item, f] : truth) {
      if (f * k > n) {
        INFO(item << " occurs " << f << " times of " << n);
        CHECK(got.count(item) == 1);
      }
    }
    for (size_t i = 0; i < listed.size(); ++i) {
      const auto& [item, count] = listed[i];
      INFO(item << " listed with " << count << ", true " << truth[item]);
      CHECK(count >= truth[item]);
      CHECK((count - truth[item]) * 2 * k <= n);  // at most N / (2k) over
      if (i > 0) CHECK(listed[i - 1].second >= count);
    }
    if (truth.size() <= std::max<uint64_t>(2 * k, 16)) CHECK(merged == expected);  // exact while it fits
  } else {
    FAIL("no merge property written for aggregate function '" << name << "'");
  }
}

}  // namespace

TEST_CASE("agg merge: every registered function, split at several points", "[agg]") {
  for (bool dyadic : {true, false}) {
    std::unique_ptr<Values> values = MakeValues(3000, dyadic ? 7 : 8, dyadic);
    const std::vector<ge::Value>& v = values->all;
    REQUIRE(DistinctCount(v) > 600);  // approx_distinct leaves its exact small-set mode
    for (const Config& c : AllConfigs()) {
      for (size_t split : {size_t{0}, size_t{1}, size_t{17}, v.size() / 3, v.size() / 2, v.size() - 1, v.size()}) {
        CheckMerge(c, v, split, dyadic);
      }
    }
  }
}

TEST_CASE("agg merge: small inputs stay exact for the sketches too", "[agg]") {
  std::unique_ptr<Values> values = MakeValues(60, 99, true);
  for (const Config& c : AllConfigs()) {
    for (size_t split : {size_t{0}, size_t{5}, size_t{30}, size_t{60}}) CheckMerge(c, values->all, split, true);
  }
}

TEST_CASE("agg merge: empty states merge to the empty result", "[agg]") {
  for (const Config& c : AllConfigs()) {
    INFO(c.label);
    std::unique_ptr<ga::State> a = c.def->make(c.params);
    std::unique_ptr<ga::State> b = a->NewEmpty();
    std::string empty = Result(*a);
    a->Merge(*b);
    CHECK(Result(*a) == empty);
  }
}

TEST_CASE("agg merge: first and last follow the order of the parts", "[agg]") {
  const ga::AggregatorDef* first = ga::FindAggregator("first");
  const ga::AggregatorDef* last = ga::FindAggregator("last");
  REQUIRE(first != nullptr);
  REQUIRE(last != nullptr);
  auto fed = [](const ga::AggregatorDef* d, std::vector<ge::Value> vs) {
    std::unique_ptr<ga::State> s = d->make(ga::Params{});
    for (const ge::Value& v : vs) s->Add(v);
    return s;
  };
  ge::Value one = ge::Value::Number(1), two = ge::Value::String("two"), three = ge::Value::Bool(false);
  // merge(a, b): a holds the earlier input.
  auto fa = fed(first, {one, two});
  auto fb = fed(first, {three});
  fa->Merge(*fb);
  CHECK(Result(*fa) == "1");
  auto la = fed(last, {one, two});
  auto lb = fed(last, {three});
  la->Merge(*lb);
  CHECK(Result(*la) == "false");
  // An empty earlier part: first comes from the later part; an empty later
  // part leaves last alone.
  auto fe = fed(first, {});
  fe->Merge(*fb);
  CHECK(Result(*fe) == "false");
  auto le = fed(last, {});
  la->Merge(*le);
  CHECK(Result(*la) == "false");
}

TEST_CASE("agg merge: three parts, either grouping", "[agg]") {
  std::unique_ptr<Values> values = MakeValues(900, 11, true);
  const auto& v = values->all;
  for (const Config& c : AllConfigs()) {
    std::string name(c.def->name);
    if (name == "top") continue;  // Space-Saving: guarantees, not equality (checked above)
    INFO(c.label);
    bool rc = c.def->arg == ga::AggregatorDef::Arg::kNone;
    auto part = [&](size_t from, size_t to) {
      std::unique_ptr<ga::State> s = c.def->make(c.params);
      Feed(s.get(), v, from, to, rc);
      return s;
    };
    auto left = part(0, 300);
    auto mid = part(300, 700);
    left->Merge(*mid);
    left->Merge(*part(700, 900));  // (a + b) + c
    auto right_mid = part(300, 700);
    right_mid->Merge(*part(700, 900));
    auto a = part(0, 300);
    a->Merge(*right_mid);  // a + (b + c)
    CHECK(Result(*left) == Result(*a));
    CHECK(Result(*left) == Result(*part(0, 900)));
  }
}

TEST_CASE("agg functions: numbers only where documented, skipped values leave no trace", "[agg]") {
  ge::Value str = ge::Value::String("7"), yes = ge::Value::Bool(true), num = ge::Value::Number(-2.5);
  for (std::string name : {"sum", "avg", "min", "max", "var", "stddev", "quantile"}) {
    for (bool exact : {false, true}) {
      INFO(name << (exact ? " exact" : ""));
      ga::Params p;
      p.exact = exact;
      std::unique_ptr<ga::State> s = ga::FindAggregator(name)->make(p);
      CHECK_FALSE(s->Add(str));
      CHECK_FALSE(s->Add(yes));
      std::string empty = Result(*s);
      CHECK(empty == (name == "sum" ? "0" : "null"));
      CHECK(s->Add(num));
      CHECK(s->Add(ge::Value::Number(-2.5)));
      std::string r = Result(*s);
      if (name == "var" || name == "stddev") CHECK(r == "0");
      else if (name == "sum") CHECK(r == "-5");
      else CHECK(r == "-2.5");
    }
  }
  for (std::string name : {"first", "last", "distinct", "approx_distinct", "top"}) {
    INFO(name);
    std::unique_ptr<ga::State> s = ga::FindAggregator(name)->make(ga::Params{});
    CHECK(s->Add(str));
    CHECK(s->Add(yes));
  }
}

TEST_CASE("agg functions: distinct compares values as jq does", "[agg]") {
  ge::Arena arena;
  std::vector<ge::Value> vs;
  for (const char* text : {"1", "1.0", "1e0", "\"1\"", "true", "\"true\"", "[1,2]", "{\"a\":1,\"b\":2}",
                           "{\"b\":2,\"a\":1}", "\"\"", "0", "-0", "0.0"}) {
    ge::Value v;
    std::string error;
    REQUIRE(ge::ParseJsonSlow(text, &arena, &v, &error));
    vs.push_back(v);
  }
  // jq: 1 == 1.0 == 1e0, {"a":1,"b":2} == {"b":2,"a":1}, 0 == -0 == 0.0.
  for (std::string name : {"distinct", "approx_distinct"}) {
    INFO(name);
    std::unique_ptr<ga::State> s = ga::FindAggregator(name)->make(ga::Params{});
    for (const ge::Value& v : vs) s->Add(v);
    CHECK(Result(*s) == "8");
  }
}

TEST_CASE("agg functions: exact quantile is Miller's non-interpolated percentile", "[agg]") {
  // mlr stats1 -a pNN (without -i): rank floor(NN * n / 100), clamped to
  // n - 1. In floating point 0.29 * 100 is 28.999..., but Miller's p29 of
  // 0..99 is 29 (it computes 29 * 100 / 100).
  for (int n : {100, 200, 1000, 7}) {
    for (int pct : {0, 1, 10, 29, 50, 57, 58, 75, 90, 99, 100}) {
      for (bool exact : {true, false}) {
        ga::Params p;
        p.quantile = pct / 100.0;
        p.exact = exact;
        std::unique_ptr<ga::State> s = ga::FindAggregator("quantile")->make(p);
        for (int i = n - 1; i >= 0; --i) s->Add(ge::Value::Number(i));
        int want = std::min(pct * n / 100, n - 1);
        INFO("n=" << n << " p" << pct << (exact ? " exact" : " sketch"));
        double got = ParseNumber(Result(*s));
        if (exact) {
          CHECK(got == want);
        } else {
          CHECK(std::fabs(got - want) <= 0.01 * want * (1 + 1e-12));
        }
      }
    }
  }
}

// -- spec parsing ----------------------------------------------------------

namespace {

ga::AggSpec Parse(const std::string& text, bool exact = false) {
  ga::AggSpec spec;
  govstream::Status s = ga::ParseAggSpec(text, exact, &spec);
  INFO(text << ": " << s.message());
  REQUIRE(s.ok());
  REQUIRE(spec.def != nullptr);
  return spec;
}

std::string ParseError(const std::string& text) {
  ga::AggSpec spec;
  govstream::Status s = ga::ParseAggSpec(text, false, &spec);
  INFO(text);
  REQUIRE_FALSE(s.ok());
  CHECK(s.code() == govstream::Status::Code::kInvalidArgument);
  CHECK(s.message().find(text) != std::string::npos);  // the message names the spec
  return s.message();
}

}  // namespace

TEST_CASE("agg spec: default output names", "[agg]") {
  ga::AggSpec count = Parse("count");
  CHECK(count.output_name == "count");
  CHECK(count.def->name == "count");
  CHECK(count.arg == nullptr);
  CHECK(Parse("avg(.latency_ms)").output_name == "avg_latency_ms");
  CHECK(Parse("p99(.latency_ms)").output_name == "p99_latency_ms");
  CHECK(Parse("top(.path)").output_name == "top_path");
  CHECK(Parse("top(.path, 3)").output_name == "top_path");
  CHECK(Parse("count(.user)").output_name == "count_user");
  CHECK(Parse("avg(.client.latency)").output_name == "avg_latency");
  CHECK(Parse("quantile(.bytes, 0.75)").output_name == "quantile_bytes");
  CHECK(Parse("distinct(.user)").output_name == "distinct_user");
  CHECK(Parse("approx_distinct(.user)").output_name == "approx_distinct_user");
  CHECK(Parse("p999(.x)").output_name == "p999_x");
  // Not a path: the function's name.
  CHECK(Parse("sum(.a + .b)").output_name == "sum");
  CHECK(Parse("sum(.)").output_name == "sum");
  CHECK(Parse("max(.a[0])").output_name == "max");
  CHECK(Parse("  count  ").output_name == "count");
}

TEST_CASE("agg spec: name= overrides the default", "[agg]") {
  ga::AggSpec s = Parse("slow=p99(.latency_ms)");
  CHECK(s.output_name == "slow");
  CHECK(s.def->name == "quantile");
  CHECK(s.params.quantile == Approx(0.99));
  CHECK(Parse("n=count").output_name == "n");
  CHECK(Parse("errors=count(select(.status >= 500))").output_name == "errors");
  // "==" is a comparison, not a name.
  CHECK(Parse("count(.a == 1)").output_name == "count");
  REQUIRE(s.arg != nullptr);
  CHECK(s.arg->text() == ".latency_ms");
}

TEST_CASE("agg spec: percentile shorthands and quantile(EXPR, q)", "[agg]") {
  struct {
    const char* text;
    double q;
  } cases[] = {{"p50(.x)", 0.5},   {"p75(.x)", 0.75},  {"p90(.x)", 0.9},        {"p95(.x)", 0.95},
               {"p99(.x)", 0.99},  {"p999(.x)", 0.999}, {"p0(.x)", 0.0},        {"p100(.x)", 1.0},
               {"p9999(.x)", 0.9999}, {"quantile(.x, 0.25)", 0.25}, {"quantile(.x,1)", 1.0},
               {"quantile(.x, 0)", 0.0}};
  for (const auto& c : cases) {
    INFO(c.text);
    ga::AggSpec s = Parse(c.text);
    CHECK(s.def->name == "quantile");
    CHECK(s.params.quantile == Approx(c.q).epsilon(1e-12));
    CHECK_FALSE(s.params.exact);
  }
  CHECK(Parse("p50(.x)", true).params.exact);
  CHECK(Parse("quantile(.x, 0.25)", true).params.exact);
  // The comma that separates q is the last one outside brackets and strings.
  ga::AggSpec s = Parse("quantile(.a | split(\",\") | length, 0.9)");
  CHECK(s.params.quantile == Approx(0.9));
  CHECK(s.arg->text() == ".a | split(\",\") | length");
}

TEST_CASE("agg spec: top(EXPR, k)", "[agg]") {
  CHECK(Parse("top(.path)").params.k == 10);
  CHECK(Parse("top(.path, 3)").params.k == 3);
  CHECK(Parse("top(.path,1)").params.k == 1);
  ga::AggSpec s = Parse("top([.a, .b], 5)");
  CHECK(s.params.k == 5);
  CHECK(s.arg->text() == "[.a, .b]");
  CHECK(s.output_name == "top");
}

TEST_CASE("agg spec: errors", "[agg]") {
  CHECK_THAT(ParseError("median(.x)"), Catch::Contains("unknown function 'median'"));
  CHECK_THAT(ParseError("p101(.x)"), Catch::Contains("unknown function"));
  CHECK_THAT(ParseError("quantile(.x, 1.5)"), Catch::Contains("q between 0 and 1"));
  CHECK_THAT(ParseError("quantile(.x, -0.1)"), Catch::Contains("q between 0 and 1"));
  CHECK_THAT(ParseError("quantile(.x, abc)"), Catch::Contains("q between 0 and 1"));
  CHECK_THAT(ParseError("quantile(.x)"), Catch::Contains("q between 0 and 1"));
  CHECK_THAT(ParseError("top(.x, 0)"), Catch::Contains("k between 1 and 100000"));
  CHECK_THAT(ParseError("top(.x, -2)"), Catch::Contains("k between 1 and 100000"));
  CHECK_THAT(ParseError("top(.x, 2.5)"), Catch::Contains("k between 1 and 100000"));
  CHECK_THAT(ParseError("sum"), Catch::Contains("needs an expression"));
  CHECK_THAT(ParseError("sum()"), Catch::Contains("needs an expression"));
  CHECK_THAT(ParseError("p99"), Catch::Contains("needs an expression"));
  CHECK_THAT(ParseError("top"), Catch::Contains("needs an expression"));
  CHECK_THAT(ParseError("name=avg"), Catch::Contains("needs an expression"));
  CHECK_THAT(ParseError("p99(.x, 0.5)"), Catch::Contains("no second argument"));
  CHECK_THAT(ParseError("sum(.x"), Catch::Contains("expected ')'"));
  CHECK_THAT(ParseError("sum(.x +)"), Catch::Contains("syntax error"));
}

TEST_CASE("agg spec: group keys", "[agg]") {
  ga::KeySpec k;
  REQUIRE(ga::ParseKeySpec(".host", 0, &k).ok());
  CHECK(k.output_name == "host");
  REQUIRE(ga::ParseKeySpec(".client.country", 1, &k).ok());
  CHECK(k.output_name == "country");
  REQUIRE(ga::ParseKeySpec("h=.host", 0, &k).ok());
  CHECK(k.output_name == "h");
  CHECK(k.expr->text() == ".host");
  REQUIRE(ga::ParseKeySpec(".status / 100 | floor", 0, &k).ok());
  CHECK(k.output_name == "key1");
  REQUIRE(ga::ParseKeySpec(".a == 1", 2, &k).ok());
  CHECK(k.output_name == "key3");
  REQUIRE(ga::ParseKeySpec("ok=.a==1", 0, &k).ok());
  CHECK(k.output_name == "ok");
  CHECK(k.expr->text() == ".a==1");
  govstream::Status bad = ga::ParseKeySpec(".a +", 0, &k);
  CHECK_FALSE(bad.ok());
  CHECK_THAT(bad.message(), Catch::Contains("--by '.a +'"));

  CHECK(ga::PathFieldName(".host") == "host");
  CHECK(ga::PathFieldName(".client.country") == "country");
  CHECK(ga::PathFieldName(" .a ") == "a");
  CHECK(ga::PathFieldName(".") == "");
  CHECK(ga::PathFieldName(".a[0]") == "");
  CHECK(ga::PathFieldName("host") == "");
  CHECK(ga::PathFieldName(".a | .b") == "");
}

TEST_CASE("agg spec: output names must be distinct", "[agg]") {
  std::vector<ga::KeySpec> keys(1);
  REQUIRE(ga::ParseKeySpec(".host", 0, &keys[0]).ok());
  std::vector<ga::AggSpec> aggs;
  aggs.push_back(Parse("count"));
  aggs.push_back(Parse("avg(.x)"));
  CHECK(ga::CheckDistinctNames(keys, aggs).ok());
  aggs.push_back(Parse("sum(.a.x)"));
  aggs.push_back(Parse("sum(.b.x)"));
  govstream::Status s = ga::CheckDistinctNames(keys, aggs);
  CHECK_FALSE(s.ok());
  CHECK_THAT(s.message(), Catch::Contains("'sum_x'"));
  std::vector<ga::AggSpec> one;
  one.push_back(Parse("host=count"));
  CHECK_FALSE(ga::CheckDistinctNames(keys, one).ok());
}

// --state (aggregator.h Save/Load): a state saved and loaded into a fresh
// one behaves exactly as the original from then on -- the same result now,
// after more input, and after a merge -- for every registered function,
// including sketches past their exact (sparse) sizes.
namespace {

std::string Saved(const ga::State& s) {
  std::string out;
  s.Save(&out);
  return out;
}

std::unique_ptr<ga::State> Reloaded(const ga::State& s, ge::Arena* arena) {
  ge::Value v;
  std::string error;
  std::string text = Saved(s);
  REQUIRE(ge::ParseJsonSlow(text, arena, &v, &error));
  std::unique_ptr<ga::State> fresh = s.NewEmpty();
  REQUIRE(fresh->Load(v));
  return fresh;
}

}  // namespace

TEST_CASE("agg state: saved and loaded, every function behaves as the original", "[agg]") {
  for (size_t n : {0, 3, 200, 6000}) {
    auto values = MakeValues(n, 77 + n, /*dyadic=*/false);
    for (const Config& c : AllConfigs()) {
      INFO(c.label << " n=" << n);
      const bool record_count = c.def->arg == ga::AggregatorDef::Arg::kNone;
      size_t half = n / 2;
      auto original = c.def->make(c.params);
      Feed(original.get(), values->all, 0, half, record_count);
      ge::Arena arena;
      auto loaded = Reloaded(*original, &arena);
      CHECK(Result(*loaded) == Result(*original));
      CHECK(Saved(*loaded) == Saved(*original));
      Feed(original.get(), values->all, half, n, record_count);
      Feed(loaded.get(), values->all, half, n, record_count);
      CHECK(Result(*loaded) == Result(*original));
      auto other = c.def->make(c.params);
      Feed(other.get(), values->all, 0, n / 3, record_count);
      original->Merge(*other);
      loaded->Merge(*other);
      CHECK(Result(*loaded) == Result(*original));
      // Twice through Save/Load changes nothing.
      auto again = Reloaded(*Reloaded(*original, &arena), &arena);
      CHECK(Saved(*again) == Saved(*original));
    }
  }
}

TEST_CASE("agg state: a value that is not a saved state is refused by every function", "[agg]") {
  for (const Config& c : AllConfigs()) {
    INFO(c.label);
    for (const char* bad : {"{\"x\":1}", "true", "[\"a\",{}]"}) {
      INFO(bad);
      ge::Arena arena;
      ge::Value v;
      std::string error;
      REQUIRE(ge::ParseJsonSlow(bad, &arena, &v, &error));
      auto s = c.def->make(c.params);
      CHECK_FALSE(s->Load(v));
    }
  }
}
