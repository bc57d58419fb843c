#include "stream/grouping.h"

#include <fmt/core.h>

#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "agg/canonical.h"
#include "agg/groups.h"
#include "expr/json.h"
#include "io/report.h"

namespace govstream::stream {

bool EvalGroupKey(const std::vector<agg::KeySpec>& keys, const expr::Value& record, expr::Arena* arena,
                  std::string* canonical, std::vector<std::string>* key_json, std::string* error) {
  canonical->clear();
  key_json->resize(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    expr::Value v;
    expr::Expression::Result r = keys[i].expr->Eval(record, arena, &v, error);
    if (r == expr::Expression::Result::kError) return false;
    if (r == expr::Expression::Result::kEmpty) v = expr::Value::Null();
    *canonical += i == 0 ? '[' : ',';
    size_t at = canonical->size();
    agg::AppendCanonical(v, canonical);
    (*key_json)[i].assign(*canonical, at, std::string::npos);
  }
  *canonical += keys.empty() ? "[]" : "]";
  return true;
}

bool EvalAggregateArgs(const std::vector<agg::AggSpec>& aggs, const expr::Value& record, expr::Arena* arena,
                       std::vector<AggArg>* args, std::string* error) {
  args->resize(aggs.size());
  for (size_t i = 0; i < aggs.size(); ++i) {
    const agg::AggSpec& a = aggs[i];
    AggArg& arg = (*args)[i];
    if (!a.arg) {
      arg.result = expr::Expression::Result::kValue;
      arg.value = expr::Value::Null();
      continue;
    }
    arg.result = a.arg->Eval(record, arena, &arg.value, error);
    if (arg.result == expr::Expression::Result::kError) {
      *error = a.output_name + ": " + *error + "; record skipped";
      return false;
    }
  }
  return true;
}

void FeedAggregates(const std::vector<agg::AggSpec>& aggs, const std::vector<AggArg>& args,
                    const std::vector<std::unique_ptr<agg::State>>& states, std::vector<AggSkips>* skips) {
  for (size_t i = 0; i < aggs.size(); ++i) {
    const AggArg& arg = args[i];
    if (!aggs[i].arg) {
      states[i]->Add(arg.value);
    } else if (arg.result != expr::Expression::Result::kValue || arg.value.is_null()) {
      ++(*skips)[i].missing;
    } else if (!states[i]->Add(arg.value)) {
      ++(*skips)[i].wrong_type;
    }
  }
}

namespace {

// True when JSON output must escape a byte of `s` (as expr::AppendJson
// does: control characters, DEL, quote and backslash).
bool NeedsEscape(std::string_view s) {
  const char* p = s.data();
  size_t n = s.size();
#if defined(__SSE2__)
  const __m128i ctl = _mm_set1_epi8(0x1f);
  const __m128i del = _mm_set1_epi8(0x7f);
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  for (; n >= 16; p += 16, n -= 16) {
    const __m128i c = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    __m128i bad = _mm_cmpeq_epi8(_mm_min_epu8(c, ctl), c);  // c <= 0x1f
    bad = _mm_or_si128(bad, _mm_cmpeq_epi8(c, del));
    bad = _mm_or_si128(bad, _mm_cmpeq_epi8(c, quote));
    bad = _mm_or_si128(bad, _mm_cmpeq_epi8(c, backslash));
    if (_mm_movemask_epi8(bad) != 0) return true;
  }
#endif
  for (; n > 0; ++p, --n) {
    const unsigned char c = static_cast<unsigned char>(*p);
    if (c < 0x20 || c == 0x7f || c == '"' || c == '\\') return true;
  }
  return false;
}

}  // namespace

std::unique_ptr<expr::FieldSlots> AnalyzeSlots(const expr::Expression* time, const std::vector<agg::KeySpec>& keys,
                                               const std::vector<agg::AggSpec>& aggs, SlotMap* map) {
  std::vector<const expr::Expression*> used;
  if (time != nullptr) used.push_back(time);
  for (const agg::KeySpec& k : keys) used.push_back(k.expr.get());
  for (const agg::AggSpec& a : aggs) {
    if (a.arg) used.push_back(a.arg.get());
  }
  std::unique_ptr<expr::FieldSlots> slots = expr::FieldSlots::Analyze(used);
  if (!slots) return nullptr;
  size_t i = 0;
  *map = SlotMap();
  if (time != nullptr) map->time_slot = slots->slot_of(i++);
  for (size_t k = 0; k < keys.size(); ++k) map->key_slot.push_back(slots->slot_of(i++));
  for (const agg::AggSpec& a : aggs) map->agg_slot.push_back(a.arg ? slots->slot_of(i++) : SIZE_MAX);
  return slots;
}

void GroupKeyFromSlots(const SlotMap& map, const expr::Value* values, std::string* canonical,
                       std::vector<std::string>* key_json) {
  canonical->clear();
  const size_t n = map.key_slot.size();
  key_json->resize(n);
  if (n == 0) {
    canonical->append("[]");
    return;
  }
  for (size_t i = 0; i < n; ++i) {
    *canonical += i == 0 ? '[' : ',';
    size_t at = canonical->size();
    const expr::Value& v = values[map.key_slot[i]];
    if (v.is_string() && !NeedsEscape(v.string())) {
      // The common case: the string as it is, in quotes (what AppendJson
      // writes when nothing needs escaping).
      const std::string_view str = v.string();
      canonical->resize(at + str.size() + 2);
      char* p = canonical->data() + at;
      p[0] = '"';
      std::memcpy(p + 1, str.data(), str.size());
      p[str.size() + 1] = '"';
    } else {
      agg::AppendCanonical(v, canonical);
    }
    (*key_json)[i].assign(*canonical, at, std::string::npos);
  }
  *canonical += ']';
}

void FeedAggregatesFromSlots(const std::vector<agg::AggSpec>& aggs, const SlotMap& map, const expr::Value* values,
                             const std::vector<std::unique_ptr<agg::State>>& states, std::vector<AggSkips>* skips) {
  for (size_t i = 0; i < aggs.size(); ++i) {
    const size_t s = map.agg_slot[i];
    if (s == SIZE_MAX) {
      states[i]->Add(expr::Value::Null());
      continue;
    }
    const expr::Value& v = values[s];
    if (v.is_null()) {
      ++(*skips)[i].missing;
    } else if (!states[i]->Add(v)) {
      ++(*skips)[i].wrong_type;
    }
  }
}

void AppendFieldName(std::string_view name, std::string* out) {
  *out += '"';
  *out += io::JsonEscape(name);
  *out += "\":";
}

void AppendGroupFields(const std::vector<agg::KeySpec>& keys, const std::vector<std::string>& key_json,
                       const std::vector<agg::AggSpec>& aggs, const std::vector<std::unique_ptr<agg::State>>& states,
                       std::string* out, size_t capture_index, std::string* captured) {
  for (size_t i = 0; i < keys.size(); ++i) {
    if (i > 0) *out += ',';
    AppendFieldName(keys[i].output_name, out);
    *out += key_json[i];
    if (captured != nullptr && i == capture_index) *captured = key_json[i];
  }
  for (size_t i = 0; i < aggs.size(); ++i) {
    if (i > 0 || !keys.empty()) *out += ',';
    AppendFieldName(aggs[i].output_name, out);
    size_t at = out->size();
    states[i]->AppendResult(out);
    if (captured != nullptr && keys.size() + i == capture_index) *captured = out->substr(at);
  }
}

namespace {
void PutU32(uint32_t n, std::string* out) { out->append(reinterpret_cast<const char*>(&n), sizeof n); }
void PutBytes(std::string_view s, std::string* out) {
  PutU32(static_cast<uint32_t>(s.size()), out);
  out->append(s);
}
uint32_t GetU32(std::string_view b, size_t* pos) {
  uint32_t n;
  std::memcpy(&n, b.data() + *pos, sizeof n);
  *pos += sizeof n;
  return n;
}
std::string_view GetBytes(std::string_view b, size_t* pos) {
  uint32_t n = GetU32(b, pos);
  std::string_view s = b.substr(*pos, n);
  *pos += n;
  return s;
}
}  // namespace

void EncodeKeyArgs(std::string_view canonical, const std::vector<std::string>& key_json,
                   const std::vector<AggArg>& args, std::string* out) {
  PutBytes(canonical, out);
  for (const std::string& k : key_json) PutBytes(k, out);
  std::string json;
  for (const AggArg& a : args) {
    if (a.result != expr::Expression::Result::kValue) {
      *out += '\0';
    } else if (a.value.is_null()) {
      *out += '\1';
    } else if (a.value.kind() == expr::Kind::kFalse || a.value.kind() == expr::Kind::kTrue) {
      *out += a.value.kind() == expr::Kind::kTrue ? '\3' : '\2';
    } else if (a.value.is_number()) {
      *out += '\4';
      double d = a.value.number();
      out->append(reinterpret_cast<const char*>(&d), sizeof d);
    } else if (a.value.is_string()) {
      *out += '\5';
      PutBytes(a.value.string(), out);
    } else {
      *out += '\6';
      json.clear();
      expr::AppendJson(a.value, &json);
      PutBytes(json, out);
    }
  }
}

void DecodeKeyArgs(std::string_view b, size_t* pos, size_t aggs, std::string_view* canonical,
                   std::vector<std::string>* key_json, std::vector<AggArg>* args, expr::Arena* arena) {
  *canonical = GetBytes(b, pos);
  for (std::string& k : *key_json) k.assign(GetBytes(b, pos));
  args->resize(aggs);
  for (AggArg& a : *args) {
    a.result = expr::Expression::Result::kValue;
    const uint8_t tag = static_cast<uint8_t>(b[(*pos)++]);
    switch (tag) {
      case 0:
        a.result = expr::Expression::Result::kEmpty;
        a.value = expr::Value::Null();
        break;
      case 1:
        a.value = expr::Value::Null();
        break;
      case 2:
      case 3:
        a.value = expr::Value::Bool(tag == 3);
        break;
      case 4: {
        double d;
        std::memcpy(&d, b.data() + *pos, sizeof d);
        *pos += sizeof d;
        a.value = expr::Value::Number(d);
        break;
      }
      case 5:
        a.value = expr::Value::String(GetBytes(b, pos));
        break;
      default: {
        std::string why;
        if (!expr::ParseJsonSlow(GetBytes(b, pos), arena, &a.value, &why)) a.value = expr::Value::Null();
      }
    }
  }
}

std::string OverflowMessage(uint64_t max_groups) {
  return fmt::format("more than {} groups (--max-groups): further new groups are counted under the key \"{}\"",
                     max_groups, agg::kOverflowKey);
}

std::string SkipsJson(const std::vector<agg::AggSpec>& aggs, const std::vector<AggSkips>& skips) {
  std::string extra = ",\"skipped\":{";
  for (size_t i = 0; i < aggs.size(); ++i) {
    extra += fmt::format("{}\"{}\":{{\"missing\":{},\"wrong_type\":{}}}", i ? "," : "",
                         io::JsonEscape(aggs[i].output_name), skips[i].missing, skips[i].wrong_type);
  }
  extra += "}";
  return extra;
}

}  // namespace govstream::stream
