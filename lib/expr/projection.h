// Projection: the parts of each input document an expression reads, when
// those are a set of field paths (.a, .a.b, .a[0] reads .a whole, ...).
//
// With a projection, a record can be evaluated from simdjson On-Demand
// without building the whole document: Extract() looks up only the needed
// fields and builds a small object holding just them, so `.status >= 500`
// costs a field lookup, not a full parse. The rest of the line is then NOT
// validated -- callers must fully parse (JsonParser) any record they keep
// (stream-filter does this under --trust-input).
//
// Not thread-safe: Extract() uses the caller's On-Demand parser; values
// point into that parser and the arena until the next Extract().
#ifndef GOVSTREAM_EXPR_PROJECTION_H_
#define GOVSTREAM_EXPR_PROJECTION_H_

#include <simdjson.h>

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "expr/expr.h"
#include "expr/value.h"

namespace govstream::expr {

class Projection {
 public:
  // nullptr when the expression reads the input other than through field
  // paths (e.g. `.`, `keys`, `.[.k]`), so a projection cannot serve it.
  static std::unique_ptr<Projection> Analyze(const Expression& e);
  // The union of the fields several expressions read (stream-agg's keys and
  // values); nullptr if any of them reads the input otherwise.
  static std::unique_ptr<Projection> Analyze(const std::vector<const Expression*>& exprs);

  // `line` must be followed by SIMDJSON_PADDING readable bytes. Returns false
  // when this record cannot be projected (not an object, a parse error, a
  // number On-Demand cannot read): evaluate it from a full parse instead.
  bool Extract(simdjson::ondemand::parser* parser, std::string_view line, Arena* arena, Value* out) const;

  // For tests: the paths, e.g. {"client.ip", "status"}.
  std::string Describe() const;

 private:
  struct PathNode {
    bool whole = false;                      // read this value entirely
    std::map<std::string, PathNode> fields;  // else: only these fields
  };
  PathNode root_;
};

}  // namespace govstream::expr

#endif  // GOVSTREAM_EXPR_PROJECTION_H_
