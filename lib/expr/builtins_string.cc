// startswith, endswith, ltrimstr, rtrimstr, ascii_downcase, ascii_upcase,
// split, join, test.
#include <fmt/core.h>

#include <map>
#include <mutex>

#include "expr/builtins.h"
#include "expr/regex.h"

namespace govstream::expr {
namespace {

Res StringArg(const CallNode& c, const Value& in, EvalContext& ctx, Value* arg) { return c.Arg(0, in, ctx, arg); }

Res StartsWith(const CallNode& c, const Value& in, EvalContext& ctx, Value* out) {
  Value s;
  Res r = StringArg(c, in, ctx, &s);
  if (r != Res::kValue) return r;
  if (!in.is_string() || !s.is_string()) return ctx.Fail("startswith() requires string inputs");
  *out = Value::Bool(in.string().substr(0, s.string().size()) == s.string());
  return Res::kValue;
}

Res EndsWith(const CallNode& c, const Value& in, EvalContext& ctx, Value* out) {
  Value s;
  Res r = StringArg(c, in, ctx, &s);
  if (r != Res::kValue) return r;
  if (!in.is_string() || !s.is_string()) return ctx.Fail("endswith() requires string inputs");
  std::string_view a = in.string(), b = s.string();
  *out = Value::Bool(a.size() >= b.size() && a.substr(a.size() - b.size()) == b);
  return Res::kValue;
}

Res LTrimStr(const CallNode& c, const Value& in, EvalContext& ctx, Value* out) {
  Value s;
  Res r = StringArg(c, in, ctx, &s);
  if (r != Res::kValue) return r;
  *out = in;
  if (in.is_string() && s.is_string() && in.string().substr(0, s.string().size()) == s.string()) {
    *out = Value::String(in.string().substr(s.string().size()));
  }
  return Res::kValue;
}

Res RTrimStr(const CallNode& c, const Value& in, EvalContext& ctx, Value* out) {
  Value s;
  Res r = StringArg(c, in, ctx, &s);
  if (r != Res::kValue) return r;
  *out = in;
  if (in.is_string() && s.is_string()) {
    std::string_view a = in.string(), b = s.string();
    if (a.size() >= b.size() && a.substr(a.size() - b.size()) == b) {
      *out = Value::String(a.substr(0, a.size() - b.size()));
    }
  }
  return Res::kValue;
}

Res ChangeCase(const Value& in, EvalContext& ctx, Value* out, bool lower, const char* name) {
  if (!in.is_string()) return ctx.Fail(fmt::format("{} input must be a string", name));
  std::string s(in.string());
  for (char& ch : s) {
    if (lower && ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
    if (!lower && ch >= 'a' && ch <= 'z') ch = static_cast<char>(ch - 'a' + 'A');
  }
  *out = MakeString(ctx, s);
  return Res::kValue;
}

Res Downcase(const CallNode&, const Value& in, EvalContext& ctx, Value* out) {
  return ChangeCase(in, ctx, out, true, "ascii_downcase");
}
Res Upcase(const CallNode&, const Value& in, EvalContext& ctx, Value* out) {
  return ChangeCase(in, ctx, out, false, "ascii_upcase");
}

Res Split(const CallNode& c, const Value& in, EvalContext& ctx, Value* out) {
  Value sep;
  Res r = StringArg(c, in, ctx, &sep);
  if (r != Res::kValue) return r;
  if (!in.is_string() || !sep.is_string()) return ctx.Fail("split input and separator must be strings");
  return SplitString(ctx, in.string(), sep.string(), out);
}

// jq 1.6: def join($x): reduce .[] as $i (null; (.//"") + (if . == null
//   then "" else $x end) + ($i | if type=="boolean" or type=="number" then
//   tojson elif . == null then "" else . end)) // "";
Res Join(const CallNode& c, const Value& in, EvalContext& ctx, Value* out) {
  Value sep;
  Res r = StringArg(c, in, ctx, &sep);
  if (r != Res::kValue) return r;
  if (!in.is_array() && !in.is_object()) return ctx.Fail(fmt::format("Cannot iterate over {}", Describe(in)));
  Value acc = Value::Null();
  Res failure = Res::kValue;
  auto step = [&](const Value& item) {
    Value piece = item;
    if (item.kind() == Kind::kNumber || item.kind() == Kind::kTrue || item.kind() == Kind::kFalse) {
      piece = MakeString(ctx, ToJson(item));
    } else if (item.is_null()) {
      piece = Value::String("");
    }
    Value left = acc.truthy() ? acc : Value::String("");
    Value mid = acc.is_null() ? Value::String("") : sep;
    Value tmp;
    if (Add(left, mid, ctx, &tmp) != Res::kValue || Add(tmp, piece, ctx, &acc) != Res::kValue) {
      failure = Res::kError;
      return false;
    }
    return true;
  };
  if (in.is_array()) {
    ForEachElement(in, step);
  } else {
    ForEachMember(in, [&](std::string_view, const Value& v) { return step(v); });
  }
  if (failure == Res::kError) return failure;
  *out = acc.truthy() ? acc : Value::String("");
  return Res::kValue;
}

// ---------------------------------------------------------------- test

struct RegexState : CallNode::State {
  std::unique_ptr<RE2> fixed;  // compiled at compile time when literal
  bool fixed_non_empty = false;
  std::mutex mu;
  std::map<std::pair<std::string, std::string>, std::unique_ptr<RE2>> cache;
};

bool LiteralString(const Node* n, std::string* out) {
  auto* lit = dynamic_cast<const LiteralNode*>(n);
  if (lit == nullptr) return false;
  if (lit->value().is_string()) {
    *out = std::string(lit->value().string());
    return true;
  }
  if (lit->value().is_null()) {
    out->clear();
    return true;
  }
  return false;
}

Status PrepareTest(CallNode* call) {
  auto state = std::make_unique<RegexState>();
  std::string pattern, flags;
  bool literal = LiteralString(call->args()[0].get(), &pattern);
  if (literal && call->args().size() == 2) literal = LiteralString(call->args()[1].get(), &flags);
  if (literal) {
    Status s = CompileRegex(pattern, flags, &state->fixed);
    if (!s.ok()) return s;
    state->fixed_non_empty = flags.find('n') != std::string::npos;
  }
  call->set_state(std::move(state));
  return Status::Ok();
}

Res Test(const CallNode& c, const Value& in, EvalContext& ctx, Value* out) {
  auto* state = static_cast<RegexState*>(c.state());
  Value re_v, flags_v = Value::Null();
  Res r = c.Arg(0, in, ctx, &re_v);
  if (r != Res::kValue) return r;
  if (c.args().size() == 2) {
    r = c.Arg(1, in, ctx, &flags_v);
    if (r != Res::kValue) return r;
  } else if (re_v.is_array()) {  // test(["re", "flags"])
    size_t n = re_v.size();
    if (n == 0) return ctx.Fail("array not a string or array");
    if (n > 1) flags_v = re_v.at(1);
    re_v = re_v.at(0);
  }
  if (!in.is_string()) return ctx.Fail(Describe(in) + " cannot be matched, as it is not a string");
  if (!re_v.is_string()) return ctx.Fail(Describe(re_v) + " is not a string");
  if (!flags_v.is_null() && !flags_v.is_string()) return ctx.Fail(Describe(flags_v) + " is not a string");
  const RE2* re = state->fixed.get();
  bool non_empty = state->fixed_non_empty;
  if (re == nullptr) {
    non_empty = flags_v.is_string() && flags_v.string().find('n') != std::string_view::npos;
    std::lock_guard<std::mutex> lock(state->mu);
    auto key = std::make_pair(std::string(re_v.string()),
                              std::string(flags_v.is_string() ? flags_v.string() : std::string_view()));
    auto it = state->cache.find(key);
    if (it == state->cache.end()) {
      std::unique_ptr<RE2> compiled;
      Status s = CompileRegex(key.first, key.second, &compiled);
      if (!s.ok()) return ctx.Fail(s.message());
      if (state->cache.size() > 64) state->cache.clear();
      it = state->cache.emplace(key, std::move(compiled)).first;
    }
    re = it->second.get();
  }
  *out = Value::Bool(RegexTest(*re, in.string(), non_empty));
  return Res::kValue;
}

}  // namespace

std::vector<Builtin> StringBuiltins() {
  return {
      {"startswith", 1, StartsWith, nullptr, "whether the input string starts with the argument"},
      {"endswith", 1, EndsWith, nullptr, "whether the input string ends with the argument"},
      {"ltrimstr", 1, LTrimStr, nullptr, "the input without the prefix, if it has it"},
      {"rtrimstr", 1, RTrimStr, nullptr, "the input without the suffix, if it has it"},
      {"ascii_downcase", 0, Downcase, nullptr, "ASCII letters to lower case"},
      {"ascii_upcase", 0, Upcase, nullptr, "ASCII letters to upper case"},
      {"split", 1, Split, nullptr, "split the string on a separator string"},
      {"join", 1, Join, nullptr, "join the elements with a separator"},
      {"test", 1, Test, PrepareTest, "whether the regular expression (RE2) matches"},
      {"test", 2, Test, PrepareTest, "the same with flags: g, i, n, s, l, p"},
  };
}

}  // namespace govstream::expr
