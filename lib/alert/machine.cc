#include "alert/machine.h"

#include <fmt/core.h>

namespace govstream::alert {

// The state machine. Rows are in State then Event order, so that
// kTransitions[state * kEventCount + event] is the row for that pair.
const Transition kTransitions[kStateCount * kEventCount] = {
    {State::kInactive, Event::kTrue, State::kPending, Emit::kNothing, "the condition begins to hold"},
    {State::kInactive, Event::kTrueHeld, State::kFiring, Emit::kFiring, "--for 0: fires at once"},
    {State::kInactive, Event::kFalse, State::kInactive, Emit::kNothing, ""},
    {State::kInactive, Event::kFalseHeld, State::kInactive, Emit::kNothing, ""},

    {State::kPending, Event::kTrue, State::kPending, Emit::kNothing, "not yet held for --for"},
    {State::kPending, Event::kTrueHeld, State::kFiring, Emit::kFiring, "held for --for"},
    {State::kPending, Event::kFalse, State::kInactive, Emit::kNothing, "stopped before --for: forgotten"},
    {State::kPending, Event::kFalseHeld, State::kInactive, Emit::kNothing, "stopped before --for: forgotten"},

    {State::kFiring, Event::kTrue, State::kFiring, Emit::kRepeat, "(cannot occur: a firing alert has held for --for)"},
    {State::kFiring, Event::kTrueHeld, State::kFiring, Emit::kRepeat, "still holds"},
    {State::kFiring, Event::kFalse, State::kFiring, Emit::kRepeat, "within --keep-firing-for: still firing"},
    {State::kFiring, Event::kFalseHeld, State::kResolved, Emit::kResolved,
     "false for --keep-firing-for (at once if 0)"},

    {State::kResolved, Event::kTrue, State::kPending, Emit::kNothing, "a new alert begins"},
    {State::kResolved, Event::kTrueHeld, State::kFiring, Emit::kFiring, "a new alert, --for 0"},
    {State::kResolved, Event::kFalse, State::kInactive, Emit::kNothing, "forgotten"},
    {State::kResolved, Event::kFalseHeld, State::kInactive, Emit::kNothing, "forgotten"},
};

std::string_view StateName(State s) {
  switch (s) {
    case State::kInactive:
      return "inactive";
    case State::kPending:
      return "pending";
    case State::kFiring:
      return "firing";
    case State::kResolved:
      return "resolved";
  }
  return "?";
}

std::string_view EventName(Event e) {
  switch (e) {
    case Event::kTrue:
      return "true";
    case Event::kTrueHeld:
      return "true, held --for";
    case Event::kFalse:
      return "false";
    case Event::kFalseHeld:
      return "false, held --keep-firing-for";
  }
  return "?";
}

std::string_view EmitName(Emit e) {
  switch (e) {
    case Emit::kNothing:
      return "-";
    case Emit::kFiring:
      return "firing";
    case Emit::kRepeat:
      return "firing if --repeat due";
    case Emit::kResolved:
      return "resolved";
  }
  return "?";
}

std::optional<State> ParseState(std::string_view name) {
  for (State s : {State::kInactive, State::kPending, State::kFiring, State::kResolved}) {
    if (StateName(s) == name) return s;
  }
  return std::nullopt;
}

Event Classify(const KeyState& k, bool condition, int64_t now, const RuleTiming& timing) {
  if (condition) {
    bool active = k.state == State::kPending || k.state == State::kFiring;
    int64_t since = active && k.active_since != kNever ? k.active_since : now;
    return now - since >= timing.for_ms ? Event::kTrueHeld : Event::kTrue;
  }
  int64_t since = k.state == State::kFiring && k.false_since != kNever ? k.false_since : now;
  return now - since >= timing.keep_firing_for_ms ? Event::kFalseHeld : Event::kFalse;
}

StepResult Step(KeyState* k, bool condition, int64_t now, const RuleTiming& timing) {
  Event e = Classify(*k, condition, now, timing);
  const Transition& t = kTransitions[static_cast<int>(k->state) * kEventCount + static_cast<int>(e)];
  Emit emit = t.emit;
  const bool was_active = k->state == State::kPending || k->state == State::kFiring;
  switch (t.to) {
    case State::kInactive:
      *k = KeyState();
      break;
    case State::kPending:
      if (!was_active) {
        *k = KeyState();
        k->active_since = now;
      }
      break;
    case State::kFiring:
      if (k->state != State::kFiring) {
        if (!was_active) {
          *k = KeyState();
          k->active_since = now;
        }
        k->firing_since = now;
        k->last_sent = now;
        k->false_since = kNever;
      } else {
        if (condition) {
          k->false_since = kNever;
        } else if (k->false_since == kNever) {
          k->false_since = now;
        }
        if (emit == Emit::kRepeat) {
          if (timing.repeat_ms > 0 && now - k->last_sent >= timing.repeat_ms) {
            k->last_sent = now;
          } else {
            emit = Emit::kNothing;
          }
        }
      }
      break;
    case State::kResolved:
      k->resolved_at = now;
      break;
  }
  k->state = t.to;
  k->last_time = now;
  return {&t, emit};
}

std::string TransitionTableText() {
  std::string out = fmt::format("  {:<9} {:<30} {:<9} {:<23} {}\n", "STATE", "EVENT", "NEXT", "EMITS", "NOTE");
  for (const Transition& t : kTransitions) {
    out += fmt::format("  {:<9} {:<30} {:<9} {:<23} {}", StateName(t.from), EventName(t.event), StateName(t.to),
                       EmitName(t.emit), t.note);
    while (!out.empty() && out.back() == ' ') out.pop_back();
    out += '\n';
  }
  out.pop_back();
  return out;
}

}  // namespace govstream::alert
