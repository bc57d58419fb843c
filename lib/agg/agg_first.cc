// first: the first value seen (any type), as JSON. Merging keeps this
// state's value unless it has none (the other input came later).
#include "agg/edge.h"

namespace govstream::agg {

std::unique_ptr<State> MakeFirst(const Params&) { return std::make_unique<EdgeState<false>>(); }

}  // namespace govstream::agg
