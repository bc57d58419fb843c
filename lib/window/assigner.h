// Window assigners: how records are assigned to windows, when windows fire,
// and when their state may be dropped. One assigner per window kind, each in
// its own file, listed once in the registry (registry.cc):
//
//   tumbling.cc  --tumbling SIZE         [start, start+SIZE), aligned to the
//                                        epoch plus --offset
//   sliding.cc   --sliding SIZE --slide S  windows of SIZE every S; records
//                                        go to one pane (slice) of
//                                        gcd(SIZE, S), and a firing window
//                                        merges its panes (Flink's slicing):
//                                        per-record cost does not grow with
//                                        SIZE/S
//   session.cc   --session GAP           per key: [first, last+GAP), merged
//                                        when a record bridges two sessions
//   count.cc     --count N               per key: every N records
//
// Times are integral milliseconds since the epoch. A window [start, end)
// fires when the watermark reaches end (watermark >= end), stays open for
// late records until the watermark reaches end + allowed lateness, and is
// then purged. Results are added to a ResultBatch; the caller flushes the
// batch and only then calls Purge(), so results may point at live state.
//
// An assigner owns its buckets and the KeyTable references they hold.
// Not thread-safe. Never fails: a record too late for every window it
// belongs to is refused (Assign returns nullptr) and the caller counts it.
#ifndef GOVSTREAM_WINDOW_ASSIGNER_H_
#define GOVSTREAM_WINDOW_ASSIGNER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "agg/spec.h"
#include "expr/value.h"
#include "window/keys.h"
#include "window/results.h"

namespace govstream::window {

// Bounds of event times (the timestamp parsers keep |t| below 2^62), so
// that time + duration never overflows.
inline constexpr int64_t kMinTime = -(int64_t{1} << 62);
inline constexpr int64_t kMaxTime = int64_t{1} << 62;

enum class Kind { kTumbling, kSliding, kSession, kCount };

struct WindowSpec {
  Kind kind = Kind::kTumbling;
  int64_t size_ms = 0;   // tumbling, sliding
  int64_t slide_ms = 0;  // sliding (tumbling: = size)
  int64_t gap_ms = 0;    // session
  uint64_t count = 0;    // count
  int64_t offset_ms = 0;
  int64_t allowed_lateness_ms = 0;
};

struct AssignerContext {
  const std::vector<agg::AggSpec>* aggs = nullptr;  // makes each bucket's states
  KeyTable* keys = nullptr;
};

// For Assigner::Load: this run's KeyId of a saved key id (the JSON value
// read from a state line), or kNoKey when it names no saved key.
using KeyMap = std::function<KeyId(const expr::Value& saved_id)>;

class Assigner {
 public:
  virtual ~Assigner() = default;

  // The bucket to feed for a record at time t with this key, given the
  // current watermark (kMinTime before any); nullptr when the record is
  // later than the allowed lateness for every window it belongs to.
  virtual Bucket* Assign(int64_t t, KeyId key, int64_t watermark) = 0;
  // After the bucket was fed: results due because of it (updates of windows
  // that already fired; a full count window).
  virtual void AfterAdd(Bucket* bucket, int64_t watermark, ResultBatch* out) = 0;
  // Fires every window that ends at or before the watermark.
  virtual void Advance(int64_t watermark, ResultBatch* out) = 0;
  // Early results (mark early) for the open windows fed since the last call.
  virtual void Early(int64_t watermark, ResultBatch* out) = 0;
  // End of input: fires every window that has not fired yet.
  virtual void FireAll(ResultBatch* out) = 0;
  // Drops state no longer needed at this watermark (and full count windows).
  virtual void Purge(int64_t watermark) = 0;
  // The lowest watermark at which Advance or Purge has work to do.
  virtual int64_t next_deadline() const = 0;

  virtual size_t open_windows() const = 0;  // windows not yet purged
  virtual size_t buckets() const = 0;       // window (or pane) x key states
  virtual size_t MemoryBytes() const = 0;   // approximate, states included

  // --state (docs/run-state.md), called between records: the whole state
  // as lines of JSON, keys by their KeyId. Load() of those lines, in order,
  // into a fresh assigner of the same spec rebuilds it, so that it assigns,
  // fires, updates and purges exactly as this one would have; each bucket
  // takes a reference on its key, as Assign does. Load is false, with
  // *error set, on a line that is not one of this assigner's.
  virtual void Save(std::vector<std::string>* lines) const = 0;
  virtual bool Load(const expr::Value& line, const KeyMap& keys, std::string* error) = 0;
};

// The registry: every window kind, with the option that selects it.
struct AssignerDef {
  Kind kind;
  std::string_view option;   // "tumbling"
  std::string_view summary;  // one line for the man page
  std::unique_ptr<Assigner> (*make)(const WindowSpec&, AssignerContext);
};
const std::vector<AssignerDef>& Assigners();
std::unique_ptr<Assigner> MakeAssigner(const WindowSpec& spec, AssignerContext ctx);

// Factories, one per file.
std::unique_ptr<Assigner> MakeTumbling(const WindowSpec& spec, AssignerContext ctx);
std::unique_ptr<Assigner> MakeSliding(const WindowSpec& spec, AssignerContext ctx);
std::unique_ptr<Assigner> MakeSession(const WindowSpec& spec, AssignerContext ctx);
std::unique_ptr<Assigner> MakeCount(const WindowSpec& spec, AssignerContext ctx);

// floor((t - offset) / unit) * unit + offset, for any sign of t.
inline int64_t AlignDown(int64_t t, int64_t unit, int64_t offset) {
  int64_t x = t - offset;
  int64_t q = x / unit;
  if (x % unit != 0 && x < 0) --q;
  return q * unit + offset;
}

// New states for a bucket, one per aggregate.
States NewStates(const std::vector<agg::AggSpec>& aggs);
size_t StatesMemoryBytes(const States& states);
// A bucket's states as a JSON array of saved states (agg::State::Save), and
// back into fresh `states` (from NewStates); false when `saved` is not that.
void SaveStates(const States& states, std::string* out);
bool LoadStates(const expr::Value& saved, States* states);

}  // namespace govstream::window

#endif  // GOVSTREAM_WINDOW_ASSIGNER_H_
