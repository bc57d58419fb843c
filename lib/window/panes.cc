#include "window/panes.h"

#include <absl/container/flat_hash_set.h>
#include <fmt/core.h>

#include <algorithm>
#include <numeric>

#include "agg/codec.h"
#include "base/raw_hash.h"

namespace govstream::window {

PaneAssigner::PaneAssigner(int64_t size, int64_t slide, int64_t offset, int64_t lateness, AssignerContext ctx)
    : size_(size), slide_(slide), pane_(std::gcd(size, slide)), offset_(offset), lateness_(lateness), ctx_(ctx) {
  // Offsets only matter modulo the slide (and the pane, which divides it).
  offset_ = offset - AlignDown(offset, slide_, 0);
  // Windows start on the slide grid (as Flink's do); their ends are `size`
  // later, on the grid shifted by size mod slide.
  end_offset_ = (offset_ + size_) - AlignDown(offset_ + size_, slide_, 0);
}

PaneAssigner::~PaneAssigner() = default;

Bucket* PaneAssigner::Assign(int64_t t, KeyId key, int64_t watermark) {
  // The caller fires every window due at a watermark before it assigns the
  // next record, so every window ending at or before the watermark is done:
  // an empty one must not be created (and fired) by a late record (Flink
  // drops a late element from each window whose end is past the watermark).
  fired_until_ = std::max(fired_until_, watermark);
  KeyEntry& ke = ctx_.keys->at(key);
  // The key's last pane holds t: no division (t - start wraps for t < start).
  if (ke.cached_bucket != nullptr && static_cast<uint64_t>(t - ke.cached_slot) < static_cast<uint64_t>(pane_)) {
    auto* b = static_cast<PaneBucket*>(ke.cached_bucket);
    b->changed = true;
    if (b->pushed) MarkDirty(key);
    return b;
  }
  const int64_t ps = AlignDown(t, pane_, offset_);
  if (LastEnd(ps) + lateness_ <= watermark) return nullptr;  // every window containing t has expired
  Pane* pane;
  if (last_pane_ != nullptr && last_start_ == ps) {
    pane = last_pane_;
  } else {
    auto [it, inserted] = panes_.try_emplace(ps);
    pane = &it->second;
    last_start_ = ps;
    last_pane_ = pane;
    if (inserted) {
      int64_t first = FirstEndAfter(std::max(ps, fired_until_));
      if (first <= LastEnd(ps)) next_fire_ = std::min(next_fire_, first);
      next_purge_ = std::min(next_purge_, LastEnd(ps) + lateness_);
    }
  }
  auto [it, inserted] = pane->index.try_emplace(key, nullptr);
  if (inserted) {
    auto b = std::make_unique<PaneBucket>();
    b->key = key;
    b->pane_start = ps;
    b->states = NewStates(*ctx_.aggs);
    b->fresh = true;
    it->second = b.get();
    pane->buckets.push_back(std::move(b));
    ctx_.keys->Ref(key);
    ++bucket_count_;
    if (pane_ != size_ && ps < pushed_until_) MarkDirty(key);
  }
  auto* b = static_cast<PaneBucket*>(it->second);
  if (b->pushed) MarkDirty(key);
  ke.cached_slot = ps;
  ke.cached_bucket = b;
  b->changed = true;
  return b;
}

void PaneAssigner::AfterAdd(Bucket* bucket, int64_t watermark, ResultBatch* out) {
  auto* pb = static_cast<PaneBucket*>(bucket);
  const bool fresh = pb->fresh;
  pb->fresh = false;
  const int64_t ps = pb->pane_start;
  if (ps >= fired_until_) return;  // every window holding the pane ends after fired_until_
  const int64_t last = std::min(LastEnd(ps), fired_until_);
  for (int64_t e = FirstEndAfter(ps); e <= last; e += slide_) {
    if (e + lateness_ <= watermark) continue;  // past its lateness: the record is not in it
    // A window that fired (or was refreshed by a late record) while any of
    // its panes held this key already has a result for the key: this one
    // replaces it. Otherwise it is the key's first result for the window.
    const bool had_result = !fresh || KeyInOtherPane(e, bucket->key, ps);
    EmitWindow(e, had_result ? Mark::kUpdate : Mark::kFinal, &bucket->key, false, out);
  }
}

bool PaneAssigner::KeyInOtherPane(int64_t end, KeyId key, int64_t pane_start) const {
  if (pane_ == size_) return false;  // tumbling: one pane per window
  for (auto it = panes_.lower_bound(end - size_); it != panes_.end() && it->first < end; ++it) {
    if (it->first != pane_start && it->second.index.contains(key)) return true;
  }
  return false;
}

void PaneAssigner::EmitWindow(int64_t end, Mark mark, const KeyId* only_key, bool only_changed,
                              ResultBatch* out) {
  const int64_t start = end - size_;
  auto lo = panes_.lower_bound(start);
  auto hi = panes_.lower_bound(end);
  if (lo == hi) return;
  if (pane_ == size_) {  // tumbling: the pane is the window
    for (const auto& b : lo->second.buckets) {
      if (only_key != nullptr && b->key != *only_key) continue;
      if (only_changed && !b->changed) continue;
      out->Add(start, end, b->key, mark, &b->states);
    }
    return;
  }
  auto merge_into = [](States* acc, const Bucket& b) {
    if (acc->empty()) {
      acc->reserve(b.states.size());
      for (const auto& s : b.states) acc->push_back(s->NewEmpty());
    }
    for (size_t i = 0; i < b.states.size(); ++i) (*acc)[i]->Merge(*b.states[i]);
  };
  if (only_key != nullptr) {
    auto acc = std::make_unique<States>();
    for (auto it = lo; it != hi; ++it) {
      auto f = it->second.index.find(*only_key);
      if (f != it->second.index.end()) merge_into(acc.get(), *f->second);
    }
    if (!acc->empty()) out->AddOwned(start, end, *only_key, mark, std::move(acc));
    return;
  }
  absl::flat_hash_set<KeyId> changed;
  if (only_changed) {
    for (auto it = lo; it != hi; ++it) {
      for (const auto& b : it->second.buckets) {
        if (b->changed) changed.insert(b->key);
      }
    }
    if (changed.empty()) return;
  }
  absl::flat_hash_map<KeyId, size_t> slot;
  std::vector<std::pair<KeyId, std::unique_ptr<States>>> acc;
  for (auto it = lo; it != hi; ++it) {
    for (const auto& b : it->second.buckets) {
      if (only_changed && !changed.contains(b->key)) continue;
      auto [s, inserted] = slot.try_emplace(b->key, acc.size());
      if (inserted) acc.emplace_back(b->key, std::make_unique<States>());
      merge_into(acc[s->second].second.get(), *b);
    }
  }
  for (auto& [key, states] : acc) out->AddOwned(start, end, key, mark, std::move(states));
}

void PaneAssigner::Fire(int64_t upto, ResultBatch* out) {
  std::vector<int64_t> ends;
  for (const auto& [ps, pane] : panes_) {
    const int64_t last = std::min(LastEnd(ps), upto);
    for (int64_t e = FirstEndAfter(std::max(ps, fired_until_)); e <= last; e += slide_) ends.push_back(e);
  }
  std::sort(ends.begin(), ends.end());
  ends.erase(std::unique(ends.begin(), ends.end()), ends.end());
  for (int64_t e : ends) {
    if (pane_ == size_) {
      EmitWindow(e, Mark::kFinal, nullptr, false, out);
    } else {
      FireSliding(e, out);
    }
  }
  fired_until_ = std::max(fired_until_, upto);
  Recompute();
}

namespace {

void MergeInto(States* acc, const States& src) {
  if (acc->empty()) {
    acc->reserve(src.size());
    for (const auto& s : src) acc->push_back(s->NewEmpty());
  }
  for (size_t i = 0; i < src.size(); ++i) (*acc)[i]->Merge(*src[i]);
}

}  // namespace

void PaneAssigner::FireSliding(int64_t end, ResultBatch* out) {
  const int64_t start = end - size_;
  // Push the panes that entered the window since the last firing.
  for (auto it = panes_.lower_bound(std::max(pushed_until_, start)); it != panes_.end() && it->first < end; ++it) {
    for (const auto& bucket : it->second.buckets) {
      auto* b = static_cast<PaneBucket*>(bucket.get());
      Stacks& st = stacks_[b->key];
      if (!st.dirty) {
        st.back.emplace_back(b->pane_start, b);
        MergeInto(&st.back_agg, b->states);
      }
      b->pushed = true;
    }
  }
  pushed_until_ = std::max(pushed_until_, end);
  std::vector<KeyId> gone;
  for (auto& [key, st] : stacks_) {
    if (st.dirty) {  // rebuild from the window's panes
      st = Stacks();
      for (auto it = panes_.lower_bound(start); it != panes_.end() && it->first < end; ++it) {
        auto f = it->second.index.find(key);
        if (f == it->second.index.end()) continue;
        auto* b = static_cast<PaneBucket*>(f->second);
        st.back.emplace_back(b->pane_start, b);
        MergeInto(&st.back_agg, b->states);
        b->pushed = true;
      }
    }
    // Evict the panes that left the window.
    for (;;) {
      if (st.front.empty()) {
        if (st.back.empty() || st.back.front().first >= start) break;
        // Flip: suffix aggregates of the back panes still in the window,
        // newest first (panes that left are never read: they may be purged).
        States acc;
        for (size_t i = st.back.size(); i-- > 0;) {
          if (st.back[i].first < start) break;
          if (st.back[i].second == nullptr) continue;  // a purged pane (only after --state Load; never in the window)
          MergeInto(&acc, st.back[i].second->states);
          Stacks::Entry e{st.back[i].first, {}};
          MergeInto(&e.agg, acc);
          st.front.push_back(std::move(e));
        }
        st.back.clear();
        st.back_agg.clear();
        continue;
      }
      if (st.front.back().start >= start) break;
      st.front.pop_back();
    }
    if (st.front.empty() && st.back.empty()) {
      gone.push_back(key);
      continue;
    }
    auto result = std::make_unique<States>();
    if (!st.front.empty()) MergeInto(result.get(), st.front.back().agg);
    if (!st.back.empty()) MergeInto(result.get(), st.back_agg);
    out->AddOwned(start, end, key, Mark::kFinal, std::move(result));
  }
  for (KeyId key : gone) stacks_.erase(key);
}

void PaneAssigner::Recompute() {
  next_fire_ = kMaxTime;
  next_purge_ = kMaxTime;
  if (panes_.empty()) return;
  next_purge_ = LastEnd(panes_.begin()->first) + lateness_;
  for (const auto& [ps, pane] : panes_) {
    const int64_t first = FirstEndAfter(std::max(ps, fired_until_));
    if (first <= LastEnd(ps)) {
      next_fire_ = first;
      break;
    }
  }
}

void PaneAssigner::Advance(int64_t watermark, ResultBatch* out) {
  if (watermark >= next_fire_) Fire(watermark, out);
}

void PaneAssigner::Early(int64_t watermark, ResultBatch* out) {
  std::vector<int64_t> ends;
  bool any = false;
  for (const auto& [ps, pane] : panes_) {
    for (const auto& b : pane.buckets) any = any || b->changed;
    const int64_t last = LastEnd(ps);
    for (int64_t e = FirstEndAfter(std::max(ps, std::max(watermark, fired_until_))); e <= last; e += slide_) {
      ends.push_back(e);
    }
  }
  if (!any) return;
  std::sort(ends.begin(), ends.end());
  ends.erase(std::unique(ends.begin(), ends.end()), ends.end());
  for (int64_t e : ends) EmitWindow(e, Mark::kEarly, nullptr, true, out);
  for (auto& [ps, pane] : panes_) {
    for (auto& b : pane.buckets) b->changed = false;
  }
}

void PaneAssigner::FireAll(ResultBatch* out) { Fire(kMaxTime, out); }

void PaneAssigner::Purge(int64_t watermark) {
  bool purged = false;
  while (!panes_.empty() && LastEnd(panes_.begin()->first) + lateness_ <= watermark) {
    Pane& pane = panes_.begin()->second;
    for (auto& b : pane.buckets) {
      KeyEntry& ke = ctx_.keys->at(b->key);
      if (ke.cached_bucket == b.get()) ke.cached_bucket = nullptr;
      ctx_.keys->Unref(b->key);
      --bucket_count_;
    }
    if (last_pane_ == &pane) last_pane_ = nullptr;
    panes_.erase(panes_.begin());
    purged = true;
  }
  if (purged) Recompute();
}

size_t PaneAssigner::open_windows() const {
  if (panes_.empty()) return 0;
  const int64_t first = FirstEndAfter(std::max(panes_.begin()->first, kMinTime));
  const int64_t last = LastEnd(panes_.rbegin()->first);
  const size_t span = static_cast<size_t>((last - first) / slide_ + 1);
  const size_t bound = panes_.size() * static_cast<size_t>(size_ / slide_ + 1);
  return std::min(span, bound);
}

size_t PaneAssigner::buckets() const { return bucket_count_; }

size_t PaneAssigner::MemoryBytes() const {
  size_t bytes = sizeof(*this);
  for (const auto& [ps, pane] : panes_) {
    bytes += sizeof(Pane) + 4 * sizeof(void*) + pane.buckets.capacity() * sizeof(void*) +
             HashSlots(pane.index.size()) * (sizeof(KeyId) + sizeof(void*) + 1);
    for (const auto& b : pane.buckets) bytes += sizeof(PaneBucket) + StatesMemoryBytes(b->states);
  }
  bytes += HashSlots(stacks_.size()) * (sizeof(KeyId) + sizeof(Stacks) + 1);
  for (const auto& [key, st] : stacks_) {
    bytes += st.back.capacity() * sizeof(st.back[0]) + StatesMemoryBytes(st.back_agg) +
             st.front.capacity() * sizeof(Stacks::Entry);
    for (const auto& e : st.front) bytes += StatesMemoryBytes(e.agg);
  }
  return bytes;
}

// Lines: {"panes":[fired_until, next_fire, next_purge, pushed_until]};
// per bucket, panes ascending, in each pane's order,
// {"pane":[start, key, changed, pushed],"s":[states]}; per key of the two
// stacks (sliding), {"stack":[key, dirty],"front":[[start,[states]]...],
// "back":[start...],"back_agg":[states]}.
void PaneAssigner::Save(std::vector<std::string>* lines) const {
  lines->push_back(fmt::format("{{\"panes\":[{},{},{},{}]}}", fired_until_, next_fire_, next_purge_, pushed_until_));
  for (const auto& [ps, pane] : panes_) {
    for (const auto& b : pane.buckets) {
      std::string l = fmt::format("{{\"pane\":[{},{},{},{}],\"s\":", ps, b->key, b->changed, b->pushed);
      SaveStates(b->states, &l);
      l += '}';
      lines->push_back(std::move(l));
    }
  }
  for (const auto& [key, st] : stacks_) {
    // A stack left behind by a key that is gone holds only panes that left
    // the window (evicted at the next firing): nothing to keep.
    if (ctx_.keys->at(key).refs == 0) continue;
    std::string l = fmt::format("{{\"stack\":[{},{}],\"front\":[", key, st.dirty);
    for (size_t i = 0; i < st.front.size(); ++i) {
      l += fmt::format("{}[{},", i ? "," : "", st.front[i].start);
      SaveStates(st.front[i].agg, &l);
      l += ']';
    }
    l += "],\"back\":[";
    for (size_t i = 0; i < st.back.size(); ++i) l += fmt::format("{}{}", i ? "," : "", st.back[i].first);
    l += "],\"back_agg\":";
    SaveStates(st.back_agg, &l);
    l += '}';
    lines->push_back(std::move(l));
  }
}

bool PaneAssigner::Load(const expr::Value& line, const KeyMap& keys, std::string* error) {
  namespace codec = agg::codec;
  expr::Value v, s;
  *error = "not a line of a --tumbling or --sliding window";
  if (codec::Member(line, "panes", &v)) {
    return v.is_array() && v.size() == 4 && codec::ReadI64(v.at(0), &fired_until_) &&
           codec::ReadI64(v.at(1), &next_fire_) && codec::ReadI64(v.at(2), &next_purge_) &&
           codec::ReadI64(v.at(3), &pushed_until_);
  }
  if (codec::Member(line, "pane", &v)) {
    int64_t ps;
    bool changed, pushed;
    if (!v.is_array() || v.size() != 4 || !codec::ReadI64(v.at(0), &ps) || AlignDown(ps, pane_, offset_) != ps ||
        !codec::ReadBool(v.at(2), &changed) || !codec::ReadBool(v.at(3), &pushed) || !codec::Member(line, "s", &s)) {
      return false;
    }
    const KeyId key = keys(v.at(1));
    Pane& pane = panes_[ps];
    if (key == kNoKey || pane.index.contains(key)) return false;
    auto b = std::make_unique<PaneBucket>();
    b->key = key;
    b->pane_start = ps;
    b->changed = changed;
    b->pushed = pushed;
    b->states = NewStates(*ctx_.aggs);
    if (!LoadStates(s, &b->states)) return false;
    pane.index.emplace(key, b.get());
    pane.buckets.push_back(std::move(b));
    ctx_.keys->Ref(key);
    ++bucket_count_;
    return true;
  }
  if (codec::Member(line, "stack", &v)) {
    expr::Value front, back, back_agg;
    bool dirty;
    if (!v.is_array() || v.size() != 2 || !codec::ReadBool(v.at(1), &dirty) || !codec::Member(line, "front", &front) ||
        !front.is_array() || !codec::Member(line, "back", &back) || !back.is_array() ||
        !codec::Member(line, "back_agg", &back_agg)) {
      return false;
    }
    const KeyId key = keys(v.at(0));
    if (key == kNoKey || stacks_.contains(key)) return false;
    Stacks& st = stacks_[key];
    st.dirty = dirty;
    for (size_t i = 0; i < front.size(); ++i) {
      expr::Value e = front.at(i);
      Stacks::Entry entry{0, NewStates(*ctx_.aggs)};
      if (!e.is_array() || e.size() != 2 || !codec::ReadI64(e.at(0), &entry.start) || !LoadStates(e.at(1), &entry.agg)) {
        return false;
      }
      st.front.push_back(std::move(entry));
    }
    for (size_t i = 0; i < back.size(); ++i) {
      int64_t start;
      if (!codec::ReadI64(back.at(i), &start)) return false;
      // A pane that left the window may be purged before the next firing
      // evicts it: such an entry is never read (FireSliding skips it).
      const PaneBucket* bucket = nullptr;
      auto p = panes_.find(start);
      if (p != panes_.end()) {
        auto f = p->second.index.find(key);
        if (f == p->second.index.end()) return false;  // a pane the stack holds has this key's bucket
        bucket = static_cast<const PaneBucket*>(f->second);
      }
      st.back.emplace_back(start, bucket);
    }
    // An empty back_agg (no back panes) is saved as []; else one state per aggregate.
    if (back_agg.is_array() && back_agg.size() == 0) return true;
    st.back_agg = NewStates(*ctx_.aggs);
    return LoadStates(back_agg, &st.back_agg);
  }
  return false;
}

}  // namespace govstream::window
