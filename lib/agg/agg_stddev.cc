// stddev: the sample standard deviation; null for fewer than 2 numbers. Non-numbers are skipped.
#include <cmath>

#include "agg/moments.h"

namespace govstream::agg {
namespace {

struct StddevResult {
  static void Append(const Moments& m, std::string* out) { AppendNumberOrNull(m.n > 1, std::sqrt(m.Var()), out); }
};

}  // namespace

std::unique_ptr<State> MakeStddev(const Params&) { return std::make_unique<MomentState<StddevResult>>(); }

}  // namespace govstream::agg
