// Watermarks and timers of stream-window.
//
// Watermark: the event-time clock. In event-time mode it is the largest
// event time seen minus the allowed out-of-orderness (--max-delay): a window
// [start, end) is complete once the watermark reaches end. With an idle
// timeout, once no record has arrived for that long (wall clock), the
// watermark moves on as if a record stamped "largest event time + time since
// the last record" had arrived, so the last windows of a quiet stream fire.
// In processing-time mode it is simply the wall clock.
//
// PeriodicTimer: fires at the multiples of a period (on the epoch), used for
// --emit changes --every DUR.
//
// All times are milliseconds since the epoch. Not thread-safe; never fails.
#ifndef GOVSTREAM_WINDOW_WATERMARK_H_
#define GOVSTREAM_WINDOW_WATERMARK_H_

#include <algorithm>
#include <array>
#include <cstdint>

#include "window/assigner.h"

namespace govstream::window {

class Watermark {
 public:
  // idle_timeout_ms 0: never idle.
  Watermark(bool processing_time, int64_t max_delay_ms, int64_t idle_timeout_ms)
      : processing_(processing_time), max_delay_(processing_time ? 0 : max_delay_ms), idle_(idle_timeout_ms) {}

  // A record with this event time arrived at wall-clock time now.
  void Observe(int64_t event_time, int64_t now) {
    last_arrival_ = now;
    if (processing_) event_time = now;
    if (event_time > max_event_) {
      max_event_ = event_time;
      current_ = std::max(current_, max_event_ - max_delay_);
    }
  }
  // The wall clock advanced (also while input is idle).
  void OnWallClock(int64_t now) {
    if (processing_) {
      current_ = std::max(current_, now);
      return;
    }
    if (idle_ > 0 && max_event_ != kMinTime && now - last_arrival_ >= idle_) {
      current_ = std::max(current_, max_event_ + (now - last_arrival_) - max_delay_);
    }
  }
  int64_t current() const { return current_; }
  int64_t max_event_time() const { return max_event_; }
  // --state: [max event time, current, last arrival], and back.
  std::array<int64_t, 3> saved() const { return {max_event_, current_, last_arrival_}; }
  void Restore(const std::array<int64_t, 3>& s) {
    max_event_ = s[0];
    current_ = s[1];
    last_arrival_ = s[2];
  }
  bool idle(int64_t now) const { return idle_ > 0 && max_event_ != kMinTime && now - last_arrival_ >= idle_; }

 private:
  bool processing_;
  int64_t max_delay_;
  int64_t idle_;
  int64_t max_event_ = kMinTime;
  int64_t current_ = kMinTime;
  int64_t last_arrival_ = kMinTime;
};

class PeriodicTimer {
 public:
  explicit PeriodicTimer(int64_t period_ms) : period_(period_ms) {}
  // True when `now` reached the next multiple of the period since the last
  // call that returned true (the first call only arms the timer).
  bool Due(int64_t now) {
    if (period_ <= 0 || now == kMinTime) return false;
    if (next_ == kMinTime) {
      next_ = AlignDown(now, period_, 0) + period_;
      return false;
    }
    if (now < next_) return false;
    next_ = AlignDown(now, period_, 0) + period_;
    return true;
  }

  // --state: the next due time (kMinTime: not armed), and back.
  int64_t next() const { return next_; }
  void set_next(int64_t next) { next_ = next; }

 private:
  int64_t period_;
  int64_t next_ = kMinTime;
};

}  // namespace govstream::window

#endif  // GOVSTREAM_WINDOW_WATERMARK_H_
