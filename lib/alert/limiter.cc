#include "alert/limiter.h"

#include <algorithm>
#include <vector>

namespace govstream::alert {

void Deduper::Purge(int64_t now) {
  int64_t earliest = INT64_MAX;
  for (auto it = seen_.begin(); it != seen_.end();) {
    if (now - it->second >= window_ms_) {
      seen_.erase(it++);
    } else {
      earliest = std::min(earliest, it->second);
      ++it;
    }
  }
  // Nothing else can expire before the oldest remaining entry does.
  next_purge_ = earliest == INT64_MAX ? now : earliest + window_ms_;
}

bool Deduper::Admit(const std::string& identity, int64_t now) {
  auto it = seen_.find(identity);
  if (it != seen_.end()) {
    if (now - it->second < window_ms_) return false;
    it->second = now;
    return true;
  }
  if (max_keys_ > 0 && seen_.size() >= max_keys_) {
    if (now >= next_purge_) Purge(now);
    if (seen_.size() >= max_keys_) {
      ++overflow_;
      return true;
    }
  }
  seen_.emplace(identity, now);
  return true;
}

Throttler::Throttler(uint64_t burst, int64_t window_ms, uint64_t max_keys)
    : burst_(static_cast<__int128>(burst)), window_ms_(window_ms), max_keys_(max_keys) {}

// GCRA with emission interval T = window/burst and tolerance
// tau = window - T, all scaled by `burst` to stay integral: a record at t
// conforms when t >= TAT - tau, and then TAT = max(TAT, t) + T.
bool Throttler::AdmitAt(__int128* tat, int64_t now) const {
  const __int128 t = static_cast<__int128>(now) * burst_;
  const __int128 interval = window_ms_;                 // T * burst
  const __int128 tolerance = window_ms_ * (burst_ - 1);  // tau * burst
  if (t < *tat - tolerance) return false;
  *tat = std::max(*tat, t) + interval;
  return true;
}

void Throttler::Purge(int64_t now) {
  const __int128 t = static_cast<__int128>(now) * burst_;
  __int128 earliest = -1;
  for (auto it = tat_.begin(); it != tat_.end();) {
    if (it->second <= t) {  // the bucket is full again: same as a new key
      tat_.erase(it++);
    } else {
      if (earliest < 0 || it->second < earliest) earliest = it->second;
      ++it;
    }
  }
  next_purge_ = earliest < 0 ? now : static_cast<int64_t>(earliest / burst_);
}

bool Throttler::Admit(const std::string& key, int64_t now) {
  auto it = tat_.find(key);
  if (it != tat_.end()) return AdmitAt(&it->second, now);
  if (max_keys_ > 0 && tat_.size() >= max_keys_) {
    if (now >= next_purge_) Purge(now);
    if (tat_.size() >= max_keys_) {
      ++overflow_;
      if (!other_used_) {
        other_used_ = true;
        other_tat_ = static_cast<__int128>(now) * burst_;
      }
      return AdmitAt(&other_tat_, now);
    }
  }
  __int128 tat = static_cast<__int128>(now) * burst_;  // a fresh, full bucket
  bool ok = AdmitAt(&tat, now);
  tat_.emplace(key, tat);
  return ok;
}

}  // namespace govstream::alert
