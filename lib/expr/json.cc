#include "expr/json.h"

#include "expr/utf8.h"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace govstream::expr {
namespace {

// Exact, slow parser for the lines simdjson refuses but jq accepts.
class SlowParser {
 public:
  SlowParser(std::string_view text, Arena* arena) : p_(text.data()), end_(text.data() + text.size()), arena_(arena) {}

  bool ParseDocument(Value* out, std::string* error) {
    SkipWs();
    if (!ParseValue(out, 0)) {
      *error = error_.empty() ? "invalid JSON" : error_;
      return false;
    }
    SkipWs();
    if (p_ != end_) {
      *error = "invalid JSON: unexpected text after the value";
      return false;
    }
    return true;
  }

 private:
  void SkipWs() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r')) ++p_;
  }
  bool Fail(const char* why) {
    if (error_.empty()) error_ = std::string("invalid JSON: ") + why;
    return false;
  }
  bool Literal(const char* word, Value v, Value* out) {
    size_t n = std::strlen(word);
    if (static_cast<size_t>(end_ - p_) < n || std::memcmp(p_, word, n) != 0) return Fail("unexpected character");
    p_ += n;
    *out = v;
    return true;
  }

  bool ParseValue(Value* out, int depth) {
    if (depth > 1024) return Fail("nested too deeply");
    if (p_ >= end_) return Fail("unexpected end of line");
    switch (*p_) {
      case '{': return ParseObject(out, depth);
      case '[': return ParseArray(out, depth);
      case '"': {
        std::string_view s;
        if (!ParseString(&s)) return false;
        *out = Value::String(s);
        return true;
      }
      case 't': return Literal("true", Value::Bool(true), out);
      case 'f': return Literal("false", Value::Bool(false), out);
      case 'n': return Literal("null", Value::Null(), out);
      default: return ParseNumber(out);
    }
  }

  bool ParseNumber(Value* out) {
    const char* s = p_;
    if (p_ < end_ && *p_ == '-') ++p_;
    if (p_ >= end_ || *p_ < '0' || *p_ > '9') return Fail("unexpected character");
    if (*p_ == '0') {
      ++p_;
    } else {
      while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    }
    if (p_ < end_ && *p_ == '.') {
      ++p_;
      if (p_ >= end_ || *p_ < '0' || *p_ > '9') return Fail("bad number");
      while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    }
    if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
      ++p_;
      if (p_ < end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      if (p_ >= end_ || *p_ < '0' || *p_ > '9') return Fail("bad number");
      while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    }
    std::string tmp(s, p_);
    *out = Value::Number(std::strtod(tmp.c_str(), nullptr));
    return true;
  }

  static int Hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }
  bool Hex4(unsigned* cp) {
    if (end_ - p_ < 4) return Fail("bad \\u escape");
    unsigned v = 0;
    for (int i = 0; i < 4; ++i) {
      int h = Hex(p_[i]);
      if (h < 0) return Fail("bad \\u escape");
      v = v * 16 + static_cast<unsigned>(h);
    }
    p_ += 4;
    *cp = v;
    return true;
  }

  bool ParseString(std::string_view* out) {
    ++p_;  // opening quote
    std::string s;
    for (;;) {
      if (p_ >= end_) return Fail("unterminated string");
      unsigned char c = static_cast<unsigned char>(*p_);
      if (c == '"') {
        ++p_;
        break;
      }
      if (c < 0x20) return Fail("control character in string");
      if (c != '\\') {
        s += static_cast<char>(c);
        ++p_;
        continue;
      }
      ++p_;
      if (p_ >= end_) return Fail("unterminated string");
      char e = *p_++;
      switch (e) {
        case '"': s += '"'; break;
        case '\\': s += '\\'; break;
        case '/': s += '/'; break;
        case 'b': s += '\b'; break;
        case 'f': s += '\f'; break;
        case 'n': s += '\n'; break;
        case 'r': s += '\r'; break;
        case 't': s += '\t'; break;
        case 'u': {
          unsigned cp = 0;
          if (!Hex4(&cp)) return false;
          if (cp >= 0xD800 && cp < 0xDC00) {
            unsigned lo = 0;
            const char* save = p_;
            if (end_ - p_ >= 6 && p_[0] == '\\' && p_[1] == 'u') {
              p_ += 2;
              if (!Hex4(&lo)) return false;
            }
            if (lo >= 0xDC00 && lo < 0xE000) {
              cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else {
              p_ = save;
              cp = 0xFFFD;
            }
          } else if (cp >= 0xDC00 && cp < 0xE000) {
            cp = 0xFFFD;
          }
          AppendUtf8(cp, &s);
          break;
        }
        default:
          return Fail("bad escape in string");
      }
    }
    if (!simdjson::validate_utf8(s.data(), s.size())) return Fail("invalid UTF-8");
    *out = arena_->CopyString(s);
    return true;
  }

  bool ParseArray(Value* out, int depth) {
    ++p_;
    std::vector<Value> items;
    SkipWs();
    if (p_ < end_ && *p_ == ']') {
      ++p_;
    } else {
      for (;;) {
        SkipWs();
        Value v;
        if (!ParseValue(&v, depth + 1)) return false;
        items.push_back(v);
        SkipWs();
        if (p_ < end_ && *p_ == ',') {
          ++p_;
          continue;
        }
        if (p_ < end_ && *p_ == ']') {
          ++p_;
          break;
        }
        return Fail("expected ',' or ']'");
      }
    }
    Value* mem = arena_->AllocateArray<Value>(items.size());
    for (size_t i = 0; i < items.size(); ++i) new (&mem[i]) Value(items[i]);
    *out = Value::Array(mem, items.size());
    return true;
  }

  bool ParseObject(Value* out, int depth) {
    ++p_;
    std::vector<Member> members;
    SkipWs();
    if (p_ < end_ && *p_ == '}') {
      ++p_;
    } else {
      for (;;) {
        SkipWs();
        if (p_ >= end_ || *p_ != '"') return Fail("expected a string key");
        std::string_view key;
        if (!ParseString(&key)) return false;
        SkipWs();
        if (p_ >= end_ || *p_ != ':') return Fail("expected ':'");
        ++p_;
        SkipWs();
        Value v;
        if (!ParseValue(&v, depth + 1)) return false;
        bool seen = false;  // duplicate keys: the first wins, as on the DOM path
        for (Member& m : members) seen = seen || m.key == key;
        if (!seen) members.push_back({key, v});
        SkipWs();
        if (p_ < end_ && *p_ == ',') {
          ++p_;
          continue;
        }
        if (p_ < end_ && *p_ == '}') {
          ++p_;
          break;
        }
        return Fail("expected ',' or '}'");
      }
    }
    Member* mem = arena_->AllocateArray<Member>(members.size());
    for (size_t i = 0; i < members.size(); ++i) new (&mem[i]) Member(members[i]);
    *out = Value::Object(mem, members.size());
    return true;
  }

  const char* p_;
  const char* end_;
  Arena* arena_;
  std::string error_;
};

const char* Describe(simdjson::error_code e) {
  switch (e) {
    case simdjson::UTF8_ERROR: return "invalid UTF-8";
    case simdjson::TAPE_ERROR: return "invalid JSON: improper structure (missing or extra commas, brackets or quotes)";
    case simdjson::DEPTH_ERROR: return "invalid JSON: nested more than 1024 levels deep";
    case simdjson::STRING_ERROR: return "invalid JSON: bad string";
    case simdjson::UNCLOSED_STRING: return "invalid JSON: unclosed string";
    case simdjson::UNESCAPED_CHARS: return "invalid JSON: unescaped control character in string";
    case simdjson::T_ATOM_ERROR:
    case simdjson::F_ATOM_ERROR:
    case simdjson::N_ATOM_ERROR: return "invalid JSON: bad literal (true, false or null expected)";
    case simdjson::NUMBER_ERROR: return "invalid JSON: bad number";
    case simdjson::EMPTY: return "invalid JSON: empty";
    default: return "invalid JSON";
  }
}

}  // namespace

JsonParser::JsonParser() : parser_(1u << 30) {}

bool IsBlank(std::string_view line) {
  for (char c : line) {
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') return false;
  }
  return true;
}

namespace {

// simdjson reads the integer -0 as 0; jq keeps the sign. True when `line`
// holds a -0 number token (not "-0.5", "-01" or a "-0" inside a string such
// as a date, which follows a digit).
// True when a "-0" at `p` is a whole number token starting a value.
bool NegativeZeroAt(const char* begin, const char* end, const char* p) {
  const char* r = p + 2;
  bool number_ends = r >= end || !((*r >= '0' && *r <= '9') || *r == '.' || *r == 'e' || *r == 'E');
  const char* b = p;
  while (b > begin && (b[-1] == ' ' || b[-1] == '\t' || b[-1] == '\r' || b[-1] == '\n')) --b;
  return number_ends && (b == begin || b[-1] == ':' || b[-1] == ',' || b[-1] == '[');
}

bool HasNegativeZero(std::string_view line) {
  const char* begin = line.data();
  const char* end = begin + line.size();
  size_t n = line.size();
  size_t i = 0;
  // 32 bytes at a time (GCC vector extensions: SIMD under -march=native):
  // look for '-' followed by '0', then check each candidate exactly.
  using V = unsigned char __attribute__((vector_size(32)));
  for (; i + 33 <= n; i += 32) {
    V a, b;
    std::memcpy(&a, begin + i, 32);
    std::memcpy(&b, begin + i + 1, 32);
    V hit = (a == '-') & (b == '0');
    uint64_t w[4];
    std::memcpy(w, &hit, 32);
    if ((w[0] | w[1] | w[2] | w[3]) == 0) continue;
    for (size_t k = 0; k < 32; ++k) {
      if (begin[i + k] == '-' && begin[i + k + 1] == '0' && NegativeZeroAt(begin, end, begin + i + k)) return true;
    }
  }
  for (; i + 1 < n; ++i) {
    if (begin[i] == '-' && begin[i + 1] == '0' && NegativeZeroAt(begin, end, begin + i)) return true;
  }
  return false;
}

}  // namespace

bool JsonParser::Parse(std::string_view line, Arena* arena, Value* out, std::string* error) {
  simdjson::dom::element root;
  auto err = parser_.parse(line.data(), line.size(), false).get(root);
  if (!err) {
    if (HasNegativeZero(line)) {
      // Exact re-read; the line is known to be valid JSON.
      SlowParser slow(line, arena);
      std::string slow_error;
      if (slow.ParseDocument(out, &slow_error)) return true;
    }
    *out = Value::FromDom(root);
    return true;
  }
  // Numbers beyond int64/uint64/double range, and unpaired surrogates, are
  // valid for jq: read those lines exactly, slowly.
  if (err == simdjson::NUMBER_ERROR || err == simdjson::STRING_ERROR) {
    if (simdjson::validate_utf8(line.data(), line.size())) {
      SlowParser slow(line, arena);
      std::string slow_error;
      if (slow.ParseDocument(out, &slow_error)) return true;
    }
  }
  *error = Describe(err);
  if (line.substr(0, 3) == "\xEF\xBB\xBF") {
    *error += "; a UTF-8 byte-order mark is skipped only at the start of an input";
  }
  return false;
}

bool ParseJsonSlow(std::string_view text, Arena* arena, Value* out, std::string* error) {
  if (!simdjson::validate_utf8(text.data(), text.size())) {
    *error = "invalid UTF-8";
    return false;
  }
  SlowParser slow(text, arena);
  return slow.ParseDocument(out, error);
}

}  // namespace govstream::expr
