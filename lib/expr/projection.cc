#include "expr/projection.h"

#include <algorithm>
#include <cstring>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "base/bytes_equal.h"
#include "expr/json.h"
#include "expr/nodes.h"

namespace govstream::expr {
namespace ondemand = simdjson::ondemand;

namespace {

// Collects field paths read from the root input; false if the root is read
// in another way.
bool Collect(const Node* n, bool root_input, std::vector<std::vector<std::string>>* paths) {
  if (!root_input) return true;  // nothing below reads the document's root
  if (dynamic_cast<const IdentityNode*>(n)) return false;
  if (auto* f = dynamic_cast<const FieldNode*>(n)) {
    // A chain of fields down to `.`: one path.
    std::vector<std::string> path;
    const Node* cur = f;
    while (auto* ff = dynamic_cast<const FieldNode*>(cur)) {
      path.insert(path.begin(), ff->key());
      cur = ff->target();
    }
    if (dynamic_cast<const IdentityNode*>(cur)) {
      paths->push_back(std::move(path));
      return true;
    }
  }
  bool ok = true;
  n->ForEachChild([&](const Node* c, bool same) {
    if (ok && !Collect(c, same, paths)) ok = false;
  });
  return ok;
}

// Numbers, booleans and null as Values; false for anything else (or a
// value On-Demand cannot read). Strings are the callers' (escaped or raw).
bool ScalarValue(ondemand::value& v, ondemand::json_type t, Value* out) {
  switch (t) {
    case ondemand::json_type::number: {
      double d;
      if (v.get_double().get(d)) return false;
      *out = Value::Number(d);
      return true;
    }
    case ondemand::json_type::boolean: {
      bool b;
      if (v.get_bool().get(b)) return false;
      *out = Value::Bool(b);
      return true;
    }
    case ondemand::json_type::null: {
      bool is_null = false;
      if (v.is_null().get(is_null) || !is_null) return false;
      *out = Value::Null();
      return true;
    }
    default:
      return false;
  }
}

bool Materialize(ondemand::value v, Arena* arena, Value* out) {
  ondemand::json_type t;
  if (v.type().get(t)) return false;
  switch (t) {
    case ondemand::json_type::number:
    case ondemand::json_type::boolean:
    case ondemand::json_type::null:
      return ScalarValue(v, t, out);
    case ondemand::json_type::string: {
      std::string_view s;
      if (v.get_string().get(s)) return false;
      *out = Value::String(s);
      return true;
    }
    case ondemand::json_type::array:
    case ondemand::json_type::object: {
      std::string_view raw;
      if (t == ondemand::json_type::array) {
        ondemand::array a;
        if (v.get_array().get(a) || a.raw_json().get(raw)) return false;
      } else {
        ondemand::object o;
        if (v.get_object().get(o) || o.raw_json().get(raw)) return false;
      }
      std::string error;
      return ParseJsonSlow(raw, arena, out, &error);
    }
  }
  return false;
}

}  // namespace

std::unique_ptr<Projection> Projection::Analyze(const Expression& e) {
  return Analyze(std::vector<const Expression*>{&e});
}

std::unique_ptr<Projection> Projection::Analyze(const std::vector<const Expression*>& exprs) {
  std::vector<std::vector<std::string>> paths;
  for (const Expression* e : exprs) {
    if (!Collect(e->root_node(), true, &paths)) return nullptr;
  }
  auto p = std::unique_ptr<Projection>(new Projection());
  for (const auto& path : paths) {
    PathNode* node = &p->root_;
    for (const std::string& key : path) {
      if (node->whole) break;
      node = &node->fields[key];
    }
    node->whole = true;
    node->fields.clear();
  }
  return p;
}

// Builds an arena object holding the projected fields of `obj`. Member keys
// are views of the projection's own keys (it outlives every evaluation), so
// a record costs no allocation beyond one arena array per object level.
struct ProjectionAccess {
  template <typename Obj, typename Node>
  static bool Extract(Obj& obj, const Node& node, Arena* arena, Value* out) {
    Member* members = arena->AllocateArray<Member>(node.fields.size());
    size_t n = 0;
    for (const auto& [key, child] : node.fields) {
      ondemand::value v;
      auto err = obj.find_field_unordered(key).get(v);
      if (err == simdjson::NO_SUCH_FIELD) continue;
      if (err) return false;
      Value got;
      if (child.whole) {
        if (!Materialize(v, arena, &got)) return false;
      } else {
        ondemand::json_type t;
        if (v.type().get(t)) return false;
        if (t == ondemand::json_type::object) {
          ondemand::object sub;
          if (v.get_object().get(sub)) return false;
          if (!Extract(sub, child, arena, &got)) return false;
        } else {
          // Not an object: evaluation gives jq's null or error from it.
          if (!Materialize(v, arena, &got)) return false;
        }
      }
      new (&members[n++]) Member{std::string_view(key), got};
    }
    *out = Value::Object(members, n);
    return true;
  }
};

bool Projection::Extract(ondemand::parser* parser, std::string_view line, Arena* arena, Value* out) const {
  // On-Demand matches keys as written; an escaped key ("p\u0061th") would
  // look absent. Lines with escapes take the full parse instead.
  if (std::memchr(line.data(), '\\', line.size()) != nullptr) return false;
  ondemand::document doc;
  if (parser->iterate(line.data(), line.size(), line.size() + simdjson::SIMDJSON_PADDING).get(doc)) return false;
  ondemand::object obj;
  if (doc.get_object().get(obj)) return false;
  return ProjectionAccess::Extract(obj, root_, arena, out);
}

std::unique_ptr<FieldSlots> FieldSlots::Analyze(const std::vector<const Expression*>& exprs) {
  auto f = std::unique_ptr<FieldSlots>(new FieldSlots());
  for (const Expression* e : exprs) {
    auto* field = dynamic_cast<const FieldNode*>(e->root_node());
    if (field == nullptr || dynamic_cast<const IdentityNode*>(field->target()) == nullptr) return nullptr;
    const std::string& name = field->key();
    for (char c : name) {
      // Names whose JSON form differs from their bytes: not matched raw.
      if (c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20) return nullptr;
    }
    size_t slot = 0;
    while (slot < f->names_.size() && f->names_[slot] != name) ++slot;
    if (slot == f->names_.size()) f->names_.push_back(name);
    f->slot_of_.push_back(slot);
  }
  for (const std::string& name : f->names_) f->MarkFirstByte(name.empty() ? '"' : name[0]);
  f->MarkFirstByte('\\');
  if (f->names_.size() > 64) return nullptr;  // Extract tracks slots in a 64-bit mask
  return f;
}

namespace {

// The raw content of the string starting at `raw` (just past its opening
// quote), or false if it contains a backslash (an escape). Reads 16 bytes
// at a time: the string ends before the line, and SIMDJSON_PADDING (>= 16)
// readable bytes follow the line.
inline bool RawStringContent(const char* raw, std::string_view* out) {
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  for (const char* p = raw;; p += 16) {
    const __m128i chunk = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const unsigned q = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(chunk, quote)));
    const unsigned b = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(chunk, backslash)));
    if (q != 0) {
      const unsigned end = static_cast<unsigned>(__builtin_ctz(q));
      if ((b & ((1u << end) - 1)) != 0) return false;
      *out = std::string_view(raw, static_cast<size_t>(p - raw) + end);
      return true;
    }
    if (b != 0) return false;
  }
#else
  const char* p = raw;
  for (;;) {
    char c = *p;
    if (c == '"') break;
    if (c == '\\') return false;
    ++p;
  }
  *out = std::string_view(raw, static_cast<size_t>(p - raw));
  return true;
#endif
}

}  // namespace

bool FieldSlots::Extract(ondemand::parser* parser, std::string_view line, Value* values) const {
  ondemand::document doc;
  if (parser->iterate(line.data(), line.size(), line.size() + simdjson::SIMDJSON_PADDING).get(doc)) return false;
  ondemand::object obj;
  if (doc.get_object().get(obj)) return false;
  const size_t n = names_.size();
  if (n == 0) return true;
  uint64_t found = 0;  // bit s: slot s seen
  const uint64_t all = n == 64 ? ~uint64_t{0} : (uint64_t{1} << n) - 1;
  for (size_t s = 0; s < n; ++s) values[s] = Value::Null();
  for (auto member : obj) {
    if (member.error()) return false;
    // By reference: copying the field (a 32-byte struct just written with
    // scalar stores) stalls on store forwarding.
    ondemand::field& field = member.value_unsafe();
    const char* raw_key = field.key().raw();
    // A key whose first raw byte no wanted name starts with (and that
    // starts with no escape) can be none of them: skip it unread.
    if (!MayStartName(static_cast<unsigned char>(raw_key[0]))) continue;
    std::string_view key;
    if (!RawStringContent(raw_key, &key)) return false;
    size_t s = 0;
    while (s < n && (key.size() != names_[s].size() || !BytesEqual(key.data(), names_[s].data(), key.size()))) {
      ++s;
    }
    if (s == n) continue;
    const uint64_t bit = uint64_t{1} << s;
    if ((found & bit) != 0) continue;  // a duplicate: the first wins
    ondemand::value& v = field.value();
    ondemand::json_type t;
    if (v.type().get(t)) return false;
    if (t == ondemand::json_type::string) {
      ondemand::raw_json_string raw;
      std::string_view content;
      if (v.get_raw_json_string().get(raw) || !RawStringContent(raw.raw(), &content)) return false;
      values[s] = Value::String(content);
    } else if (!ScalarValue(v, t, &values[s])) {
      return false;  // arrays and objects: built by the general path
    }
    found |= bit;
    if (found == all) break;
  }
  return true;
}

std::string Projection::Describe() const {
  std::vector<std::string> out;
  std::vector<std::pair<std::string, const PathNode*>> stack = {{"", &root_}};
  while (!stack.empty()) {
    auto [prefix, node] = stack.back();
    stack.pop_back();
    for (const auto& [k, child] : node->fields) {
      std::string p = prefix.empty() ? k : prefix + "." + k;
      if (child.whole) {
        out.push_back(p);
      } else {
        stack.push_back({p, &child});
      }
    }
  }
  std::sort(out.begin(), out.end());
  std::string s;
  for (const auto& p : out) s += (s.empty() ? "" : ",") + p;
  return s;
}

}  // namespace govstream::expr
