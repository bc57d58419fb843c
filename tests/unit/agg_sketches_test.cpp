#include <algorithm>
#include <catch2/catch.hpp>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "agg/sketches.h"

using govstream::agg::HyperLogLog;
using govstream::agg::QuantileSketch;
using govstream::agg::SpaceSaving;

namespace {

// prefix followed by i in decimal.
std::string Key(std::string_view prefix, uint64_t i) {
  std::string s(prefix);
  s += std::to_string(i);
  return s;
}

// Quantiles as permille, so that the reference rank is exact integer math:
// floor(q * n) clamped to n - 1, as Miller's p50, p90, ... compute it.
const int kPermille[] = {0, 500, 900, 950, 990, 999, 1000};

double ExactQuantile(std::vector<double> values, int permille) {
  std::sort(values.begin(), values.end());
  size_t n = values.size();
  size_t rank = std::min(static_cast<size_t>(permille) * n / 1000, n - 1);
  return values[rank];
}

bool WithinRelative(double got, double want, double alpha) {
  return std::fabs(got - want) <= alpha * std::fabs(want) * (1 + 1e-9) + 1e-300;
}

void CheckQuantiles(const QuantileSketch& s,
                    const std::vector<double>& values) {
  REQUIRE(s.count() == values.size());
  for (int pm : kPermille) {
    double want = ExactQuantile(values, pm);
    double got = s.Quantile(pm / 1000.0);
    INFO("q=" << pm / 1000.0 << " want=" << want << " got=" << got);
    CHECK(WithinRelative(got, want, s.alpha()));
  }
}

std::vector<double> Distribution(const std::string& name, size_t n) {
  std::mt19937_64 rng(12345);
  std::vector<double> v;
  if (name == "uniform") {
    std::uniform_real_distribution<double> d(0, 1000);
    for (size_t i = 0; i < n; ++i) v.push_back(d(rng));
  } else if (name == "lognormal") {
    std::lognormal_distribution<double> d(0, 3);
    for (size_t i = 0; i < n; ++i) v.push_back(d(rng));
  } else if (name == "signed with zeros") {
    std::normal_distribution<double> d(0, 100);
    for (size_t i = 0; i < n; ++i) v.push_back(i % 10 == 0 ? 0.0 : d(rng));
  } else if (name == "negative") {
    std::exponential_distribution<double> d(0.01);
    for (size_t i = 0; i < n; ++i) v.push_back(-d(rng));
  } else if (name == "integers") {
    for (size_t i = 0; i < n; ++i) v.push_back(static_cast<double>(i % 97));
  } else if (name == "constant") {
    v.assign(n, 42.5);
  }
  return v;
}

}  // namespace

TEST_CASE("quantile sketch is within alpha of the exact rank", "[agg]") {
  for (const char* name : {"uniform", "lognormal", "signed with zeros",
                           "negative", "integers", "constant"}) {
    for (size_t n :
         {size_t{1}, size_t{2}, size_t{3}, size_t{100}, size_t{20000}}) {
      INFO(name << " n=" << n);
      std::vector<double> values = Distribution(name, n);
      QuantileSketch s;
      for (double v : values) s.Add(v);
      CheckQuantiles(s, values);
    }
  }
}

TEST_CASE("quantile sketch is within alpha over the whole range of doubles", "[agg][property]") {
  // Property: for random distributions spanning many decimal orders of
  // magnitude (log-uniform between random exponents anywhere in the normal
  // range, either or both signs, exact zeros), fed whole or in parts and
  // merged, every quantile is within alpha of the exact value of its rank.
  std::mt19937_64 rng(20261206);
  const int permilles[] = {0, 1, 10, 50, 100, 250, 500, 750, 900, 990, 999, 1000};
  for (int trial = 0; trial < 200; ++trial) {
    std::uniform_real_distribution<double> exponent(-307, 307);
    double lo = exponent(rng);
    double hi = exponent(rng);
    if (lo > hi) std::swap(lo, hi);
    if (trial % 4 == 0) lo = std::max(-307.0, hi - 21);  // the case: ~21 decades
    const size_t n = 1 + rng() % 3000;
    const int signs = static_cast<int>(rng() % 3);  // 0 positive, 1 negative, 2 both
    const bool zeros = rng() % 2 == 0;
    std::uniform_real_distribution<double> e(lo, hi);
    std::vector<double> values;
    for (size_t i = 0; i < n; ++i) {
      double v = std::pow(10.0, e(rng));
      if (signs == 1 || (signs == 2 && rng() % 2 == 0)) v = -v;
      if (zeros && rng() % 10 == 0) v = 0;
      values.push_back(v);
    }
    QuantileSketch whole;
    std::vector<QuantileSketch> parts(3);
    for (size_t i = 0; i < n; ++i) {
      whole.Add(values[i]);
      parts[i % 3].Add(values[i]);
    }
    QuantileSketch merged;
    for (const QuantileSketch& part : parts) merged.Merge(part);
    for (int pm : permilles) {
      double want = ExactQuantile(values, pm);
      INFO("trial " << trial << " decades [" << lo << ", " << hi << "] n=" << n << " q=" << pm / 1000.0
                    << " want=" << want);
      CHECK(WithinRelative(whole.Quantile(pm / 1000.0), want, whole.alpha()));
      CHECK(WithinRelative(merged.Quantile(pm / 1000.0), want, merged.alpha()));
    }
  }
}

TEST_CASE("quantile sketch: one and two values, coarser alpha", "[agg]") {
  QuantileSketch one(0.05);
  one.Add(-3.25);
  for (int pm : kPermille) CHECK(one.Quantile(pm / 1000.0) == -3.25);

  std::vector<double> two = {7.0, 1e6};
  QuantileSketch s(0.05);
  for (double v : two) s.Add(v);
  CheckQuantiles(s, two);
  CHECK(s.Quantile(0) == 7.0);  // min and max are exact
  CHECK(s.Quantile(1) == 1e6);
  CHECK(WithinRelative(s.Quantile(0.49), 7.0, 0.05));
  CHECK(WithinRelative(s.Quantile(0.5), 1e6, 0.05));
}

TEST_CASE("quantile sketch uses Miller's non-interpolated rank", "[agg]") {
  // mlr stats1 -a p10,p25,p29,p50,p90,p99 over 1..10 and 1..100.
  QuantileSketch ten;
  for (int i = 1; i <= 10; ++i) ten.Add(i);
  CHECK(WithinRelative(ten.Quantile(0.10), 2, 0.01));
  CHECK(WithinRelative(ten.Quantile(0.25), 3, 0.01));
  CHECK(WithinRelative(ten.Quantile(0.50), 6, 0.01));
  CHECK(WithinRelative(ten.Quantile(0.90), 10, 0.01));
  CHECK(WithinRelative(ten.Quantile(0.99), 10, 0.01));
  QuantileSketch hundred;
  for (int i = 1; i <= 100; ++i) hundred.Add(i);
  // 0.29 * 100 is 28.999999999999996 in doubles; Miller computes 29*100/100.
  CHECK(WithinRelative(hundred.Quantile(29 / 100.0), 30, 0.01));
  CHECK(WithinRelative(hundred.Quantile(57 / 100.0), 58, 0.01));
  CHECK(WithinRelative(hundred.Quantile(14 / 100.0), 15, 0.01));
}

TEST_CASE("quantile sketch ignores NaN and infinities", "[agg]") {
  QuantileSketch s;
  CHECK(std::isnan(s.Quantile(0.5)));
  s.Add(std::numeric_limits<double>::quiet_NaN());
  s.Add(std::numeric_limits<double>::infinity());
  s.Add(-std::numeric_limits<double>::infinity());
  CHECK(s.count() == 0);
  CHECK(std::isnan(s.Quantile(0.5)));
  s.Add(5);
  CHECK(s.count() == 1);
  CHECK(s.Quantile(0.5) == 5);
  CHECK(std::isnan(s.Quantile(std::numeric_limits<double>::quiet_NaN())));
  CHECK(s.Quantile(-1) == 5);
  CHECK(s.Quantile(2) == 5);
  // Extreme finite magnitudes stay finite and keep their sign.
  constexpr double kMax = std::numeric_limits<double>::max();
  QuantileSketch huge;
  for (double v : {kMax, kMax / 3, -kMax, -kMax / 3, kMax * 0.999}) huge.Add(v);
  CHECK(huge.Quantile(0) == -kMax);
  CHECK(WithinRelative(huge.Quantile(0.2), -kMax / 3, 0.01));
  CHECK(WithinRelative(huge.Quantile(0.4), kMax / 3, 0.01));
  CHECK(WithinRelative(huge.Quantile(0.6), kMax * 0.999, 0.01));
  CHECK(huge.Quantile(0.8) == kMax);
  constexpr double kMin = std::numeric_limits<double>::min();
  QuantileSketch tiny;
  for (double v : {kMin, 3 * kMin, -0.0, 0.0, -kMin, 1e-310, 1e-300}) {
    tiny.Add(v);  // 10 decimal orders: no collapse
  }
  CHECK(tiny.Quantile(0) == -kMin);
  QuantileSketch negative_zero;
  negative_zero.Add(-0.0);
  CHECK_FALSE(std::signbit(negative_zero.Quantile(0.5)));
  CHECK(tiny.Quantile(1.5 / 7) == 0.0);
  CHECK(tiny.Quantile(2.5 / 7) == 0.0);
  CHECK(WithinRelative(tiny.Quantile(3.5 / 7), 1e-310, 0.01));
  CHECK(WithinRelative(tiny.Quantile(4.5 / 7), kMin, 0.01));
  CHECK(WithinRelative(tiny.Quantile(5.5 / 7), 3 * kMin, 0.01));
  CHECK(tiny.Quantile(1) == 1e-300);
}

TEST_CASE("quantile sketch merge equals one sketch fed everything", "[agg]") {
  for (const char* name : {"uniform", "lognormal", "signed with zeros"}) {
    INFO(name);
    std::vector<double> values = Distribution(name, 10000);
    QuantileSketch whole, a, b;
    for (size_t i = 0; i < values.size(); ++i) {
      whole.Add(values[i]);
      (i % 3 == 0 ? a : b).Add(values[i]);
    }
    a.Merge(b);
    CHECK(a.count() == whole.count());
    for (int pm : kPermille) {
      CHECK(a.Quantile(pm / 1000.0) == whole.Quantile(pm / 1000.0));
    }
    for (double q = 0; q <= 1; q += 0.01) {
      CHECK(a.Quantile(q) == whole.Quantile(q));
    }
    CheckQuantiles(a, values);
    // Merging an empty sketch, or into one, changes nothing.
    QuantileSketch empty;
    a.Merge(empty);
    empty.Merge(whole);
    for (int pm : kPermille) {
      CHECK(a.Quantile(pm / 1000.0) == whole.Quantile(pm / 1000.0));
      CHECK(empty.Quantile(pm / 1000.0) == whole.Quantile(pm / 1000.0));
    }
  }
}

TEST_CASE("quantile sketch merge of another alpha adds the errors", "[agg]") {
  std::vector<double> values = Distribution("lognormal", 5000);
  std::vector<double> signed_values = Distribution("signed with zeros", 5000);
  values.insert(values.end(), signed_values.begin(), signed_values.end());
  QuantileSketch fine(0.01), coarse(0.02);
  for (size_t i = 0; i < values.size(); ++i) {
    (i % 2 ? fine : coarse).Add(values[i]);
  }
  fine.Merge(coarse);
  CHECK(fine.count() == values.size());
  for (int pm : kPermille) {
    CHECK(WithinRelative(fine.Quantile(pm / 1000.0), ExactQuantile(values, pm),
                         0.0302));
  }
}

TEST_CASE("quantile sketch collapses the lowest buckets only", "[agg]") {
  // 61 decimal orders of magnitude per sign; 512 buckets of 1% span a factor
  // of gamma^511 = 26,000 (4.4 orders) per store.
  std::vector<double> values;
  for (int e = -30; e <= 30; ++e) {
    for (double m : {1.0, 2.0, 5.0}) {
      values.push_back(m * std::pow(10.0, e));
      values.push_back(-m * std::pow(10.0, e));
    }
  }
  std::shuffle(values.begin(), values.end(), std::mt19937_64(7));
  QuantileSketch s(0.01, 512);
  for (double v : values) s.Add(v);
  INFO("memory " << s.MemoryBytes());
  CHECK(s.MemoryBytes() <= 128 + 2 * (4 * 512 * 5 / 4 + 8));
  std::vector<double> sorted = values;
  std::sort(sorted.begin(), sorted.end());
  size_t n = sorted.size();
  CHECK(s.Quantile(0) == sorted[0]);  // the extremes are exact
  CHECK(s.Quantile(1) == sorted[n - 1]);
  // The 12 largest positives (1e27..5e30) and the 12 negatives nearest zero
  // (-5e-27..-1e-30) are within the span kept, so keep full accuracy.
  for (size_t rank = n - 12; rank < n; ++rank) {
    INFO(sorted[rank]);
    CHECK(WithinRelative(s.Quantile((rank + 0.5) / n), sorted[rank], 0.01));
  }
  for (size_t rank = n / 2 - 12; rank < n / 2; ++rank) {
    INFO(sorted[rank]);
    CHECK(WithinRelative(s.Quantile((rank + 0.5) / n), sorted[rank], 0.01));
  }
  // Collapsed ranks answer with the lowest bucket kept, of the right sign.
  double low = s.Quantile(0.1);
  CHECK(low >= sorted[0]);
  CHECK(low < sorted[n / 2 - 12]);
  double low_positive = s.Quantile(0.6);
  CHECK(low_positive > 0);
  CHECK(low_positive < sorted[n - 12]);
}

TEST_CASE("quantile sketch counts past 2^32 in one bucket", "[agg]") {
  QuantileSketch s;
  s.Add(3);
  s.Add(1e9);  // far apart: a sparse store
  s.Add(-2);
  for (int i = 0; i < 33; ++i) s.Merge(s);
  uint64_t each = uint64_t{1} << 33;
  CHECK(s.count() == 3 * each);
  CHECK(WithinRelative(s.Quantile(0.2), -2, 0.01));
  CHECK(WithinRelative(s.Quantile(0.5), 3, 0.01));
  CHECK(WithinRelative(s.Quantile(0.9), 1e9, 0.01));
  CHECK(s.Quantile(0) == -2);
  QuantileSketch t;
  t.Add(3);
  t.Add(3.01);  // adjacent keys: a dense store
  for (int i = 0; i < 33; ++i) t.Merge(t);
  CHECK(t.count() == 2 * each);
  CHECK(WithinRelative(t.Quantile(0.25), 3, 0.01));
  CHECK(WithinRelative(t.Quantile(0.75), 3.01, 0.01));
  t.Add(4);
  CHECK(t.count() == 2 * each + 1);
  CHECK(t.Quantile(1) == 4);
  t.Add(1);  // extends the wide store downwards
  CHECK(t.Quantile(0) == 1);
  CHECK(WithinRelative(t.Quantile(0.25), 3, 0.01));
  QuantileSketch c(0.01, 8);  // collapsing a wide store
  c.Add(1);
  for (int i = 0; i < 33; ++i) c.Merge(c);
  c.Add(1e6);
  CHECK(c.count() == each + 1);
  CHECK(c.Quantile(0) == 1);
  CHECK(c.Quantile(1) == 1e6);
  CHECK(WithinRelative(c.Quantile(0.5), 1e6 / std::pow(1.0202, 7), 0.02));
}

namespace {

// The bucketing of the header, kept in std::maps: a reference for the
// sketch's sparse and dense stores, collapsing and merging.
class ReferenceSketch {
 public:
  ReferenceSketch(double alpha, uint32_t max_buckets)
      : alpha_(alpha),
        log_gamma_(std::log1p(2 * alpha / (1 - alpha))),
        inv_log_gamma_(1 / log_gamma_),
        max_buckets_(max_buckets) {}
  void Add(double v) {
    ++count_;
    min_ = std::min(min_, v);
    max_ = std::max(max_, v);
    if (v > 0) {
      AddTo(&positive_, Index(v), 1);
    } else if (v < 0) {
      AddTo(&negative_, -Index(-v), 1);
    } else {
      ++zeros_;
    }
  }
  void Merge(const ReferenceSketch& o) {
    for (auto [k, c] : o.negative_) AddTo(&negative_, k, c);
    for (auto [k, c] : o.positive_) AddTo(&positive_, k, c);
    count_ += o.count_;
    zeros_ += o.zeros_;
    min_ = std::min(min_, o.min_);
    max_ = std::max(max_, o.max_);
  }
  double Quantile(double q) const {
    double r = q * static_cast<double>(count_);
    double nearest = std::nearbyint(r);
    if (std::fabs(r - nearest) <= 8 * DBL_EPSILON * nearest) r = nearest;
    if (r >= static_cast<double>(count_ - 1)) return max_;
    uint64_t rank = static_cast<uint64_t>(std::floor(r));
    if (rank == 0) return min_;
    uint64_t seen = 0;
    for (auto [k, c] : negative_) {
      seen += c;
      if (rank < seen) return std::clamp(-Rep(-k), min_, max_);
    }
    seen += zeros_;
    if (rank < seen) return 0;
    for (auto [k, c] : positive_) {
      seen += c;
      if (rank < seen) return std::clamp(Rep(k), min_, max_);
    }
    return max_;
  }

 private:
  int64_t Index(double m) const {
    return static_cast<int64_t>(std::ceil(std::log(m) * inv_log_gamma_));
  }
  double Rep(int64_t i) const {
    return (1 - alpha_) * std::exp(static_cast<double>(i) * log_gamma_);
  }
  void AddTo(std::map<int64_t, uint64_t>* store, int64_t key, uint64_t c) {
    int64_t hi = store->empty() ? key : std::max(store->rbegin()->first, key);
    int64_t floor_key = hi - max_buckets_ + 1;
    (*store)[std::max(key, floor_key)] += c;
    uint64_t folded = 0;
    while (store->begin()->first < floor_key) {
      folded += store->begin()->second;
      store->erase(store->begin());
    }
    (*store)[floor_key] += folded;
    if ((*store)[floor_key] == 0) store->erase(floor_key);
  }

  double alpha_, log_gamma_, inv_log_gamma_;
  int64_t max_buckets_;
  uint64_t count_ = 0, zeros_ = 0;
  double min_ = std::numeric_limits<double>::infinity();
  double max_ = -std::numeric_limits<double>::infinity();
  std::map<int64_t, uint64_t> negative_, positive_;
};

}  // namespace

TEST_CASE("quantile sketch stores match a reference bucket map", "[agg]") {
  std::mt19937_64 rng(99);
  for (int trial = 0; trial < 300; ++trial) {
    double alpha = std::uniform_real_distribution<double>(0.002, 0.1)(rng);
    uint32_t max_buckets = trial % 3 == 0 ? 2048 : 8 + rng() % 200;
    // Clusters of nearby values (dense stores) and scattered ones (sparse),
    // so that stores switch both ways, collapse and merge.
    int parts = 1 + static_cast<int>(rng() % 4);
    std::vector<QuantileSketch> sketches(parts,
                                         QuantileSketch(alpha, max_buckets));
    std::vector<ReferenceSketch> refs(parts,
                                      ReferenceSketch(alpha, max_buckets));
    size_t n = 1 + rng() % (trial % 5 == 0 ? 3000 : 40);
    double center =
        std::exp(std::uniform_real_distribution<double>(-20, 20)(rng));
    for (size_t i = 0; i < n; ++i) {
      double v;
      switch (rng() % 4) {
        case 0:
          v = center * std::uniform_real_distribution<double>(0.9, 1.1)(rng);
          break;
        case 1:
          v = std::exp(std::uniform_real_distribution<double>(-40, 40)(rng));
          break;
        case 2:
          v = -std::exp(std::uniform_real_distribution<double>(-5, 5)(rng));
          break;
        default:
          v = static_cast<double>(rng() % 3);
      }
      int part = static_cast<int>(rng() % parts);
      sketches[part].Add(v);
      refs[part].Add(v);
    }
    for (int i = 1; i < parts; ++i) {
      sketches[0].Merge(sketches[i]);
      refs[0].Merge(refs[i]);
    }
    INFO("trial " << trial << " n=" << n << " buckets=" << max_buckets);
    for (double q = 0; q <= 1; q += 0.01) {
      INFO("q=" << q);
      REQUIRE(sketches[0].Quantile(q) == refs[0].Quantile(q));
    }
    if (max_buckets == 2048) CHECK(sketches[0].MemoryBytes() <= 128 + 40 * n);
  }
}

TEST_CASE("quantile sketch memory is small for small groups", "[agg]") {
  CHECK(sizeof(QuantileSketch) <= 128);
  QuantileSketch empty;
  CHECK(empty.MemoryBytes() <= 128);
  for (const std::vector<double>& three :
       std::vector<std::vector<double>>{{1, 2, 3},
                                        {0.001, 1, 1e9},
                                        {-1e6, 0, 1e6},
                                        {5, 5, 5},
                                        {1, 1000, 1e6},
                                        {1, 1.01, 1e12}}) {
    QuantileSketch s;
    for (double v : three) s.Add(v);
    INFO(three[0] << " " << three[1] << " " << three[2] << ": "
                  << s.MemoryBytes());
    CHECK(s.MemoryBytes() <= 192);
  }
  // Any number of values within two decimal orders of magnitude.
  QuantileSketch wide;
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> d(1, 100);
  for (int i = 0; i < 100000; ++i) wide.Add(d(rng));
  INFO("1..100: " << wide.MemoryBytes());
  CHECK(wide.MemoryBytes() <= 1300);
}

// ------------------------------------------------------------- HyperLogLog

TEST_CASE("hyperloglog estimates within three standard errors", "[agg]") {
  double se = HyperLogLog::StandardError(14);
  CHECK(se == Approx(0.008125));
  for (uint64_t n : {0, 1, 10, 500, 1000, 20000, 40000, 100000, 1000000}) {
    HyperLogLog h;
    for (uint64_t i = 0; i < n; ++i) {
      std::string item = Key("user-", i);
      h.Add(item);
      h.Add(item);  // duplicates do not count
    }
    double est = h.Estimate();
    INFO("n=" << n << " estimate=" << est);
    if (n <= 512) {
      CHECK(h.sparse());
      CHECK(est == static_cast<double>(n));  // exact below the sparse limit
    } else {
      CHECK_FALSE(h.sparse());
      CHECK(std::fabs(est - n) <= 3 * se * n);
    }
    if (n >= 100000) {
      // Far above 2.5 m both estimators agree closely.
      CHECK(std::fabs(est - h.ClassicEstimate()) <= 0.002 * n);
    }
  }
}

TEST_CASE("hyperloglog hashes short and binary keys well", "[agg]") {
  // Integers as 8 raw bytes, 1..3-byte strings: the tail paths of the hash.
  HyperLogLog raw;
  for (uint64_t i = 0; i < 200000; ++i) {
    raw.Add(std::string_view(reinterpret_cast<const char*>(&i), sizeof(i)));
  }
  CHECK(std::fabs(raw.Estimate() - 200000) <= 3 * 0.008125 * 200000);
  HyperLogLog small(10);
  size_t distinct = 0;
  for (int len = 0; len <= 2; ++len) {
    size_t count = len == 0 ? 1 : len == 1 ? 256 : 65536;
    distinct += count;
    for (size_t i = 0; i < count; ++i) {
      char bytes[2] = {static_cast<char>(i & 0xff), static_cast<char>(i >> 8)};
      small.Add(std::string_view(bytes, static_cast<size_t>(len)));
    }
  }
  double se = HyperLogLog::StandardError(10);
  CHECK(std::fabs(small.Estimate() - distinct) <= 3 * se * distinct);
}

TEST_CASE("hyperloglog merge estimates the union", "[agg]") {
  auto fill = [](HyperLogLog* h, int from, int to) {
    for (int i = from; i < to; ++i) h->Add(Key("k", i));
  };
  double se = HyperLogLog::StandardError(14);
  HyperLogLog a, b, whole;
  fill(&a, 0, 60000);
  fill(&b, 40000, 100000);
  fill(&whole, 0, 100000);
  HyperLogLog ab = a;
  ab.Merge(b);
  CHECK(std::fabs(ab.Estimate() - 100000) <= 3 * se * 100000);
  CHECK(ab.Estimate() == whole.Estimate());  // register max is exact
  ab.Merge(ab);
  CHECK(ab.Estimate() == whole.Estimate());

  // Sparse with sparse, sparse with dense, in any order.
  HyperLogLog s1, s2, d;
  fill(&s1, 0, 300);
  fill(&s2, 200, 450);
  fill(&d, 0, 5000);
  HyperLogLog s12 = s1;
  s12.Merge(s2);
  CHECK(s12.sparse());
  CHECK(s12.Estimate() == 450);
  HyperLogLog s3;
  fill(&s3, 400, 700);
  s12.Merge(s3);  // 700 > 512 distinct: turns dense
  CHECK_FALSE(s12.sparse());
  HyperLogLog direct;
  fill(&direct, 0, 700);
  CHECK(s12.Estimate() == direct.Estimate());
  HyperLogLog sd = s1, ds = d;
  sd.Merge(d);
  ds.Merge(s1);
  CHECK(sd.Estimate() == d.Estimate());
  CHECK(ds.Estimate() == d.Estimate());
}

TEST_CASE("hyperloglog merge across precisions folds registers", "[agg]") {
  auto fill = [](HyperLogLog* h, int from, int to) {
    for (int i = from; i < to; ++i) h->Add(Key("x", i));
  };
  HyperLogLog hi(14), lo(12), direct(12);
  fill(&hi, 0, 50000);
  fill(&lo, 25000, 75000);
  fill(&direct, 0, 75000);
  HyperLogLog a = hi, b = lo;
  a.Merge(lo);
  b.Merge(hi);
  CHECK(a.precision() == 12);
  CHECK(b.precision() == 12);
  CHECK(a.Estimate() == direct.Estimate());
  CHECK(b.Estimate() == direct.Estimate());
  HyperLogLog sparse14(14), sparse12(12), direct12(12);
  fill(&sparse14, 0, 300);
  fill(&sparse12, 290, 310);
  fill(&direct12, 0, 310);
  sparse14.Merge(sparse12);  // 310 hashes > 128, the sparse limit at 12
  CHECK(sparse14.precision() == 12);
  CHECK_FALSE(sparse14.sparse());
  CHECK(sparse14.Estimate() == direct12.Estimate());
  HyperLogLog small_sparse(16);
  fill(&small_sparse, 0, 100);
  HyperLogLog p4(4);
  p4.Merge(small_sparse);
  HyperLogLog p4_direct(4);
  fill(&p4_direct, 0, 100);
  CHECK(p4.Estimate() == p4_direct.Estimate());
}

TEST_CASE("hyperloglog memory: empty and small sets are cheap", "[agg]") {
  HyperLogLog empty;
  CHECK(empty.MemoryBytes() == sizeof(HyperLogLog));
  CHECK(sizeof(HyperLogLog) <= 32);
  CHECK(empty.Estimate() == 0);
  HyperLogLog few;
  for (int i = 0; i < 10; ++i) few.Add(std::to_string(i));
  CHECK(few.MemoryBytes() <= 32 + 16 * 8);
  HyperLogLog full;
  for (int i = 0; i < 512; ++i) full.Add(std::to_string(i));
  CHECK(full.sparse());
  CHECK(full.MemoryBytes() <= 32 + 16384 / 4);
  full.Add("one more");
  CHECK(full.MemoryBytes() == 32 + 16384);
  CHECK(HyperLogLog(99).precision() == 18);
  CHECK(HyperLogLog(0).precision() == 4);
}

// ------------------------------------------------------------- SpaceSaving

namespace {

// A Zipf(s = 1.1) stream over `universe` items named prefix + rank.
std::vector<std::string> ZipfStream(size_t n, size_t universe, uint64_t seed,
                                    const std::string& prefix) {
  std::vector<double> cdf;
  double sum = 0;
  for (size_t i = 1; i <= universe; ++i) {
    sum += 1 / std::pow(static_cast<double>(i), 1.1);
    cdf.push_back(sum);
  }
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> d(0, sum);
  std::vector<std::string> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    size_t r = static_cast<size_t>(
        std::lower_bound(cdf.begin(), cdf.end(), d(rng)) - cdf.begin());
    out.push_back(Key(prefix, r));
  }
  return out;
}

void CheckGuarantees(const SpaceSaving& s,
                     const std::unordered_map<std::string, uint64_t>& truth,
                     uint64_t n) {
  REQUIRE(s.total() == n);
  uint64_t bound = n / s.capacity();
  std::vector<SpaceSaving::Entry> top = s.Top(s.capacity());
  std::map<std::string, SpaceSaving::Entry> reported;
  for (size_t i = 0; i < top.size(); ++i) {
    const auto& e = top[i];
    CHECK(reported.emplace(e.item, e).second);  // no duplicates
    if (i > 0) {
      bool ordered = top[i - 1].count > e.count ||
                     (top[i - 1].count == e.count && top[i - 1].item < e.item);
      CHECK(ordered);
    }
    auto it = truth.find(e.item);
    uint64_t t = it == truth.end() ? 0 : it->second;
    INFO(e.item << " true=" << t << " count=" << e.count
                << " error=" << e.error);
    CHECK(e.count >= t);
    CHECK(e.count - e.error <= t);
    CHECK(e.error <= bound);
  }
  size_t heavy = 0;
  for (const auto& [item, t] : truth) {
    if (t * s.capacity() <= n) continue;  // t <= N / capacity
    ++heavy;
    INFO(item << " true=" << t);
    auto it = reported.find(item);
    REQUIRE(it != reported.end());
    CHECK(it->second.count >= t);
    CHECK(it->second.count <= t + bound);
  }
  CHECK(heavy > 0);
}

}  // namespace

TEST_CASE("space-saving reports every item above N/capacity", "[agg]") {
  for (size_t capacity : {size_t{10}, size_t{50}, size_t{400}}) {
    INFO("capacity=" << capacity);
    std::vector<std::string> stream = ZipfStream(200000, 20000, 1, "item");
    std::unordered_map<std::string, uint64_t> truth;
    SpaceSaving s(capacity);
    for (const std::string& x : stream) {
      s.Add(x);
      ++truth[x];
    }
    CHECK(s.size() == capacity);
    CheckGuarantees(s, truth, stream.size());
    // Without merges, the counts add up to N.
    uint64_t sum = 0;
    for (const auto& e : s.Top(capacity)) sum += e.count;
    CHECK(sum == stream.size());
  }
}

TEST_CASE("space-saving is exact below capacity, with weights", "[agg]") {
  SpaceSaving s(8);
  s.Add("b", 3);
  s.Add("a", 3);
  s.Add("c");
  s.Add("zero", 0);  // weight 0 is a no-op
  s.Add("b");
  auto top = s.Top(10);
  REQUIRE(top.size() == 3);
  CHECK(top[0].item == "b");
  CHECK(top[0].count == 4);
  CHECK(top[1].item == "a");  // ties: a before c by bytes
  CHECK(top[1].count == 3);
  CHECK(top[2].item == "c");
  for (const auto& e : top) CHECK(e.error == 0);
  CHECK(s.Top(1).size() == 1);
  CHECK(s.Top(0).empty());
  CHECK(s.total() == 8);
  SpaceSaving tie(4);
  for (const char* x : {"d", "c", "b", "a"}) tie.Add(x);
  auto t = tie.Top(4);
  CHECK(t[0].item == "a");
  CHECK(t[3].item == "d");
}

TEST_CASE("space-saving merge keeps the guarantees for the union", "[agg]") {
  // Overlapping but different heavy hitters: "item" ranks differ per side.
  std::vector<std::string> left = ZipfStream(150000, 5000, 11, "item");
  std::vector<std::string> right = ZipfStream(100000, 5000, 12, "item");
  std::vector<std::string> other = ZipfStream(50000, 5000, 13, "other");
  right.insert(right.end(), other.begin(), other.end());
  std::shuffle(right.begin(), right.end(), std::mt19937_64(5));
  for (size_t capacity : {size_t{20}, size_t{100}}) {
    INFO("capacity=" << capacity);
    std::unordered_map<std::string, uint64_t> truth;
    SpaceSaving a(capacity), b(capacity);
    for (const auto& x : left) {
      a.Add(x);
      ++truth[x];
    }
    for (const auto& x : right) {
      b.Add(x, 2);
      truth[x] += 2;
    }
    uint64_t n = left.size() + 2 * right.size();
    SpaceSaving ab = a, ba = b;
    ab.Merge(b);
    ba.Merge(a);
    CheckGuarantees(ab, truth, n);
    CheckGuarantees(ba, truth, n);
    auto x = ab.Top(capacity), y = ba.Top(capacity);
    REQUIRE(x.size() == y.size());
    for (size_t i = 0; i < x.size(); ++i) {
      CHECK(x[i].item == y[i].item);
      CHECK(x[i].count == y[i].count);
      CHECK(x[i].error == y[i].error);
    }
    // Adding after a merge keeps them too.
    for (const auto& x2 : left) {
      ab.Add(x2);
      ++truth[x2];
    }
    CheckGuarantees(ab, truth, n + left.size());
  }
}

TEST_CASE("space-saving merge of small summaries is exact", "[agg]") {
  SpaceSaving a(10), b(10), empty(10);
  a.Add("x", 5);
  a.Add("y", 1);
  b.Add("x", 2);
  b.Add("z", 7);
  a.Merge(b);
  a.Merge(empty);
  auto top = a.Top(10);
  REQUIRE(top.size() == 3);
  CHECK(top[0].item == "x");
  CHECK(top[0].count == 7);
  CHECK(top[1].item == "z");
  CHECK(top[1].count == 7);
  CHECK(top[2].item == "y");
  for (const auto& e : top) CHECK(e.error == 0);
  a.Merge(a);
  CHECK(a.Top(1)[0].count == 14);
  CHECK(a.total() == 30);
  empty.Merge(b);
  CHECK(empty.Top(10).size() == 2);
}

TEST_CASE("space-saving memory grows with the items held", "[agg]") {
  SpaceSaving s(1000);
  size_t empty = s.MemoryBytes();
  CHECK(empty == sizeof(SpaceSaving));
  for (int i = 0; i < 3; ++i) s.Add(Key("k", i));
  CHECK(s.MemoryBytes() <= empty + 4 * 80);
  for (int i = 0; i < 100000; ++i) s.Add(Key("key-", i % 5000));
  INFO(s.MemoryBytes());
  CHECK(s.MemoryBytes() <= empty + 1000 * (64 + 16 + 8) * 5 / 4);
  s.Add(std::string(1000, 'x'));
  CHECK(s.MemoryBytes() >= empty + 1000 * 64 + 1000);
}
