// WindowOperator: stream-window's engine, independent of input and output.
// It interns keys, routes each record to its window bucket through the
// assigner of the chosen window kind, keeps the watermark, and writes
// results through a callback in order (window end, then key) as windows
// fire, as late records update them, and as --emit changes ticks.
//
// Per record: Assign() returns the aggregate states to feed (or nullptr when
// the record is later than the allowed lateness: it is counted, and the
// caller writes it to --late-output), then Commit() advances the watermark
// and fires what is due. The key is given by its canonical encoding, or as
// an id the caller looked up or interned in keys() (FindString saves
// encoding one-field string keys). OnWallClock() is called while input is idle
// (processing time, --idle-timeout); Finish() fires every window.
//
// Owns its assigner, keys and states. Not thread-safe. Never fails.
#ifndef GOVSTREAM_WINDOW_OPERATOR_H_
#define GOVSTREAM_WINDOW_OPERATOR_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "agg/spec.h"
#include "window/assigner.h"
#include "window/keys.h"
#include "window/results.h"
#include "window/watermark.h"

namespace govstream::window {

struct OperatorOptions {
  WindowSpec window;
  const std::vector<agg::AggSpec>* aggs = nullptr;  // must outlive the operator
  size_t key_fields = 0;
  uint64_t max_groups = 0;        // 0: unlimited live keys
  bool processing_time = false;   // time = arrival (wall clock)
  int64_t max_delay_ms = 0;
  int64_t idle_timeout_ms = 0;    // 0: off
  int64_t every_ms = 0;           // early results every DUR (0: final only)
};

struct OperatorStats {
  uint64_t late_dropped = 0;  // later than the allowed lateness
  uint64_t late_dropped_total = 0;  // the same, over the runs of a --state file
  uint64_t results = 0;
  uint64_t final_results = 0;
  uint64_t early_results = 0;
  uint64_t update_results = 0;
  size_t open_windows = 0;
  size_t buckets = 0;  // window (pane, session) x key states
  size_t keys = 0;
  size_t memory_bytes = 0;
  uint64_t overflow_records = 0;
  int64_t watermark = kMinTime;
};

class WindowOperator {
 public:
  using Writer = std::function<void(const Result&, const KeyEntry&)>;
  WindowOperator(const OperatorOptions& options, Writer writer);
  ~WindowOperator();

  // `t`: the record's event time (ignored in processing-time mode, where
  // `now` is used); `now`: the wall clock. nullptr: too late, dropped.
  const States* Assign(int64_t t, int64_t now, std::string_view canonical, const std::vector<std::string>& key_json);
  // The same for a key from keys() (KeyTable::Intern or FindString) with
  // no other use since: a key without references is released when the
  // record is refused.
  const States* Assign(int64_t t, int64_t now, KeyId key);
  // After the states from Assign() were fed.
  void Commit(int64_t now);
  void OnWallClock(int64_t now);
  void Finish();

  // --state (docs/run-state.md), between records: the operator's whole
  // state -- watermark, early-results timer, keys and the assigner's
  // buckets -- as lines of JSON: {"window":{"watermark":[max event time,
  // current, last arrival],"early_next":T,"overflow_records":N,
  // "late_dropped_total":N}}, then the
  // keys (KeyTable::Save), then the assigner's lines. Load() of them into a
  // fresh operator with the same options continues exactly where this one
  // was: open windows stay open, fire once, and count every record once.
  // The per-run counters (stats()) start from zero; late_dropped_total
  // goes on. False, with *error
  // set, on lines that are not such a state.
  void Save(std::vector<std::string>* lines) const;
  bool Load(const std::vector<std::string>& lines, std::string* error);

  KeyTable& keys() { return keys_; }
  bool keys_overflowed() const { return keys_.overflowed(); }
  int64_t watermark() const { return watermark_.current(); }
  OperatorStats stats() const;

 private:
  void Step();  // fire, purge and tick at the current watermark
  void Flush();

  OperatorOptions options_;
  Writer writer_;
  KeyTable keys_;
  std::unique_ptr<Assigner> assigner_;
  Watermark watermark_;
  PeriodicTimer early_;
  ResultBatch batch_;
  Bucket* pending_ = nullptr;
  int64_t pending_t_ = 0;
  OperatorStats counts_;
  uint64_t late_before_ = 0;  // late_dropped_total of the runs before (--state)
};

}  // namespace govstream::window

#endif  // GOVSTREAM_WINDOW_OPERATOR_H_
