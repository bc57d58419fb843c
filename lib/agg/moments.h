// Internal: running moments (n, sum, sum of squares) shared by sum, avg,
// var and stddev. Kept as Miller keeps them, so results agree with
// `mlr stats1` to the last bits; merging adds the sums.
#ifndef GOVSTREAM_AGG_MOMENTS_H_
#define GOVSTREAM_AGG_MOMENTS_H_

#include <cstdint>
#include <string>

#include <memory>

#include "agg/aggregator.h"
#include "agg/codec.h"
#include "expr/value.h"

namespace govstream::agg {

struct Moments {
  uint64_t n = 0;
  double sum = 0;
  double sum2 = 0;

  bool Add(const expr::Value& v) {
    if (!v.is_number()) return false;
    double x = v.number();
    ++n;
    sum += x;
    sum2 += x * x;
    return true;
  }
  void Merge(const Moments& o) {
    n += o.n;
    sum += o.sum;
    sum2 += o.sum2;
  }
  // [n, sum, sum2]
  void Save(std::string* out) const {
    *out += '[';
    codec::AppendU64(n, out);
    *out += ',';
    codec::AppendDouble(sum, out);
    *out += ',';
    codec::AppendDouble(sum2, out);
    *out += ']';
  }
  bool Load(const expr::Value& v) {
    return v.is_array() && v.size() == 3 && codec::ReadU64(v.at(0), &n) && codec::ReadDouble(v.at(1), &sum) &&
           codec::ReadDouble(v.at(2), &sum2);
  }
  double Mean() const { return sum / static_cast<double>(n); }
  // Sample variance (n - 1 in the denominator), Miller's formula.
  double Var() const {
    double dn = static_cast<double>(n);
    double mean = sum / dn;
    double numerator = sum2 - mean * (2.0 * sum - dn * mean);
    if (numerator < 0) numerator = 0;
    return numerator / (dn - 1);
  }
};

// Appends a number, or null for NaN/no data.
inline void AppendNumberOrNull(bool have, double d, std::string* out) {
  if (!have || d != d) {
    *out += "null";
    return;
  }
  expr::AppendNumber(d, out);
}

// The State of sum, avg, var and stddev: moments plus a result rule,
// `static void Result::Append(const Moments&, std::string* out)`.
template <typename Result>
class MomentState final : public State {
 public:
  bool Add(const expr::Value& v) override { return m_.Add(v); }
  void Merge(const State& other) override { m_.Merge(static_cast<const MomentState&>(other).m_); }
  void AppendResult(std::string* out) const override { Result::Append(m_, out); }
  size_t MemoryBytes() const override { return sizeof(*this); }
  std::unique_ptr<State> NewEmpty() const override { return std::make_unique<MomentState>(); }
  void Save(std::string* out) const override { m_.Save(out); }
  bool Load(const expr::Value& saved) override { return m_.Load(saved); }

 private:
  Moments m_;
};

// The State of min and max: the extreme number seen; kMax picks the
// largest, else the smallest. Non-numbers are skipped; null when none.
template <bool kMax>
class ExtremeState final : public State {
 public:
  bool Add(const expr::Value& v) override {
    if (!v.is_number()) return false;
    Take(v.number());
    return true;
  }
  void Merge(const State& other) override {
    const auto& o = static_cast<const ExtremeState&>(other);
    if (o.have_) Take(o.value_);
  }
  void AppendResult(std::string* out) const override { AppendNumberOrNull(have_, value_, out); }
  size_t MemoryBytes() const override { return sizeof(*this); }
  std::unique_ptr<State> NewEmpty() const override { return std::make_unique<ExtremeState>(); }
  // null when nothing was seen, else the number.
  void Save(std::string* out) const override {
    if (have_) {
      codec::AppendDouble(value_, out);
    } else {
      *out += "null";
    }
  }
  bool Load(const expr::Value& saved) override {
    have_ = !saved.is_null();
    return !have_ || codec::ReadDouble(saved, &value_);
  }

 private:
  void Take(double x) {
    if (!have_ || (kMax ? x > value_ : x < value_)) value_ = x;
    have_ = true;
  }
  bool have_ = false;
  double value_ = 0;
};

}  // namespace govstream::agg

#endif  // GOVSTREAM_AGG_MOMENTS_H_
