// The alert state machine of one rule and one key, with Prometheus's
// semantics for `for` and `keep_firing_for`.
//
// The machine is written down as a table, kTransitions: for each state and
// event, the next state and what is emitted. Step() classifies an
// observation (the rule's condition at an event time) into one of the
// events and applies the table; nothing else changes a key's state. The
// same table is rendered into stream-alert(1) (TransitionTableText()).
//
// Times are milliseconds (event time or processing time). Pure functions
// over caller-owned values: thread-compatible.
#ifndef GOVSTREAM_ALERT_MACHINE_H_
#define GOVSTREAM_ALERT_MACHINE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace govstream::alert {

enum class State : uint8_t { kInactive, kPending, kFiring, kResolved };
inline constexpr int kStateCount = 4;

// What an observation of the condition means for a key in its state.
enum class Event : uint8_t {
  kTrue,       // the condition holds, for less than `for` since it began
  kTrueHeld,   // the condition holds and has held for at least `for`
  kFalse,      // the condition does not hold, for less than keep_firing_for
  kFalseHeld,  // the condition has not held for at least keep_firing_for
};
inline constexpr int kEventCount = 4;

// What a transition writes.
enum class Emit : uint8_t {
  kNothing,
  kFiring,    // a "firing" event (the first notification of this alert)
  kRepeat,    // a "firing" event again, if --repeat has passed since the last
  kResolved,  // a "resolved" event
};

struct Transition {
  State from;
  Event event;
  State to;
  Emit emit;
  std::string_view note;  // for the man page
};

// Every (state, event) pair exactly once, in state then event order.
extern const Transition kTransitions[kStateCount * kEventCount];

std::string_view StateName(State s);
std::string_view EventName(Event e);
std::string_view EmitName(Emit e);
std::optional<State> ParseState(std::string_view name);

struct RuleTiming {
  int64_t for_ms = 0;              // --for
  int64_t keep_firing_for_ms = 0;  // --keep-firing-for
  int64_t repeat_ms = 0;           // --repeat; 0: never re-emit
};

// The state of one key of one rule. Times are kNever when not set.
inline constexpr int64_t kNever = INT64_MIN;
struct KeyState {
  State state = State::kInactive;
  int64_t active_since = kNever;  // the condition began to hold (pending/firing)
  int64_t firing_since = kNever;  // pending -> firing
  int64_t false_since = kNever;   // firing and the condition stopped holding
  int64_t last_sent = kNever;     // last firing notification
  int64_t resolved_at = kNever;   // firing -> resolved
  int64_t last_time = kNever;     // latest observation
};

// The event an observation at `now` of `condition` is for `k` (which must
// not be later than now).
Event Classify(const KeyState& k, bool condition, int64_t now, const RuleTiming& timing);

// The outcome of one observation.
struct StepResult {
  const Transition* transition;  // the row applied
  Emit emit;  // what to write: kRepeat is turned into kNothing when not due
};

// Applies the table to `*k` for an observation at `now` (now >= k->last_time;
// the caller handles older records) and updates its times.
StepResult Step(KeyState* k, bool condition, int64_t now, const RuleTiming& timing);

// The table as man-page text (literal lines), one row per transition.
std::string TransitionTableText();

}  // namespace govstream::alert

#endif  // GOVSTREAM_ALERT_MACHINE_H_
