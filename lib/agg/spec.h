// AggSpec: one parsed aggregation argument, "[name=]FUNC[(EXPR[, ARG])]",
// e.g. "count", "avg(.latency_ms)", "slow=p99(.latency_ms)",
// "top(.path, 5)", "quantile(.bytes, 0.75)".
//
// Default output names: "count" for count; FUNC_FIELD when EXPR is a path
// (.a.b -> FUNC_b, written pNN as given: p99_latency_ms); FUNC otherwise.
#ifndef GOVSTREAM_AGG_SPEC_H_
#define GOVSTREAM_AGG_SPEC_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "agg/aggregator.h"
#include "base/status.h"
#include "expr/expr.h"

namespace govstream::agg {

struct AggSpec {
  std::string output_name;
  const AggregatorDef* def = nullptr;
  std::unique_ptr<expr::Expression> arg;  // null: count of records
  Params params;

  std::unique_ptr<State> NewState() const { return def->make(params); }
};

// Parses one spec; InvalidArgument with a message naming the spec on error.
Status ParseAggSpec(std::string_view text, bool exact, AggSpec* out);

// A group key: "[name=]EXPR" (name only when EXPR is not itself "x=...").
struct KeySpec {
  std::string output_name;
  std::unique_ptr<expr::Expression> expr;
};
// `index` (0-based) names keys that are not paths: key1, key2, ...
Status ParseKeySpec(std::string_view text, size_t index, KeySpec* out);

// "host" for ".host", "country" for ".client.country", "" for other text.
std::string PathFieldName(std::string_view expr_text);

// Fails when two outputs (keys and aggregates) share a name.
Status CheckDistinctNames(const std::vector<KeySpec>& keys, const std::vector<AggSpec>& aggs);

// The whole grouping of stream-agg and stream-window: every --by text as a
// key, every AGG text as an aggregate, then CheckDistinctNames. The first
// problem is returned (InvalidArgument).
Status ParseGrouping(const std::vector<std::string>& by, const std::vector<std::string>& agg_texts, bool exact,
                     std::vector<KeySpec>* keys, std::vector<AggSpec>* aggs);

// The --list text: one line per registered function, name and summary.
std::string RegistryListing();

}  // namespace govstream::agg

#endif  // GOVSTREAM_AGG_SPEC_H_
