#include "expr/builtins.h"

namespace govstream::expr {

const std::vector<Builtin>& AllBuiltins() {
  static const std::vector<Builtin> kAll = [] {
    std::vector<Builtin> all;
    for (auto group : {CoreBuiltins(), StringBuiltins(), TimeBuiltins()}) {
      all.insert(all.end(), group.begin(), group.end());
    }
    return all;
  }();
  return kAll;
}

const Builtin* FindBuiltin(std::string_view name, int arity) {
  for (const Builtin& b : AllBuiltins()) {
    if (b.name == name && b.arity == arity) return &b;
  }
  return nullptr;
}

bool IsBuiltinName(std::string_view name) {
  for (const Builtin& b : AllBuiltins()) {
    if (b.name == name) return true;
  }
  return false;
}

}  // namespace govstream::expr
