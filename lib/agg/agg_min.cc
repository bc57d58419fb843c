// min: the smallest number; non-numbers are skipped, null when there were none.
#include "agg/aggregator.h"
#include "agg/moments.h"

namespace govstream::agg {
namespace {

class Min final : public State {
 public:
  bool Add(const expr::Value& v) override {
    if (!v.is_number()) return false;
    Take(v.number());
    return true;
  }
  void Merge(const State& other) override {
    const auto& o = static_cast<const Min&>(other);
    if (o.have_) Take(o.value_);
  }
  void AppendResult(std::string* out) const override { AppendNumberOrNull(have_, value_, out); }
  size_t MemoryBytes() const override { return sizeof(*this); }
  std::unique_ptr<State> NewEmpty() const override { return std::make_unique<Min>(); }

 private:
  void Take(double x) {
    if (!have_ || x < value_) value_ = x;
    have_ = true;
  }
  bool have_ = false;
  double value_ = 0;
};

}  // namespace

std::unique_ptr<State> MakeMin(const Params&) { return std::make_unique<Min>(); }

}  // namespace govstream::agg
