// last: the last value seen (any type), as JSON. Merging takes the other
// state's value when it has one (its input came later).
#include "agg/edge.h"

namespace govstream::agg {

std::unique_ptr<State> MakeLast(const Params&) { return std::make_unique<EdgeState<true>>(); }

}  // namespace govstream::agg
