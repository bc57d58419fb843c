// --count N: per key, a window of every N records (in arrival order). It
// fires when its N-th record arrives; at end of input the partial windows
// fire too. window_start and window_end are the earliest and latest record
// time in the window (both inclusive). Records are never late here.
#include <absl/container/flat_hash_map.h>
#include <fmt/core.h>

#include <algorithm>

#include "agg/codec.h"
#include "base/raw_hash.h"
#include "window/assigner.h"

namespace govstream::window {
namespace {

struct CountWindow : Bucket {
  uint64_t n = 0;
  int64_t first = kMaxTime;
  int64_t last = kMinTime;
};

class CountAssigner final : public Assigner {
 public:
  CountAssigner(uint64_t count, AssignerContext ctx) : count_(count), ctx_(ctx) {}

  Bucket* Assign(int64_t t, KeyId key, int64_t) override {
    auto [it, inserted] = open_.try_emplace(key, nullptr);
    if (inserted) {
      it->second = std::make_unique<CountWindow>();
      it->second->key = key;
      it->second->states = NewStates(*ctx_.aggs);
      ctx_.keys->Ref(key);
    }
    CountWindow* w = it->second.get();
    w->first = std::min(w->first, t);
    w->last = std::max(w->last, t);
    w->changed = true;
    return w;
  }

  void AfterAdd(Bucket* bucket, int64_t, ResultBatch* out) override {
    auto* w = static_cast<CountWindow*>(bucket);
    if (++w->n < count_) return;
    out->Add(w->first, w->last, w->key, Mark::kFinal, &w->states);
    // Kept until Purge(), after the batch was written.
    auto it = open_.find(w->key);
    full_.push_back(std::move(it->second));
    open_.erase(it);
  }

  void Advance(int64_t, ResultBatch*) override {}

  void Early(int64_t, ResultBatch* out) override {
    for (auto& [key, w] : open_) {
      if (!w->changed) continue;
      out->Add(w->first, w->last, w->key, Mark::kEarly, &w->states);
      w->changed = false;
    }
  }

  void FireAll(ResultBatch* out) override {
    for (auto& [key, w] : open_) {
      out->Add(w->first, w->last, w->key, Mark::kFinal, &w->states);
      full_.push_back(std::move(w));
    }
    open_.clear();
  }

  void Purge(int64_t) override {
    for (auto& w : full_) ctx_.keys->Unref(w->key);
    full_.clear();
  }

  int64_t next_deadline() const override { return full_.empty() ? kMaxTime : kMinTime; }
  size_t open_windows() const override { return open_.size(); }
  size_t buckets() const override { return open_.size(); }
  size_t MemoryBytes() const override {
    size_t bytes = sizeof(*this) + HashSlots(open_.size()) * (sizeof(KeyId) + sizeof(void*) + 1);
    for (const auto& [k, w] : open_) bytes += sizeof(CountWindow) + StatesMemoryBytes(w->states);
    return bytes;
  }

  // One line per open window (full ones are purged between records):
  // {"count":[key, n, first, last, changed],"s":[states]}.
  void Save(std::vector<std::string>* lines) const override {
    for (const auto& [key, w] : open_) {
      std::string l = fmt::format("{{\"count\":[{},{},{},{},{}],\"s\":", key, w->n, w->first, w->last, w->changed);
      SaveStates(w->states, &l);
      l += '}';
      lines->push_back(std::move(l));
    }
  }
  bool Load(const expr::Value& line, const KeyMap& keys, std::string* error) override {
    namespace codec = agg::codec;
    *error = "not a line of a --count window";
    expr::Value v, states;
    auto w = std::make_unique<CountWindow>();
    if (!codec::Member(line, "count", &v) || !v.is_array() || v.size() != 5 || !codec::ReadU64(v.at(1), &w->n) ||
        w->n >= count_ || !codec::ReadI64(v.at(2), &w->first) || !codec::ReadI64(v.at(3), &w->last) ||
        !codec::ReadBool(v.at(4), &w->changed) || !codec::Member(line, "s", &states)) {
      return false;
    }
    const KeyId key = keys(v.at(0));
    w->key = key;
    w->states = NewStates(*ctx_.aggs);
    if (key == kNoKey || open_.contains(key) || !LoadStates(states, &w->states)) return false;
    ctx_.keys->Ref(key);
    open_.emplace(key, std::move(w));
    return true;
  }

 private:
  uint64_t count_;
  AssignerContext ctx_;
  absl::flat_hash_map<KeyId, std::unique_ptr<CountWindow>> open_;
  std::vector<std::unique_ptr<CountWindow>> full_;
};

}  // namespace

std::unique_ptr<Assigner> MakeCount(const WindowSpec& spec, AssignerContext ctx) {
  return std::make_unique<CountAssigner>(spec.count, ctx);
}

}  // namespace govstream::window
