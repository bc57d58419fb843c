// quantile(EXPR, q), p50/p90/p95/p99/p999/pNN: the value at rank
// floor(q * n) (0-based, clamped to n - 1) of the numbers seen -- Miller's
// non-interpolated percentile. By default from a QuantileSketch (relative
// error <= 1%, bounded memory); with --exact from all values kept in memory.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "agg/aggregator.h"
#include "agg/moments.h"
#include "agg/sketches.h"

namespace govstream::agg {
namespace {

class SketchQuantile final : public State {
 public:
  explicit SketchQuantile(double q) : q_(q) {}
  bool Add(const expr::Value& v) override {
    if (!v.is_number() || !std::isfinite(v.number())) return false;
    sketch_.Add(v.number());
    return true;
  }
  void Merge(const State& other) override { sketch_.Merge(static_cast<const SketchQuantile&>(other).sketch_); }
  void AppendResult(std::string* out) const override {
    AppendNumberOrNull(sketch_.count() > 0, sketch_.Quantile(q_), out);
  }
  size_t MemoryBytes() const override { return sizeof(*this) - sizeof(sketch_) + sketch_.MemoryBytes(); }
  std::unique_ptr<State> NewEmpty() const override { return std::make_unique<SketchQuantile>(q_); }

 private:
  double q_;
  QuantileSketch sketch_;
};

class ExactQuantile final : public State {
 public:
  explicit ExactQuantile(double q) : q_(q) {}
  bool Add(const expr::Value& v) override {
    if (!v.is_number() || !std::isfinite(v.number())) return false;  // as the sketch
    values_.push_back(v.number());
    return true;
  }
  void Merge(const State& other) override {
    const auto& o = static_cast<const ExactQuantile&>(other);
    values_.insert(values_.end(), o.values_.begin(), o.values_.end());
  }
  void AppendResult(std::string* out) const override {
    if (values_.empty()) {
      *out += "null";
      return;
    }
    std::vector<double> sorted = values_;
    double n = static_cast<double>(sorted.size());
    // Miller computes int(p * n / 100) from the percent p; q * n can land a
    // few ulps below that integer (0.29 * 100), so snap to it first.
    double exact = q_ * n;
    double nearest = std::round(exact);
    if (std::fabs(exact - nearest) <= 8 * std::numeric_limits<double>::epsilon() * std::max(1.0, exact)) {
      exact = nearest;
    }
    double idx = std::floor(exact);
    size_t i = idx < 0 ? 0 : (idx >= n ? sorted.size() - 1 : static_cast<size_t>(idx));
    std::nth_element(sorted.begin(), sorted.begin() + static_cast<std::ptrdiff_t>(i), sorted.end());
    expr::AppendNumber(sorted[i], out);
  }
  size_t MemoryBytes() const override { return sizeof(*this) + values_.capacity() * sizeof(double); }
  std::unique_ptr<State> NewEmpty() const override { return std::make_unique<ExactQuantile>(q_); }

 private:
  double q_;
  std::vector<double> values_;
};

}  // namespace

std::unique_ptr<State> MakeQuantile(const Params& p) {
  if (p.exact) return std::make_unique<ExactQuantile>(p.quantile);
  return std::make_unique<SketchQuantile>(p.quantile);
}

}  // namespace govstream::agg
