#include "window/assigner.h"

namespace govstream::window {

const std::vector<AssignerDef>& Assigners() {
  static const std::vector<AssignerDef> kAll = {
      {Kind::kTumbling, "tumbling", "fixed, non-overlapping windows of DUR, aligned to the epoch (+ --offset)",
       MakeTumbling},
      {Kind::kSliding, "sliding",
       "windows of DUR starting every --slide DUR (hopping); computed from panes of gcd(DUR, slide)",
       MakeSliding},
      {Kind::kSession, "session", "per key: a window that closes after GAP without records for that key",
       MakeSession},
      {Kind::kCount, "count", "per key: a window of every N records", MakeCount},
  };
  return kAll;
}

std::unique_ptr<Assigner> MakeAssigner(const WindowSpec& spec, AssignerContext ctx) {
  for (const AssignerDef& d : Assigners()) {
    if (d.kind == spec.kind) return d.make(spec, ctx);
  }
  return nullptr;
}

States NewStates(const std::vector<agg::AggSpec>& aggs) {
  States s;
  s.reserve(aggs.size());
  for (const agg::AggSpec& a : aggs) s.push_back(a.NewState());
  return s;
}

void SaveStates(const States& states, std::string* out) {
  *out += '[';
  for (size_t i = 0; i < states.size(); ++i) {
    if (i != 0) *out += ',';
    states[i]->Save(out);
  }
  *out += ']';
}

bool LoadStates(const expr::Value& saved, States* states) {
  if (!saved.is_array() || saved.size() != states->size()) return false;
  for (size_t i = 0; i < states->size(); ++i) {
    if (!(*states)[i]->Load(saved.at(i))) return false;
  }
  return true;
}

size_t StatesMemoryBytes(const States& states) {
  size_t bytes = states.capacity() * sizeof(void*);
  for (const auto& s : states) bytes += s->MemoryBytes();
  return bytes;
}

}  // namespace govstream::window
