// Expression: a compiled jq-subset expression (see docs/expressions.md).
//
// Compile() parses the text once into an evaluator tree; expressions outside
// the subset are refused with a message that names the construct and points
// at its column, never evaluated differently from jq. Eval() runs it on one
// input value with jq's semantics. A compiled Expression is immutable and
// may be shared by threads, each with its own Arena (dynamic regexes are
// cached per expression behind a mutex).
#ifndef GOVSTREAM_EXPR_EXPR_H_
#define GOVSTREAM_EXPR_EXPR_H_

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "expr/value.h"

namespace govstream::expr {

class Node;

class Expression {
 public:
  enum class Result { kValue, kEmpty, kError };

  // On failure returns Status::InvalidArgument whose message has the reason,
  // the expression and a caret under the offending column.
  static Status Compile(std::string_view text, std::unique_ptr<Expression>* out);
  ~Expression();

  // kValue: *out holds the (first) output. kEmpty: no output (select false,
  // `?` on an error). kError: *error holds jq's kind of message.
  // Values the expression builds are allocated in `arena`.
  Result Eval(const Value& input, Arena* arena, Value* out, std::string* error) const;

  // True when the expression is truthy for `input`; errors are kError.
  // Faster than Eval for predicates (no output value kept).
  Result Test(const Value& input, Arena* arena, std::string* error) const;

  // A byte string that must occur in the raw JSON text of any line (without
  // backslash escapes) for which the expression is truthy, e.g. "/api/v1"
  // for `.path | test("^/api/v1")`. Empty when there is none.
  const std::string& required_literal() const { return required_literal_; }

  const std::string& text() const { return text_; }
  // Internal: the evaluator tree, for analyses such as Projection.
  const Node* root_node() const { return root_.get(); }

 private:
  Expression() = default;
  std::string text_;
  std::unique_ptr<Node> root_;
  std::string required_literal_;
};

}  // namespace govstream::expr

#endif  // GOVSTREAM_EXPR_EXPR_H_
