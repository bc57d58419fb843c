// lib/alert: the state machine table, the engine, the state file, dedupe
// and throttle. Times are small millisecond values.
#include <catch2/catch.hpp>

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "alert/engine.h"
#include "alert/limiter.h"
#include "alert/machine.h"
#include "alert/rules.h"
#include "alert/state_file.h"

namespace ga = govstream::alert;
using ga::Emit;
using ga::Event;
using ga::State;

namespace {

// Feeds (time, condition) observations and returns what each emitted.
std::vector<Emit> Run(const ga::RuleTiming& timing, const std::vector<std::pair<int64_t, bool>>& obs,
                      ga::KeyState* k) {
  std::vector<Emit> out;
  for (const auto& [t, c] : obs) out.push_back(ga::Step(k, c, t, timing).emit);
  return out;
}

ga::Rule MakeRule(const std::string& name, const std::string& when, std::vector<std::string> by,
                  const std::string& for_text = "") {
  ga::RuleText t;
  t.name = name;
  t.when = when;
  t.by = std::move(by);
  t.for_text = for_text;
  ga::Rule r;
  REQUIRE(ga::CompileRule(t, &r).ok());
  return r;
}

}  // namespace

TEST_CASE("alert table: every state and event exactly once, indexable", "[alert]") {
  std::set<std::pair<int, int>> seen;
  for (int i = 0; i < ga::kStateCount * ga::kEventCount; ++i) {
    const ga::Transition& t = ga::kTransitions[i];
    CHECK(static_cast<int>(t.from) == i / ga::kEventCount);
    CHECK(static_cast<int>(t.event) == i % ga::kEventCount);
    seen.insert({static_cast<int>(t.from), static_cast<int>(t.event)});
  }
  CHECK(seen.size() == static_cast<size_t>(ga::kStateCount * ga::kEventCount));
  // Only firing -> resolved writes resolved; only entering firing writes firing.
  for (const ga::Transition& t : ga::kTransitions) {
    if (t.emit == Emit::kResolved) CHECK((t.from == State::kFiring && t.to == State::kResolved));
    if (t.emit == Emit::kFiring) CHECK((t.from != State::kFiring && t.to == State::kFiring));
    if (t.to == State::kResolved) CHECK(t.emit == Emit::kResolved);
  }
  std::string text = ga::TransitionTableText();
  CHECK(text.find("pending   true, held --for               firing    firing") != std::string::npos);
}

TEST_CASE("alert machine: for, pending that never completes", "[alert]") {
  ga::RuleTiming timing{.for_ms = 3000};
  ga::KeyState k;
  auto e = Run(timing, {{0, true}, {1000, true}, {2000, true}, {2999, true}, {3500, false}}, &k);
  for (Emit x : e) CHECK(x == Emit::kNothing);
  CHECK(k.state == State::kInactive);
  // Held for exactly --for fires, at that record.
  k = {};
  e = Run(timing, {{10000, true}, {12000, true}, {13000, true}}, &k);
  CHECK(e == std::vector<Emit>{Emit::kNothing, Emit::kNothing, Emit::kFiring});
  CHECK(k.state == State::kFiring);
  CHECK(k.active_since == 10000);
  CHECK(k.firing_since == 13000);
}

TEST_CASE("alert machine: for 0 fires at once, resolves at the first false", "[alert]") {
  ga::RuleTiming timing;
  ga::KeyState k;
  auto e = Run(timing, {{0, true}, {1, true}, {2, false}, {3, false}}, &k);
  CHECK(e == std::vector<Emit>{Emit::kFiring, Emit::kNothing, Emit::kResolved, Emit::kNothing});
  CHECK(k.state == State::kInactive);
}

TEST_CASE("alert machine: flapping inside keep_firing_for stays firing", "[alert]") {
  ga::RuleTiming timing{.for_ms = 0, .keep_firing_for_ms = 5000};
  ga::KeyState k;
  auto e = Run(timing, {{0, true}, {1000, false}, {4000, false}, {5000, true}, {6000, false}, {10999, false}}, &k);
  for (size_t i = 1; i < e.size(); ++i) CHECK(e[i] == Emit::kNothing);
  CHECK(e[0] == Emit::kFiring);
  CHECK(k.state == State::kFiring);
  // False for keep_firing_for since 6000: resolved at 11000.
  CHECK(ga::Step(&k, false, 11000, timing).emit == Emit::kResolved);
  CHECK(k.state == State::kResolved);
  CHECK(k.resolved_at == 11000);
  // A new alert after resolution starts afresh.
  CHECK(ga::Step(&k, true, 12000, timing).emit == Emit::kFiring);
  CHECK(k.active_since == 12000);
}

TEST_CASE("alert machine: repeat re-emits while firing, also within keep_firing_for", "[alert]") {
  ga::RuleTiming timing{.for_ms = 0, .keep_firing_for_ms = 10000, .repeat_ms = 3000};
  ga::KeyState k;
  auto e = Run(timing, {{0, true}, {1000, true}, {3000, true}, {4000, true}, {6500, false}, {7000, false}}, &k);
  CHECK(e == std::vector<Emit>{Emit::kFiring, Emit::kNothing, Emit::kRepeat, Emit::kNothing, Emit::kRepeat,
                               Emit::kNothing});
  CHECK(k.last_sent == 6500);
}

TEST_CASE("alert engine: keys apart, inactive keys not kept, late records counted", "[alert]") {
  ga::Engine engine(1, {ga::RuleTiming{.for_ms = 1000}}, 0);
  std::vector<std::string> a{"\"a\""}, b{"\"b\""};
  CHECK(engine.Observe(0, "[\"a\"]", a, true, 0).emit == Emit::kNothing);
  CHECK(engine.Observe(0, "[\"b\"]", b, false, 0).emit == Emit::kNothing);
  CHECK(engine.keys() == 1);
  CHECK(engine.Observe(0, "[\"a\"]", a, true, 1000).emit == Emit::kFiring);
  ga::Engine::Outcome late = engine.Observe(0, "[\"a\"]", a, false, 500);
  CHECK(late.late);
  CHECK(late.emit == Emit::kNothing);
  CHECK(engine.late() == 1);
  CHECK(engine.firing() == 1);
  CHECK(engine.Observe(0, "[\"a\"]", a, false, 2000).emit == Emit::kResolved);
  CHECK(engine.firing() == 0);
}

TEST_CASE("alert engine: keys beyond max_keys share (other)", "[alert]") {
  ga::Engine engine(1, {ga::RuleTiming{}}, 1);
  std::vector<std::string> a{"\"a\""}, b{"\"b\""}, c{"\"c\""};
  CHECK(engine.Observe(0, "[\"a\"]", a, true, 0).emit == Emit::kFiring);
  ga::Engine::Outcome o = engine.Observe(0, "[\"b\"]", b, true, 0);
  CHECK(o.overflow);
  CHECK(o.emit == Emit::kFiring);
  CHECK((*o.key_json)[0] == "\"(other)\"");
  CHECK(engine.Observe(0, "[\"c\"]", c, true, 1).emit == Emit::kNothing);  // (other) is firing already
  CHECK(engine.overflow() == 2);
  CHECK(engine.keys() == 2);
  // A false record of an overflowed key is (other)'s too.
  CHECK(engine.Observe(0, "[\"c\"]", c, false, 2).emit == Emit::kResolved);
}

TEST_CASE("alert state lines: round trip, bad entries refused", "[alert]") {
  std::vector<ga::Rule> rules;
  rules.push_back(MakeRule("errors", ".errors > 10", {".host"}, "1s"));
  ga::Engine engine(1, {rules[0].timing}, 0);
  std::vector<std::string> a{"\"a\""}, b{"\"b\""};
  engine.Observe(0, "[\"a\"]", a, true, 0);
  engine.Observe(0, "[\"a\"]", a, true, 1000);
  engine.Observe(0, "[\"b\"]", b, true, 500);
  std::vector<std::string> lines = ga::StateLines(rules, engine);
  REQUIRE(lines.size() == 2);
  CHECK(lines[0].rfind("{\"rule\":\"errors\",\"key\":[\"a\"],\"state\":\"firing\"", 0) == 0);

  ga::Engine restored(1, {rules[0].timing}, 0);
  REQUIRE(ga::RestoreStateLines("s", lines, rules, &restored).ok());
  CHECK(ga::StateLines(rules, restored) == lines);
  CHECK(restored.firing() == 1);
  CHECK(restored.Observe(0, "[\"a\"]", a, false, 2000).emit == Emit::kResolved);

  auto refused = [&](std::vector<std::string> bad, const std::vector<ga::Rule>& with) {
    ga::Engine e(1, {with[0].timing}, 0);
    govstream::Status s = ga::RestoreStateLines("s", bad, with, &e);
    CHECK(s.code() == govstream::Status::Code::kBadState);
    return s.message();
  };
  std::vector<std::string> flipped = lines;
  flipped[0][flipped[0].find("firing")] = 'F';
  CHECK(refused(flipped, rules).find("bad state") != std::string::npos);
  CHECK(refused({"garbage"}, rules).find("not valid JSON") != std::string::npos);
  CHECK(refused({lines[0], lines[0]}, rules).find("duplicate") != std::string::npos);
  std::vector<std::string> no_time = lines;
  no_time[1].replace(no_time[1].find("\"last_time\""), 11, "\"lost_time\"");
  CHECK(refused(no_time, rules).find("last_time") != std::string::npos);

  std::vector<ga::Rule> other;
  other.push_back(MakeRule("slow", ".p99 > 1", {".host"}));
  CHECK(refused(lines, other).find("rule 'errors', which is not given") != std::string::npos);
  std::vector<ga::Rule> two_keys;
  two_keys.push_back(MakeRule("errors", ".errors > 10", {".host", ".path"}));
  CHECK(refused(lines, two_keys).find("--by changed") != std::string::npos);
}

TEST_CASE("alert rules: bad rules are refused with a reason", "[alert]") {
  ga::RuleText t;
  t.name = "r";
  t.when = ".a >";
  ga::Rule r;
  CHECK(ga::CompileRule(t, &r).message().find("bad condition") != std::string::npos);
  t.when = ".a";
  t.for_text = "5";
  CHECK(ga::CompileRule(t, &r).message().find("bad duration '5'") != std::string::npos);
  t.for_text = "";
  t.labels = {{"alertname", "x"}};
  CHECK(!ga::CompileRule(t, &r).ok());
}

TEST_CASE("dedupe: same identity within the window is dropped", "[alert]") {
  ga::Deduper d(1000, 0);
  CHECK(d.Admit("x", 0));
  CHECK_FALSE(d.Admit("x", 999));
  CHECK(d.Admit("y", 999));
  CHECK(d.Admit("x", 1000));
  CHECK_FALSE(d.Admit("x", 1500));
}

TEST_CASE("dedupe: a full table forgets expired identities, then passes untracked", "[alert]") {
  ga::Deduper d(1000, 2);
  CHECK(d.Admit("a", 0));
  CHECK(d.Admit("b", 0));
  CHECK(d.Admit("c", 10));  // full, nothing expired: passes, not tracked
  CHECK(d.overflow() == 1);
  CHECK(d.Admit("c", 20));
  CHECK(d.Admit("d", 1000));  // a and b expired and were forgotten
  CHECK(d.size() == 1);
  CHECK_FALSE(d.Admit("d", 1001));
}

TEST_CASE("throttle: a burst of N, then one every DUR/N", "[alert]") {
  ga::Throttler t(3, 3000, 0);  // 3 per 3 s: burst 3, then one per second
  int passed = 0;
  for (int i = 0; i < 10; ++i) passed += t.Admit("k", 0) ? 1 : 0;
  CHECK(passed == 3);
  CHECK_FALSE(t.Admit("k", 999));
  CHECK(t.Admit("k", 1000));
  CHECK_FALSE(t.Admit("k", 1500));
  CHECK(t.Admit("k", 2000));
  CHECK(t.Admit("other", 2000));  // keys are apart
  // After a quiet 3 s the burst is back.
  passed = 0;
  for (int i = 0; i < 10; ++i) passed += t.Admit("k", 6000) ? 1 : 0;
  CHECK(passed == 3);
}

TEST_CASE("throttle: keys beyond max_keys share one bucket", "[alert]") {
  ga::Throttler t(1, 1000, 1);
  CHECK(t.Admit("a", 0));
  CHECK(t.Admit("b", 0));        // (other)'s first
  CHECK_FALSE(t.Admit("c", 0));  // shares (other)
  CHECK(t.overflow() == 2);
}
