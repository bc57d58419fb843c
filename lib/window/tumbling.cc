// --tumbling SIZE: fixed, non-overlapping windows; a pane per window.
#include "window/panes.h"

namespace govstream::window {

std::unique_ptr<Assigner> MakeTumbling(const WindowSpec& spec, AssignerContext ctx) {
  return std::make_unique<PaneAssigner>(spec.size_ms, spec.size_ms, spec.offset_ms, spec.allowed_lateness_ms, ctx);
}

}  // namespace govstream::window
