// Grouping helpers shared by stream-agg and stream-window: evaluating the
// --by keys of a record into its canonical group key, feeding the
// aggregates' values to a group's states (counting skipped values), and
// writing a group's key and aggregate fields as JSON.
//
// Pure functions over caller-owned data; thread-compatible (no shared
// state). Failures are reported as return values, never exceptions.
#ifndef GOVSTREAM_STREAM_GROUPING_H_
#define GOVSTREAM_STREAM_GROUPING_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "agg/spec.h"
#include "expr/projection.h"
#include "expr/value.h"

namespace govstream::stream {

// Values an aggregate did not take: missing (null, or no output) or of a
// type the function skips. (Evaluation errors skip the whole record and are
// counted as such, not here.)
struct AggSkips {
  uint64_t missing = 0;
  uint64_t wrong_type = 0;
};

// Evaluates the keys on `record`: *canonical gets the canonical encoding of
// the key values as a JSON array, "[]" without keys (identifies the group),
// key_json[i] the JSON text of key i. A key with no output is null, as in jq.
// False when a key's evaluation failed (*error says why).
bool EvalGroupKey(const std::vector<agg::KeySpec>& keys, const expr::Value& record, expr::Arena* arena,
                  std::string* canonical, std::vector<std::string>* key_json, std::string* error);

// One aggregate's argument evaluated on a record: a value, or no output
// (kEmpty, counted as missing).
struct AggArg {
  expr::Expression::Result result = expr::Expression::Result::kEmpty;
  expr::Value value;
};

// Evaluates every aggregate's argument on `record` into (*args)[i], before
// anything is fed, so that a record is taken whole or not at all. False at
// the first evaluation error, as jq raises it (e.g. .x on a string), with
// *error = "NAME: reason": the caller reports the record (with its source
// and line, counted as an evaluation error) and skips it.
bool EvalAggregateArgs(const std::vector<agg::AggSpec>& aggs, const expr::Value& record, expr::Arena* arena,
                       std::vector<AggArg>* args, std::string* error);

// Feeds (*args)[i] (from EvalAggregateArgs) to states[i]. Missing values
// (null, or no output) and present values of a type the function skips are
// counted in (*skips)[i], never fed.
void FeedAggregates(const std::vector<agg::AggSpec>& aggs, const std::vector<AggArg>& args,
                    const std::vector<std::unique_ptr<agg::State>>& states, std::vector<AggSkips>* skips);

// The compact encoding in which a worker thread (stream/parallel.h) passes
// a record's group key and aggregate arguments to the thread that feeds the
// groups: u32 length + canonical key, per key u32 length + JSON text, then
// per aggregate a tag (0 no output, 1 null, 2 false, 3 true, 4 number + 8
// bytes, 5 string + u32 length + bytes, 6 array or object + u32 length +
// JSON). Appended to *out; DecodeKeyArgs() reads it back from `bytes` at
// *pos (advanced past it), with string values pointing into `bytes` and
// arrays or objects parsed into *arena. Native byte order: never stored.
void EncodeKeyArgs(std::string_view canonical, const std::vector<std::string>& key_json,
                   const std::vector<AggArg>& args, std::string* out);
void DecodeKeyArgs(std::string_view bytes, size_t* pos, size_t aggs, std::string_view* canonical,
                   std::vector<std::string>* key_json, std::vector<AggArg>* args, expr::Arena* arena);

// Where the time, keys and aggregate arguments live in a FieldSlots read.
struct SlotMap {
  size_t time_slot = SIZE_MAX;   // SIZE_MAX: no time expression
  std::vector<size_t> key_slot;  // per key
  std::vector<size_t> agg_slot;  // per aggregate; SIZE_MAX: no argument
};

// FieldSlots for these expressions (`time` may be null), or nullptr when
// one of them is not a single top-level field (see expr::FieldSlots).
std::unique_ptr<expr::FieldSlots> AnalyzeSlots(const expr::Expression* time, const std::vector<agg::KeySpec>& keys,
                                               const std::vector<agg::AggSpec>& aggs, SlotMap* map);

// EvalGroupKey for a record read through FieldSlots (`values` from
// RecordReader::slot_values()); same outputs.
void GroupKeyFromSlots(const SlotMap& map, const expr::Value* values, std::string* canonical,
                       std::vector<std::string>* key_json);

// FeedAggregates for a record read through FieldSlots (field evaluation
// cannot fail, so there is no error).
void FeedAggregatesFromSlots(const std::vector<agg::AggSpec>& aggs, const SlotMap& map, const expr::Value* values,
                             const std::vector<std::unique_ptr<agg::State>>& states, std::vector<AggSkips>* skips);

// Appends "NAME": (escaped) to out.
void AppendFieldName(std::string_view name, std::string* out);

// Appends `"key":value,...,"agg":result,...` (no braces) for one group. If
// `captured` is set, the JSON of output field number `capture_index` (keys
// first, then aggregates) is also copied there.
void AppendGroupFields(const std::vector<agg::KeySpec>& keys, const std::vector<std::string>& key_json,
                       const std::vector<agg::AggSpec>& aggs, const std::vector<std::unique_ptr<agg::State>>& states,
                       std::string* out, size_t capture_index = SIZE_MAX, std::string* captured = nullptr);

// The --stats member "skipped":{"NAME":{"missing":N,"wrong_type":N},...}
// (written as ,"skipped":{...}).
std::string SkipsJson(const std::vector<agg::AggSpec>& aggs, const std::vector<AggSkips>& skips);

// The one-time error reported when --max-groups is reached.
std::string OverflowMessage(uint64_t max_groups);

}  // namespace govstream::stream

#endif  // GOVSTREAM_STREAM_GROUPING_H_
