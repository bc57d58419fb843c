// max: the largest number; non-numbers are skipped, null when there were none.
#include "agg/moments.h"

namespace govstream::agg {

std::unique_ptr<State> MakeMax(const Params&) { return std::make_unique<ExtremeState<true>>(); }

}  // namespace govstream::agg
