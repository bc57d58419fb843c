// ShortKeyCache: a small direct-mapped cache of (short byte string -> value)
// pairs, put in front of a hash map whose lookups dominate a hot loop (the
// one-string-key group lookup of stream-agg and stream-window: a few dozen
// host names looked up once per record).
//
// Keys of up to kMaxBytes bytes are held inline as three words, so a hit is
// one multiply, one cache line and three compares: no full hash, no probe,
// no pointer to follow. Longer keys are never cached (Find misses). A slot
// holds one key; a colliding key replaces it, so the cache only ever costs
// a miss -- keys chosen to collide cannot make it slower than the map
// behind it.
//
// The owner keeps it coherent: Put() after a successful map lookup, and
// Erase() (or Clear()) whenever a cached value may become stale (an entry
// erased, or its value reused). Not thread-safe. Never fails.
#ifndef GOVSTREAM_BASE_SHORT_KEY_CACHE_H_
#define GOVSTREAM_BASE_SHORT_KEY_CACHE_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace govstream {

template <typename V>
class ShortKeyCache {
 public:
  static constexpr size_t kMaxBytes = 24;

  // True with *value when `s` is cached. Counts hits: when fewer than half
  // of a stretch of lookups hit (many more distinct keys than slots), the
  // cache stands aside -- Find misses and Put does nothing -- for a longer
  // stretch, then tries again.
  bool Find(std::string_view s, V* value) {
    if (bypass_ > 0) {
      --bypass_;
      return false;
    }
    if (++lookups_ == kProbeLookups) {
      if (hits_ < kProbeLookups / 2) bypass_ = kBypassLookups;
      lookups_ = 0;
      hits_ = 0;
    }
    if (s.size() > kMaxBytes) return false;
    const Words w = Load(s);
    const Entry& e = entries_[Slot(w)];
    if (!Holds(e, w)) return false;
    ++hits_;
    *value = e.value;
    return true;
  }

  // Caches s -> value (replacing whatever held its slot); ignored for keys
  // longer than kMaxBytes and while the cache stands aside.
  void Put(std::string_view s, V value) {
    if (s.size() > kMaxBytes || bypass_ > 0) return;
    const Words w = Load(s);
    Entry& e = entries_[Slot(w)];
    e.w[0] = w.w[0];
    e.w[1] = w.w[1];
    e.w[2] = w.w[2];
    e.len = static_cast<uint32_t>(w.len);
    e.value = value;
  }

  // Forgets `s` if it is cached.
  void Erase(std::string_view s) {
    if (s.size() > kMaxBytes) return;
    const Words w = Load(s);
    Entry& e = entries_[Slot(w)];
    if (Holds(e, w)) e.len = kEmpty;
  }

  void Clear() {
    for (Entry& e : entries_) e.len = kEmpty;
  }

 private:
  static constexpr size_t kSlotBits = 8;
  static constexpr uint32_t kEmpty = UINT32_MAX;
  static constexpr uint32_t kProbeLookups = 4096;
  static constexpr uint32_t kBypassLookups = 1 << 16;

  struct Words {
    uint64_t w[3];
    size_t len;
  };
  struct Entry {
    uint64_t w[3] = {0, 0, 0};
    uint32_t len = kEmpty;
    V value{};
  };

  static bool Holds(const Entry& e, const Words& w) {
    return e.len == w.len && e.w[0] == w.w[0] && e.w[1] == w.w[1] &&
           e.w[2] == w.w[2];
  }

  // The key's bytes as three words: [0,8), [8,16) and [n-8,n) for n >= 8
  // (overlapping when n < 24; with the length, they determine the key),
  // zero-padded for n < 8.
  static Words Load(std::string_view s) {
    const char* p = s.data();
    const size_t n = s.size();
    Words w{{0, 0, 0}, n};
    if (n >= 8) {
      std::memcpy(&w.w[0], p, 8);
      std::memcpy(&w.w[2], p + n - 8, 8);
      if (n > 16) std::memcpy(&w.w[1], p + 8, 8);
    } else if (n > 0) {
      std::memcpy(&w.w[0], p, n);
    }
    return w;
  }

  static size_t Slot(const Words& w) {
    const uint64_t x =
        (w.w[0] ^ (w.w[1] << 1) ^ (w.w[2] >> 1) ^ w.len) * 0x9e3779b97f4a7c15u;
    return static_cast<size_t>(x >> (64 - kSlotBits));
  }

  Entry entries_[size_t{1} << kSlotBits];
  uint32_t lookups_ = 0;
  uint32_t hits_ = 0;
  uint32_t bypass_ = 0;
};

}  // namespace govstream

#endif  // GOVSTREAM_BASE_SHORT_KEY_CACHE_H_
