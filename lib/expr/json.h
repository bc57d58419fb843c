// JsonParser: turns one NDJSON line into a Value.
//
// The fast path is simdjson's DOM parser, which validates the whole line
// (structure, numbers, strings, UTF-8) and lets the evaluator read arrays and
// objects in place. Lines simdjson cannot represent but jq accepts -- numbers
// outside the range of int64/uint64/double, strings with unpaired surrogate
// escapes -- are re-read by a small exact parser into the arena, with jq's
// meaning (big numbers as doubles, overflow to +/-infinity, unpaired
// surrogates as U+FFFD). Values are valid until the next Parse() or
// arena reset. Not thread-safe; one parser per thread.
#ifndef GOVSTREAM_EXPR_JSON_H_
#define GOVSTREAM_EXPR_JSON_H_

#include <simdjson.h>

#include <string>
#include <string_view>

#include "expr/value.h"

namespace govstream::expr {

class JsonParser {
 public:
  JsonParser();
  // `line` must be followed by at least SIMDJSON_PADDING readable bytes.
  // Returns false and sets *error (a short reason) when the line is not a
  // single valid JSON value.
  bool Parse(std::string_view line, Arena* arena, Value* out, std::string* error);

 private:
  simdjson::dom::parser parser_;
};

// Parses any text (no padding needed) with the exact slow parser into the
// arena; leaves every JsonParser's DOM untouched. For tonumber and tests.
bool ParseJsonSlow(std::string_view text, Arena* arena, Value* out, std::string* error);

// True if `line` is empty or only JSON whitespace.
bool IsBlank(std::string_view line);

}  // namespace govstream::expr

#endif  // GOVSTREAM_EXPR_JSON_H_
