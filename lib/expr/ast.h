// Internal: the evaluator tree built by the parser. Each node evaluates to
// at most one value (the subset has no generators), nothing (select, `?`),
// or an error with jq's message.
#ifndef GOVSTREAM_EXPR_AST_H_
#define GOVSTREAM_EXPR_AST_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "expr/value.h"

namespace govstream::expr {

enum class Res : unsigned char { kValue, kEmpty, kError };

struct EvalContext {
  Arena* arena;
  std::string* error;
  Res Fail(std::string message) {
    *error = std::move(message);
    return Res::kError;
  }
};

class Node {
 public:
  explicit Node(int column) : column_(column) {}
  virtual ~Node() = default;
  virtual Res Eval(const Value& in, EvalContext& ctx, Value* out) const = 0;
  int column() const { return column_; }
  // Calls `fn(child, same_input)` for each direct child; same_input is true
  // when the child is evaluated on this node's own input (false for the
  // right side of a pipe and the argument of any/all).
  using ChildFn = std::function<void(const Node*, bool)>;
  virtual void ForEachChild(const ChildFn&) const {}

 private:
  int column_;
};

using NodePtr = std::unique_ptr<Node>;

// The node kinds the literal analysis needs to look inside.
class IdentityNode;
class FieldNode;
class IndexNode;
class LiteralNode;
class PipeNode;
class AndNode;
class OrNode;
class CompareNode;
class CallNode;

// Short description of a value for error messages, as jq prints it:
// `number (1)`, `string ("abc...")`.
std::string Describe(const Value& v);

}  // namespace govstream::expr

#endif  // GOVSTREAM_EXPR_AST_H_
