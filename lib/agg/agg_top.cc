// top(EXPR, k): the k most frequent values (heavy hitters), as
// [{"value": V, "count": N}, ...], highest count first. Space-Saving with
// max(2k, 16) counters: every value more frequent than n / (2k) is listed
// (with k counters the guarantee would be n / k), and each count
// overestimates by at most n / (2k).
#include <algorithm>

#include "agg/aggregator.h"
#include "agg/canonical.h"
#include "agg/sketches.h"

namespace govstream::agg {
namespace {

size_t Capacity(uint64_t k) { return static_cast<size_t>(std::max<uint64_t>(2 * k, 16)); }

class Top final : public State {
 public:
  explicit Top(uint64_t k) : k_(k), summary_(Capacity(k)) {}
  bool Add(const expr::Value& v) override {
    key_.clear();
    AppendCanonical(v, &key_);
    summary_.Add(key_);
    return true;
  }
  void Merge(const State& other) override { summary_.Merge(static_cast<const Top&>(other).summary_); }
  void AppendResult(std::string* out) const override {
    *out += '[';
    bool first = true;
    for (const SpaceSaving::Entry& e : summary_.Top(static_cast<size_t>(k_))) {
      if (!first) *out += ',';
      first = false;
      *out += "{\"value\":";
      *out += e.item;  // canonical JSON
      *out += ",\"count\":";
      *out += std::to_string(e.count);
      *out += '}';
    }
    *out += ']';
  }
  size_t MemoryBytes() const override { return sizeof(*this) - sizeof(summary_) + summary_.MemoryBytes(); }
  std::unique_ptr<State> NewEmpty() const override { return std::make_unique<Top>(k_); }
  void Save(std::string* out) const override { summary_.Save(out); }
  bool Load(const expr::Value& saved) override { return summary_.Load(saved); }

 private:
  uint64_t k_;
  SpaceSaving summary_;
  std::string key_;
};

}  // namespace

std::unique_ptr<State> MakeTop(const Params& p) { return std::make_unique<Top>(p.k); }

}  // namespace govstream::agg
