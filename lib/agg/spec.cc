#include "agg/spec.h"

#include <fmt/core.h>

#include <cmath>
#include <cstdlib>
#include <set>

namespace govstream::agg {
namespace {

bool IsIdentStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsIdentChar(char c) { return IsIdentStart(c) || (c >= '0' && c <= '9'); }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// "name=rest" when the text starts with an identifier and a single '='.
bool SplitName(std::string_view text, std::string* name, std::string_view* rest) {
  size_t i = 0;
  if (text.empty() || !IsIdentStart(text[0])) return false;
  while (i < text.size() && IsIdentChar(text[i])) ++i;
  if (i >= text.size() || text[i] != '=' || (i + 1 < text.size() && text[i + 1] == '=')) return false;
  *name = std::string(text.substr(0, i));
  *rest = text.substr(i + 1);
  return true;
}

// Position of the last comma outside brackets and strings, or npos.
size_t LastTopLevelComma(std::string_view s) {
  int depth = 0;
  bool in_string = false;
  size_t last = std::string_view::npos;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    else if (c == '(' || c == '[' || c == '{') ++depth;
    else if (c == ')' || c == ']' || c == '}') --depth;
    else if (c == ',' && depth == 0) last = i;
  }
  return last;
}

// p50 -> 0.5, p999 -> 0.999, p9999 -> 0.9999, p0..p100.
bool PercentileName(std::string_view f, double* q) {
  if (f.size() < 2 || f[0] != 'p') return false;
  std::string digits(f.substr(1));
  for (char c : digits) {
    if (c < '0' || c > '9') return false;
  }
  if (digits.size() >= 3 && digits.substr(0, 2) == "99" && digits.find_first_not_of('9') == std::string::npos) {
    *q = 1.0 - std::pow(10.0, -static_cast<double>(digits.size()));
    return true;
  }
  if (digits.size() > 3) return false;
  int n = std::atoi(digits.c_str());
  if (n > 100) return false;
  *q = n / 100.0;
  return true;
}

Status Bad(std::string_view text, const std::string& why) {
  return Status::InvalidArgument(fmt::format("aggregation '{}': {}", text, why));
}

}  // namespace

std::string PathFieldName(std::string_view e) {
  e = Trim(e);
  if (e.size() < 2 || e[0] != '.') return "";
  std::string last;
  size_t i = 0;
  while (i < e.size()) {
    if (e[i] != '.') return "";
    ++i;
    if (i >= e.size() || !IsIdentStart(e[i])) return "";
    size_t start = i;
    while (i < e.size() && IsIdentChar(e[i])) ++i;
    last = std::string(e.substr(start, i - start));
  }
  return last;
}

Status ParseAggSpec(std::string_view text, bool exact, AggSpec* out) {
  std::string_view body = Trim(text);
  std::string name;
  std::string_view rest;
  if (SplitName(body, &name, &rest)) body = Trim(rest);
  size_t paren = body.find('(');
  std::string func(Trim(body.substr(0, paren)));
  std::string_view inner;
  bool has_args = paren != std::string_view::npos;
  if (has_args) {
    if (body.back() != ')') return Bad(text, "expected ')' at the end");
    inner = Trim(body.substr(paren + 1, body.size() - paren - 2));
  }
  double q = 0;
  bool percentile = PercentileName(func, &q);
  const AggregatorDef* def = FindAggregator(percentile ? "quantile" : func);
  if (def == nullptr) {
    return Bad(text, fmt::format("unknown function '{}' (stream-agg --list shows them)", func));
  }
  out->def = def;
  out->params = Params{};
  out->params.exact = exact;
  std::string expr_text(inner);
  std::string extra;
  if (def->extra != AggregatorDef::Extra::kNone && has_args) {
    size_t comma = LastTopLevelComma(inner);
    if (comma != std::string_view::npos) {
      expr_text = std::string(Trim(inner.substr(0, comma)));
      extra = std::string(Trim(inner.substr(comma + 1)));
    }
  }
  if (def->arg == AggregatorDef::Arg::kValue && expr_text.empty()) {
    return Bad(text, fmt::format("{} needs an expression, e.g. {}(.latency_ms)", func, func));
  }
  if (!expr_text.empty()) {
    Status s = expr::Expression::Compile(expr_text, &out->arg);
    if (!s.ok()) return Bad(text, s.message());
  } else {
    out->arg.reset();
  }
  switch (def->extra) {
    case AggregatorDef::Extra::kQuantile:
      if (percentile) {
        if (!extra.empty()) return Bad(text, fmt::format("{} takes no second argument", func));
        out->params.quantile = q;
      } else {
        char* end = nullptr;
        double v = std::strtod(extra.c_str(), &end);
        if (extra.empty() || *end != '\0' || !(v >= 0 && v <= 1)) {
          return Bad(text, "quantile(EXPR, q) needs q between 0 and 1");
        }
        out->params.quantile = v;
      }
      break;
    case AggregatorDef::Extra::kK:
      if (!extra.empty()) {
        char* end = nullptr;
        long long k = std::strtoll(extra.c_str(), &end, 10);
        if (*end != '\0' || k < 1 || k > 100000) return Bad(text, "top(EXPR, k) needs k between 1 and 100000");
        out->params.k = static_cast<uint64_t>(k);
      }
      break;
    case AggregatorDef::Extra::kNone:
      break;
  }
  if (name.empty()) {
    std::string field = PathFieldName(expr_text);
    if (def->arg == AggregatorDef::Arg::kNone && expr_text.empty()) {
      name = func;
    } else {
      name = field.empty() ? func : func + "_" + field;
    }
  }
  out->output_name = name;
  return Status::Ok();
}

Status ParseKeySpec(std::string_view text, size_t index, KeySpec* out) {
  std::string_view body = Trim(text);
  std::string name;
  std::string_view rest;
  if (SplitName(body, &name, &rest)) body = Trim(rest);
  Status s = expr::Expression::Compile(body, &out->expr);
  if (!s.ok()) return Status::InvalidArgument(fmt::format("--by '{}': {}", text, s.message()));
  if (name.empty()) name = PathFieldName(body);
  if (name.empty()) name = fmt::format("key{}", index + 1);
  out->output_name = name;
  return Status::Ok();
}

Status CheckDistinctNames(const std::vector<KeySpec>& keys, const std::vector<AggSpec>& aggs) {
  std::set<std::string> seen;
  auto check = [&](const std::string& n) -> Status {
    if (!seen.insert(n).second) {
      return Status::InvalidArgument(
          fmt::format("two outputs are named '{}'; name them, e.g. {}2=... or --by {}2=...", n, n, n));
    }
    return Status::Ok();
  };
  for (const KeySpec& k : keys) {
    Status s = check(k.output_name);
    if (!s.ok()) return s;
  }
  for (const AggSpec& a : aggs) {
    Status s = check(a.output_name);
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

Status ParseGrouping(const std::vector<std::string>& by, const std::vector<std::string>& agg_texts, bool exact,
                     std::vector<KeySpec>* keys, std::vector<AggSpec>* aggs) {
  keys->clear();
  aggs->clear();
  for (size_t i = 0; i < by.size(); ++i) {
    keys->emplace_back();
    Status s = ParseKeySpec(by[i], i, &keys->back());
    if (!s.ok()) return s;
  }
  for (const std::string& text : agg_texts) {
    aggs->emplace_back();
    Status s = ParseAggSpec(text, exact, &aggs->back());
    if (!s.ok()) return s;
  }
  return CheckDistinctNames(*keys, *aggs);
}

std::string RegistryListing() {
  std::string out;
  for (const AggregatorDef& d : Registry()) {
    out.append(d.name);
    out.append(d.name.size() < 16 ? 16 - d.name.size() : 1, ' ');
    out.append(d.summary);
    out.push_back('\n');
  }
  return out;
}

}  // namespace govstream::agg
