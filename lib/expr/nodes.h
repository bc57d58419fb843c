// Internal: the concrete evaluator nodes. See ast.h.
#ifndef GOVSTREAM_EXPR_NODES_H_
#define GOVSTREAM_EXPR_NODES_H_

#include <string>
#include <vector>

#include "expr/ast.h"

namespace govstream::expr {

struct Builtin;

class IdentityNode final : public Node {
 public:
  using Node::Node;
  Res Eval(const Value& in, EvalContext& ctx, Value* out) const override;
};

class LiteralNode final : public Node {
 public:
  LiteralNode(int column, Value v, std::string storage = {})
      : Node(column), storage_(std::move(storage)), value_(v) {
    if (value_.is_string()) value_ = Value::String(storage_);
  }
  Res Eval(const Value& in, EvalContext& ctx, Value* out) const override;
  const Value& value() const { return value_; }

 private:
  std::string storage_;
  Value value_;
};

// target.key  (`.a`, `."a b"`, `.["a"]`, `.x.y`)
class FieldNode final : public Node {
 public:
  FieldNode(int column, NodePtr target, std::string key)
      : Node(column), target_(std::move(target)), key_(std::move(key)) {}
  Res Eval(const Value& in, EvalContext& ctx, Value* out) const override;
  void ForEachChild(const ChildFn& fn) const override { fn(target_.get(), true); }
  const Node* target() const { return target_.get(); }
  const std::string& key() const { return key_; }
  // `.a?`: an error from this indexing step gives no output (an error from
  // evaluating the target still propagates, as in jq).
  void set_optional() { optional_ = true; }
  bool optional() const { return optional_; }

 private:
  NodePtr target_;
  std::string key_;
  bool optional_ = false;
};

// target[index]; index is evaluated against the same input as target.
class IndexNode final : public Node {
 public:
  IndexNode(int column, NodePtr target, NodePtr index)
      : Node(column), target_(std::move(target)), index_(std::move(index)) {}
  Res Eval(const Value& in, EvalContext& ctx, Value* out) const override;
  void ForEachChild(const ChildFn& fn) const override { fn(target_.get(), true); fn(index_.get(), true); }
  const Node* target() const { return target_.get(); }
  const Node* index() const { return index_.get(); }
  void set_optional() { optional_ = true; }
  bool optional() const { return optional_; }

 private:
  NodePtr target_;
  NodePtr index_;
  bool optional_ = false;
};

// term?  -- errors become no output.
class TryNode final : public Node {
 public:
  TryNode(int column, NodePtr inner) : Node(column), inner_(std::move(inner)) {}
  Res Eval(const Value& in, EvalContext& ctx, Value* out) const override;
  void ForEachChild(const ChildFn& fn) const override { fn(inner_.get(), true); }

 private:
  NodePtr inner_;
};

class NegateNode final : public Node {
 public:
  NegateNode(int column, NodePtr inner) : Node(column), inner_(std::move(inner)) {}
  Res Eval(const Value& in, EvalContext& ctx, Value* out) const override;
  void ForEachChild(const ChildFn& fn) const override { fn(inner_.get(), true); }

 private:
  NodePtr inner_;
};

enum class ArithOp { kAdd, kSub, kMul, kDiv, kMod };
class ArithNode final : public Node {
 public:
  ArithNode(int column, ArithOp op, NodePtr l, NodePtr r)
      : Node(column), op_(op), l_(std::move(l)), r_(std::move(r)) {}
  Res Eval(const Value& in, EvalContext& ctx, Value* out) const override;
  void ForEachChild(const ChildFn& fn) const override { fn(l_.get(), true); fn(r_.get(), true); }

 private:
  ArithOp op_;
  NodePtr l_, r_;
};

enum class CmpOp { kEq, kNe, kLt, kLe, kGt, kGe };
class CompareNode final : public Node {
 public:
  CompareNode(int column, CmpOp op, NodePtr l, NodePtr r)
      : Node(column), op_(op), l_(std::move(l)), r_(std::move(r)) {}
  Res Eval(const Value& in, EvalContext& ctx, Value* out) const override;
  void ForEachChild(const ChildFn& fn) const override { fn(l_.get(), true); fn(r_.get(), true); }
  CmpOp op() const { return op_; }
  const Node* left() const { return l_.get(); }
  const Node* right() const { return r_.get(); }

 private:
  CmpOp op_;
  NodePtr l_, r_;
};

// `and` / `or` (short-circuit, boolean result).
class LogicNode final : public Node {
 public:
  LogicNode(int column, bool is_and, NodePtr l, NodePtr r)
      : Node(column), is_and_(is_and), l_(std::move(l)), r_(std::move(r)) {}
  Res Eval(const Value& in, EvalContext& ctx, Value* out) const override;
  void ForEachChild(const ChildFn& fn) const override { fn(l_.get(), true); fn(r_.get(), true); }
  bool is_and() const { return is_and_; }
  const Node* left() const { return l_.get(); }
  const Node* right() const { return r_.get(); }

 private:
  bool is_and_;
  NodePtr l_, r_;
};

// a // b
class AltNode final : public Node {
 public:
  AltNode(int column, NodePtr l, NodePtr r) : Node(column), l_(std::move(l)), r_(std::move(r)) {}
  Res Eval(const Value& in, EvalContext& ctx, Value* out) const override;
  void ForEachChild(const ChildFn& fn) const override { fn(l_.get(), true); fn(r_.get(), true); }

 private:
  NodePtr l_, r_;
};

class PipeNode final : public Node {
 public:
  PipeNode(int column, NodePtr l, NodePtr r) : Node(column), l_(std::move(l)), r_(std::move(r)) {}
  Res Eval(const Value& in, EvalContext& ctx, Value* out) const override;
  void ForEachChild(const ChildFn& fn) const override { fn(l_.get(), true); fn(r_.get(), false); }
  const Node* left() const { return l_.get(); }
  const Node* right() const { return r_.get(); }

 private:
  NodePtr l_, r_;
};

// [e1, e2 | f, g | h]: jq reads it as [((e1, e2) | (f, g)) | h]. Each stage
// is a comma list; every output of a stage feeds every item of the next.
class ArrayNode final : public Node {
 public:
  using Stage = std::vector<NodePtr>;
  ArrayNode(int column, std::vector<Stage> stages) : Node(column), stages_(std::move(stages)) {}
  Res Eval(const Value& in, EvalContext& ctx, Value* out) const override;
  void ForEachChild(const ChildFn& fn) const override {
    for (size_t i = 0; i < stages_.size(); ++i) {
      for (const NodePtr& n : stages_[i]) fn(n.get(), i == 0);
    }
  }

 private:
  std::vector<Stage> stages_;
};

class ObjectNode final : public Node {
 public:
  struct Entry {
    NodePtr key;  // evaluates to the key string
    NodePtr value;
  };
  ObjectNode(int column, std::vector<Entry> entries) : Node(column), entries_(std::move(entries)) {}
  Res Eval(const Value& in, EvalContext& ctx, Value* out) const override;
  void ForEachChild(const ChildFn& fn) const override { for (const Entry& e : entries_) { fn(e.key.get(), true); fn(e.value.get(), true); } }

 private:
  std::vector<Entry> entries_;
};

// Call of a builtin from the registry (builtins.h).
class CallNode final : public Node {
 public:
  CallNode(int column, const Builtin* fn, std::vector<NodePtr> args)
      : Node(column), fn_(fn), args_(std::move(args)) {}
  ~CallNode() override;
  Res Eval(const Value& in, EvalContext& ctx, Value* out) const override;
  void ForEachChild(const ChildFn& fn) const override;
  const Builtin* builtin() const { return fn_; }
  const std::vector<NodePtr>& args() const { return args_; }
  // Evaluates argument i on `in`.
  Res Arg(size_t i, const Value& in, EvalContext& ctx, Value* out) const {
    return args_[i]->Eval(in, ctx, out);
  }
  // Per-call state prepared at compile time (e.g. a compiled regex).
  struct State {
    virtual ~State() = default;
  };
  State* state() const { return state_.get(); }
  void set_state(std::unique_ptr<State> s) { state_ = std::move(s); }

 private:
  const Builtin* fn_;
  std::vector<NodePtr> args_;
  std::unique_ptr<State> state_;
};

// Helpers shared by nodes and builtins.
Value MakeString(EvalContext& ctx, std::string_view s);  // copies into arena
Value MakeArray(EvalContext& ctx, const std::vector<Value>& items);
Value MakeObject(EvalContext& ctx, const std::vector<Member>& members);
// jq's value + value, used by `+` and join.
Res Add(const Value& a, const Value& b, EvalContext& ctx, Value* out);
// Indexes `t` with `k` as jq's jv_get does.
Res IndexValue(const Value& t, const Value& k, EvalContext& ctx, Value* out);

}  // namespace govstream::expr

#endif  // GOVSTREAM_EXPR_NODES_H_
