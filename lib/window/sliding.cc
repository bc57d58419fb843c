// --sliding SIZE --slide S: hopping windows of SIZE every S, from panes of
// gcd(SIZE, S) (see panes.h).
#include "window/panes.h"

namespace govstream::window {

std::unique_ptr<Assigner> MakeSliding(const WindowSpec& spec, AssignerContext ctx) {
  return std::make_unique<PaneAssigner>(spec.size_ms, spec.slide_ms, spec.offset_ms, spec.allowed_lateness_ms,
                                        ctx);
}

}  // namespace govstream::window
