#include "agg/codec.h"

#include <cmath>

#include "io/report.h"

namespace govstream::agg::codec {

void AppendDouble(double d, std::string* out) {
  if (std::isnan(d)) {
    *out += "\"nan\"";
  } else if (std::isinf(d)) {
    *out += d > 0 ? "\"inf\"" : "\"-inf\"";
  } else {
    expr::AppendNumber(d, out);  // the shortest digits that round-trip
  }
}

bool ReadDouble(const expr::Value& v, double* d) {
  if (v.is_number()) {
    *d = v.number();
    return true;
  }
  if (!v.is_string()) return false;
  std::string_view s = v.string();
  if (s == "nan") {
    *d = std::nan("");
  } else if (s == "inf") {
    *d = INFINITY;
  } else if (s == "-inf") {
    *d = -INFINITY;
  } else {
    return false;
  }
  return true;
}

void AppendU64(uint64_t n, std::string* out) { *out += std::to_string(n); }

bool ReadU64(const expr::Value& v, uint64_t* n) {
  if (!v.is_number()) return false;
  double d = v.number();
  if (!(d >= 0) || d > 9007199254740992.0 || d != std::floor(d)) return false;
  *n = static_cast<uint64_t>(d);
  return true;
}

void AppendI64(int64_t n, std::string* out) { *out += std::to_string(n); }

bool ReadI64(const expr::Value& v, int64_t* n) {
  if (!v.is_number()) return false;
  double d = v.number();
  if (!(std::fabs(d) <= 4611686018427387904.0) || d != std::floor(d)) return false;
  *n = static_cast<int64_t>(d);
  return true;
}

bool ReadBool(const expr::Value& v, bool* b) {
  if (v.kind() != expr::Kind::kTrue && v.kind() != expr::Kind::kFalse) return false;
  *b = v.kind() == expr::Kind::kTrue;
  return true;
}

void AppendString(std::string_view s, std::string* out) {
  *out += '"';
  *out += io::JsonEscape(s);
  *out += '"';
}

bool ReadString(const expr::Value& v, std::string* s) {
  if (!v.is_string()) return false;
  s->assign(v.string());
  return true;
}

void AppendHex(const void* data, size_t n, std::string* out) {
  static constexpr char kDigits[] = "0123456789abcdef";
  const auto* p = static_cast<const unsigned char*>(data);
  out->reserve(out->size() + 2 * n + 2);
  *out += '"';
  for (size_t i = 0; i < n; ++i) {
    *out += kDigits[p[i] >> 4];
    *out += kDigits[p[i] & 15];
  }
  *out += '"';
}

namespace {
int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}
}  // namespace

bool ReadHex(const expr::Value& v, void* data, size_t n) {
  if (!v.is_string() || v.string().size() != 2 * n) return false;
  std::string_view s = v.string();
  auto* p = static_cast<unsigned char*>(data);
  for (size_t i = 0; i < n; ++i) {
    int hi = HexDigit(s[2 * i]), lo = HexDigit(s[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    p[i] = static_cast<unsigned char>(hi << 4 | lo);
  }
  return true;
}

bool Member(const expr::Value& v, std::string_view key, expr::Value* out) {
  return v.is_object() && v.find(key, out);
}

}  // namespace govstream::agg::codec
