#include "window/results.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

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
  if (results_.size() <= 1) {
    for (const Result& r : results_) write(r);
    results_.clear();
    return;
  }
  // Order keys as jq orders their values: parse each distinct key once,
  // sort the distinct keys, and give keys of equal value one rank; the
  // results are then sorted by (end, rank, start) with integer compares,
  // ties kept in arrival order.
  std::vector<KeyId> ids;
  ids.reserve(results_.size());
  for (const Result& r : results_) ids.push_back(r.key);
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  expr::Arena arena;
  std::vector<expr::Value> values(ids.size());
  std::string error;
  for (size_t i = 0; i < ids.size(); ++i) {
    const std::string& canon = keys.at(ids[i]).canonical;
    if (canon.empty() || canon[0] != '[' || !expr::ParseJsonSlow(canon, &arena, &values[i], &error)) {
      // The overflow key ("(other)") sorts after every real key (an object
      // sorts after the arrays that real keys are).
      values[i] = expr::Value::Object(nullptr, 0);
    }
  }
  std::vector<uint32_t> by_value(ids.size());
  for (size_t i = 0; i < by_value.size(); ++i) by_value[i] = static_cast<uint32_t>(i);
  std::sort(by_value.begin(), by_value.end(),
            [&](uint32_t a, uint32_t b) { return expr::Compare(values[a], values[b]) < 0; });
  std::vector<uint32_t> rank(ids.size());
  uint32_t next = 0;
  for (size_t k = 0; k < by_value.size(); ++k) {
    if (k > 0 && expr::Compare(values[by_value[k - 1]], values[by_value[k]]) != 0) ++next;
    rank[by_value[k]] = next;
  }
  struct Order {
    int64_t end;
    int64_t start;
    uint32_t rank;
    uint32_t index;  // into results_
  };
  std::vector<Order> order(results_.size());
  for (size_t i = 0; i < results_.size(); ++i) {
    const Result& r = results_[i];
    const size_t at = static_cast<size_t>(std::lower_bound(ids.begin(), ids.end(), r.key) - ids.begin());
    order[i] = Order{r.end, r.start, rank[at], static_cast<uint32_t>(i)};
  }
  std::sort(order.begin(), order.end(), [](const Order& a, const Order& b) {
    if (a.end != b.end) return a.end < b.end;
    if (a.rank != b.rank) return a.rank < b.rank;
    if (a.start != b.start) return a.start < b.start;
    return a.index < b.index;
  });
  for (const Order& o : order) write(results_[o.index]);
  results_.clear();
}

}  // namespace govstream::window
