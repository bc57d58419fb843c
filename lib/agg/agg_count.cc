// count: the number of records (count), or of records where EXPR has a
// non-null value (count(EXPR)).
#include "agg/aggregator.h"
#include "agg/codec.h"

namespace govstream::agg {
namespace {

class Count final : public State {
 public:
  bool Add(const expr::Value&) override {
    ++n_;
    return true;
  }
  void Merge(const State& other) override { n_ += static_cast<const Count&>(other).n_; }
  void AppendResult(std::string* out) const override { *out += std::to_string(n_); }
  size_t MemoryBytes() const override { return sizeof(*this); }
  std::unique_ptr<State> NewEmpty() const override { return std::make_unique<Count>(); }
  void Save(std::string* out) const override { codec::AppendU64(n_, out); }
  bool Load(const expr::Value& saved) override { return codec::ReadU64(saved, &n_); }

 private:
  uint64_t n_ = 0;
};

}  // namespace

std::unique_ptr<State> MakeCount(const Params&) { return std::make_unique<Count>(); }

}  // namespace govstream::agg
