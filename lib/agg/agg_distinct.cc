// distinct: the exact number of distinct values (any type; values equal as
// jq compares them count once). Memory grows with the number of distinct
// values; use approx_distinct for bounded memory.
#include <absl/container/flat_hash_set.h>

#include <algorithm>
#include <string_view>
#include <vector>

#include "agg/aggregator.h"
#include "agg/canonical.h"
#include "agg/codec.h"

namespace govstream::agg {
namespace {

class Distinct final : public State {
 public:
  bool Add(const expr::Value& v) override {
    key_.clear();
    AppendCanonical(v, &key_);
    set_.insert(key_);
    return true;
  }
  void Merge(const State& other) override {
    for (const std::string& k : static_cast<const Distinct&>(other).set_) set_.insert(k);
  }
  void AppendResult(std::string* out) const override { *out += std::to_string(set_.size()); }
  size_t MemoryBytes() const override {
    size_t bytes = sizeof(*this) + set_.capacity() * (sizeof(std::string) + 1);
    for (const std::string& k : set_) bytes += k.size() > 15 ? k.capacity() : 0;
    return bytes;
  }
  std::unique_ptr<State> NewEmpty() const override { return std::make_unique<Distinct>(); }
  // The canonical encodings of the values seen, as strings, sorted (the
  // same set saves the same text).
  void Save(std::string* out) const override {
    std::vector<std::string_view> keys(set_.begin(), set_.end());
    std::sort(keys.begin(), keys.end());
    *out += '[';
    for (size_t i = 0; i < keys.size(); ++i) {
      if (i != 0) *out += ',';
      codec::AppendString(keys[i], out);
    }
    *out += ']';
  }
  bool Load(const expr::Value& saved) override {
    if (!saved.is_array()) return false;
    for (size_t i = 0; i < saved.size(); ++i) {
      if (!codec::ReadString(saved.at(i), &key_)) return false;
      set_.insert(key_);
    }
    return true;
  }

 private:
  absl::flat_hash_set<std::string> set_;
  std::string key_;  // scratch
};

}  // namespace

std::unique_ptr<State> MakeDistinct(const Params&) { return std::make_unique<Distinct>(); }

}  // namespace govstream::agg
