// Value: a JSON value as the expression evaluator sees it, with jq's
// semantics (types ordered null < false < true < number < string < array <
// object; all numbers are IEEE doubles, as in jq 1.6).
//
// A Value is a small handle (40 bytes, trivially copyable and destructible).
// It does not own memory: strings, arrays and objects point either into the
// simdjson DOM of the current input line (zero-copy: DOM arrays and objects
// are read in place) or into an Arena that holds values the expression
// computed. Both live for one record; the owner resets them between
// records, which invalidates every Value made from them.
#ifndef GOVSTREAM_EXPR_VALUE_H_
#define GOVSTREAM_EXPR_VALUE_H_

#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace govstream::expr {

// In jq's sort order.
enum class Kind : uint8_t { kNull, kFalse, kTrue, kNumber, kString, kArray, kObject };

class Value;
struct Member;

// Copies out of simdjson results (never iterate a temporary's reference).
inline simdjson::dom::array DomArray(simdjson::dom::element e) {
  simdjson::dom::array a;
  if (e.get_array().get(a) != simdjson::SUCCESS) return {};
  return a;
}
inline simdjson::dom::object DomObject(simdjson::dom::element e) {
  simdjson::dom::object o;
  if (e.get_object().get(o) != simdjson::SUCCESS) return {};
  return o;
}

// Bump allocator for values computed during one evaluation. Reset() frees
// everything at once and keeps the first block for reuse. Not thread-safe.
class Arena {
 public:
  Arena() = default;
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;
  void* Allocate(size_t bytes, size_t align = alignof(std::max_align_t));
  template <typename T>
  T* AllocateArray(size_t n) {
    return static_cast<T*>(Allocate(sizeof(T) * (n == 0 ? 1 : n), alignof(T)));
  }
  std::string_view CopyString(std::string_view s);
  void Reset();

 private:
  std::vector<std::unique_ptr<char[]>> blocks_;
  size_t block_size_ = 0;
  size_t used_ = 0;
};

class Value {
 public:
  Value() : kind_(Kind::kNull) {}
  static Value Null() { return Value(); }
  static Value Bool(bool b) {
    Value v;
    v.kind_ = b ? Kind::kTrue : Kind::kFalse;
    return v;
  }
  static Value Number(double d) {
    Value v;
    v.kind_ = Kind::kNumber;
    v.num_ = d;
    return v;
  }
  // `s` must outlive the value (DOM string buffer, arena or static).
  static Value String(std::string_view s) {
    Value v;
    v.kind_ = Kind::kString;
    v.str_ = s.data();
    v.len_ = s.size();
    return v;
  }
  // Wraps a DOM element of the current document (any type).
  static Value FromDom(simdjson::dom::element e);
  // Arrays/objects built in an arena; `items`/`members` arena-allocated.
  static Value Array(const Value* items, size_t n);
  static Value Object(const Member* members, size_t n);

  Kind kind() const { return kind_; }
  bool truthy() const { return kind_ != Kind::kNull && kind_ != Kind::kFalse; }
  bool is_null() const { return kind_ == Kind::kNull; }
  bool is_number() const { return kind_ == Kind::kNumber; }
  bool is_string() const { return kind_ == Kind::kString; }
  bool is_array() const { return kind_ == Kind::kArray; }
  bool is_object() const { return kind_ == Kind::kObject; }
  double number() const { return num_; }
  std::string_view string() const { return {str_, len_}; }

  // Arrays and objects: element/member count.
  size_t size() const;
  // Arrays: element i (0 <= i < size()).
  Value at(size_t i) const;
  // Objects: the value of `key`, or false when absent (`*out` untouched).
  bool find(std::string_view key, Value* out) const;
  // Objects: member i in document/insertion order.
  std::string_view key_at(size_t i) const;
  Value value_at(size_t i) const;

  // jq's type name: "null", "boolean", "number", "string", "array", "object".
  const char* type_name() const;

 private:
  template <typename Fn>
  friend void ForEachElement(const Value&, Fn&&);
  template <typename Fn>
  friend void ForEachMember(const Value&, Fn&&);
  friend int Compare(const Value& a, const Value& b);

  Kind kind_;
  bool dom_ = false;  // array/object read in place from the DOM
  size_t len_ = 0;    // string length, or element/member count (arena)
  union {
    double num_;
    const char* str_;
    const Value* items_;
    const Member* members_;
  };
  simdjson::dom::element dom_elem_;
};

struct Member {
  std::string_view key;
  Value value;
};

// jq 1.6's order of numbers: NaN sorts below every number (and below NaN).
inline int CompareNumbers(double x, double y) {
  if (x != x) return -1;
  if (y != y) return 1;
  return x < y ? -1 : (x == y ? 0 : 1);
}

// jq's total order: negative, zero or positive.
int Compare(const Value& a, const Value& b);
inline bool Equal(const Value& a, const Value& b) { return Compare(a, b) == 0; }

// Compact JSON as jq -c prints it (numbers as jq 1.6 formats them, object
// members in insertion order, non-ASCII kept as UTF-8).
void AppendJson(const Value& v, std::string* out);
std::string ToJson(const Value& v);
// jq 1.6's number formatting: shortest round-trip digits, exponent form when
// the decimal exponent is < -4 or > digits + 15, 1.7976931348623157e+308 for
// infinities, null for NaN.
void AppendNumber(double d, std::string* out);

// Iteration in document/insertion order, O(n) for DOM and arena values
// alike. `fn` returns false to stop early.
template <typename Fn>  // bool fn(const Value& element)
void ForEachElement(const Value& array, Fn&& fn);
template <typename Fn>  // bool fn(std::string_view key, const Value& value)
void ForEachMember(const Value& object, Fn&& fn);

// Object keys sorted as jq sorts them (byte order).
std::vector<std::string_view> SortedKeys(const Value& object);

template <typename Fn>
void ForEachElement(const Value& array, Fn&& fn) {
  if (array.dom_) {
    for (simdjson::dom::element e : DomArray(array.dom_elem_)) {
      if (!fn(Value::FromDom(e))) return;
    }
  } else {
    for (size_t i = 0; i < array.len_; ++i) {
      if (!fn(array.items_[i])) return;
    }
  }
}

template <typename Fn>
void ForEachMember(const Value& object, Fn&& fn) {
  if (object.dom_) {
    for (simdjson::dom::key_value_pair kv : DomObject(object.dom_elem_)) {
      if (!fn(kv.key, Value::FromDom(kv.value))) return;
    }
  } else {
    for (size_t i = 0; i < object.len_; ++i) {
      if (!fn(object.members_[i].key, object.members_[i].value)) return;
    }
  }
}

}  // namespace govstream::expr

#endif  // GOVSTREAM_EXPR_VALUE_H_
