#include "agg/sketches.h"

#include <fmt/core.h>

#include <algorithm>
#include <bit>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <iterator>
#include <limits>

#include "agg/codec.h"

namespace govstream::agg {
namespace {

constexpr uint64_t kU32Max = std::numeric_limits<uint32_t>::max();
// A sparse store turns dense when the dense form is at most this many
// times its size (and a dense one sparse when it is more).
constexpr int64_t kDenseFactor = 2;

// ---------------------------------------------------------------- Hashing

// A 64-bit hash of bytes: 16-byte blocks are combined with a folded
// 64x64->128-bit multiply and each step is passed through the SplitMix64
// finalizer, which is a bijection, so no block can cancel the state built so
// far. Byte order is fixed (little-endian loads), so hashes are the same on
// every platform.
constexpr uint64_t kSeed = 0x243f6a8885a308d3ULL;  // pi
constexpr uint64_t kK0 = 0x9e3779b97f4a7c15ULL;    // golden ratio
constexpr uint64_t kK1 = 0xa0761d6478bd642fULL;
constexpr uint64_t kK2 = 0xe7037ed1a0b428dbULL;

uint64_t Load64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof(v));
  if constexpr (std::endian::native == std::endian::big) {
    v = __builtin_bswap64(v);
  }
  return v;
}

uint64_t Load32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof(v));
  if constexpr (std::endian::native == std::endian::big) {
    v = __builtin_bswap32(v);
  }
  return v;
}

uint64_t FoldMultiply(uint64_t a, uint64_t b) {
  unsigned __int128 p = static_cast<unsigned __int128>(a) * b;
  return static_cast<uint64_t>(p) ^ static_cast<uint64_t>(p >> 64);
}

uint64_t Avalanche(uint64_t z) {
  z ^= z >> 30;
  z *= 0xbf58476d1ce4e5b9ULL;
  z ^= z >> 27;
  z *= 0x94d049bb133111ebULL;
  z ^= z >> 31;
  return z;
}

uint64_t Hash64(std::string_view s) {
  const char* p = s.data();
  size_t n = s.size();
  uint64_t acc = kSeed ^ (static_cast<uint64_t>(n) * kK0);
  while (n > 16) {
    acc = Avalanche(acc ^ FoldMultiply(Load64(p) ^ kK1, Load64(p + 8) ^ kK2));
    p += 16;
    n -= 16;
  }
  // The last 1..16 bytes (0 only for the empty string), as two possibly
  // overlapping words; the length mixed in above tells the cases apart.
  uint64_t a = 0;
  uint64_t b = 0;
  if (n >= 8) {
    a = Load64(p);
    b = Load64(p + n - 8);
  } else if (n >= 4) {
    a = Load32(p);
    b = Load32(p + n - 4);
  } else if (n > 0) {
    a = (uint64_t{static_cast<unsigned char>(p[0])} << 16) |
        (uint64_t{static_cast<unsigned char>(p[n >> 1])} << 8) |
        uint64_t{static_cast<unsigned char>(p[n - 1])};
  }
  return Avalanche(acc ^ FoldMultiply(a ^ kK1, b ^ kK2));
}

}  // namespace

// ---------------------------------------------------------- QuantileSketch

int32_t QuantileSketch::Store::MinKey() const {
  return dense_ ? offset_ : static_cast<int32_t>(words_.front());
}

int32_t QuantileSketch::Store::MaxKey() const {
  if (dense_) return offset_ + static_cast<int32_t>(DenseSize()) - 1;
  return static_cast<int32_t>(words_[words_.size() - 2]);
}

uint64_t QuantileSketch::Store::DenseGet(size_t slot) const {
  if (!wide_) return words_[slot];
  return words_[2 * slot] | (uint64_t{words_[2 * slot + 1]} << 32);
}

void QuantileSketch::Store::DenseAdd(size_t slot, uint64_t count) {
  if (!wide_) {
    uint64_t sum = uint64_t{words_[slot]} + count;
    if (sum <= kU32Max) {
      words_[slot] = static_cast<uint32_t>(sum);
      return;
    }
    std::vector<uint32_t> wide(2 * words_.size(), 0);
    for (size_t i = 0; i < words_.size(); ++i) wide[2 * i] = words_[i];
    words_.swap(wide);
    wide_ = true;
  }
  uint64_t sum = DenseGet(slot) + count;
  words_[2 * slot] = static_cast<uint32_t>(sum);
  words_[2 * slot + 1] = static_cast<uint32_t>(sum >> 32);
}

void QuantileSketch::Store::Reserve(size_t words) {
  if (words <= words_.capacity()) return;
  words_.reserve(words + words / 4 + 2);
}

void QuantileSketch::Store::DenseReshape(int32_t lo, int32_t hi) {
  int32_t old_lo = offset_;
  size_t old_size = DenseSize();
  uint64_t folded = 0;
  for (size_t i = 0; i < old_size && old_lo + static_cast<int32_t>(i) <= lo;
       ++i) {
    folded += DenseGet(i);
  }
  bool wide = wide_ || folded > kU32Max;
  size_t width = wide ? 2 : 1;
  std::vector<uint32_t> fresh(static_cast<size_t>(hi - lo + 1) * width, 0);
  auto put = [&](size_t slot, uint64_t count) {
    if (wide) {
      fresh[2 * slot] = static_cast<uint32_t>(count);
      fresh[2 * slot + 1] = static_cast<uint32_t>(count >> 32);
    } else {
      fresh[slot] = static_cast<uint32_t>(count);
    }
  };
  if (folded != 0) put(0, folded);
  for (size_t i = 0; i < old_size; ++i) {
    int32_t key = old_lo + static_cast<int32_t>(i);
    if (key > lo) put(static_cast<size_t>(key - lo), DenseGet(i));
  }
  words_.swap(fresh);
  offset_ = lo;
  wide_ = wide;
}

void QuantileSketch::Store::ToDense() {
  int32_t lo = MinKey();
  int32_t hi = MaxKey();
  std::vector<uint32_t> fresh(static_cast<size_t>(hi - lo + 1), 0);
  for (size_t i = 0; i < words_.size(); i += 2) {
    fresh[static_cast<size_t>(static_cast<int32_t>(words_[i]) - lo)] =
        words_[i + 1];
  }
  words_.swap(fresh);
  offset_ = lo;
  dense_ = true;
  wide_ = false;
}

void QuantileSketch::Store::ToSparse() {
  std::vector<uint32_t> fresh;
  size_t entries = 0;
  for (uint32_t c : words_) entries += c != 0;
  fresh.reserve(2 * entries);
  for (size_t i = 0; i < words_.size(); ++i) {
    if (words_[i] == 0) continue;
    fresh.push_back(static_cast<uint32_t>(offset_ + static_cast<int32_t>(i)));
    fresh.push_back(words_[i]);
  }
  words_.swap(fresh);
  offset_ = 0;
  dense_ = false;
}

void QuantileSketch::Store::AddSparse(int32_t key, uint64_t count, int32_t lo) {
  // Collapsing and counts of 2^32 or more need the dense form; both are
  // rare (a store spanning max_buckets, a bucket with 4 billion values).
  if (lo > MinKey() || count > kU32Max) {
    ToDense();
    AddDense(key, count, lo, std::max(key, MaxKey()));
    return;
  }
  size_t first = 0;
  size_t last = words_.size() / 2;
  while (first < last) {
    size_t mid = (first + last) / 2;
    if (static_cast<int32_t>(words_[2 * mid]) < key) {
      first = mid + 1;
    } else {
      last = mid;
    }
  }
  size_t at = 2 * first;
  if (at < words_.size() && static_cast<int32_t>(words_[at]) == key) {
    uint64_t sum = uint64_t{words_[at + 1]} + count;
    if (sum <= kU32Max) {
      words_[at + 1] = static_cast<uint32_t>(sum);
    } else {
      ToDense();
      AddDense(key, count, MinKey(), MaxKey());
    }
    return;
  }
  Reserve(words_.size() + 2);
  uint32_t pair[2] = {static_cast<uint32_t>(key), static_cast<uint32_t>(count)};
  words_.insert(words_.begin() + static_cast<ptrdiff_t>(at), pair, pair + 2);
  // Dense once it is at most twice the size (one word per key spanned vs
  // two per key held): a dense add is an index, a sparse one a search and
  // often a move of the entries after it.
  int64_t span = int64_t{MaxKey()} - MinKey() + 1;
  if (span <= kDenseFactor * static_cast<int64_t>(words_.size())) ToDense();
}

void QuantileSketch::Store::AddDense(int32_t key, uint64_t count, int32_t lo,
                                     int32_t hi) {
  bool reshaped = false;
  if (lo != offset_) {
    DenseReshape(lo, hi);
    reshaped = true;
  } else if (hi > MaxKey()) {
    size_t words = static_cast<size_t>(hi - lo + 1) * Width();
    Reserve(words);
    words_.resize(words, 0);
    reshaped = true;
  }
  DenseAdd(static_cast<size_t>(key - offset_), count);
  if (reshaped && !wide_) {
    size_t entries = 0;
    for (uint32_t c : words_) entries += c != 0;
    if (words_.size() > 2 * kDenseFactor * entries) ToSparse();
  }
}

void QuantileSketch::Store::Add(int32_t key, uint64_t count,
                                uint32_t max_buckets) {
  // The common case, a key inside a narrow dense store: what the general
  // path below does when it neither grows, collapses nor widens the store.
  if (dense_ && !wide_ && words_.size() <= max_buckets) {
    uint64_t slot = static_cast<uint64_t>(int64_t{key} - offset_);
    if (slot < words_.size()) {
      uint64_t sum = uint64_t{words_[slot]} + count;
      if (sum <= kU32Max) {
        words_[slot] = static_cast<uint32_t>(sum);
        return;
      }
    }
  }
  if (words_.empty()) {
    dense_ = true;
    wide_ = false;
    offset_ = key;
    words_.assign(1, 0);
    DenseAdd(0, count);
    return;
  }
  int64_t hi = std::max<int64_t>(MaxKey(), key);
  int64_t floor_key = hi - max_buckets + 1;
  int64_t k = std::max<int64_t>(key, floor_key);
  int64_t lo = std::max<int64_t>(std::min<int64_t>(MinKey(), k), floor_key);
  if (dense_) {
    AddDense(static_cast<int32_t>(k), count, static_cast<int32_t>(lo),
             static_cast<int32_t>(hi));
  } else {
    AddSparse(static_cast<int32_t>(k), count, static_cast<int32_t>(lo));
  }
}

template <typename F>
void QuantileSketch::Store::ForEach(F&& f) const {
  if (dense_) {
    size_t n = DenseSize();
    for (size_t i = 0; i < n; ++i) {
      uint64_t c = DenseGet(i);
      if (c != 0 && !f(offset_ + static_cast<int32_t>(i), c)) return;
    }
  } else {
    for (size_t i = 0; i < words_.size(); i += 2) {
      if (!f(static_cast<int32_t>(words_[i]), uint64_t{words_[i + 1]})) return;
    }
  }
}

QuantileSketch::QuantileSketch(double alpha, size_t max_buckets) {
  if (std::isnan(alpha)) alpha = 0.01;
  alpha_ = std::clamp(alpha, 1e-6, 0.5);
  // gamma = (1 + alpha) / (1 - alpha) = 1 + 2 alpha / (1 - alpha).
  log_gamma_ = std::log1p(2 * alpha_ / (1 - alpha_));
  inv_log_gamma_ = 1 / log_gamma_;
  // 0: every finite nonzero magnitude, from the smallest subnormal to
  // DBL_MAX, has its own bucket (72,700 per sign at 1%), so nothing ever
  // collapses; memory follows the buckets in use (sparse), not this span.
  const double full =
      std::ceil((std::log(std::numeric_limits<double>::max()) -
                 std::log(std::numeric_limits<double>::denorm_min())) *
                inv_log_gamma_) +
      2;
  const size_t full_range = static_cast<size_t>(std::min(full, 2e9));
  max_buckets_ = static_cast<uint32_t>(
      max_buckets == 0 ? full_range
                       : std::clamp<size_t>(max_buckets, 8, full_range));
  min_ = std::numeric_limits<double>::infinity();
  max_ = -std::numeric_limits<double>::infinity();
}

int32_t QuantileSketch::Index(double magnitude) const {
  // Clamped so that even 0 and infinity cannot overflow the int32 keys.
  double i = std::ceil(std::log(magnitude) * inv_log_gamma_);
  return static_cast<int32_t>(std::clamp(i, -1e9, 1e9));
}

double QuantileSketch::Representative(int32_t index) const {
  // 2 gamma^i / (gamma + 1) = (1 - alpha) gamma^i. In the top bucket of
  // the range gamma^i may overflow to infinity; Quantile() clamps every
  // result to [min, max] seen.
  return (1 - alpha_) * std::exp(index * log_gamma_);
}

void QuantileSketch::Add(double v) {
  if (!std::isfinite(v)) return;
  AddCount(v, 1);
}

void QuantileSketch::AddCount(double v, uint64_t n) {
  if (v == 0) v = 0.0;  // -0.0 counts as (and is reported as) 0
  count_ += n;
  min_ = std::min(min_, v);
  max_ = std::max(max_, v);
  if (v > 0) {
    positive_.Add(Index(v), n, max_buckets_);
  } else if (v < 0) {
    negative_.Add(-Index(-v), n, max_buckets_);
  } else {
    zero_count_ += n;
  }
}

void QuantileSketch::Merge(const QuantileSketch& other) {
  if (&other == this) {
    QuantileSketch copy(other);
    Merge(copy);
    return;
  }
  if (other.count_ == 0) return;
  if (other.log_gamma_ == log_gamma_) {
    other.negative_.ForEach([&](int32_t key, uint64_t c) {
      negative_.Add(key, c, max_buckets_);
      return true;
    });
    other.positive_.ForEach([&](int32_t key, uint64_t c) {
      positive_.Add(key, c, max_buckets_);
      return true;
    });
    count_ += other.count_;
    zero_count_ += other.zero_count_;
  } else {
    // Another resolution: re-add each bucket as its representative, kept
    // inside other's exact range (so it is finite and has its sign).
    auto re_add = [&](double v, uint64_t c) {
      v = std::clamp(v, other.min_, other.max_);
      if (v == 0) {
        v = std::copysign(std::numeric_limits<double>::denorm_min(), v);
      }
      AddCount(v, c);
    };
    other.negative_.ForEach([&](int32_t key, uint64_t c) {
      re_add(-other.Representative(-key), c);
      return true;
    });
    if (other.zero_count_ != 0) AddCount(0.0, other.zero_count_);
    other.positive_.ForEach([&](int32_t key, uint64_t c) {
      re_add(other.Representative(key), c);
      return true;
    });
  }
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
}

// {"n":N,"zeros":Z,"min":D,"max":D,"pos":[key,count,...],"neg":[key,count,...]}
void QuantileSketch::Save(std::string* out) const {
  *out += "{\"n\":";
  codec::AppendU64(count_, out);
  *out += ",\"zeros\":";
  codec::AppendU64(zero_count_, out);
  *out += ",\"min\":";
  codec::AppendDouble(min_, out);
  *out += ",\"max\":";
  codec::AppendDouble(max_, out);
  auto store = [out](const char* name, const Store& st) {
    *out += fmt::format(",\"{}\":[", name);
    bool first = true;
    st.ForEach([&](int32_t key, uint64_t c) {
      *out += fmt::format("{}{},{}", first ? "" : ",", key, c);
      first = false;
      return true;
    });
    *out += ']';
  };
  store("pos", positive_);
  store("neg", negative_);
  *out += '}';
}

bool QuantileSketch::Load(const expr::Value& saved) {
  expr::Value n, zeros, lo, hi;
  if (!codec::Member(saved, "n", &n) || !codec::ReadU64(n, &count_) || !codec::Member(saved, "zeros", &zeros) ||
      !codec::ReadU64(zeros, &zero_count_) || !codec::Member(saved, "min", &lo) || !codec::ReadDouble(lo, &min_) ||
      !codec::Member(saved, "max", &hi) || !codec::ReadDouble(hi, &max_)) {
    return false;
  }
  uint64_t total = zero_count_;
  auto store = [&](const char* name, Store* st) {
    expr::Value a;
    if (!codec::Member(saved, name, &a) || !a.is_array() || a.size() % 2 != 0) return false;
    for (size_t i = 0; i < a.size(); i += 2) {
      expr::Value k = a.at(i);
      uint64_t c;
      if (!k.is_number() || k.number() != std::floor(k.number()) || std::fabs(k.number()) > 2e9 ||
          !codec::ReadU64(a.at(i + 1), &c) || c == 0) {
        return false;
      }
      st->Add(static_cast<int32_t>(k.number()), c, max_buckets_);
      total += c;
    }
    return true;
  };
  return store("pos", &positive_) && store("neg", &negative_) && total == count_;
}

double QuantileSketch::Quantile(double q) const {
  double lo, hi;
  return Quantile(q, &lo, &hi);
}

double QuantileSketch::Quantile(double q, double* lo, double* hi) const {
  *lo = *hi = std::numeric_limits<double>::quiet_NaN();
  if (count_ == 0 || std::isnan(q)) {
    return std::numeric_limits<double>::quiet_NaN();
  }
  auto exact = [&](double v) {
    *lo = *hi = v;
    return v;
  };
  q = std::clamp(q, 0.0, 1.0);
  double r = q * static_cast<double>(count_);
  double nearest = std::nearbyint(r);
  if (std::fabs(r - nearest) <= 8 * DBL_EPSILON * nearest) r = nearest;
  if (r >= static_cast<double>(count_ - 1)) return exact(max_);
  uint64_t rank = static_cast<uint64_t>(std::floor(r));
  if (rank == 0) return exact(min_);

  // A positive key i holds (gamma^(i-1), gamma^i]; a negative key -i the
  // negatives of those.
  double result = 0;
  bool found = false;
  uint64_t seen = 0;
  negative_.ForEach([&](int32_t key, uint64_t c) {
    seen += c;
    if (rank < seen) {
      result = -Representative(-key);
      *lo = -std::exp(-key * log_gamma_);
      *hi = -std::exp((-key - 1) * log_gamma_);
      found = true;
    }
    return !found;
  });
  if (!found) {
    seen += zero_count_;
    if (rank < seen) return exact(0.0);
    positive_.ForEach([&](int32_t key, uint64_t c) {
      seen += c;
      if (rank < seen) {
        result = Representative(key);
        *lo = std::exp((key - 1) * log_gamma_);
        *hi = std::exp(key * log_gamma_);
        found = true;
      }
      return !found;
    });
  }
  if (!found) return exact(max_);  // unreachable: the counts add up to count_
  result = std::clamp(result, min_, max_);
  *lo = std::clamp(*lo, min_, max_);
  *hi = std::clamp(*hi, min_, max_);
  if (result < *lo || result > *hi)
    *lo = *hi = result;  // rounding at the edges
  return result;
}

size_t QuantileSketch::MemoryBytes() const {
  return sizeof(*this) + negative_.HeapBytes() + positive_.HeapBytes();
}

// ------------------------------------------------------------- HyperLogLog

namespace {

// Max-merges registers of precision `from_p` into registers of precision
// `to_p` <= from_p. In the lower precision the low from_p - to_p index bits
// become the leading bits of the rank field.
void FoldRegisters(const uint8_t* from, int from_p, uint8_t* to, int to_p) {
  int d = from_p - to_p;
  size_t n = size_t{1} << from_p;
  uint32_t low_mask = (uint32_t{1} << d) - 1;
  for (size_t j = 0; j < n; ++j) {
    uint8_t r = from[j];
    if (r == 0) continue;
    uint32_t low = static_cast<uint32_t>(j) & low_mask;
    uint8_t folded = low != 0
                         ? static_cast<uint8_t>(d - std::bit_width(low) + 1)
                         : static_cast<uint8_t>(d + r);
    uint8_t& dst = to[j >> d];
    dst = std::max(dst, folded);
  }
}

int ClampPrecision(int precision) { return std::clamp(precision, 4, 18); }

}  // namespace

HyperLogLog::HyperLogLog(int precision)
    : precision_(static_cast<uint8_t>(ClampPrecision(precision))) {}

void HyperLogLog::Add(std::string_view bytes) { AddHash(Hash64(bytes)); }

void HyperLogLog::AddHashDense(uint64_t hash) {
  size_t j = static_cast<size_t>(hash >> (64 - precision_));
  uint64_t w = (hash << precision_) | (uint64_t{1} << (precision_ - 1));
  uint8_t rank = static_cast<uint8_t>(std::countl_zero(w) + 1);
  uint8_t& reg = Registers()[j];
  if (rank > reg) reg = rank;
}

void HyperLogLog::AddHash(uint64_t hash) {
  if (dense_) {
    AddHashDense(hash);
    return;
  }
  auto it = std::lower_bound(data_.begin(), data_.end(), hash);
  if (it != data_.end() && *it == hash) return;
  size_t limit = SparseLimit();
  if (data_.size() >= limit) {
    ToDense();
    AddHashDense(hash);
    return;
  }
  size_t at = static_cast<size_t>(it - data_.begin());
  if (data_.size() == data_.capacity()) {
    data_.reserve(std::min(limit, std::max<size_t>(4, 2 * data_.size())));
  }
  data_.insert(data_.begin() + static_cast<ptrdiff_t>(at), hash);
}

void HyperLogLog::ToDense() {
  std::vector<uint64_t> hashes;
  hashes.swap(data_);
  data_.assign(RegisterCount() / sizeof(uint64_t), 0);
  dense_ = true;
  for (uint64_t h : hashes) AddHashDense(h);
}

void HyperLogLog::LowerPrecision(int precision) {
  if (precision >= precision_) return;
  if (!dense_) {
    precision_ = static_cast<uint8_t>(precision);
    if (data_.size() > SparseLimit()) ToDense();
    return;
  }
  std::vector<uint64_t> fresh((size_t{1} << precision) / sizeof(uint64_t), 0);
  FoldRegisters(Registers(), precision_,
                reinterpret_cast<uint8_t*>(fresh.data()), precision);
  data_.swap(fresh);
  precision_ = static_cast<uint8_t>(precision);
}

void HyperLogLog::Merge(const HyperLogLog& other) {
  if (&other == this) return;  // a union with itself changes nothing
  LowerPrecision(other.precision_);
  if (!other.dense_) {
    if (!dense_) {
      std::vector<uint64_t> all;
      all.reserve(data_.size() + other.data_.size());
      std::set_union(data_.begin(), data_.end(), other.data_.begin(),
                     other.data_.end(), std::back_inserter(all));
      if (all.size() <= SparseLimit()) {
        all.shrink_to_fit();
        data_.swap(all);
        return;
      }
      data_.swap(all);
      ToDense();
      return;
    }
    for (uint64_t h : other.data_) AddHashDense(h);
    return;
  }
  if (!dense_) ToDense();
  if (other.precision_ == precision_) {
    uint8_t* to = Registers();
    const uint8_t* from = other.Registers();
    for (size_t j = 0; j < RegisterCount(); ++j) {
      to[j] = std::max(to[j], from[j]);
    }
  } else {
    FoldRegisters(other.Registers(), other.precision_, Registers(), precision_);
  }
}

namespace {

// sigma(x) = x + sum_{k>=1} x^(2^k) 2^(k-1) and tau(x) = (1 - x -
// sum_{k>=1} (1 - x^(2^-k))^2 2^-k) / 3 from Ertl, "New cardinality
// estimation algorithms for HyperLogLog sketches" (2017), summed until the
// terms no longer change the double.
double Sigma(double x) {
  if (x == 1) return std::numeric_limits<double>::infinity();
  double y = 1;
  double z = x;
  for (;;) {
    x *= x;
    double prev = z;
    z += x * y;
    y += y;
    if (z == prev) return z;
  }
}

double Tau(double x) {
  if (x == 0 || x == 1) return 0;
  double y = 1;
  double z = 1 - x;
  for (;;) {
    x = std::sqrt(x);
    double prev = z;
    y *= 0.5;
    z -= (1 - x) * (1 - x) * y;
    if (z == prev) return z / 3;
  }
}

}  // namespace

double HyperLogLog::Estimate() const {
  if (!dense_) return static_cast<double>(data_.size());
  // Ertl's improved raw estimator over the histogram of register values
  // 0..q+1 (q = 64 - p rank bits): unbiased from zero to far beyond 2^64
  // without a linear-counting switch or empirical bias tables.
  int q = 64 - precision_;
  uint32_t histogram[66] = {};
  size_t m = RegisterCount();
  const uint8_t* regs = Registers();
  for (size_t j = 0; j < m; ++j) ++histogram[regs[j]];
  double md = static_cast<double>(m);
  double z = md * Tau(1 - histogram[q + 1] / md);
  for (int k = q; k >= 1; --k) z = 0.5 * (z + histogram[k]);
  z += md * Sigma(histogram[0] / md);
  return md * md / (2 * std::log(2.0)) / z;
}

double HyperLogLog::ClassicEstimate() const {
  if (!dense_) return static_cast<double>(data_.size());
  size_t m = RegisterCount();
  const uint8_t* regs = Registers();
  double sum = 0;
  size_t zeros = 0;
  for (size_t j = 0; j < m; ++j) {
    sum += std::ldexp(1.0, -regs[j]);
    zeros += regs[j] == 0;
  }
  double md = static_cast<double>(m);
  double alpha_m = m == 16   ? 0.673
                   : m == 32 ? 0.697
                   : m == 64 ? 0.709
                             : 0.7213 / (1 + 1.079 / md);
  double estimate = alpha_m * md * md / sum;
  if (estimate <= 2.5 * md && zeros != 0) {
    estimate = md * std::log(md / static_cast<double>(zeros));
  }
  return estimate;
}

size_t HyperLogLog::MemoryBytes() const {
  return sizeof(*this) + data_.capacity() * sizeof(uint64_t);
}

// {"p":P,"sparse":["16 hex digits",...]} or {"p":P,"dense":"hex registers"}
void HyperLogLog::Save(std::string* out) const {
  *out += fmt::format("{{\"p\":{},", precision_);
  if (dense_) {
    *out += "\"dense\":";
    codec::AppendHex(Registers(), RegisterCount(), out);
  } else {
    *out += "\"sparse\":[";
    for (size_t i = 0; i < data_.size(); ++i) *out += fmt::format("{}\"{:016x}\"", i ? "," : "", data_[i]);
    *out += ']';
  }
  *out += '}';
}

bool HyperLogLog::Load(const expr::Value& saved) {
  expr::Value p, a;
  uint64_t precision;
  if (!codec::Member(saved, "p", &p) || !codec::ReadU64(p, &precision) || precision < 4 || precision > 18) {
    return false;
  }
  precision_ = static_cast<uint8_t>(precision);
  data_.clear();
  if (codec::Member(saved, "dense", &a)) {
    dense_ = true;
    data_.assign(RegisterCount() / sizeof(uint64_t), 0);
    return codec::ReadHex(a, Registers(), RegisterCount());
  }
  dense_ = false;
  if (!codec::Member(saved, "sparse", &a) || !a.is_array() || a.size() > SparseLimit()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    expr::Value h = a.at(i);
    if (!h.is_string() || h.string().size() != 16) return false;
    uint64_t hash = 0;
    for (char c : h.string()) {
      int d = c >= '0' && c <= '9' ? c - '0' : (c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1);
      if (d < 0) return false;
      hash = hash << 4 | static_cast<uint64_t>(d);
    }
    if (!data_.empty() && hash <= data_.back()) return false;  // sorted, distinct
    data_.push_back(hash);
  }
  return true;
}

double HyperLogLog::StandardError(int precision) {
  return 1.04 / std::sqrt(std::ldexp(1.0, ClampPrecision(precision)));
}

// ------------------------------------------------------------- SpaceSaving

namespace {

uint32_t ItemHash(std::string_view item) {
  return static_cast<uint32_t>(Hash64(item) >> 32);
}

size_t StringHeapBytes(const std::string& s) {
  static const size_t kInline = std::string().capacity();
  return s.capacity() > kInline ? s.capacity() + 1 : 0;
}

}  // namespace

SpaceSaving::SpaceSaving(size_t capacity)
    : capacity_(std::clamp<size_t>(capacity, 1, size_t{1} << 31)) {}

int64_t SpaceSaving::Find(std::string_view item, uint32_t hash) const {
  if (index_.empty()) {
    for (size_t s = 0; s < counters_.size(); ++s) {
      if (counters_[s].hash == hash && counters_[s].item == item) {
        return static_cast<int64_t>(s);
      }
    }
    return -1;
  }
  size_t mask = index_.size() - 1;
  for (size_t i = hash & mask; index_[i] != 0; i = (i + 1) & mask) {
    const Counter& c = counters_[index_[i] - 1];
    if (c.hash == hash && c.item == item) return index_[i] - 1;
  }
  return -1;
}

uint64_t SpaceSaving::MinCount() const {
  if (counters_.size() < capacity_ || heap_.empty()) return 0;
  return counters_[heap_[0]].count;
}

void SpaceSaving::SiftUp(size_t pos) {
  uint32_t slot = heap_[pos];
  uint64_t count = counters_[slot].count;
  while (pos > 0) {
    size_t parent = (pos - 1) / 2;
    if (counters_[heap_[parent]].count <= count) break;
    heap_[pos] = heap_[parent];
    counters_[heap_[pos]].heap_pos = static_cast<uint32_t>(pos);
    pos = parent;
  }
  heap_[pos] = slot;
  counters_[slot].heap_pos = static_cast<uint32_t>(pos);
}

void SpaceSaving::SiftDown(size_t pos) {
  uint32_t slot = heap_[pos];
  uint64_t count = counters_[slot].count;
  size_t n = heap_.size();
  for (;;) {
    size_t child = 2 * pos + 1;
    if (child >= n) break;
    if (child + 1 < n &&
        counters_[heap_[child + 1]].count < counters_[heap_[child]].count) {
      ++child;
    }
    if (counters_[heap_[child]].count >= count) break;
    heap_[pos] = heap_[child];
    counters_[heap_[pos]].heap_pos = static_cast<uint32_t>(pos);
    pos = child;
  }
  heap_[pos] = slot;
  counters_[slot].heap_pos = static_cast<uint32_t>(pos);
}

void SpaceSaving::RebuildIndex() {
  index_.clear();
  if (counters_.size() <= kLinearMax) {
    index_.shrink_to_fit();
    return;
  }
  // Load factor 1/4 after a rebuild, rebuilt again past 1/2.
  size_t size = std::bit_ceil(4 * std::min(counters_.size(), capacity_));
  if (counters_.size() == capacity_) {
    size = std::bit_ceil(2 * capacity_);  // it cannot grow any more
  }
  std::vector<uint32_t>(size, 0).swap(index_);
  size_t mask = size - 1;
  for (size_t s = 0; s < counters_.size(); ++s) {
    size_t i = counters_[s].hash & mask;
    while (index_[i] != 0) i = (i + 1) & mask;
    index_[i] = static_cast<uint32_t>(s + 1);
  }
}

void SpaceSaving::IndexInsert(uint32_t slot) {
  if (counters_.size() <= kLinearMax) return;
  if (index_.empty() || 2 * counters_.size() > index_.size()) {
    RebuildIndex();  // places `slot` too
    return;
  }
  size_t mask = index_.size() - 1;
  size_t i = counters_[slot].hash & mask;
  while (index_[i] != 0) i = (i + 1) & mask;
  index_[i] = slot + 1;
}

void SpaceSaving::IndexErase(uint32_t slot) {
  if (index_.empty()) return;
  size_t mask = index_.size() - 1;
  size_t i = counters_[slot].hash & mask;
  while (index_[i] != slot + 1) i = (i + 1) & mask;
  // Backward-shift deletion: pull later entries of the probe run into the
  // hole unless their home position lies cyclically within (hole, entry].
  for (size_t j = (i + 1) & mask; index_[j] != 0; j = (j + 1) & mask) {
    size_t home = counters_[index_[j] - 1].hash & mask;
    if (((j - home) & mask) >= ((j - i) & mask)) {
      index_[i] = index_[j];
      i = j;
    }
  }
  index_[i] = 0;
}

void SpaceSaving::Add(std::string_view item, uint64_t weight) {
  if (weight == 0) return;
  total_ += weight;
  uint32_t hash = ItemHash(item);
  int64_t found = Find(item, hash);
  if (found >= 0) {
    Counter& c = counters_[static_cast<size_t>(found)];
    c.count += weight;
    SiftDown(c.heap_pos);
    return;
  }
  if (counters_.size() < capacity_) {
    if (counters_.size() == counters_.capacity()) {
      size_t n = counters_.size();
      counters_.reserve(std::min(capacity_, n + n / 2 + 2));
      heap_.reserve(counters_.capacity());
    }
    uint32_t slot = static_cast<uint32_t>(counters_.size());
    counters_.push_back(Counter{std::string(item), weight, 0, hash,
                                static_cast<uint32_t>(heap_.size())});
    item_heap_bytes_ += StringHeapBytes(counters_.back().item);
    heap_.push_back(slot);
    SiftUp(heap_.size() - 1);
    IndexInsert(slot);
    return;
  }
  // Full: the item takes over the counter with the smallest count, whose
  // count bounds how often the item may have been seen before.
  uint32_t slot = heap_[0];
  IndexErase(slot);
  Counter& c = counters_[slot];
  item_heap_bytes_ -= StringHeapBytes(c.item);
  c.item.assign(item);
  item_heap_bytes_ += StringHeapBytes(c.item);
  c.error = c.count;
  c.count += weight;
  c.hash = hash;
  IndexInsert(slot);
  SiftDown(0);
}

void SpaceSaving::Merge(const SpaceSaving& other) {
  if (&other == this) {
    SpaceSaving copy(other);
    Merge(copy);
    return;
  }
  total_ += other.total_;
  if (other.counters_.empty()) return;
  uint64_t min_this = MinCount();
  uint64_t min_other = other.MinCount();
  std::vector<Counter> all;
  all.reserve(counters_.size() + other.counters_.size());
  for (const Counter& o : other.counters_) {
    if (Find(o.item, o.hash) < 0) {
      all.push_back(
          Counter{o.item, o.count + min_this, o.error + min_this, o.hash, 0});
    }
  }
  for (Counter& c : counters_) {
    int64_t o = other.Find(c.item, c.hash);
    if (o >= 0) {
      c.count += other.counters_[static_cast<size_t>(o)].count;
      c.error += other.counters_[static_cast<size_t>(o)].error;
    } else {
      c.count += min_other;
      c.error += min_other;
    }
    all.push_back(std::move(c));
  }
  auto before = [](const Counter& a, const Counter& b) {
    if (a.count != b.count) return a.count > b.count;
    return a.item < b.item;
  };
  if (all.size() > capacity_) {
    std::nth_element(all.begin(),
                     all.begin() + static_cast<ptrdiff_t>(capacity_), all.end(),
                     before);
    all.resize(capacity_);
  }
  std::sort(all.begin(), all.end(), before);
  all.shrink_to_fit();
  counters_.swap(all);
  // Counts descending, read backwards, form a valid min-heap.
  size_t n = counters_.size();
  heap_.assign(n, 0);
  heap_.shrink_to_fit();
  item_heap_bytes_ = 0;
  for (size_t i = 0; i < n; ++i) {
    heap_[i] = static_cast<uint32_t>(n - 1 - i);
    counters_[n - 1 - i].heap_pos = static_cast<uint32_t>(i);
    item_heap_bytes_ += StringHeapBytes(counters_[i].item);
  }
  RebuildIndex();
}

// {"total":N,"c":[[item,count,error],...] (by slot),"heap":[slot,...]}
void SpaceSaving::Save(std::string* out) const {
  *out += "{\"total\":";
  codec::AppendU64(total_, out);
  *out += ",\"c\":[";
  for (size_t i = 0; i < counters_.size(); ++i) {
    if (i != 0) *out += ',';
    *out += '[';
    codec::AppendString(counters_[i].item, out);
    *out += fmt::format(",{},{}]", counters_[i].count, counters_[i].error);
  }
  *out += "],\"heap\":[";
  for (size_t i = 0; i < heap_.size(); ++i) *out += fmt::format("{}{}", i ? "," : "", heap_[i]);
  *out += "]}";
}

bool SpaceSaving::Load(const expr::Value& saved) {
  expr::Value total, c, heap;
  if (!codec::Member(saved, "total", &total) || !codec::ReadU64(total, &total_) || !codec::Member(saved, "c", &c) ||
      !c.is_array() || c.size() > capacity_ || !codec::Member(saved, "heap", &heap) || !heap.is_array() ||
      heap.size() != c.size()) {
    return false;
  }
  counters_.clear();
  heap_.clear();
  item_heap_bytes_ = 0;
  for (size_t i = 0; i < c.size(); ++i) {
    expr::Value e = c.at(i);
    Counter counter{};
    if (!e.is_array() || e.size() != 3 || !codec::ReadString(e.at(0), &counter.item) ||
        !codec::ReadU64(e.at(1), &counter.count) || !codec::ReadU64(e.at(2), &counter.error) ||
        counter.error > counter.count) {
      return false;
    }
    counter.hash = ItemHash(counter.item);
    counter.heap_pos = UINT32_MAX;
    item_heap_bytes_ += StringHeapBytes(counter.item);
    counters_.push_back(std::move(counter));
  }
  for (size_t i = 0; i < heap.size(); ++i) {
    uint64_t slot;
    if (!codec::ReadU64(heap.at(i), &slot) || slot >= counters_.size() || counters_[slot].heap_pos != UINT32_MAX) {
      return false;  // not a permutation of the slots
    }
    counters_[slot].heap_pos = static_cast<uint32_t>(i);
    heap_.push_back(static_cast<uint32_t>(slot));
  }
  for (size_t i = 1; i < heap_.size(); ++i) {
    if (counters_[heap_[(i - 1) / 2]].count > counters_[heap_[i]].count) return false;  // not a min-heap
  }
  RebuildIndex();
  return true;
}

std::vector<SpaceSaving::Entry> SpaceSaving::Top(size_t k) const {
  std::vector<const Counter*> order;
  order.reserve(counters_.size());
  for (const Counter& c : counters_) order.push_back(&c);
  k = std::min(k, order.size());
  std::partial_sort(order.begin(), order.begin() + static_cast<ptrdiff_t>(k),
                    order.end(), [](const Counter* a, const Counter* b) {
                      if (a->count != b->count) return a->count > b->count;
                      return a->item < b->item;
                    });
  std::vector<Entry> out;
  out.reserve(k);
  for (size_t i = 0; i < k; ++i) {
    out.push_back(Entry{order[i]->item, order[i]->count, order[i]->error});
  }
  return out;
}

size_t SpaceSaving::MemoryBytes() const {
  return sizeof(*this) + counters_.capacity() * sizeof(Counter) +
         item_heap_bytes_ + heap_.capacity() * sizeof(uint32_t) +
         index_.capacity() * sizeof(uint32_t);
}

}  // namespace govstream::agg
