// sum: the sum of the numbers (0 when there were none). Non-numbers are skipped.
#include <cmath>

#include "agg/moments.h"

namespace govstream::agg {
namespace {

struct SumResult {
  static void Append(const Moments& m, std::string* out) { expr::AppendNumber(m.sum, out); }
};

}  // namespace

std::unique_ptr<State> MakeSum(const Params&) { return std::make_unique<MomentState<SumResult>>(); }

}  // namespace govstream::agg
