#include "window/results.h"

#include <algorithm>
#include <string>

#include "expr/json.h"
#include "expr/value.h"

namespace govstream::window {

std::string_view MarkName(Mark mark) {
  switch (mark) {
    case Mark::kFinal:
      return "final";
    case Mark::kEarly:
      return "early";
    case Mark::kUpdate:
      return "update";
  }
  return "final";
}

void ResultBatch::Flush(const KeyTable& keys, const std::function<void(const Result&)>& write) {
  if (results_.size() > 1) {
    // Order keys as jq orders their values: parse each distinct key once.
    expr::Arena arena;
    absl::flat_hash_map<KeyId, expr::Value> parsed;
    auto value_of = [&](KeyId id) -> expr::Value {
      auto it = parsed.find(id);
      if (it != parsed.end()) return it->second;
      expr::Value v;
      std::string error;
      const std::string& canon = keys.at(id).canonical;
      if (canon.empty() || canon[0] != '[' || !expr::ParseJsonSlow(canon, &arena, &v, &error)) {
        // The overflow key ("(other)") sorts after every real key (an
        // object sorts after the arrays that real keys are).
        v = expr::Value::Object(nullptr, 0);
      }
      return parsed.emplace(id, v).first->second;
    };
    std::stable_sort(results_.begin(), results_.end(), [&](const Result& a, const Result& b) {
      if (a.end != b.end) return a.end < b.end;
      if (a.key != b.key) {
        int c = expr::Compare(value_of(a.key), value_of(b.key));
        if (c != 0) return c < 0;
      }
      return a.start < b.start;
    });
  }
  for (const Result& r : results_) write(r);
  results_.clear();
}

}  // namespace govstream::window
