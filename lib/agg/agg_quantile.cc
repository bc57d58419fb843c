// quantile(EXPR, q), p50/p90/p95/p99/p999/pNN: the value at rank
// floor(q * n) (0-based, clamped to n - 1) of the numbers seen -- Miller's
// non-interpolated percentile. By default from a QuantileSketch (relative
// error <= 1%, bounded memory); with --exact from all values kept in memory.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <vector>

#include "agg/aggregator.h"
#include "agg/codec.h"
#include "agg/moments.h"
#include "agg/sketches.h"

namespace govstream::agg {
namespace {

// The stated bound is 1% relative error. The sketch keeps 0.95%, and the
// printed number may move from the sketch's value by kPrintSlack (relative),
// so that |printed - x| <= |printed - v| + |v - x| <= 0.05% x + 0.95% x = 1% x,
// where x is the exact value of the rank and v the sketch's value (v <=
// (1 + 0.95%) x). Printing all 17 digits of a value known to
// 1% would be false precision.
constexpr double kSketchAlpha = 0.0095;
constexpr double kPrintSlack = 0.0005 / (1 + kSketchAlpha);

// The number with the fewest significant decimal digits among v rounded to
// 1, 2, ... 17 digits that lies in [lo, hi] (v itself when none does, or
// when lo == hi).
double ShortestWithin(double v, double lo, double hi) {
  if (!(lo < hi)) return v;
  char buf[40];
  for (int digits = 1; digits <= 17; ++digits) {
    std::snprintf(buf, sizeof buf, "%.*e", digits - 1, v);
    double c = std::strtod(buf, nullptr);
    if (c >= lo && c <= hi) return c;
  }
  return v;
}

class SketchQuantile final : public State {
 public:
  explicit SketchQuantile(double q) : q_(q), sketch_(kSketchAlpha) {}
  bool Add(const expr::Value& v) override {
    if (!v.is_number() || !std::isfinite(v.number())) return false;
    sketch_.Add(v.number());
    return true;
  }
  void Merge(const State& other) override {
    sketch_.Merge(static_cast<const SketchQuantile&>(other).sketch_);
  }
  void AppendResult(std::string* out) const override {
    if (sketch_.count() == 0) {
      *out += "null";
      return;
    }
    // An exact result (the min, the max, zero) keeps full precision; a
    // bucket's value is printed with the fewest digits within kPrintSlack of
    // it, inside its bucket.
    double lo, hi;
    double v = sketch_.Quantile(q_, &lo, &hi);
    if (lo < hi) {
      const double slack = std::fabs(v) * kPrintSlack;
      lo = std::max(lo, v - slack);
      hi = std::min(hi, v + slack);
    }
    expr::AppendNumber(ShortestWithin(v, lo, hi), out);
  }
  size_t MemoryBytes() const override {
    return sizeof(*this) - sizeof(sketch_) + sketch_.MemoryBytes();
  }
  std::unique_ptr<State> NewEmpty() const override {
    return std::make_unique<SketchQuantile>(q_);
  }
  void Save(std::string* out) const override { sketch_.Save(out); }
  bool Load(const expr::Value& saved) override { return sketch_.Load(saved); }

 private:
  double q_;
  QuantileSketch sketch_;  // kSketchAlpha
};

class ExactQuantile final : public State {
 public:
  explicit ExactQuantile(double q) : q_(q) {}
  bool Add(const expr::Value& v) override {
    if (!v.is_number() || !std::isfinite(v.number()))
      return false;  // as the sketch
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
    if (std::fabs(exact - nearest) <=
        8 * std::numeric_limits<double>::epsilon() * std::max(1.0, exact)) {
      exact = nearest;
    }
    double idx = std::floor(exact);
    size_t i =
        idx < 0 ? 0 : (idx >= n ? sorted.size() - 1 : static_cast<size_t>(idx));
    std::nth_element(sorted.begin(),
                     sorted.begin() + static_cast<std::ptrdiff_t>(i),
                     sorted.end());
    expr::AppendNumber(sorted[i], out);
  }
  size_t MemoryBytes() const override {
    return sizeof(*this) + values_.capacity() * sizeof(double);
  }
  std::unique_ptr<State> NewEmpty() const override {
    return std::make_unique<ExactQuantile>(q_);
  }
  // The values, in the order seen.
  void Save(std::string* out) const override {
    *out += '[';
    for (size_t i = 0; i < values_.size(); ++i) {
      if (i != 0) *out += ',';
      codec::AppendDouble(values_[i], out);
    }
    *out += ']';
  }
  bool Load(const expr::Value& saved) override {
    if (!saved.is_array()) return false;
    values_.resize(saved.size());
    for (size_t i = 0; i < values_.size(); ++i) {
      if (!codec::ReadDouble(saved.at(i), &values_[i])) return false;
    }
    return true;
  }

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
