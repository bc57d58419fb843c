// Window results: what a fired (or early, or updated) window emits for one
// key, and ResultBatch, which collects the results due at one moment and
// hands them out ordered by window end, then key (jq's order of the key
// values), then window start.
//
// A Result either points at a bucket's states (valid until the assigner
// purges; the operator flushes every batch before purging) or owns states
// merged from several panes. Not thread-safe. Never fails.
#ifndef GOVSTREAM_WINDOW_RESULTS_H_
#define GOVSTREAM_WINDOW_RESULTS_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>
#include <vector>

#include "agg/aggregator.h"
#include "window/keys.h"

namespace govstream::window {

using States = std::vector<std::unique_ptr<agg::State>>;

// How a result relates to its window (the output's "mark" field):
//   final   the window ended (the watermark passed its end, or input ended);
//   early   the window is still open (--emit changes);
//   update  a late record (within --allowed-lateness) changed a window that
//           had already ended; this result replaces the earlier one.
enum class Mark { kFinal, kEarly, kUpdate };
std::string_view MarkName(Mark mark);

// One key's aggregate states in one pane, session or count window.
// Assigners extend it (pane, session, count window); owned through the
// derived type or through this base (hence the virtual destructor).
struct Bucket {
  virtual ~Bucket() = default;
  KeyId key = 0;
  bool changed = false;  // fed since the last early emission
  States states;
};

struct Result {
  int64_t start = 0;
  int64_t end = 0;
  KeyId key = 0;
  Mark mark = Mark::kFinal;
  const States* states = nullptr;  // the states to report (owned or not)
  std::unique_ptr<States> owned;   // set when merged from several buckets
};

class ResultBatch {
 public:
  void Add(int64_t start, int64_t end, KeyId key, Mark mark, const States* states) {
    results_.push_back(Result{start, end, key, mark, states, nullptr});
  }
  void AddOwned(int64_t start, int64_t end, KeyId key, Mark mark, std::unique_ptr<States> states) {
    const States* p = states.get();
    results_.push_back(Result{start, end, key, mark, p, std::move(states)});
  }
  bool empty() const { return results_.empty(); }
  size_t size() const { return results_.size(); }
  // Sorts, calls `write` for each result in order, and clears the batch.
  void Flush(const KeyTable& keys, const std::function<void(const Result&)>& write);

 private:
  std::vector<Result> results_;
};

}  // namespace govstream::window

#endif  // GOVSTREAM_WINDOW_RESULTS_H_
