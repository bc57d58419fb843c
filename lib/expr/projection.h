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

// FieldSlots: the fast case of a projection, when every expression is one
// top-level field (`.host`, `.latency_ms`, `."a b"`). Extract() makes a
// single pass over the On-Demand object's members and stores each wanted
// field's value in its slot -- no object is built, no arena is used, and an
// expression read by several consumers (avg and p99 of .latency_ms) is
// looked up once.
//
// Semantics match evaluating each expression on the fully parsed record:
// the first occurrence of a duplicate key wins (as JsonParser); a missing
// field is null. Strings are views of the raw line bytes, which are the
// string's content because Extract() refuses (returns false) any record
// where a selected string value, or a member key it passes that could
// equal a wanted name (one starting with a backslash or with a wanted
// name's first byte), contains a backslash. It also refuses records that are not objects, parse errors,
// numbers On-Demand cannot read, and selected values that are arrays or
// objects: evaluate those records another way (Projection, full parse).
// As with Projection, the rest of the line is NOT validated.
//
// Not thread-safe: uses the caller's On-Demand parser; values point into
// the line (valid while it is).
class FieldSlots {
 public:
  // nullptr unless every expression is a single top-level field whose name
  // needs no escaping in JSON.
  static std::unique_ptr<FieldSlots> Analyze(const std::vector<const Expression*>& exprs);

  // Number of distinct fields (slots).
  size_t size() const { return names_.size(); }
  // The slot holding expression i's value (i indexes Analyze's `exprs`).
  size_t slot_of(size_t i) const { return slot_of_[i]; }
  const std::string& name(size_t slot) const { return names_[slot]; }

  // `line` must be followed by SIMDJSON_PADDING readable bytes; `values`
  // has size() entries. True: values[s] is field s's value (null when
  // absent). False: see the class comment; `values` is then unspecified.
  bool Extract(simdjson::ondemand::parser* parser, std::string_view line, Value* values) const;

 private:
  void MarkFirstByte(unsigned char c) { first_bytes_[c >> 6] |= uint64_t{1} << (c & 63); }
  bool MayStartName(unsigned char c) const { return (first_bytes_[c >> 6] >> (c & 63)) & 1; }

  std::vector<std::string> names_;
  std::vector<size_t> slot_of_;
  // Bit c: some name's raw JSON key may start with byte c (a name's first
  // byte, '"' for the empty name, or '\\' for an escape).
  uint64_t first_bytes_[4] = {0, 0, 0, 0};
};

}  // namespace govstream::expr

#endif  // GOVSTREAM_EXPR_PROJECTION_H_
