// Internal: the State of first and last: one value kept as JSON text.
#ifndef GOVSTREAM_AGG_EDGE_H_
#define GOVSTREAM_AGG_EDGE_H_

#include <memory>
#include <string>

#include "agg/aggregator.h"
#include "agg/codec.h"

namespace govstream::agg {

// kLast: each value (and each merged-in state, whose input came later)
// replaces the kept one; otherwise only the first is kept.
template <bool kLast>
class EdgeState final : public State {
 public:
  bool Add(const expr::Value& v) override {
    if (kLast || !have_) {
      json_.clear();
      expr::AppendJson(v, &json_);
      have_ = true;
    }
    return true;
  }
  void Merge(const State& other) override {
    const auto& o = static_cast<const EdgeState&>(other);
    if (o.have_ && (kLast || !have_)) {
      json_ = o.json_;
      have_ = true;
    }
  }
  void AppendResult(std::string* out) const override { *out += have_ ? json_ : "null"; }
  size_t MemoryBytes() const override { return sizeof(*this) + json_.capacity(); }
  std::unique_ptr<State> NewEmpty() const override { return std::make_unique<EdgeState>(); }
  // null when nothing was seen, else the kept JSON text as a string.
  void Save(std::string* out) const override {
    if (have_) {
      codec::AppendString(json_, out);
    } else {
      *out += "null";
    }
  }
  bool Load(const expr::Value& saved) override {
    have_ = !saved.is_null();
    return !have_ || codec::ReadString(saved, &json_);
  }

 private:
  bool have_ = false;
  std::string json_;
};

}  // namespace govstream::agg

#endif  // GOVSTREAM_AGG_EDGE_H_
