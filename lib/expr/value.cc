#include "expr/value.h"

#include <absl/container/inlined_vector.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>

namespace govstream::expr {

namespace dom = simdjson::dom;

// ---------------------------------------------------------------- Arena

void* Arena::Allocate(size_t bytes, size_t align) {
  size_t start = (used_ + align - 1) & ~(align - 1);
  if (blocks_.empty() || start + bytes > block_size_) {
    size_t size = std::max<size_t>(bytes + align, blocks_.empty() ? 64 * 1024 : block_size_ * 2);
    if (blocks_.size() == 1 && used_ == 0) blocks_.clear();
    blocks_.emplace_back(new char[size]);
    block_size_ = size;
    used_ = 0;
    start = (reinterpret_cast<uintptr_t>(blocks_.back().get()) % align == 0) ? 0 : align - reinterpret_cast<uintptr_t>(blocks_.back().get()) % align;
  }
  void* p = blocks_.back().get() + start;
  used_ = start + bytes;
  return p;
}

std::string_view Arena::CopyString(std::string_view s) {
  char* p = static_cast<char*>(Allocate(s.size() + 1, 1));
  if (!s.empty()) std::memcpy(p, s.data(), s.size());
  p[s.size()] = '\0';
  return {p, s.size()};
}

void Arena::Reset() {
  if (blocks_.size() > 1) {
    // Keep only the largest (last) block for the next record.
    std::unique_ptr<char[]> last = std::move(blocks_.back());
    blocks_.clear();
    blocks_.push_back(std::move(last));
  }
  used_ = 0;
}

// ---------------------------------------------------------------- Value

Value Value::FromDom(dom::element e) {
  Value v;
  switch (e.type()) {
    case dom::element_type::ARRAY:
      v.kind_ = Kind::kArray;
      v.dom_ = true;
      v.dom_elem_ = e;
      break;
    case dom::element_type::OBJECT:
      v.kind_ = Kind::kObject;
      v.dom_ = true;
      v.dom_elem_ = e;
      break;
    case dom::element_type::INT64:
      v.kind_ = Kind::kNumber;
      v.num_ = static_cast<double>(e.get_int64().value_unsafe());
      break;
    case dom::element_type::UINT64:
      v.kind_ = Kind::kNumber;
      v.num_ = static_cast<double>(e.get_uint64().value_unsafe());
      break;
    case dom::element_type::DOUBLE:
      v.kind_ = Kind::kNumber;
      v.num_ = e.get_double().value_unsafe();
      break;
    case dom::element_type::STRING: {
      std::string_view s = e.get_string().value_unsafe();
      v.kind_ = Kind::kString;
      v.str_ = s.data();
      v.len_ = s.size();
      break;
    }
    case dom::element_type::BOOL:
      v.kind_ = e.get_bool().value_unsafe() ? Kind::kTrue : Kind::kFalse;
      break;
    case dom::element_type::NULL_VALUE:
      break;
  }
  return v;
}

Value Value::Array(const Value* items, size_t n) {
  Value v;
  v.kind_ = Kind::kArray;
  v.items_ = items;
  v.len_ = n;
  return v;
}

Value Value::Object(const Member* members, size_t n) {
  Value v;
  v.kind_ = Kind::kObject;
  v.members_ = members;
  v.len_ = n;
  return v;
}

size_t Value::size() const {
  if (!dom_) return len_;
  // simdjson stores the count, saturated at 0xFFFFFF; count past that.
  size_t n = kind_ == Kind::kArray ? DomArray(dom_elem_).size() : DomObject(dom_elem_).size();
  if (n < 0xFFFFFF) return n;
  n = 0;
  if (kind_ == Kind::kArray) {
    for (auto it : DomArray(dom_elem_)) {
      (void)it;
      ++n;
    }
  } else {
    for (auto it : DomObject(dom_elem_)) {
      (void)it;
      ++n;
    }
  }
  return n;
}

Value Value::at(size_t i) const {
  if (!dom_) return items_[i];
  return FromDom(DomArray(dom_elem_).at(i).value_unsafe());
}

bool Value::find(std::string_view key, Value* out) const {
  if (dom_) {
    // The first occurrence, for the rare input with duplicate keys (jq keeps
    // the last; RFC 8259 leaves it open). See docs/expressions.md.
    for (dom::key_value_pair kv : DomObject(dom_elem_)) {
      if (kv.key.size() == key.size() && kv.key == key) {
        *out = FromDom(kv.value);
        return true;
      }
    }
    return false;
  }
  for (size_t i = len_; i-- > 0;) {
    if (members_[i].key == key) {
      *out = members_[i].value;
      return true;
    }
  }
  return false;
}

std::string_view Value::key_at(size_t i) const {
  if (!dom_) return members_[i].key;
  size_t n = 0;
  for (dom::key_value_pair kv : DomObject(dom_elem_)) {
    if (n++ == i) return kv.key;
  }
  return {};
}

Value Value::value_at(size_t i) const {
  if (!dom_) return members_[i].value;
  size_t n = 0;
  for (dom::key_value_pair kv : DomObject(dom_elem_)) {
    if (n++ == i) return FromDom(kv.value);
  }
  return {};
}

const char* Value::type_name() const {
  switch (kind_) {
    case Kind::kNull: return "null";
    case Kind::kFalse:
    case Kind::kTrue: return "boolean";
    case Kind::kNumber: return "number";
    case Kind::kString: return "string";
    case Kind::kArray: return "array";
    case Kind::kObject: return "object";
  }
  return "null";
}

// ---------------------------------------------------------------- order

std::vector<std::string_view> SortedKeys(const Value& object) {
  std::vector<std::string_view> keys;
  ForEachMember(object, [&](std::string_view k, const Value&) {
    keys.push_back(k);
    return true;
  });
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  return keys;
}

namespace {

int CompareStrings(std::string_view a, std::string_view b) {
  size_t n = std::min(a.size(), b.size());
  int r = n == 0 ? 0 : std::memcmp(a.data(), b.data(), n);
  if (r != 0) return r;
  return a.size() < b.size() ? -1 : (a.size() > b.size() ? 1 : 0);
}

}  // namespace

int Compare(const Value& a, const Value& b) {
  if (a.kind() != b.kind()) return a.kind() < b.kind() ? -1 : 1;
  switch (a.kind()) {
    case Kind::kNull:
    case Kind::kFalse:
    case Kind::kTrue:
      return 0;
    case Kind::kNumber:
      return CompareNumbers(a.number(), b.number());
    case Kind::kString:
      return CompareStrings(a.string(), b.string());
    case Kind::kArray: {
      if (!a.dom_ && !b.dom_) {  // built arrays: elements by index
        for (size_t i = 0;; ++i) {
          const bool a_done = i >= a.len_, b_done = i >= b.len_;
          if (a_done || b_done) return static_cast<int>(b_done) - static_cast<int>(a_done);
          const int r = Compare(a.items_[i], b.items_[i]);
          if (r != 0) return r;
        }
      }
      // Inline storage: keys of a few fields compare without allocating.
      absl::InlinedVector<Value, 8> xs, ys;
      ForEachElement(a, [&](const Value& v) { xs.push_back(v); return true; });
      ForEachElement(b, [&](const Value& v) { ys.push_back(v); return true; });
      for (size_t i = 0;; ++i) {
        bool a_done = i >= xs.size(), b_done = i >= ys.size();
        if (a_done || b_done) return static_cast<int>(b_done) - static_cast<int>(a_done);
        int r = Compare(xs[i], ys[i]);
        if (r != 0) return r;
      }
    }
    case Kind::kObject: {
      std::vector<std::string_view> ka = SortedKeys(a), kb = SortedKeys(b);
      for (size_t i = 0;; ++i) {
        bool a_done = i >= ka.size(), b_done = i >= kb.size();
        if (a_done || b_done) {
          int r = static_cast<int>(b_done) - static_cast<int>(a_done);
          if (r != 0) return r;
          break;
        }
        int r = CompareStrings(ka[i], kb[i]);
        if (r != 0) return r;
      }
      for (std::string_view k : ka) {
        Value x, y;
        a.find(k, &x);
        b.find(k, &y);
        int r = Compare(x, y);
        if (r != 0) return r;
      }
      return 0;
    }
  }
  return 0;
}

// ---------------------------------------------------------------- JSON out

void AppendNumber(double d, std::string* out) {
  if (std::isnan(d)) {
    *out += "null";
    return;
  }
  if (std::isinf(d)) d = d > 0 ? std::numeric_limits<double>::max() : -std::numeric_limits<double>::max();
  if (d == 0) {
    *out += std::signbit(d) ? "-0" : "0";
    return;
  }
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string_view sci(buf, static_cast<size_t>(r.ptr - buf));
  bool negative = sci[0] == '-';
  if (negative) sci.remove_prefix(1);
  size_t e = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, e)) {
    if (c != '.') digits += c;
  }
  int exp10 = std::atoi(std::string(sci.substr(e + 1)).c_str());
  int decpt = exp10 + 1;
  int nd = static_cast<int>(digits.size());
  if (negative) *out += '-';
  if (decpt <= -4 || decpt > nd + 15) {
    *out += digits[0];
    if (nd > 1) {
      *out += '.';
      out->append(digits, 1);
    }
    *out += 'e';
    int x = decpt - 1;
    *out += x < 0 ? '-' : '+';
    if (x < 0) x = -x;
    if (x < 10) *out += '0';
    *out += std::to_string(x);
  } else if (decpt <= 0) {
    *out += "0.";
    out->append(static_cast<size_t>(-decpt), '0');
    *out += digits;
  } else if (nd <= decpt) {
    *out += digits;
    out->append(static_cast<size_t>(decpt - nd), '0');
  } else {
    out->append(digits, 0, static_cast<size_t>(decpt));
    *out += '.';
    out->append(digits, static_cast<size_t>(decpt));
  }
}

namespace {

// 1 for the bytes JSON output must escape.
constexpr auto kNeedsEscape = [] {
  std::array<unsigned char, 256> t{};
  for (int c = 0; c < 0x20; ++c) t[c] = 1;
  t['"'] = t['\\'] = t[0x7f] = 1;
  return t;
}();

void AppendString(std::string_view s, std::string* out) {
  static const char kHex[] = "0123456789abcdef";
  *out += '"';
  size_t run = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (!kNeedsEscape[c]) continue;
    const char* esc = nullptr;
    switch (c) {
      case '"': esc = "\\\""; break;
      case '\\': esc = "\\\\"; break;
      case '\n': esc = "\\n"; break;
      case '\t': esc = "\\t"; break;
      case '\r': esc = "\\r"; break;
      case '\b': esc = "\\b"; break;
      case '\f': esc = "\\f"; break;
      default:
        if (c >= 0x20 && c != 0x7f) continue;
    }
    out->append(s.data() + run, i - run);
    run = i + 1;
    if (esc != nullptr) {
      *out += esc;
    } else {
      *out += "\\u00";
      *out += kHex[c >> 4];
      *out += kHex[c & 15];
    }
  }
  out->append(s.data() + run, s.size() - run);
  *out += '"';
}

}  // namespace

void AppendJson(const Value& v, std::string* out) {
  switch (v.kind()) {
    case Kind::kNull: *out += "null"; return;
    case Kind::kFalse: *out += "false"; return;
    case Kind::kTrue: *out += "true"; return;
    case Kind::kNumber: AppendNumber(v.number(), out); return;
    case Kind::kString: AppendString(v.string(), out); return;
    case Kind::kArray: {
      *out += '[';
      bool first = true;
      ForEachElement(v, [&](const Value& e) {
        if (!first) *out += ',';
        first = false;
        AppendJson(e, out);
        return true;
      });
      *out += ']';
      return;
    }
    case Kind::kObject: {
      *out += '{';
      bool first = true;
      ForEachMember(v, [&](std::string_view k, const Value& e) {
        if (!first) *out += ',';
        first = false;
        AppendString(k, out);
        *out += ':';
        AppendJson(e, out);
        return true;
      });
      *out += '}';
      return;
    }
  }
}

std::string ToJson(const Value& v) {
  std::string s;
  AppendJson(v, &s);
  return s;
}

}  // namespace govstream::expr
