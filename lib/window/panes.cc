#include "window/panes.h"

#include <absl/container/flat_hash_set.h>

#include <algorithm>
#include <numeric>

namespace govstream::window {

PaneAssigner::PaneAssigner(int64_t size, int64_t slide, int64_t offset, int64_t lateness, AssignerContext ctx)
    : size_(size), slide_(slide), pane_(std::gcd(size, slide)), offset_(offset), lateness_(lateness), ctx_(ctx) {
  // Offsets only matter modulo the slide (and the pane, which divides it).
  offset_ = offset - AlignDown(offset, slide_, 0);
}

PaneAssigner::~PaneAssigner() = default;

Bucket* PaneAssigner::Assign(int64_t t, KeyId key, int64_t watermark) {
  const int64_t ps = AlignDown(t, pane_, offset_);
  KeyEntry& ke = ctx_.keys->at(key);
  if (ke.cached_bucket != nullptr && ke.cached_slot == ps) {
    auto* b = static_cast<Bucket*>(ke.cached_bucket);
    b->changed = true;
    return b;
  }
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
    it->second = b.get();
    pane->buckets.push_back(std::move(b));
    ctx_.keys->Ref(key);
    ++bucket_count_;
  }
  Bucket* b = it->second;
  ke.cached_slot = ps;
  ke.cached_bucket = b;
  b->changed = true;
  return b;
}

void PaneAssigner::AfterAdd(Bucket* bucket, int64_t watermark, ResultBatch* out) {
  if (fired_until_ == kMinTime) return;
  const int64_t ps = static_cast<PaneBucket*>(bucket)->pane_start;
  const int64_t last = std::min(LastEnd(ps), fired_until_);
  for (int64_t e = FirstEndAfter(ps); e <= last; e += slide_) {
    if (e + lateness_ > watermark) EmitWindow(e, Mark::kUpdate, &bucket->key, false, out);
  }
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
  for (int64_t e : ends) EmitWindow(e, Mark::kFinal, nullptr, false, out);
  fired_until_ = std::max(fired_until_, upto);
  Recompute();
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
             pane.index.capacity() * (sizeof(KeyId) + sizeof(void*) + 1);
    for (const auto& b : pane.buckets) bytes += sizeof(PaneBucket) + StatesMemoryBytes(b->states);
  }
  return bytes;
}

}  // namespace govstream::window
