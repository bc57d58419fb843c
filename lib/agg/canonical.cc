#include "agg/canonical.h"

namespace govstream::agg {

void AppendCanonical(const expr::Value& v, std::string* out) {
  switch (v.kind()) {
    case expr::Kind::kArray: {
      *out += '[';
      bool first = true;
      expr::ForEachElement(v, [&](const expr::Value& e) {
        if (!first) *out += ',';
        first = false;
        AppendCanonical(e, out);
        return true;
      });
      *out += ']';
      return;
    }
    case expr::Kind::kObject: {
      *out += '{';
      bool first = true;
      for (std::string_view k : expr::SortedKeys(v)) {
        if (!first) *out += ',';
        first = false;
        expr::AppendJson(expr::Value::String(k), out);
        *out += ':';
        expr::Value member;
        v.find(k, &member);
        AppendCanonical(member, out);
      }
      *out += '}';
      return;
    }
    case expr::Kind::kNumber:
      // -0 == 0 in jq: one encoding for both.
      expr::AppendNumber(v.number() == 0 ? 0.0 : v.number(), out);
      return;
    default:
      expr::AppendJson(v, out);
  }
}

}  // namespace govstream::agg
