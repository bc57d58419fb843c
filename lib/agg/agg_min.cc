// min: the smallest number; non-numbers are skipped, null when there were none.
#include "agg/moments.h"

namespace govstream::agg {

std::unique_ptr<State> MakeMin(const Params&) { return std::make_unique<ExtremeState<false>>(); }

}  // namespace govstream::agg
