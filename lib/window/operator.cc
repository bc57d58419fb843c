#include "window/operator.h"

namespace govstream::window {

WindowOperator::WindowOperator(const OperatorOptions& options, Writer writer)
    : options_(options),
      writer_(std::move(writer)),
      keys_(options.key_fields, options.max_groups),
      watermark_(options.processing_time, options.max_delay_ms, options.idle_timeout_ms),
      early_(options.every_ms) {
  assigner_ = MakeAssigner(options.window, AssignerContext{options.aggs, &keys_});
}

WindowOperator::~WindowOperator() = default;

const States* WindowOperator::Assign(int64_t t, int64_t now, std::string_view canonical,
                                     const std::vector<std::string>& key_json) {
  return Assign(t, now, keys_.Intern(canonical, key_json));
}

const States* WindowOperator::Assign(int64_t t, int64_t now, KeyId key) {
  if (options_.processing_time) t = now;
  Bucket* b = assigner_->Assign(t, key, watermark_.current());
  if (b == nullptr) {
    keys_.ReleaseIfUnused(key);
    ++counts_.late_dropped;
    watermark_.Observe(kMinTime, now);  // still an arrival (not idle)
    pending_ = nullptr;
    return nullptr;
  }
  pending_ = b;
  pending_t_ = t;
  return &b->states;
}

void WindowOperator::Commit(int64_t now) {
  if (pending_ != nullptr) {
    assigner_->AfterAdd(pending_, watermark_.current(), &batch_);
    Flush();
    watermark_.Observe(pending_t_, now);
    pending_ = nullptr;
  }
  if (options_.processing_time) watermark_.OnWallClock(now);
  Step();
}

void WindowOperator::OnWallClock(int64_t now) {
  watermark_.OnWallClock(now);
  Step();
}

void WindowOperator::Step() {
  const int64_t w = watermark_.current();
  if (w >= assigner_->next_deadline()) {
    assigner_->Advance(w, &batch_);
    Flush();
    assigner_->Purge(w);
  }
  if (options_.every_ms > 0 && early_.Due(w)) {
    assigner_->Early(w, &batch_);
    Flush();
  }
}

void WindowOperator::Finish() {
  assigner_->FireAll(&batch_);
  Flush();
  assigner_->Purge(kMaxTime);
}

void WindowOperator::Flush() {
  if (batch_.empty()) return;
  batch_.Flush(keys_, [this](const Result& r) {
    ++counts_.results;
    switch (r.mark) {
      case Mark::kFinal:
        ++counts_.final_results;
        break;
      case Mark::kEarly:
        ++counts_.early_results;
        break;
      case Mark::kUpdate:
        ++counts_.update_results;
        break;
    }
    writer_(r, keys_.at(r.key));
  });
}

OperatorStats WindowOperator::stats() const {
  OperatorStats s = counts_;
  s.open_windows = assigner_->open_windows();
  s.buckets = assigner_->buckets();
  s.keys = keys_.size();
  s.memory_bytes = keys_.MemoryBytes() + assigner_->MemoryBytes();
  s.overflow_records = keys_.overflow_records();
  s.watermark = watermark_.current();
  return s;
}

}  // namespace govstream::window
