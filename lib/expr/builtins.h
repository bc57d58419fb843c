// Internal: the registry of builtin functions. One table (builtins.cc) lists
// every function the subset has, with its arity; the parser refuses any
// other name/arity. Implementations are grouped by theme in
// builtins_core.cc, builtins_string.cc and builtins_time.cc.
#ifndef GOVSTREAM_EXPR_BUILTINS_H_
#define GOVSTREAM_EXPR_BUILTINS_H_

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "expr/nodes.h"

namespace govstream::expr {

using BuiltinFn = Res (*)(const CallNode& call, const Value& in, EvalContext& ctx, Value* out);
// Optional compile-time hook (validate literal arguments, precompute state).
// Returns a non-OK status to refuse the expression.
using PrepareFn = Status (*)(CallNode* call);

struct Builtin {
  std::string_view name;
  int arity;
  BuiltinFn fn;
  PrepareFn prepare = nullptr;
  std::string_view summary = {};  // one line for docs
  // False when the arguments are evaluated on something other than the
  // call's input (any(f)/all(f) run f on each element).
  bool args_on_input = true;
};

// nullptr when no builtin has this name and arity.
const Builtin* FindBuiltin(std::string_view name, int arity);
// True when some builtin has this name (any arity).
bool IsBuiltinName(std::string_view name);
const std::vector<Builtin>& AllBuiltins();

// Group tables, concatenated by AllBuiltins().
std::vector<Builtin> CoreBuiltins();
std::vector<Builtin> StringBuiltins();
std::vector<Builtin> TimeBuiltins();

// Shared helpers.
Res SplitString(EvalContext& ctx, std::string_view s, std::string_view sep, Value* out);

}  // namespace govstream::expr

#endif  // GOVSTREAM_EXPR_BUILTINS_H_
