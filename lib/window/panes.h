// Internal: PaneAssigner, the assigner behind --tumbling and --sliding.
//
// Time is cut into panes of gcd(size, slide) aligned to the epoch plus the
// offset; each record updates one bucket (its key in its pane), whatever
// size/slide is. Windows start on the slide grid (epoch + offset + k*slide,
// as in Flink). A window [e - size, e) fires by
// merging the buckets of its size/pane panes per key; for tumbling windows
// (one pane per window) the pane's states are reported as they are. A pane
// is purged once the last window containing it is past its allowed
// lateness.
//
// Final results of sliding windows, which fire in end order, come from a
// "two stacks" aggregation per key (one per key with data in the window):
// panes are pushed onto a back stack with a running aggregate; when the
// oldest pane must leave and the front stack is empty, the back stack is
// turned into suffix aggregates (the front stack). Each pane is then merged
// a constant number of times, so firing costs O(keys) merges per window,
// not O(keys x size/slide). A pane that changes after it was pushed (a
// record behind the watermark) marks its key for a rebuild from the panes.
// Early results and late updates merge the window's panes directly.
// Not thread-safe.
#ifndef GOVSTREAM_WINDOW_PANES_H_
#define GOVSTREAM_WINDOW_PANES_H_

#include <absl/container/flat_hash_map.h>

#include <map>
#include <memory>
#include <vector>

#include "window/assigner.h"

namespace govstream::window {

class PaneAssigner final : public Assigner {
 public:
  PaneAssigner(int64_t size, int64_t slide, int64_t offset, int64_t lateness, AssignerContext ctx);
  ~PaneAssigner() override;

  Bucket* Assign(int64_t t, KeyId key, int64_t watermark) override;
  void AfterAdd(Bucket* bucket, int64_t watermark, ResultBatch* out) override;
  void Advance(int64_t watermark, ResultBatch* out) override;
  void Early(int64_t watermark, ResultBatch* out) override;
  void FireAll(ResultBatch* out) override;
  void Purge(int64_t watermark) override;
  int64_t next_deadline() const override { return std::min(next_fire_, next_purge_); }
  size_t open_windows() const override;
  size_t buckets() const override;
  size_t MemoryBytes() const override;
  void Save(std::vector<std::string>* lines) const override;
  bool Load(const expr::Value& line, const KeyMap& keys, std::string* error) override;

 private:
  struct PaneBucket : Bucket {
    int64_t pane_start = 0;
    bool pushed = false;  // in some key's two stacks
    bool fresh = false;   // created by the record being added (until AfterAdd)
  };
  struct Pane {
    std::vector<std::unique_ptr<PaneBucket>> buckets;
    absl::flat_hash_map<KeyId, PaneBucket*> index;
  };
  struct Stacks {
    struct Entry {
      int64_t start;
      States agg;  // this pane merged with every newer pane of the front
    };
    std::vector<Entry> front;  // back() is the oldest pane
    std::vector<std::pair<int64_t, const PaneBucket*>> back;  // oldest first
    States back_agg;  // all of `back` merged
    bool dirty = false;
  };
  void FireSliding(int64_t end, ResultBatch* out);
  void MarkDirty(KeyId key) { stacks_[key].dirty = true; }
  // The last window end whose window contains the pane.
  int64_t LastEnd(int64_t pane_start) const { return AlignDown(pane_start + size_, slide_, end_offset_); }
  // The first window end > t.
  int64_t FirstEndAfter(int64_t t) const { return AlignDown(t, slide_, end_offset_) + slide_; }
  // Emits window [end - size, end): every key, or only `only_key`, or (early)
  // only keys with a changed bucket.
  void EmitWindow(int64_t end, Mark mark, const KeyId* only_key, bool only_changed, ResultBatch* out);
  void Fire(int64_t upto, ResultBatch* out);
  void Recompute();
  // True when a pane of window [end - size, end) other than `pane_start`
  // holds a bucket of `key` (so the window already has a result for it).
  bool KeyInOtherPane(int64_t end, KeyId key, int64_t pane_start) const;

  int64_t size_, slide_, pane_, offset_, lateness_;
  int64_t end_offset_;  // window ends are end_offset_ + k * slide_ (starts: offset_ + k * slide_)
  AssignerContext ctx_;
  std::map<int64_t, Pane> panes_;  // by pane start
  int64_t last_start_ = 0;
  Pane* last_pane_ = nullptr;
  // Every window ending at or before has fired (or, empty, is past the
  // watermark and may never be created by a late record).
  int64_t fired_until_ = kMinTime;
  int64_t next_fire_ = kMaxTime;
  int64_t next_purge_ = kMaxTime;
  size_t bucket_count_ = 0;
  absl::flat_hash_map<KeyId, Stacks> stacks_;  // sliding only
  int64_t pushed_until_ = kMinTime;            // panes before this were pushed
};

}  // namespace govstream::window

#endif  // GOVSTREAM_WINDOW_PANES_H_
