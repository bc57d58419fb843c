// avg: the mean of the numbers, as Miller's mean; null when there were none. Non-numbers are skipped.
#include <cmath>

#include "agg/moments.h"

namespace govstream::agg {
namespace {

struct AvgResult {
  static void Append(const Moments& m, std::string* out) { AppendNumberOrNull(m.n > 0, m.Mean(), out); }
};

}  // namespace

std::unique_ptr<State> MakeAvg(const Params&) { return std::make_unique<MomentState<AvgResult>>(); }

}  // namespace govstream::agg
