// lib/window: window assignment, firing, watermarks, lateness, merging.
// Times in these tests are small millisecond values; the aggregates are
// count and sum(.v), fed directly (no JSON).
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "agg/spec.h"
#include "window/assigner.h"
#include "window/operator.h"

namespace gw = govstream::window;
using govstream::expr::Value;

namespace {

class Harness {
 public:
  explicit Harness(gw::WindowSpec spec, int64_t max_delay = 0, int64_t every = 0, uint64_t max_groups = 0,
                   int64_t idle = 0) {
    aggs_.resize(2);
    REQUIRE(govstream::agg::ParseAggSpec("count", false, &aggs_[0]).ok());
    REQUIRE(govstream::agg::ParseAggSpec("sum(.v)", false, &aggs_[1]).ok());
    gw::OperatorOptions o;
    o.window = spec;
    o.aggs = &aggs_;
    o.key_fields = 1;
    o.max_delay_ms = max_delay;
    o.every_ms = every;
    o.max_groups = max_groups;
    o.idle_timeout_ms = idle;
    op_ = std::make_unique<gw::WindowOperator>(o, [this](const gw::Result& r, const gw::KeyEntry& k) {
      std::string s = std::to_string(r.start) + ".." + std::to_string(r.end) + " " + k.key_json[0] + " ";
      (*r.states)[0]->AppendResult(&s);
      s += " ";
      (*r.states)[1]->AppendResult(&s);
      s += " ";
      s += gw::MarkName(r.mark);
      out.push_back(s);
    });
  }

  // Returns false when the record was dropped as too late.
  bool Feed(int64_t t, const std::string& key, double v, int64_t now = 0) {
    std::string json = "\"" + key + "\"";
    const gw::States* states = op_->Assign(t, now, "[" + json + "]", {json});
    if (states == nullptr) return false;
    (*states)[0]->Add(Value::Null());
    (*states)[1]->Add(Value::Number(v));
    op_->Commit(now);
    return true;
  }
  // As Feed, with the key looked up the way stream-window's one-pass
  // reader does: by its raw string first, interned and remembered if new.
  bool FeedString(int64_t t, const std::string& key, double v, int64_t now = 0) {
    gw::KeyTable& keys = op_->keys();
    gw::KeyId id = keys.FindString(key);
    if (id == gw::kNoKey) {
      std::string json = "\"" + key + "\"";
      id = keys.Intern("[" + json + "]", {json});
      keys.RememberString(key, id);
    }
    const gw::States* states = op_->Assign(t, now, id);
    if (states == nullptr) return false;
    (*states)[0]->Add(Value::Null());
    (*states)[1]->Add(Value::Number(v));
    op_->Commit(now);
    return true;
  }
  std::vector<std::string> Take() {
    std::vector<std::string> r;
    r.swap(out);
    return r;
  }
  gw::WindowOperator& op() { return *op_; }
  std::vector<std::string> out;

 private:
  std::vector<govstream::agg::AggSpec> aggs_;
  std::unique_ptr<gw::WindowOperator> op_;
};

gw::WindowSpec Tumbling(int64_t size, int64_t lateness = 0, int64_t offset = 0) {
  gw::WindowSpec s;
  s.kind = gw::Kind::kTumbling;
  s.size_ms = s.slide_ms = size;
  s.allowed_lateness_ms = lateness;
  s.offset_ms = offset;
  return s;
}

gw::WindowSpec Sliding(int64_t size, int64_t slide, int64_t lateness = 0) {
  gw::WindowSpec s;
  s.kind = gw::Kind::kSliding;
  s.size_ms = size;
  s.slide_ms = slide;
  s.allowed_lateness_ms = lateness;
  return s;
}

using Lines = std::vector<std::string>;

}  // namespace

TEST_CASE("AlignDown floors for negative times and offsets", "[window]") {
  CHECK(gw::AlignDown(0, 10, 0) == 0);
  CHECK(gw::AlignDown(9, 10, 0) == 0);
  CHECK(gw::AlignDown(10, 10, 0) == 10);
  CHECK(gw::AlignDown(-1, 10, 0) == -10);
  CHECK(gw::AlignDown(-10, 10, 0) == -10);
  CHECK(gw::AlignDown(14, 10, 5) == 5);
  CHECK(gw::AlignDown(15, 10, 5) == 15);
  CHECK(gw::AlignDown(4, 10, 5) == -5);
}

TEST_CASE("tumbling: a record exactly on a boundary starts the next window", "[window]") {
  Harness h(Tumbling(100));
  h.Feed(0, "a", 1);
  h.Feed(99, "a", 2);
  CHECK(h.Take().empty());
  h.Feed(100, "a", 4);  // watermark 100 = end of [0, 100): it fires
  CHECK(h.Take() == Lines{"0..100 \"a\" 2 3 final"});
  h.op().Finish();
  CHECK(h.Take() == Lines{"100..200 \"a\" 1 4 final"});
}

TEST_CASE("tumbling: output ordered by window end, then key in jq order", "[window]") {
  Harness h(Tumbling(100));
  h.Feed(10, "b", 1);
  h.Feed(20, "a", 1);
  h.Feed(30, "B", 1);
  h.Feed(110, "c", 1);
  h.op().Finish();
  CHECK(h.Take() == Lines{"0..100 \"B\" 1 1 final", "0..100 \"a\" 1 1 final", "0..100 \"b\" 1 1 final",
                          "100..200 \"c\" 1 1 final"});
}

TEST_CASE("tumbling with an offset", "[window]") {
  Harness h(Tumbling(100, 0, 30));
  h.Feed(29, "a", 1);
  h.Feed(30, "a", 1);
  h.op().Finish();
  CHECK(h.Take() == Lines{"-70..30 \"a\" 1 1 final", "30..130 \"a\" 1 1 final"});
}

TEST_CASE("watermark: out-of-order records within max-delay are counted", "[window]") {
  Harness h(Tumbling(100), /*max_delay=*/50);
  h.Feed(90, "a", 1);
  h.Feed(120, "a", 1);  // watermark 70
  h.Feed(95, "a", 1);   // still in [0, 100)
  CHECK(h.Take().empty());
  h.Feed(150, "a", 1);  // watermark 100: fires
  CHECK(h.Take() == Lines{"0..100 \"a\" 2 2 final"});
  CHECK(h.op().watermark() == 100);
  CHECK(h.Feed(60, "a", 1) == false);  // beyond lateness 0: dropped
  CHECK(h.op().stats().late_dropped == 1);
}

TEST_CASE("lateness: a late record within allowed lateness re-emits an update, beyond it is dropped",
          "[window]") {
  Harness h(Tumbling(100, /*lateness=*/100));
  h.Feed(10, "a", 1);
  h.Feed(120, "a", 1);
  CHECK(h.Take() == Lines{"0..100 \"a\" 1 1 final"});
  REQUIRE(h.Feed(50, "a", 5));  // watermark 120 < 100 + 100
  CHECK(h.Take() == Lines{"0..100 \"a\" 2 6 update"});
  REQUIRE(h.Feed(60, "b", 7));  // a key new to the fired window: its first result is final
  CHECK(h.Take() == Lines{"0..100 \"b\" 1 7 final"});
  h.Feed(200, "a", 1);  // watermark 200 = 100 + lateness: [0, 100) is purged
  CHECK(h.Take() == Lines{"100..200 \"a\" 1 1 final"});
  CHECK(h.Feed(99, "a", 1) == false);
  CHECK(h.op().stats().late_dropped == 1);
}

TEST_CASE("sliding: each record counts in size/slide windows, computed from panes", "[window]") {
  Harness h(Sliding(100, 50));
  h.Feed(10, "a", 1);
  h.Feed(60, "a", 2);  // watermark 60: [-50, 50) fires
  CHECK(h.Take() == Lines{"-50..50 \"a\" 1 1 final"});
  h.Feed(100, "a", 4);  // watermark 100: fires [0, 100)
  CHECK(h.Take() == Lines{"0..100 \"a\" 2 3 final"});
  h.op().Finish();
  CHECK(h.Take() == Lines{"50..150 \"a\" 2 6 final", "100..200 \"a\" 1 4 final"});
}

TEST_CASE("sliding: windows fire in end order as the watermark passes them", "[window]") {
  Harness h(Sliding(30, 10));
  h.Feed(5, "a", 1);
  CHECK(h.Take().empty());
  h.Feed(12, "a", 1);  // watermark 12: [-20, 10) fires
  CHECK(h.Take() == Lines{"-20..10 \"a\" 1 1 final"});
  h.Feed(31, "a", 1);  // [-10, 20), [0, 30) fire
  CHECK(h.Take() == Lines{"-10..20 \"a\" 2 2 final", "0..30 \"a\" 2 2 final"});
  h.op().Finish();
  CHECK(h.Take() == Lines{"10..40 \"a\" 2 2 final", "20..50 \"a\" 1 1 final", "30..60 \"a\" 1 1 final"});
}

TEST_CASE("sliding: slide not dividing size uses gcd panes", "[window]") {
  // Panes of 20; windows start at multiples of 40 (as in Flink), so they
  // end at 60, 100, 140, ...: 30 is in [-40, 60) and [0, 100), 70 in
  // [0, 100) and [40, 140).
  Harness h(Sliding(100, 40));
  h.Feed(30, "a", 1);
  h.Feed(70, "a", 1);
  h.op().Finish();
  CHECK(h.Take() == Lines{"-40..60 \"a\" 1 1 final", "0..100 \"a\" 2 2 final", "40..140 \"a\" 1 1 final"});
}

TEST_CASE("sliding: a late update re-emits every fired window that holds the record", "[window]") {
  Harness h(Sliding(100, 50, /*lateness=*/100));
  h.Feed(60, "a", 1);
  h.Feed(160, "a", 1);  // fires [0,100), [50,150)
  CHECK(h.Take() == Lines{"0..100 \"a\" 1 1 final", "50..150 \"a\" 1 1 final"});
  REQUIRE(h.Feed(70, "a", 5));
  CHECK(h.Take() == Lines{"0..100 \"a\" 2 6 update", "50..150 \"a\" 2 6 update"});
}

TEST_CASE("sliding: late updates when the slide does not divide the size", "[window]") {
  Harness h(Sliding(50, 20, /*lateness=*/100));  // windows [20k, 20k + 50)
  h.Feed(30, "a", 1);                            // in [0,50) and [20,70)
  h.Feed(75, "a", 1);                            // fires [0,50) and [20,70)
  CHECK(h.Take() == Lines{"0..50 \"a\" 1 1 final", "20..70 \"a\" 1 1 final"});
  REQUIRE(h.Feed(45, "a", 5));  // in [0,50), [20,70) (fired) and [40,90) (open)
  CHECK(h.Take() == Lines{"0..50 \"a\" 2 6 update", "20..70 \"a\" 2 6 update"});
  h.op().Finish();
  CHECK(h.Take() == Lines{"40..90 \"a\" 2 6 final", "60..110 \"a\" 1 1 final"});
}

TEST_CASE("session: records within the gap share a session, a bridging record merges two", "[window]") {
  gw::WindowSpec s;
  s.kind = gw::Kind::kSession;
  s.gap_ms = 10;
  Harness h(s, /*max_delay=*/100);
  h.Feed(0, "a", 1);
  h.Feed(5, "a", 1);    // [0, 15)
  h.Feed(30, "a", 1);   // [30, 40)
  h.Feed(100, "b", 1);  // watermark 0
  h.Feed(18, "a", 1);   // [18, 28) touches neither: [15 < 18], 28 < 30
  h.Feed(22, "a", 1);   // [22, 32) touches [18, 28) and [30, 40): merged [18, 40)
  h.op().Finish();
  CHECK(h.Take() == Lines{"0..15 \"a\" 2 2 final", "18..40 \"a\" 3 3 final", "100..110 \"b\" 1 1 final"});
}

TEST_CASE("session: touching windows merge, fired sessions take late updates", "[window]") {
  gw::WindowSpec s;
  s.kind = gw::Kind::kSession;
  s.gap_ms = 10;
  s.allowed_lateness_ms = 50;
  Harness h(s);
  h.Feed(0, "a", 1);
  h.Feed(10, "a", 1);  // [10, 20) touches [0, 10): [0, 20)
  h.Feed(40, "b", 1);  // watermark 40: [0, 20) fires
  CHECK(h.Take() == Lines{"0..20 \"a\" 2 2 final"});
  REQUIRE(h.Feed(15, "a", 3));  // within lateness: the session is updated
  CHECK(h.Take() == Lines{"0..25 \"a\" 3 5 update"});
  h.Feed(100, "b", 1);  // [40,50) of b fires; a's session is purged (25 + 50 <= 100)
  CHECK(h.Take() == Lines{"40..50 \"b\" 1 1 final"});
  CHECK(h.Feed(20, "a", 1) == false);
}

TEST_CASE("count: a window per key every N records, partial windows at the end", "[window]") {
  gw::WindowSpec s;
  s.kind = gw::Kind::kCount;
  s.count = 2;
  Harness h(s);
  h.Feed(5, "a", 1);
  h.Feed(1, "b", 1);
  CHECK(h.Take().empty());
  h.Feed(3, "a", 2);
  CHECK(h.Take() == Lines{"3..5 \"a\" 2 3 final"});
  h.Feed(0, "a", 1);
  h.op().Finish();
  CHECK(h.Take() == Lines{"0..0 \"a\" 1 1 final", "1..1 \"b\" 1 1 final"});
}

TEST_CASE("emit changes: early results for changed open windows at each period", "[window]") {
  Harness h(Tumbling(100), 0, /*every=*/20);
  h.Feed(5, "a", 1);   // arms the timer (next tick at 20)
  h.Feed(21, "a", 1);  // tick
  CHECK(h.Take() == Lines{"0..100 \"a\" 2 2 early"});
  h.Feed(45, "b", 1);  // tick: only b changed
  CHECK(h.Take() == Lines{"0..100 \"b\" 1 1 early"});
  h.Feed(50, "b", 1);  // no tick
  CHECK(h.Take().empty());
  h.Feed(100, "a", 1);  // [0,100) fires (final), then the tick for [100, 200)
  CHECK(h.Take() == Lines{"0..100 \"a\" 2 2 final", "0..100 \"b\" 2 2 final", "100..200 \"a\" 1 1 early"});
}

TEST_CASE("idle timeout advances the watermark with the wall clock", "[window]") {
  Harness h(Tumbling(100), /*max_delay=*/0, 0, 0, /*idle=*/1000);
  h.Feed(50, "a", 1, /*now=*/10'000);
  h.op().OnWallClock(10'500);  // not idle yet
  CHECK(h.Take().empty());
  h.op().OnWallClock(11'000);  // idle: watermark = 50 + 1000 >= 100
  CHECK(h.Take() == Lines{"0..100 \"a\" 1 1 final"});
  CHECK(h.op().watermark() == 1050);
}

TEST_CASE("max groups folds new keys into (other) and forgets purged keys", "[window]") {
  Harness h(Tumbling(100), 0, 0, /*max_groups=*/2);
  h.Feed(1, "a", 1);
  h.Feed(2, "b", 1);
  h.Feed(3, "c", 1);
  h.Feed(4, "d", 1);
  CHECK(h.op().keys_overflowed());
  // e arrives while a, b and (other) are live: folded too. Then [0,100)
  // fires and is purged, and its keys are forgotten.
  h.Feed(100, "e", 1);
  CHECK(h.Take() == Lines{"0..100 \"a\" 1 1 final", "0..100 \"b\" 1 1 final", "0..100 \"(other)\" 2 2 final"});
  h.Feed(150, "f", 1);  // live keys: (other) only, so f is a key of its own
  h.op().Finish();
  CHECK(h.Take() == Lines{"100..200 \"f\" 1 1 final", "100..200 \"(other)\" 1 1 final"});
}

TEST_CASE("string key index: same results as canonical keys, forgotten and overflow keys are not found",
          "[window]") {
  Harness h(Tumbling(100), 0, 0, /*max_groups=*/2);
  h.FeedString(1, "a", 1);
  h.FeedString(2, "b", 1);
  h.FeedString(3, "c", 1);  // folded into (other): never remembered
  CHECK(h.op().keys().FindString("c") == gw::kNoKey);
  h.FeedString(4, "c", 1);  // counted again as an overflow record
  CHECK(h.op().stats().overflow_records == 2);
  CHECK(h.op().keys().FindString("a") != gw::kNoKey);
  h.FeedString(100, "e", 1);  // [0,100) fires and is purged: a and b are forgotten
  CHECK(h.Take() == Lines{"0..100 \"a\" 1 1 final", "0..100 \"b\" 1 1 final", "0..100 \"(other)\" 2 2 final"});
  CHECK(h.op().keys().FindString("a") == gw::kNoKey);
  CHECK(h.op().keys().FindString("b") == gw::kNoKey);
  h.FeedString(150, "f", 1);  // may reuse a's id: must not be found as "a"
  CHECK(h.op().keys().FindString("f") != gw::kNoKey);
  CHECK(h.op().keys().FindString("a") == gw::kNoKey);
  CHECK_FALSE(h.FeedString(10, "g", 1));  // too late: the new key is released
  CHECK(h.op().keys().FindString("g") == gw::kNoKey);
  h.FeedString(160, "f", 2);
  h.op().Finish();
  CHECK(h.Take() == Lines{"100..200 \"f\" 2 3 final", "100..200 \"(other)\" 1 1 final"});
}

TEST_CASE("string key index: strings whose JSON needs escapes are found by Intern only", "[window]") {
  gw::KeyTable keys(1, 0);
  gw::KeyId id = keys.Intern("[\"a\\\"b\"]", {"\"a\\\"b\""});
  keys.RememberString("a\"b", id);
  CHECK(keys.FindString("a\"b") == gw::kNoKey);
  gw::KeyId plain = keys.Intern("[\"ab\"]", {"\"ab\""});
  keys.RememberString("ab", plain);
  CHECK(keys.FindString("ab") == plain);
  keys.ReleaseIfUnused(plain);
  CHECK(keys.FindString("ab") == gw::kNoKey);
}

TEST_CASE("sliding: a record behind the watermark in a pane already aggregated is counted in the open windows",
          "[window]") {
  Harness h(Sliding(100, 50));
  h.Feed(10, "a", 1);
  h.Feed(60, "a", 1);  // fires [-50, 50): the pane [0, 50) is now in a's running aggregates
  CHECK(h.Take() == Lines{"-50..50 \"a\" 1 1 final"});
  REQUIRE(h.Feed(20, "a", 5));  // late for [-50, 50), still in time for [0, 100)
  CHECK(h.Take().empty());      // [-50, 50) is past its lateness (0): no update
  h.Feed(100, "a", 1);
  CHECK(h.Take() == Lines{"0..100 \"a\" 3 7 final"});
}

TEST_CASE("sliding: final results equal a brute-force count over random keys, gaps and disorder", "[window]") {
  struct Shape {
    int64_t size, slide, delay;
  };
  for (Shape shape : {Shape{100, 10, 0}, Shape{100, 30, 25}, Shape{60, 60, 5}, Shape{250, 50, 40}, Shape{70, 20, 15}}) {
    INFO("size " << shape.size << " slide " << shape.slide << " delay " << shape.delay);
    uint64_t seed = 12345;
    auto rnd = [&seed](uint64_t n) {
      seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
      return (seed >> 33) % n;
    };
    // Times with bursts and long gaps; arrival shuffled within `delay`.
    std::vector<std::pair<int64_t, int64_t>> arrivals;  // (arrival key, time)
    std::vector<std::pair<int64_t, std::string>> recs;
    int64_t t = -500;
    for (int i = 0; i < 3000; ++i) {
      t += rnd(10) == 0 ? static_cast<int64_t>(rnd(700)) : static_cast<int64_t>(rnd(4));
      std::string key = std::string(1, static_cast<char>('a' + rnd(i % 500 < 250 ? 3 : 9)));
      int64_t arrival = t + static_cast<int64_t>(shape.delay > 0 ? rnd(static_cast<uint64_t>(shape.delay)) : 0);
      arrivals.emplace_back(arrival * 4096 + i, static_cast<int64_t>(recs.size()));
      recs.emplace_back(t, key);
    }
    std::sort(arrivals.begin(), arrivals.end());
    Harness h(Sliding(shape.size, shape.slide), shape.delay);
    for (const auto& [a, idx] : arrivals) REQUIRE(h.Feed(recs[idx].first, recs[idx].second, 1));
    h.op().Finish();
    std::map<std::pair<int64_t, std::string>, int> want;
    for (const auto& [rt, key] : recs) {
      // Every window [s, s + size) with s on the slide grid that holds rt.
      for (int64_t s = gw::AlignDown(rt, shape.slide, 0); s > rt - shape.size; s -= shape.slide) {
        ++want[{s + shape.size, key}];
      }
    }
    std::map<std::pair<int64_t, std::string>, int> got;
    for (const std::string& line : h.Take()) {
      // "start..end "key" count sum final"
      size_t dots = line.find("..");
      size_t sp = line.find(' ');
      int64_t end = std::stoll(line.substr(dots + 2, sp - dots - 2));
      size_t q2 = line.find('"', sp + 2);
      std::string key = line.substr(sp + 2, q2 - sp - 2);
      CHECK(line.substr(line.size() - 5) == "final");
      got[{end, key}] += std::stoi(line.substr(q2 + 2));
    }
    CHECK(got == want);
  }
}
