// Aggregators: the functions of the aggregation spec shared by stream-agg
// and stream-window ("[name=]FUNC[(EXPR[, ARG])]", see DESIGN.md).
//
// Each aggregate function is a State per group, defined in its own file
// (agg_<name>.cc) and listed once in the registry table (registry.cc); the
// table drives spec parsing, `--list` and the man page.
//
// States are mergeable: for inputs A and B, a state fed A merged with a state
// fed B gives the same Result() as one state fed A then B (exactly for the
// exact aggregates; within the documented error bound for sketches).
// stream-window relies on this to combine panes.
//
// A State is not thread-safe; distinct states may be used by distinct
// threads. States never throw.
#ifndef GOVSTREAM_AGG_AGGREGATOR_H_
#define GOVSTREAM_AGG_AGGREGATOR_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "expr/value.h"

namespace govstream::agg {

// Per-function parameters fixed when the spec is parsed.
struct Params {
  double quantile = 0.5;  // p50 -> 0.5, quantile(EXPR, 0.99) -> 0.99
  uint64_t k = 10;        // top(EXPR, k)
  bool exact = false;     // --exact: exact percentiles instead of a sketch
};

class State {
 public:
  virtual ~State() = default;
  // Adds one value. Returns false when the value is of a type this function
  // skips (e.g. a string for sum); the caller counts those. Missing values
  // (the expression gave no output) are never passed in.
  virtual bool Add(const expr::Value& v) = 0;
  // Folds `other` (the same function with the same Params) into this state.
  virtual void Merge(const State& other) = 0;
  // Appends the result as JSON (e.g. `12.5`, `null` when nothing was added).
  virtual void AppendResult(std::string* out) const = 0;
  // Approximate bytes held, including the object itself.
  virtual size_t MemoryBytes() const = 0;
  // A fresh, empty state with the same parameters.
  virtual std::unique_ptr<State> NewEmpty() const = 0;
  // Appends the whole state as one JSON value (agg/codec.h), for --state:
  // Load() of it into a fresh state with the same Params gives a state that
  // behaves exactly as this one from then on (same results, same merges).
  virtual void Save(std::string* out) const = 0;
  // Replaces this fresh state with a saved one. False (the state is then
  // unspecified) when `saved` is not the Save() of this function.
  virtual bool Load(const expr::Value& saved) = 0;
};

struct AggregatorDef {
  enum class Arg {
    kNone,      // count
    kValue,     // sum(EXPR)
  };
  enum class Extra {
    kNone,
    kQuantile,  // quantile(EXPR, q), q in [0, 1]
    kK,         // top(EXPR, k), k >= 1
  };
  std::string_view name;
  Arg arg = Arg::kValue;
  Extra extra = Extra::kNone;
  std::string_view summary;  // one line for --list and the man page
  std::unique_ptr<State> (*make)(const Params&) = nullptr;
};

// The registry: every aggregate function, in --list order. The percentile
// shorthands p50, p90, p95, p99, p999 and pNN are resolved to "quantile".
const std::vector<AggregatorDef>& Registry();
const AggregatorDef* FindAggregator(std::string_view name);

// Factories, one per file (agg_*.cc).
std::unique_ptr<State> MakeCount(const Params&);
std::unique_ptr<State> MakeSum(const Params&);
std::unique_ptr<State> MakeAvg(const Params&);
std::unique_ptr<State> MakeMin(const Params&);
std::unique_ptr<State> MakeMax(const Params&);
std::unique_ptr<State> MakeVar(const Params&);
std::unique_ptr<State> MakeStddev(const Params&);
std::unique_ptr<State> MakeFirst(const Params&);
std::unique_ptr<State> MakeLast(const Params&);
std::unique_ptr<State> MakeDistinct(const Params&);
std::unique_ptr<State> MakeApproxDistinct(const Params&);
std::unique_ptr<State> MakeQuantile(const Params&);
std::unique_ptr<State> MakeTop(const Params&);

}  // namespace govstream::agg

#endif  // GOVSTREAM_AGG_AGGREGATOR_H_
