// Evaluation of the core nodes, with jq 1.6's semantics and messages.
#include <fmt/core.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "expr/builtins.h"
#include "expr/nodes.h"

namespace govstream::expr {

std::string Describe(const Value& v) {
  std::string dump = ToJson(v);
  if (dump.size() > 14) dump = dump.substr(0, 11) + "...";
  return fmt::format("{} ({})", v.type_name(), dump);
}

Value MakeString(EvalContext& ctx, std::string_view s) { return Value::String(ctx.arena->CopyString(s)); }

Value MakeArray(EvalContext& ctx, const std::vector<Value>& items) {
  Value* mem = ctx.arena->AllocateArray<Value>(items.size());
  for (size_t i = 0; i < items.size(); ++i) new (&mem[i]) Value(items[i]);
  return Value::Array(mem, items.size());
}

Value MakeObject(EvalContext& ctx, const std::vector<Member>& members) {
  Member* mem = ctx.arena->AllocateArray<Member>(members.size());
  for (size_t i = 0; i < members.size(); ++i) new (&mem[i]) Member(members[i]);
  return Value::Object(mem, members.size());
}

namespace {

std::vector<Value> Elements(const Value& a) {
  std::vector<Value> out;
  ForEachElement(a, [&](const Value& v) {
    out.push_back(v);
    return true;
  });
  return out;
}

std::vector<Member> Members(const Value& o) {
  std::vector<Member> out;
  ForEachMember(o, [&](std::string_view k, const Value& v) {
    for (Member& m : out) {
      if (m.key == k) {
        m.value = v;
        return true;
      }
    }
    out.push_back({k, v});
    return true;
  });
  return out;
}

void SetMember(std::vector<Member>* members, std::string_view key, const Value& v) {
  for (Member& m : *members) {
    if (m.key == key) {
      m.value = v;
      return;
    }
  }
  members->push_back({key, v});
}

Value DeepMerge(EvalContext& ctx, const Value& a, const Value& b) {
  std::vector<Member> result = Members(a);
  ForEachMember(b, [&](std::string_view k, const Value& bv) {
    Value av;
    bool found = false;
    for (Member& m : result) {
      if (m.key == k) {
        av = m.value;
        found = true;
      }
    }
    if (found && av.is_object() && bv.is_object()) {
      SetMember(&result, k, DeepMerge(ctx, av, bv));
    } else {
      SetMember(&result, k, bv);
    }
    return true;
  });
  return MakeObject(ctx, result);
}

Res TypeError2(EvalContext& ctx, const Value& a, const Value& b, std::string_view what) {
  return ctx.Fail(fmt::format("{} and {} {}", Describe(a), Describe(b), what));
}

intmax_t ToIntmax(double d) {
  if (std::isnan(d)) return 0;
  if (d >= 9.2e18) return std::numeric_limits<intmax_t>::max();
  if (d <= -9.2e18) return std::numeric_limits<intmax_t>::min();
  return static_cast<intmax_t>(d);
}

Res Split(EvalContext& ctx, std::string_view s, std::string_view sep, Value* out) {
  std::vector<Value> parts;
  if (sep.empty()) {
    size_t i = 0;
    while (i < s.size()) {
      size_t n = 1;
      unsigned char c = static_cast<unsigned char>(s[i]);
      if (c >= 0xF0) n = 4;
      else if (c >= 0xE0) n = 3;
      else if (c >= 0xC0) n = 2;
      n = std::min(n, s.size() - i);
      parts.push_back(Value::String(s.substr(i, n)));
      i += n;
    }
  } else {
    size_t p = 0;
    while (p < s.size()) {
      size_t hit = s.find(sep, p);
      size_t e = hit == std::string_view::npos ? s.size() : hit;
      parts.push_back(Value::String(s.substr(p, e - p)));
      if (hit != std::string_view::npos && e + sep.size() == s.size()) parts.push_back(Value::String(""));
      p = e + sep.size();
    }
  }
  *out = MakeArray(ctx, parts);
  return Res::kValue;
}

}  // namespace

Res SplitString(EvalContext& ctx, std::string_view s, std::string_view sep, Value* out) {
  return Split(ctx, s, sep, out);
}

Res Add(const Value& a, const Value& b, EvalContext& ctx, Value* out) {
  if (a.is_null()) {
    *out = b;
    return Res::kValue;
  }
  if (b.is_null()) {
    *out = a;
    return Res::kValue;
  }
  if (a.kind() == b.kind()) {
    switch (a.kind()) {
      case Kind::kNumber:
        *out = Value::Number(a.number() + b.number());
        return Res::kValue;
      case Kind::kString: {
        std::string_view x = a.string(), y = b.string();
        char* p = static_cast<char*>(ctx.arena->Allocate(x.size() + y.size() + 1, 1));
        if (!x.empty()) std::memcpy(p, x.data(), x.size());
        if (!y.empty()) std::memcpy(p + x.size(), y.data(), y.size());
        *out = Value::String({p, x.size() + y.size()});
        return Res::kValue;
      }
      case Kind::kArray: {
        std::vector<Value> items = Elements(a);
        ForEachElement(b, [&](const Value& v) {
          items.push_back(v);
          return true;
        });
        *out = MakeArray(ctx, items);
        return Res::kValue;
      }
      case Kind::kObject: {
        std::vector<Member> m = Members(a);
        ForEachMember(b, [&](std::string_view k, const Value& v) {
          SetMember(&m, k, v);
          return true;
        });
        *out = MakeObject(ctx, m);
        return Res::kValue;
      }
      default:
        break;
    }
  }
  return TypeError2(ctx, a, b, "cannot be added");
}

namespace {

Res Arith(ArithOp op, const Value& a, const Value& b, EvalContext& ctx, Value* out) {
  switch (op) {
    case ArithOp::kAdd:
      return Add(a, b, ctx, out);
    case ArithOp::kSub:
      if (a.is_number() && b.is_number()) {
        *out = Value::Number(a.number() - b.number());
        return Res::kValue;
      }
      if (a.is_array() && b.is_array()) {
        std::vector<Value> rest;
        std::vector<Value> drop = Elements(b);
        ForEachElement(a, [&](const Value& x) {
          for (const Value& d : drop) {
            if (Equal(x, d)) return true;
          }
          rest.push_back(x);
          return true;
        });
        *out = MakeArray(ctx, rest);
        return Res::kValue;
      }
      return TypeError2(ctx, a, b, "cannot be subtracted");
    case ArithOp::kMul:
      if (a.is_number() && b.is_number()) {
        *out = Value::Number(a.number() * b.number());
        return Res::kValue;
      }
      if ((a.is_string() && b.is_number()) || (a.is_number() && b.is_string())) {
        const Value& s = a.is_string() ? a : b;
        double num = a.is_string() ? b.number() : a.number();
        double nm1 = num - 1;
        int n = std::isnan(nm1) ? 0 : (nm1 > 1e9 ? 1000000000 : (nm1 < -1e9 ? -1000000000 : static_cast<int>(nm1)));
        if (n < 0) {
          *out = Value::Null();
          return Res::kValue;
        }
        std::string_view str = s.string();
        if (str.size() * (static_cast<size_t>(n) + 1) > (1u << 30)) return ctx.Fail("string repetition too large");
        std::string r;
        r.reserve(str.size() * (static_cast<size_t>(n) + 1));
        for (int i = 0; i <= n; ++i) r += str;
        *out = MakeString(ctx, r);
        return Res::kValue;
      }
      if (a.is_object() && b.is_object()) {
        *out = DeepMerge(ctx, a, b);
        return Res::kValue;
      }
      return TypeError2(ctx, a, b, "cannot be multiplied");
    case ArithOp::kDiv:
      if (a.is_number() && b.is_number()) {
        if (b.number() == 0.0) return TypeError2(ctx, a, b, "cannot be divided because the divisor is zero");
        *out = Value::Number(a.number() / b.number());
        return Res::kValue;
      }
      if (a.is_string() && b.is_string()) return Split(ctx, a.string(), b.string(), out);
      return TypeError2(ctx, a, b, "cannot be divided");
    case ArithOp::kMod:
      if (a.is_number() && b.is_number()) {
        intmax_t y = ToIntmax(b.number());
        if (y == 0) return TypeError2(ctx, a, b, "cannot be divided because the divisor is zero");
        intmax_t x = ToIntmax(a.number());
        if (y == -1) {
          *out = Value::Number(0);  // avoids INTMAX_MIN % -1 overflow
        } else {
          *out = Value::Number(static_cast<double>(x % y));
        }
        return Res::kValue;
      }
      return TypeError2(ctx, a, b, "cannot be divided");
  }
  return Res::kError;
}

}  // namespace

Res IndexValue(const Value& t, const Value& k, EvalContext& ctx, Value* out) {
  if (t.is_object() && k.is_string()) {
    if (!t.find(k.string(), out)) *out = Value::Null();
    return Res::kValue;
  }
  if (t.is_array() && k.is_number()) {
    double d = k.number();
    if (d != std::floor(d) || std::isinf(d)) {  // jq 1.6: non-integer index gives null
      *out = Value::Null();
      return Res::kValue;
    }
    double len = static_cast<double>(t.size());
    if (d < 0) d += len;
    if (d < 0 || d >= len) {
      *out = Value::Null();
      return Res::kValue;
    }
    *out = t.at(static_cast<size_t>(d));
    return Res::kValue;
  }
  if (t.is_array() && k.is_array()) {  // jq: indices of a sub-array
    std::vector<Value> hay = Elements(t), needle = Elements(k);
    std::vector<Value> idx;
    if (!needle.empty()) {
      for (size_t i = 0; i + needle.size() <= hay.size(); ++i) {
        bool match = true;
        for (size_t j = 0; j < needle.size() && match; ++j) match = Equal(hay[i + j], needle[j]);
        if (match) idx.push_back(Value::Number(static_cast<double>(i)));
      }
    }
    *out = MakeArray(ctx, idx);
    return Res::kValue;
  }
  if (t.is_null() && (k.is_string() || k.is_number() || k.is_object())) {
    *out = Value::Null();
    return Res::kValue;
  }
  if (k.is_string()) {
    return ctx.Fail(fmt::format("Cannot index {} with \"{}\"", t.type_name(), k.string()));
  }
  return ctx.Fail(fmt::format("Cannot index {} with {}", t.type_name(), k.type_name()));
}

Res IdentityNode::Eval(const Value& in, EvalContext&, Value* out) const {
  *out = in;
  return Res::kValue;
}

Res LiteralNode::Eval(const Value&, EvalContext&, Value* out) const {
  *out = value_;
  return Res::kValue;
}

Res FieldNode::Eval(const Value& in, EvalContext& ctx, Value* out) const {
  Value t;
  Res r = target_->Eval(in, ctx, &t);
  if (r != Res::kValue) return r;
  if (t.is_object()) {
    if (!t.find(key_, out)) *out = Value::Null();
    return Res::kValue;
  }
  if (t.is_null()) {
    *out = Value::Null();
    return Res::kValue;
  }
  if (optional_) return Res::kEmpty;
  return ctx.Fail(fmt::format("Cannot index {} with \"{}\"", t.type_name(), key_));
}

Res IndexNode::Eval(const Value& in, EvalContext& ctx, Value* out) const {
  Value k;
  Res r = index_->Eval(in, ctx, &k);
  if (r != Res::kValue) return r;
  Value t;
  r = target_->Eval(in, ctx, &t);
  if (r != Res::kValue) return r;
  r = IndexValue(t, k, ctx, out);
  if (r == Res::kError && optional_) {
    ctx.error->clear();
    return Res::kEmpty;
  }
  return r;
}

Res TryNode::Eval(const Value& in, EvalContext& ctx, Value* out) const {
  Res r = inner_->Eval(in, ctx, out);
  if (r == Res::kError) {
    ctx.error->clear();
    return Res::kEmpty;
  }
  return r;
}

Res NegateNode::Eval(const Value& in, EvalContext& ctx, Value* out) const {
  Value v;
  Res r = inner_->Eval(in, ctx, &v);
  if (r != Res::kValue) return r;
  if (!v.is_number()) return ctx.Fail(fmt::format("{} cannot be negated", Describe(v)));
  *out = Value::Number(-v.number());
  return Res::kValue;
}

namespace {

// Both operands of a binary operator; jq evaluates the right one first.
Res Operands(const Node& l, const Node& r, const Value& in, EvalContext& ctx, Value* a, Value* b) {
  Res res = r.Eval(in, ctx, b);
  if (res != Res::kValue) return res;
  return l.Eval(in, ctx, a);
}

}  // namespace

Res ArithNode::Eval(const Value& in, EvalContext& ctx, Value* out) const {
  Value a, b;
  Res r = Operands(*l_, *r_, in, ctx, &a, &b);
  if (r != Res::kValue) return r;
  return Arith(op_, a, b, ctx, out);
}

Res CompareNode::Eval(const Value& in, EvalContext& ctx, Value* out) const {
  Value a, b;
  Res r = Operands(*l_, *r_, in, ctx, &a, &b);
  if (r != Res::kValue) return r;
  int c = a.is_number() && b.is_number() ? CompareNumbers(a.number(), b.number()) : Compare(a, b);
  bool result;
  switch (op_) {
    case CmpOp::kEq: result = c == 0; break;
    case CmpOp::kNe: result = c != 0; break;
    case CmpOp::kLt: result = c < 0; break;
    case CmpOp::kLe: result = c <= 0; break;
    case CmpOp::kGt: result = c > 0; break;
    default: result = c >= 0; break;
  }
  *out = Value::Bool(result);
  return Res::kValue;
}

Res LogicNode::Eval(const Value& in, EvalContext& ctx, Value* out) const {
  Value a;
  Res r = l_->Eval(in, ctx, &a);
  if (r != Res::kValue) return r;
  if (is_and_ ? !a.truthy() : a.truthy()) {
    *out = Value::Bool(!is_and_);
    return Res::kValue;
  }
  Value b;
  r = r_->Eval(in, ctx, &b);
  if (r != Res::kValue) return r;
  *out = Value::Bool(b.truthy());
  return Res::kValue;
}

Res AltNode::Eval(const Value& in, EvalContext& ctx, Value* out) const {
  Value a;
  Res r = l_->Eval(in, ctx, &a);
  if (r == Res::kError) return r;
  if (r == Res::kValue && a.truthy()) {
    *out = a;
    return Res::kValue;
  }
  return r_->Eval(in, ctx, out);
}

Res PipeNode::Eval(const Value& in, EvalContext& ctx, Value* out) const {
  Value mid;
  Res r = l_->Eval(in, ctx, &mid);
  if (r != Res::kValue) return r;
  return r_->Eval(mid, ctx, out);
}

Res ArrayNode::Eval(const Value& in, EvalContext& ctx, Value* out) const {
  if (stages_.empty()) {  // []
    *out = Value::Array(nullptr, 0);
    return Res::kValue;
  }
  if (stages_.size() == 1) {  // the common case: [a, b, c]
    const Stage& items = stages_[0];
    Value* mem = ctx.arena->AllocateArray<Value>(items.size());
    size_t n = 0;
    for (const NodePtr& item : items) {
      Value v;
      Res r = item->Eval(in, ctx, &v);
      if (r == Res::kError) return r;
      if (r == Res::kValue) new (&mem[n++]) Value(v);
    }
    *out = Value::Array(mem, n);
    return Res::kValue;
  }
  std::vector<Value> current = {in}, next;
  for (const Stage& stage : stages_) {
    next.clear();
    for (const Value& v : current) {
      for (const NodePtr& item : stage) {
        Value o;
        Res r = item->Eval(v, ctx, &o);
        if (r == Res::kError) return r;
        if (r == Res::kValue) next.push_back(o);
      }
    }
    current.swap(next);
  }
  *out = MakeArray(ctx, current);
  return Res::kValue;
}

Res ObjectNode::Eval(const Value& in, EvalContext& ctx, Value* out) const {
  Member* mem = ctx.arena->AllocateArray<Member>(entries_.size());
  size_t n = 0;
  for (const Entry& e : entries_) {
    Value k, v;
    Res r = e.key->Eval(in, ctx, &k);
    if (r != Res::kValue) return r;
    if (!k.is_string()) return ctx.Fail(fmt::format("Object keys must be strings"));
    r = e.value->Eval(in, ctx, &v);
    if (r != Res::kValue) return r;
    bool replaced = false;
    for (size_t i = 0; i < n; ++i) {
      if (mem[i].key == k.string()) {
        mem[i].value = v;
        replaced = true;
      }
    }
    if (!replaced) new (&mem[n++]) Member{k.string(), v};
  }
  *out = Value::Object(mem, n);
  return Res::kValue;
}

CallNode::~CallNode() = default;

void CallNode::ForEachChild(const ChildFn& fn) const {
  for (const NodePtr& a : args_) fn(a.get(), fn_->args_on_input);
}

Res CallNode::Eval(const Value& in, EvalContext& ctx, Value* out) const { return fn_->fn(*this, in, ctx, out); }

}  // namespace govstream::expr
