// The pipeline verbs of stream-alert: --dedupe and --throttle, each a kept
// per-key table bounded by --max-keys.
//
// Deduper: a record passes unless one with the same identity (key and
// fields) passed less than `window_ms` earlier. Expired entries are purged
// when the table is full; when it is still full, a new identity is not
// tracked: its record passes and is counted as overflow (it cannot be
// recognised later, so passing it is the only way not to lose it).
//
// Throttler: per key, a burst of `burst` records, then one every
// window/burst, as Vector's throttle (the generic cell rate algorithm, in
// exact integer arithmetic). Keys beyond --max-keys share one overflow
// bucket, so they are still throttled, together.
//
// Times are milliseconds and must not go backwards per key by more than the
// table can absorb: an older time is treated as the latest one seen.
// Not thread-safe.
#ifndef GOVSTREAM_ALERT_LIMITER_H_
#define GOVSTREAM_ALERT_LIMITER_H_

#include <absl/container/flat_hash_map.h>

#include <cstdint>
#include <string>

namespace govstream::alert {

class Deduper {
 public:
  Deduper(int64_t window_ms, uint64_t max_keys) : window_ms_(window_ms), max_keys_(max_keys) {}
  // True: pass the record with this identity at `now`.
  bool Admit(const std::string& identity, int64_t now);
  uint64_t overflow() const { return overflow_; }
  size_t size() const { return seen_.size(); }

 private:
  void Purge(int64_t now);
  int64_t window_ms_;
  uint64_t max_keys_;
  absl::flat_hash_map<std::string, int64_t> seen_;  // identity -> time it last passed
  int64_t next_purge_ = INT64_MIN;
  uint64_t overflow_ = 0;
};

class Throttler {
 public:
  // `burst` records per `window_ms` (burst >= 1, window_ms >= 1).
  Throttler(uint64_t burst, int64_t window_ms, uint64_t max_keys);
  bool Admit(const std::string& key, int64_t now);
  uint64_t overflow() const { return overflow_; }
  size_t size() const { return tat_.size(); }

 private:
  bool AdmitAt(__int128* tat, int64_t now) const;
  void Purge(int64_t now);
  __int128 burst_;
  __int128 window_ms_;
  uint64_t max_keys_;
  // Theoretical arrival time per key, in units of 1/burst ms.
  absl::flat_hash_map<std::string, __int128> tat_;
  __int128 other_tat_ = 0;
  bool other_used_ = false;
  int64_t next_purge_ = INT64_MIN;
  uint64_t overflow_ = 0;
};

}  // namespace govstream::alert

#endif  // GOVSTREAM_ALERT_LIMITER_H_
