// var: the sample variance (n - 1 denominator, as Miller); null for fewer than 2 numbers. Non-numbers are skipped.
#include <cmath>

#include "agg/moments.h"

namespace govstream::agg {
namespace {

struct VarResult {
  static void Append(const Moments& m, std::string* out) { AppendNumberOrNull(m.n > 1, m.Var(), out); }
};

}  // namespace

std::unique_ptr<State> MakeVar(const Params&) { return std::make_unique<MomentState<VarResult>>(); }

}  // namespace govstream::agg
