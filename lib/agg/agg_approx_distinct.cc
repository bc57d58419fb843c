// approx_distinct: the number of distinct values estimated with
// HyperLogLog (precision 14: 16384 registers, standard error 0.81%), in
// bounded memory. Small sets are counted exactly (see sketches.h).
#include <cmath>

#include "agg/aggregator.h"
#include "agg/canonical.h"
#include "agg/sketches.h"

namespace govstream::agg {
namespace {

class ApproxDistinct final : public State {
 public:
  bool Add(const expr::Value& v) override {
    key_.clear();
    AppendCanonical(v, &key_);
    hll_.Add(key_);
    return true;
  }
  void Merge(const State& other) override { hll_.Merge(static_cast<const ApproxDistinct&>(other).hll_); }
  void AppendResult(std::string* out) const override { expr::AppendNumber(std::round(hll_.Estimate()), out); }
  size_t MemoryBytes() const override { return sizeof(*this) - sizeof(hll_) + hll_.MemoryBytes(); }
  std::unique_ptr<State> NewEmpty() const override { return std::make_unique<ApproxDistinct>(); }
  void Save(std::string* out) const override { hll_.Save(out); }
  bool Load(const expr::Value& saved) override { return hll_.Load(saved); }

 private:
  HyperLogLog hll_;
  std::string key_;
};

}  // namespace

std::unique_ptr<State> MakeApproxDistinct(const Params&) { return std::make_unique<ApproxDistinct>(); }

}  // namespace govstream::agg
