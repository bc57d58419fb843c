// The registry of aggregate functions: one row per function. Spec parsing,
// --list and the man page read this table.
#include "agg/aggregator.h"

namespace govstream::agg {

const std::vector<AggregatorDef>& Registry() {
  using A = AggregatorDef::Arg;
  using E = AggregatorDef::Extra;
  static const std::vector<AggregatorDef> kTable = {
      {"count", A::kNone, E::kNone, "number of records; count(EXPR): records where EXPR is not null", MakeCount},
      {"sum", A::kValue, E::kNone, "sum of the numbers", MakeSum},
      {"avg", A::kValue, E::kNone, "mean of the numbers", MakeAvg},
      {"min", A::kValue, E::kNone, "smallest number", MakeMin},
      {"max", A::kValue, E::kNone, "largest number", MakeMax},
      {"var", A::kValue, E::kNone, "sample variance (n - 1), as Miller", MakeVar},
      {"stddev", A::kValue, E::kNone, "sample standard deviation", MakeStddev},
      {"first", A::kValue, E::kNone, "first value seen (any type)", MakeFirst},
      {"last", A::kValue, E::kNone, "last value seen (any type)", MakeLast},
      {"distinct", A::kValue, E::kNone, "exact number of distinct values (memory grows with them)", MakeDistinct},
      {"approx_distinct", A::kValue, E::kNone, "distinct values estimated by HyperLogLog (16384 registers, standard error 0.81%; exact below 512)",
       MakeApproxDistinct},
      {"quantile", A::kValue, E::kQuantile,
       "quantile(EXPR, q), q in [0,1]; p50, p90, p95, p99, p999, pNN are shorthands. The value at rank "
       "floor(q*n) (mlr stats1 without -i), from a DDSketch within 1% relative error over the whole range of doubles (printed with the fewest digits that keep that bound: 219.2, not 219.2318125845147), or exact with --exact (every digit)",
       MakeQuantile},
      {"top", A::kValue, E::kK, "top(EXPR, k): the k most frequent values with counts (default k 10), by Space-Saving with 2k "
       "counters: every value more frequent than n/(2k) is listed, each count at most n/(2k) too high", MakeTop},
  };
  return kTable;
}

const AggregatorDef* FindAggregator(std::string_view name) {
  for (const AggregatorDef& d : Registry()) {
    if (d.name == name) return &d;
  }
  return nullptr;
}

}  // namespace govstream::agg
