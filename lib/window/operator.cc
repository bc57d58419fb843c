#include "window/operator.h"

#include <absl/container/flat_hash_map.h>
#include <fmt/core.h>

#include "agg/codec.h"
#include "expr/json.h"

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

void WindowOperator::Save(std::vector<std::string>* lines) const {
  const auto w = watermark_.saved();
  lines->push_back(fmt::format(
      "{{\"window\":{{\"watermark\":[{},{},{}],\"early_next\":{},\"overflow_records\":{},"
      "\"late_dropped_total\":{}}}}}",
      w[0], w[1], w[2], early_.next(), keys_.overflow_records(), late_before_ + counts_.late_dropped));
  keys_.Save(lines);
  assigner_->Save(lines);
}

bool WindowOperator::Load(const std::vector<std::string>& lines, std::string* error) {
  namespace codec = agg::codec;
  absl::flat_hash_map<uint64_t, KeyId> ids;  // saved -> this run's
  const KeyMap map = [&ids](const expr::Value& saved) {
    uint64_t n;
    if (!codec::ReadU64(saved, &n)) return kNoKey;
    auto it = ids.find(n);
    return it == ids.end() ? kNoKey : it->second;
  };
  expr::Arena arena;
  for (size_t i = 0; i < lines.size(); ++i) {
    expr::Value v, m, x;
    arena.Reset();
    std::string why;
    bool ok = expr::ParseJsonSlow(lines[i], &arena, &v, &why);
    if (ok && i == 0) {
      std::array<int64_t, 3> w;
      int64_t early;
      uint64_t overflow, late_total;
      ok = codec::Member(v, "window", &m) && codec::Member(m, "watermark", &x) && x.is_array() && x.size() == 3 &&
           codec::ReadI64(x.at(0), &w[0]) && codec::ReadI64(x.at(1), &w[1]) && codec::ReadI64(x.at(2), &w[2]) &&
           codec::Member(m, "early_next", &x) && codec::ReadI64(x, &early) &&
           codec::Member(m, "overflow_records", &x) && codec::ReadU64(x, &overflow) &&
           codec::Member(m, "late_dropped_total", &x) && codec::ReadU64(x, &late_total);
      if (ok) {
        watermark_.Restore(w);
        early_.set_next(early);
        keys_.set_overflow_records(overflow);
        late_before_ = late_total;
      } else {
        why = "not the window header";
      }
    } else if (ok && codec::Member(v, "k", &x)) {
      KeyId id;
      uint64_t saved;
      ok = keys_.Load(v, &id, &saved) && ids.emplace(saved, id).second;
      if (!ok) why = "a key line of the wrong shape (or a key twice)";
    } else if (ok) {
      ok = assigner_->Load(v, map, &why);
    }
    if (!ok) {
      *error = fmt::format("line {} of the window state: {}", i + 1, why);
      return false;
    }
  }
  if (lines.empty()) return true;  // a first run
  for (const auto& [saved, id] : ids) keys_.ReleaseIfUnused(id);
  return true;
}

OperatorStats WindowOperator::stats() const {
  OperatorStats s = counts_;
  s.open_windows = assigner_->open_windows();
  s.buckets = assigner_->buckets();
  s.keys = keys_.size();
  s.memory_bytes = keys_.MemoryBytes() + assigner_->MemoryBytes();
  s.overflow_records = keys_.overflow_records();
  s.watermark = watermark_.current();
  s.late_dropped_total = late_before_ + counts_.late_dropped;
  return s;
}

}  // namespace govstream::window
