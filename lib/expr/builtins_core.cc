// select, not, length, type, keys, has, in, contains, any, all, tostring,
// tonumber, floor, sqrt.
#include <fmt/core.h>

#include <cmath>
#include <cstdlib>
#include <cstring>

#include "expr/builtins.h"
#include "expr/json.h"

namespace govstream::expr {
namespace {

Res Select(const CallNode& c, const Value& in, EvalContext& ctx, Value* out) {
  Value cond;
  Res r = c.Arg(0, in, ctx, &cond);
  if (r != Res::kValue) return r;
  if (!cond.truthy()) return Res::kEmpty;
  *out = in;
  return Res::kValue;
}

Res Not(const CallNode&, const Value& in, EvalContext&, Value* out) {
  *out = Value::Bool(!in.truthy());
  return Res::kValue;
}

size_t CountCodepoints(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

Res Length(const CallNode&, const Value& in, EvalContext& ctx, Value* out) {
  switch (in.kind()) {
    case Kind::kNull: *out = Value::Number(0); return Res::kValue;
    case Kind::kNumber: *out = Value::Number(std::fabs(in.number())); return Res::kValue;
    case Kind::kString: *out = Value::Number(static_cast<double>(CountCodepoints(in.string()))); return Res::kValue;
    case Kind::kArray:
    case Kind::kObject: *out = Value::Number(static_cast<double>(in.size())); return Res::kValue;
    default: return ctx.Fail(Describe(in) + " has no length");
  }
}

Res Type(const CallNode&, const Value& in, EvalContext&, Value* out) {
  *out = Value::String(in.type_name());
  return Res::kValue;
}

Res Keys(const CallNode&, const Value& in, EvalContext& ctx, Value* out) {
  std::vector<Value> keys;
  if (in.is_object()) {
    for (std::string_view k : SortedKeys(in)) keys.push_back(Value::String(k));
  } else if (in.is_array()) {
    size_t n = in.size();
    for (size_t i = 0; i < n; ++i) keys.push_back(Value::Number(static_cast<double>(i)));
  } else {
    return ctx.Fail(Describe(in) + " has no keys");
  }
  *out = MakeArray(ctx, keys);
  return Res::kValue;
}

Res HasKey(const Value& t, const Value& k, EvalContext& ctx, Value* out) {
  if (t.is_null()) {  // jq 1.6: null has no keys, but asking is not an error
    *out = Value::Bool(false);
    return Res::kValue;
  }
  if (t.is_object() && k.is_string()) {
    Value ignored;
    *out = Value::Bool(t.find(k.string(), &ignored));
    return Res::kValue;
  }
  if (t.is_array() && k.is_number()) {
    double d = k.number();
    int idx = std::isnan(d) ? -1 : (d > 2e9 ? -1 : (d < -2e9 ? -1 : static_cast<int>(d)));
    *out = Value::Bool(idx >= 0 && static_cast<size_t>(idx) < t.size());
    return Res::kValue;
  }
  return ctx.Fail(fmt::format("Cannot check whether {} has a {} key", t.type_name(), k.type_name()));
}

Res Has(const CallNode& c, const Value& in, EvalContext& ctx, Value* out) {
  Value k;
  Res r = c.Arg(0, in, ctx, &k);
  if (r != Res::kValue) return r;
  return HasKey(in, k, ctx, out);
}

Res In(const CallNode& c, const Value& in, EvalContext& ctx, Value* out) {
  Value container;
  Res r = c.Arg(0, in, ctx, &container);
  if (r != Res::kValue) return r;
  return HasKey(container, in, ctx, out);
}

std::string_view UpToNul(std::string_view s) {
  size_t z = s.find('\0');
  return z == std::string_view::npos ? s : s.substr(0, z);
}

bool Contains(const Value& a, const Value& b) {
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case Kind::kObject: {
      bool all = true;
      ForEachMember(b, [&](std::string_view k, const Value& bv) {
        Value av;
        if (!a.find(k, &av) || !Contains(av, bv)) {
          all = false;
          return false;
        }
        return true;
      });
      return all;
    }
    case Kind::kArray: {
      bool all = true;
      ForEachElement(b, [&](const Value& bv) {
        bool any = false;
        ForEachElement(a, [&](const Value& av) {
          if (Contains(av, bv)) {
            any = true;
            return false;
          }
          return true;
        });
        if (!any) all = false;
        return any;
      });
      return all;
    }
    case Kind::kString:  // jq 1.6 uses strstr: both sides end at a NUL
      return UpToNul(a.string()).find(UpToNul(b.string())) != std::string_view::npos;
    default:
      return Equal(a, b);
  }
}

Res ContainsFn(const CallNode& c, const Value& in, EvalContext& ctx, Value* out) {
  Value b;
  Res r = c.Arg(0, in, ctx, &b);
  if (r != Res::kValue) return r;
  if (in.kind() != b.kind()) {
    return ctx.Fail(fmt::format("{} and {} cannot have their containment checked", Describe(in), Describe(b)));
  }
  *out = Value::Bool(Contains(in, b));
  return Res::kValue;
}

// any/all over the values of an array or object, optionally through f.
Res Quantify(const CallNode& c, const Value& in, EvalContext& ctx, Value* out, bool want_any) {
  if (!in.is_array() && !in.is_object()) return ctx.Fail(fmt::format("Cannot iterate over {}", Describe(in)));
  bool found = false;
  Res failure = Res::kValue;
  auto visit = [&](const Value& v) {
    Value cond = v;
    if (!c.args().empty()) {
      Res r = c.Arg(0, v, ctx, &cond);
      if (r == Res::kError) {
        failure = r;
        return false;
      }
      if (r == Res::kEmpty) return true;
    }
    if (cond.truthy() == want_any) {
      found = true;
      return false;
    }
    return true;
  };
  if (in.is_array()) {
    ForEachElement(in, visit);
  } else {
    ForEachMember(in, [&](std::string_view, const Value& v) { return visit(v); });
  }
  if (failure == Res::kError) return failure;
  *out = Value::Bool(want_any ? found : !found);
  return Res::kValue;
}

Res Any(const CallNode& c, const Value& in, EvalContext& ctx, Value* out) { return Quantify(c, in, ctx, out, true); }
Res All(const CallNode& c, const Value& in, EvalContext& ctx, Value* out) { return Quantify(c, in, ctx, out, false); }

Res ToString(const CallNode&, const Value& in, EvalContext& ctx, Value* out) {
  if (in.is_string()) {
    *out = in;
    return Res::kValue;
  }
  *out = MakeString(ctx, ToJson(in));
  return Res::kValue;
}

Res ToNumber(const CallNode&, const Value& in, EvalContext& ctx, Value* out) {
  if (in.is_number()) {
    *out = in;
    return Res::kValue;
  }
  if (!in.is_string()) return ctx.Fail(Describe(in) + " cannot be parsed as a number");
  std::string_view s = in.string();
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r')) s.remove_suffix(1);
  // The string is quoted as JSON in messages, so that control characters
  // (an embedded NUL, which jq 1.6 would read up to) never reach the terminal raw.
  if (s.empty()) return ctx.Fail(fmt::format("Expected JSON value (while parsing {})", ToJson(in)));
  // jq reads a number token as the longest run of number characters and
  // hands it to strtod, which must consume all of it.
  bool number_chars = true;
  for (char ch : s) {
    if (!((ch >= '0' && ch <= '9') || ch == '.' || ch == 'e' || ch == 'E' || ch == '+' || ch == '-')) number_chars = false;
  }
  if (number_chars) {
    std::string tmp(s);
    char* end = nullptr;
    double d = std::strtod(tmp.c_str(), &end);
    if (end == tmp.c_str() + tmp.size()) {
      *out = Value::Number(d);
      return Res::kValue;
    }
    return ctx.Fail(fmt::format("Invalid numeric literal (while parsing {})", ToJson(in)));
  }
  Value parsed;
  std::string error;
  if (ParseJsonSlow(s, ctx.arena, &parsed, &error)) {
    if (parsed.is_number()) {
      *out = parsed;
      return Res::kValue;
    }
    return ctx.Fail(Describe(in) + " cannot be parsed as a number");
  }
  return ctx.Fail(fmt::format("Invalid literal (while parsing {})", ToJson(in)));
}

Res Floor(const CallNode&, const Value& in, EvalContext& ctx, Value* out) {
  if (!in.is_number()) return ctx.Fail(Describe(in) + " number required");
  *out = Value::Number(std::floor(in.number()));
  return Res::kValue;
}

Res Sqrt(const CallNode&, const Value& in, EvalContext& ctx, Value* out) {
  if (!in.is_number()) return ctx.Fail(Describe(in) + " number required");
  *out = Value::Number(std::sqrt(in.number()));
  return Res::kValue;
}

}  // namespace

std::vector<Builtin> CoreBuiltins() {
  return {
      {"select", 1, Select, nullptr, "the input if the argument is truthy, else no output"},
      {"not", 0, Not, nullptr, "true for false and null, false otherwise"},
      {"length", 0, Length, nullptr, "string length in codepoints, array/object size, |number|, 0 for null"},
      {"type", 0, Type, nullptr, "the type name"},
      {"keys", 0, Keys, nullptr, "sorted object keys, or array indices"},
      {"has", 1, Has, nullptr, "whether the object has the key / the array has the index"},
      {"in", 1, In, nullptr, "whether the input is a key of the argument"},
      {"contains", 1, ContainsFn, nullptr, "recursive containment (substring for strings)"},
      {"any", 0, Any, nullptr, "true if any element is truthy"},
      {"any", 1, Any, nullptr, "true if f is truthy for any element", false},
      {"all", 0, All, nullptr, "true if every element is truthy"},
      {"all", 1, All, nullptr, "true if f is truthy for every element", false},
      {"tostring", 0, ToString, nullptr, "strings unchanged, other values as compact JSON"},
      {"tonumber", 0, ToNumber, nullptr, "numbers unchanged, strings parsed as numbers"},
      {"floor", 0, Floor, nullptr, "round down"},
      {"sqrt", 0, Sqrt, nullptr, "square root"},
  };
}

}  // namespace govstream::expr
