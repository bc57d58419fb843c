#include "alert/engine.h"

#include "agg/groups.h"

namespace govstream::alert {

// Appends every part to *out (no temporaries).
template <typename... T>
void Append(std::string* out, const T&... parts) {
  (out->append(std::string_view(parts)), ...);
}

Engine::Engine(size_t rule_count, const std::vector<RuleTiming>& timings, uint64_t max_keys)
    : timings_(timings), max_keys_(max_keys), tables_(rule_count) {}

Engine::Outcome Engine::Observe(size_t rule, const std::string& canonical, const std::vector<std::string>& key_json,
                                bool condition, int64_t now) {
  Outcome o;
  Table& table = tables_[rule];
  const RuleTiming& timing = timings_[rule];
  auto it = table.find(canonical);
  if (it == table.end()) {
    KeyState fresh;
    const bool full = max_keys_ > 0 && table.size() >= max_keys_;
    std::string other;
    if (full) {
      std::string quoted;
      Append(&quoted, "\"", agg::kOverflowKey, "\"");
      scratch_key_.assign(key_json.size(), quoted);
      other.push_back('[');
      for (size_t i = 0; i < scratch_key_.size(); ++i) Append(&other, i ? "," : "", scratch_key_[i]);
      other += "]";
      it = table.find(other);
    }
    // An inactive key stays inactive: nothing to keep (unless it is one of
    // the overflow key's, which is kept).
    if (!condition && it == table.end()) {
      o.state = fresh;
      o.key_json = &key_json;
      return o;
    }
    if (full) {
      o.overflow = true;
      ++overflow_;
      if (it == table.end()) it = table.emplace(other, AlertKey{scratch_key_, fresh}).first;
    } else {
      it = table.emplace(canonical, AlertKey{key_json, fresh}).first;
    }
  }
  AlertKey& k = it->second;
  o.key_json = &k.key_json;
  if (k.state.last_time != kNever && now < k.state.last_time) {
    ++late_;
    o.late = true;
    o.state = k.state;
    return o;
  }
  StepResult r = Step(&k.state, condition, now, timing);
  o.emit = r.emit;
  o.state = k.state;
  if (k.state.state == State::kInactive) {
    scratch_key_ = std::move(k.key_json);
    o.key_json = &scratch_key_;
    table.erase(it);
  }
  return o;
}

size_t Engine::firing() const {
  size_t n = 0;
  for (const Table& t : tables_) {
    for (const auto& [_, k] : t) n += k.state.state == State::kFiring ? 1 : 0;
  }
  return n;
}

size_t Engine::keys() const {
  size_t n = 0;
  for (const Table& t : tables_) n += t.size();
  return n;
}

}  // namespace govstream::alert
