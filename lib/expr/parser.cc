// Lexer and recursive-descent parser for the jq subset, following jq 1.6's
// grammar and precedence (lowest first): '|' (right), ',' (arrays only),
// '//' (right), 'or', 'and', comparisons (non-associative), '+' '-',
// '*' '/' '%', unary '-', postfix ('.x', '[e]', '?').
#include <fmt/core.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "expr/builtins.h"
#include "expr/expr.h"
#include "expr/nodes.h"
#include "expr/regex.h"
#include "expr/utf8.h"

namespace govstream::expr {
namespace {

enum class Tok {
  kEnd, kDot, kField, kDotDot, kIdent, kNumber, kString, kFormat, kVar,
  kLParen, kRParen, kLBracket, kRBracket, kLBrace, kRBrace,
  kPipe, kComma, kColon, kSemicolon, kQuestion,
  kEq, kNe, kLt, kLe, kGt, kGe, kPlus, kMinus, kStar, kSlash, kPercent,
  kAlt, kAssign, kOptAlt,
};

struct Token {
  Tok kind;
  size_t pos;         // byte offset in the expression
  std::string text;   // identifier, field name, decoded string, number text
  double number = 0;
  bool interpolated = false;
};

class ParseError {
 public:
  ParseError(size_t pos, std::string message) : pos(pos), message(std::move(message)) {}
  size_t pos;
  std::string message;
};

bool IsIdentStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsIdentChar(char c) { return IsIdentStart(c) || (c >= '0' && c <= '9'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }


class Lexer {
 public:
  explicit Lexer(std::string_view src) : src_(src) {}

  std::vector<Token> Run() {
    std::vector<Token> out;
    for (;;) {
      Token t = Next();
      out.push_back(t);
      if (t.kind == Tok::kEnd) break;
    }
    return out;
  }

 private:
  char At(size_t i) const { return i < src_.size() ? src_[i] : '\0'; }

  Token Make(Tok k, size_t pos, size_t len) {
    Token t{k, pos, std::string(src_.substr(pos, len))};
    i_ = pos + len;
    return t;
  }

  Token Next() {
    // Whitespace and comments.
    for (;;) {
      while (i_ < src_.size() && (src_[i_] == ' ' || src_[i_] == '\t' || src_[i_] == '\n' || src_[i_] == '\r')) ++i_;
      if (At(i_) == '#') {
        while (i_ < src_.size() && src_[i_] != '\n') ++i_;
        continue;
      }
      break;
    }
    size_t p = i_;
    if (p >= src_.size()) return Token{Tok::kEnd, p, ""};
    char c = src_[p];
    if (c == '.') {
      if (At(p + 1) == '.') return Make(Tok::kDotDot, p, 2);
      if (IsIdentStart(At(p + 1))) {
        size_t e = p + 1;
        while (IsIdentChar(At(e))) ++e;
        Token t = Make(Tok::kField, p, e - p);
        t.text = std::string(src_.substr(p + 1, e - p - 1));
        return t;
      }
      if (IsDigit(At(p + 1))) return Number(p);
      return Make(Tok::kDot, p, 1);
    }
    if (IsDigit(c)) return Number(p);
    if (IsIdentStart(c)) {
      size_t e = p;
      while (IsIdentChar(At(e)) || (At(e) == ':' && At(e + 1) == ':' && IsIdentStart(At(e + 2)))) {
        e += At(e) == ':' ? 2 : 1;
      }
      return Make(Tok::kIdent, p, e - p);
    }
    if (c == '$' || c == '@') {
      size_t e = p + 1;
      while (IsIdentChar(At(e))) ++e;
      return Make(c == '$' ? Tok::kVar : Tok::kFormat, p, e - p);
    }
    if (c == '"') return String(p);
    switch (c) {
      case '(': return Make(Tok::kLParen, p, 1);
      case ')': return Make(Tok::kRParen, p, 1);
      case '[': return Make(Tok::kLBracket, p, 1);
      case ']': return Make(Tok::kRBracket, p, 1);
      case '{': return Make(Tok::kLBrace, p, 1);
      case '}': return Make(Tok::kRBrace, p, 1);
      case ',': return Make(Tok::kComma, p, 1);
      case ':': return Make(Tok::kColon, p, 1);
      case ';': return Make(Tok::kSemicolon, p, 1);
      case '|': return Make(At(p + 1) == '=' ? Tok::kAssign : Tok::kPipe, p, At(p + 1) == '=' ? 2 : 1);
      case '?':
        if (At(p + 1) == '/' && At(p + 2) == '/') return Make(Tok::kOptAlt, p, 3);
        return Make(Tok::kQuestion, p, 1);
      case '=': return At(p + 1) == '=' ? Make(Tok::kEq, p, 2) : Make(Tok::kAssign, p, 1);
      case '!':
        if (At(p + 1) == '=') return Make(Tok::kNe, p, 2);
        break;
      case '<': return At(p + 1) == '=' ? Make(Tok::kLe, p, 2) : Make(Tok::kLt, p, 1);
      case '>': return At(p + 1) == '=' ? Make(Tok::kGe, p, 2) : Make(Tok::kGt, p, 1);
      case '+': return At(p + 1) == '=' ? Make(Tok::kAssign, p, 2) : Make(Tok::kPlus, p, 1);
      case '-': return At(p + 1) == '=' ? Make(Tok::kAssign, p, 2) : Make(Tok::kMinus, p, 1);
      case '*': return At(p + 1) == '=' ? Make(Tok::kAssign, p, 2) : Make(Tok::kStar, p, 1);
      case '%': return At(p + 1) == '=' ? Make(Tok::kAssign, p, 2) : Make(Tok::kPercent, p, 1);
      case '/':
        if (At(p + 1) == '/') return At(p + 2) == '=' ? Make(Tok::kAssign, p, 3) : Make(Tok::kAlt, p, 2);
        return At(p + 1) == '=' ? Make(Tok::kAssign, p, 2) : Make(Tok::kSlash, p, 1);
      default:
        break;
    }
    throw ParseError(p, fmt::format("syntax error: unexpected character '{}'", c));
  }

  Token Number(size_t p) {
    size_t e = p;
    while (IsDigit(At(e))) ++e;
    if (At(e) == '.') {
      ++e;
      while (IsDigit(At(e))) ++e;
    }
    if (At(e) == 'e' || At(e) == 'E') {
      size_t f = e + 1;
      if (At(f) == '+' || At(f) == '-') ++f;
      if (IsDigit(At(f))) {
        while (IsDigit(At(f))) ++f;
        e = f;
      }
    }
    Token t = Make(Tok::kNumber, p, e - p);
    t.number = std::strtod(t.text.c_str(), nullptr);
    return t;
  }

  static int Hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }

  unsigned Hex4(size_t at) {
    unsigned v = 0;
    for (size_t k = 0; k < 4; ++k) {
      int h = Hex(At(at + k));
      if (h < 0) throw ParseError(at, "syntax error: bad \\u escape in string");
      v = v * 16 + static_cast<unsigned>(h);
    }
    return v;
  }

  Token String(size_t p) {
    std::string value;
    bool interpolated = false;
    size_t i = p + 1;
    for (;;) {
      if (i >= src_.size()) throw ParseError(p, "syntax error: unterminated string");
      char c = src_[i];
      if (c == '"') {
        ++i;
        break;
      }
      if (c != '\\') {
        value += c;
        ++i;
        continue;
      }
      char e = At(i + 1);
      switch (e) {
        case '"': value += '"'; break;
        case '\\': value += '\\'; break;
        case '/': value += '/'; break;
        case 'b': value += '\b'; break;
        case 'f': value += '\f'; break;
        case 'n': value += '\n'; break;
        case 'r': value += '\r'; break;
        case 't': value += '\t'; break;
        case '(':
          interpolated = true;
          {
            // Skip to the matching ')' so lexing can continue for the message.
            int depth = 0;
            size_t k = i + 1;
            for (; k < src_.size(); ++k) {
              if (src_[k] == '(') ++depth;
              if (src_[k] == ')' && --depth == 0) break;
            }
            i = k - 1;
          }
          break;
        case 'u': {
          unsigned cp = Hex4(i + 2);
          i += 4;
          if (cp >= 0xD800 && cp < 0xDC00 && At(i + 2) == '\\' && At(i + 3) == 'u') {
            unsigned lo = Hex4(i + 4);
            if (lo >= 0xDC00 && lo < 0xE000) {
              cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
              i += 6;
            } else {
              throw ParseError(i, "syntax error: unpaired surrogate \\u escape in string");
            }
          } else if (cp >= 0xD800 && cp < 0xE000) {
            throw ParseError(i, "syntax error: unpaired surrogate \\u escape in string");
          }
          AppendUtf8(cp, &value);
          break;
        }
        default:
          throw ParseError(i, "syntax error: invalid escape in string");
      }
      i += 2;
    }
    Token t{Tok::kString, p, value};
    t.interpolated = interpolated;
    i_ = i;
    return t;
  }

  std::string_view src_;
  size_t i_ = 0;
};

const char* Describe(const Token& t) {
  switch (t.kind) {
    case Tok::kEnd: return "end of expression";
    case Tok::kRParen: return "')'";
    case Tok::kRBracket: return "']'";
    case Tok::kRBrace: return "'}'";
    case Tok::kComma: return "','";
    case Tok::kColon: return "':'";
    case Tok::kSemicolon: return "';'";
    case Tok::kPipe: return "'|'";
    default: return nullptr;
  }
}

class Parser {
 public:
  explicit Parser(std::vector<Token> toks) : t_(std::move(toks)) {}

  NodePtr ParseAll() {
    NodePtr n = Pipe();
    if (Peek().kind == Tok::kComma) {
      throw ParseError(Peek().pos, "the comma operator (several outputs) is not in govstream's jq subset; "
                                   "use [a, b] or separate expressions");
    }
    if (Peek().kind != Tok::kEnd) Unexpected();
    return n;
  }

 private:
  const Token& Peek(size_t k = 0) const { return t_[std::min(i_ + k, t_.size() - 1)]; }
  const Token& Take() { return t_[i_ < t_.size() - 1 ? i_++ : i_]; }
  bool Accept(Tok k) {
    if (Peek().kind != k) return false;
    Take();
    return true;
  }
  int Col(const Token& t) const { return static_cast<int>(t.pos) + 1; }

  [[noreturn]] void Unexpected() {
    const Token& t = Peek();
    const char* d = Describe(t);
    throw ParseError(t.pos, d ? fmt::format("syntax error: unexpected {}", d)
                              : fmt::format("syntax error: unexpected '{}'", t.text));
  }
  void Expect(Tok k, const char* what) {
    if (!Accept(k)) {
      const Token& t = Peek();
      const char* d = Describe(t);
      throw ParseError(t.pos, fmt::format("syntax error: expected {} but found {}", what,
                                          d ? std::string(d) : "'" + t.text + "'"));
    }
  }
  [[noreturn]] void Refuse(const Token& at, std::string_view what) {
    throw ParseError(at.pos, fmt::format("{} is not in govstream's jq subset", what));
  }

  void RefuseAssignment() {
    if (Peek().kind == Tok::kAssign) Refuse(Peek(), fmt::format("assignment ('{}')", Peek().text));
    if (Peek().kind == Tok::kOptAlt) Refuse(Peek(), "the '?//' operator");
  }

  NodePtr Pipe() {
    NodePtr l = Alt();
    if (Peek().kind == Tok::kPipe) {
      const Token& op = Take();
      NodePtr r = Pipe();
      return std::make_unique<PipeNode>(Col(op), std::move(l), std::move(r));
    }
    return l;
  }

  NodePtr Alt() {
    NodePtr l = Or();
    RefuseAssignment();
    if (Peek().kind == Tok::kAlt) {
      const Token& op = Take();
      NodePtr r = Alt();
      return std::make_unique<AltNode>(Col(op), std::move(l), std::move(r));
    }
    return l;
  }

  NodePtr Or() {
    NodePtr l = And();
    while (Peek().kind == Tok::kIdent && Peek().text == "or") {
      const Token& op = Take();
      l = std::make_unique<LogicNode>(Col(op), false, std::move(l), And());
    }
    return l;
  }

  NodePtr And() {
    NodePtr l = Cmp();
    while (Peek().kind == Tok::kIdent && Peek().text == "and") {
      const Token& op = Take();
      l = std::make_unique<LogicNode>(Col(op), true, std::move(l), Cmp());
    }
    return l;
  }

  static bool CmpOpOf(Tok k, CmpOp* op) {
    switch (k) {
      case Tok::kEq: *op = CmpOp::kEq; return true;
      case Tok::kNe: *op = CmpOp::kNe; return true;
      case Tok::kLt: *op = CmpOp::kLt; return true;
      case Tok::kLe: *op = CmpOp::kLe; return true;
      case Tok::kGt: *op = CmpOp::kGt; return true;
      case Tok::kGe: *op = CmpOp::kGe; return true;
      default: return false;
    }
  }

  NodePtr Cmp() {
    NodePtr l = Additive();
    CmpOp op;
    if (CmpOpOf(Peek().kind, &op)) {
      const Token& t = Take();
      NodePtr r = Additive();
      CmpOp again;
      if (CmpOpOf(Peek().kind, &again)) {
        throw ParseError(Peek().pos, "syntax error: comparisons do not chain (jq refuses a < b < c too); use 'and'");
      }
      return std::make_unique<CompareNode>(Col(t), op, std::move(l), std::move(r));
    }
    return l;
  }

  NodePtr Additive() {
    NodePtr l = Multiplicative();
    while (Peek().kind == Tok::kPlus || Peek().kind == Tok::kMinus) {
      const Token& t = Take();
      ArithOp op = t.kind == Tok::kPlus ? ArithOp::kAdd : ArithOp::kSub;
      l = std::make_unique<ArithNode>(Col(t), op, std::move(l), Multiplicative());
    }
    return l;
  }

  NodePtr Multiplicative() {
    NodePtr l = Unary();
    while (Peek().kind == Tok::kStar || Peek().kind == Tok::kSlash || Peek().kind == Tok::kPercent) {
      const Token& t = Take();
      ArithOp op = t.kind == Tok::kStar ? ArithOp::kMul : (t.kind == Tok::kSlash ? ArithOp::kDiv : ArithOp::kMod);
      l = std::make_unique<ArithNode>(Col(t), op, std::move(l), Unary());
    }
    return l;
  }

  NodePtr Unary() {
    if (Peek().kind == Tok::kMinus) {
      const Token& t = Take();
      return std::make_unique<NegateNode>(Col(t), Multiplicative());
    }
    return Postfix(Primary());
  }

  // jq's postfix terms. `?` right after an index step (.a?, .[e]?, ."s"?)
  // makes only that step optional; after anything else it is try.
  NodePtr Postfix(NodePtr n) {
    bool last_index = primary_is_index_;
    primary_is_index_ = false;
    for (;;) {
      const Token& t = Peek();
      if (t.kind == Tok::kField) {
        Take();
        n = std::make_unique<FieldNode>(Col(t), std::move(n), t.text);
        last_index = true;
      } else if (t.kind == Tok::kDot && Peek(1).kind == Tok::kString) {
        Take();
        const Token& s = Take();
        if (s.interpolated) Refuse(s, "string interpolation \"\\(...)\"");
        n = std::make_unique<FieldNode>(Col(t), std::move(n), s.text);
        last_index = true;
      } else if (t.kind == Tok::kDot) {
        Take();
        Unexpected();
      } else if (t.kind == Tok::kLBracket) {
        Take();
        n = Bracket(t, std::move(n));
        last_index = true;
      } else if (t.kind == Tok::kQuestion) {
        Take();
        auto* f = dynamic_cast<FieldNode*>(n.get());
        auto* ix = dynamic_cast<IndexNode*>(n.get());
        if (last_index && f != nullptr && !f->optional()) {
          f->set_optional();
        } else if (last_index && ix != nullptr && !ix->optional()) {
          ix->set_optional();
        } else {
          n = std::make_unique<TryNode>(Col(t), std::move(n));
        }
        last_index = false;
      } else {
        return n;
      }
    }
  }

  NodePtr Bracket(const Token& open, NodePtr target) {
    if (Peek().kind == Tok::kRBracket) Refuse(open, "iteration '.[]'");
    if (Peek().kind == Tok::kColon) Refuse(open, "slicing '.[a:b]'");
    NodePtr index = Pipe();
    if (Peek().kind == Tok::kColon) Refuse(open, "slicing '.[a:b]'");
    if (Peek().kind == Tok::kComma) Refuse(Peek(), "several indices '.[a,b]'");
    Expect(Tok::kRBracket, "']'");
    if (auto* lit = dynamic_cast<LiteralNode*>(index.get()); lit && lit->value().is_string()) {
      return std::make_unique<FieldNode>(Col(open), std::move(target), std::string(lit->value().string()));
    }
    return std::make_unique<IndexNode>(Col(open), std::move(target), std::move(index));
  }

  NodePtr StringLiteral(const Token& t) {
    if (t.interpolated) Refuse(t, "string interpolation \"\\(...)\"");
    return std::make_unique<LiteralNode>(Col(t), Value::String(""), t.text);
  }

  NodePtr Primary() {
    primary_is_index_ = false;
    const Token& t = Peek();
    switch (t.kind) {
      case Tok::kNumber:
        Take();
        return std::make_unique<LiteralNode>(Col(t), Value::Number(t.number));
      case Tok::kString:
        Take();
        return StringLiteral(t);
      case Tok::kFormat:
        Refuse(t, fmt::format("the format string '{}'", t.text));
      case Tok::kVar:
        Refuse(t, fmt::format("the variable '{}'", t.text));
      case Tok::kDotDot:
        Refuse(t, "recursive descent '..'");
      case Tok::kDot:
        Take();
        if (Peek().kind == Tok::kString) {
          const Token& s = Take();
          if (s.interpolated) Refuse(s, "string interpolation \"\\(...)\"");
          primary_is_index_ = true;
          return std::make_unique<FieldNode>(Col(t), std::make_unique<IdentityNode>(Col(t)), s.text);
        }
        return std::make_unique<IdentityNode>(Col(t));
      case Tok::kField:
        Take();
        primary_is_index_ = true;
        return std::make_unique<FieldNode>(Col(t), std::make_unique<IdentityNode>(Col(t)), t.text);
      case Tok::kLParen: {
        Take();
        NodePtr inner = Pipe();
        if (Peek().kind == Tok::kComma) Refuse(Peek(), "the comma operator (several outputs)");
        Expect(Tok::kRParen, "')'");
        return inner;
      }
      case Tok::kLBracket:
        Take();
        return ArrayLiteral(t);
      case Tok::kLBrace:
        Take();
        return ObjectLiteral(t);
      case Tok::kIdent:
        return Identifier();
      default:
        Unexpected();
    }
  }

  // [ CommaList ('|' CommaList)* ]: comma binds tighter than pipe here.
  NodePtr ArrayLiteral(const Token& open) {
    std::vector<ArrayNode::Stage> stages;
    if (Accept(Tok::kRBracket)) return std::make_unique<ArrayNode>(Col(open), std::move(stages));
    stages.emplace_back();
    for (;;) {
      stages.back().push_back(Alt());
      if (Accept(Tok::kComma)) continue;
      if (Accept(Tok::kPipe)) {
        stages.emplace_back();
        continue;
      }
      break;
    }
    Expect(Tok::kRBracket, "']'");
    return std::make_unique<ArrayNode>(Col(open), std::move(stages));
  }

  // jq's object values (ExpD): a term, '-' ExpD, or ExpD '|' ExpD.
  NodePtr ObjectValue() {
    NodePtr v;
    if (Peek().kind == Tok::kMinus) {
      const Token& t = Take();
      v = std::make_unique<NegateNode>(Col(t), ObjectValueTerm());
    } else {
      v = Postfix(Primary());
    }
    if (Peek().kind == Tok::kPipe) {
      const Token& op = Take();
      return std::make_unique<PipeNode>(Col(op), std::move(v), ObjectValue());
    }
    return v;
  }
  NodePtr ObjectValueTerm() {
    if (Peek().kind == Tok::kMinus) {
      const Token& t = Take();
      return std::make_unique<NegateNode>(Col(t), ObjectValueTerm());
    }
    return Postfix(Primary());
  }

  NodePtr ObjectLiteral(const Token& open) {
    std::vector<ObjectNode::Entry> entries;
    if (Accept(Tok::kRBrace)) return std::make_unique<ObjectNode>(Col(open), std::move(entries));
    for (;;) {
      const Token& k = Peek();
      NodePtr key;
      NodePtr value;
      if (k.kind == Tok::kIdent) {
        Take();
        key = std::make_unique<LiteralNode>(Col(k), Value::String(""), k.text);
        if (Accept(Tok::kColon)) {
          value = ObjectValue();
        } else {
          value = std::make_unique<FieldNode>(Col(k), std::make_unique<IdentityNode>(Col(k)), k.text);
        }
      } else if (k.kind == Tok::kString) {
        Take();
        key = StringLiteral(k);
        if (Accept(Tok::kColon)) {
          value = ObjectValue();
        } else {
          value = std::make_unique<FieldNode>(Col(k), std::make_unique<IdentityNode>(Col(k)), k.text);
        }
      } else if (k.kind == Tok::kLParen) {
        Take();
        key = Pipe();
        Expect(Tok::kRParen, "')'");
        Expect(Tok::kColon, "':'");
        value = ObjectValue();
      } else if (k.kind == Tok::kVar) {
        Refuse(k, fmt::format("the variable '{}'", k.text));
      } else if (k.kind == Tok::kFormat) {
        Refuse(k, fmt::format("the format string '{}'", k.text));
      } else {
        Unexpected();
      }
      entries.push_back({std::move(key), std::move(value)});
      if (Accept(Tok::kComma)) {
        if (Accept(Tok::kRBrace)) break;  // jq 1.6 allows {a: 1,}
        continue;
      }
      Expect(Tok::kRBrace, "'}' or ','");
      break;
    }
    return std::make_unique<ObjectNode>(Col(open), std::move(entries));
  }

  NodePtr Identifier() {
    const Token& t = Take();
    const std::string& name = t.text;
    if (name == "true") return std::make_unique<LiteralNode>(Col(t), Value::Bool(true));
    if (name == "false") return std::make_unique<LiteralNode>(Col(t), Value::Bool(false));
    if (name == "null") return std::make_unique<LiteralNode>(Col(t), Value::Null());
    static const char* const kKeywords[][2] = {
        {"if", "if-then-else"},          {"then", "if-then-else"},   {"elif", "if-then-else"},
        {"else", "if-then-else"},        {"end", "if-then-else"},    {"reduce", "reduce"},
        {"foreach", "foreach"},          {"def", "function definitions (def)"},
        {"try", "try/catch"},            {"catch", "try/catch"},     {"label", "label/break"},
        {"import", "modules (import)"},  {"include", "modules (include)"},
        {"as", "variable binding (as)"}, {"__loc__", "$__loc__"},    {"and", "'and' without a left operand"},
        {"or", "'or' without a left operand"}, {"module", "modules"},
    };
    for (auto& kw : kKeywords) {
      if (name == kw[0]) {
        if (name == "and" || name == "or") Unexpected();
        Refuse(t, kw[1]);
      }
    }
    std::vector<NodePtr> args;
    if (Accept(Tok::kLParen)) {
      for (;;) {
        args.push_back(Pipe());
        if (Peek().kind == Tok::kComma) Refuse(Peek(), "the comma operator (several outputs) in a function argument");
        if (Accept(Tok::kSemicolon)) continue;
        Expect(Tok::kRParen, "')' or ';'");
        break;
      }
    }
    int arity = static_cast<int>(args.size());
    const Builtin* fn = FindBuiltin(name, arity);
    if (fn == nullptr) {
      if (IsBuiltinName(name)) {
        std::string arities;
        for (const Builtin& b : AllBuiltins()) {
          if (b.name == name) arities += (arities.empty() ? "" : " or ") + std::to_string(b.arity);
        }
        throw ParseError(t.pos, fmt::format("{}/{}: {} takes {} argument(s) in govstream's jq subset", name,
                                            arity, name, arities));
      }
      Refuse(t, fmt::format("the function '{}/{}'", name, arity));
    }
    auto call = std::make_unique<CallNode>(Col(t), fn, std::move(args));
    if (fn->prepare != nullptr) {
      Status s = fn->prepare(call.get());
      if (!s.ok()) throw ParseError(t.pos, s.message());
    }
    return call;
  }

  std::vector<Token> t_;
  size_t i_ = 0;
  bool primary_is_index_ = false;  // Primary() just read `.a` or `."a"`
};

// ------------------------------------------------------ literal prefilter

bool IsInputPath(const Node* n) {
  if (dynamic_cast<const IdentityNode*>(n)) return true;
  if (auto* f = dynamic_cast<const FieldNode*>(n)) return IsInputPath(f->target());
  if (auto* ix = dynamic_cast<const IndexNode*>(n)) {
    return dynamic_cast<const LiteralNode*>(ix->index()) != nullptr && IsInputPath(ix->target());
  }
  return false;
}

// A literal is usable only if JSON writes it unescaped.
bool RawSafe(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == '"' || c == '\\' || c == 0x7f) return false;
  }
  return true;
}

bool StringLiteralOf(const Node* n, std::string* out) {
  auto* lit = dynamic_cast<const LiteralNode*>(n);
  if (lit == nullptr || !lit->value().is_string()) return false;
  *out = std::string(lit->value().string());
  return true;
}

std::string Longer(std::string a, std::string b) { return a.size() >= b.size() ? a : b; }

// The literal a string predicate call requires of its (input) string.
std::string CallLiteral(const CallNode* call) {
  std::string_view name = call->builtin()->name;
  std::string arg;
  if (call->args().empty() || !StringLiteralOf(call->args()[0].get(), &arg)) return "";
  if (name == "test") {
    std::string flags;
    if (call->args().size() == 2 && !StringLiteralOf(call->args()[1].get(), &flags)) return "";
    std::string lit = RegexRequiredLiteral(arg, flags);
    return RawSafe(lit) ? lit : "";
  }
  if (name == "startswith" || name == "endswith" || name == "contains") return RawSafe(arg) ? arg : "";
  return "";
}

std::string RequiredLiteral(const Node* n) {
  if (auto* logic = dynamic_cast<const LogicNode*>(n)) {
    if (logic->is_and()) return Longer(RequiredLiteral(logic->left()), RequiredLiteral(logic->right()));
    std::string a = RequiredLiteral(logic->left()), b = RequiredLiteral(logic->right());
    return a == b ? a : "";
  }
  if (auto* call = dynamic_cast<const CallNode*>(n)) {
    if (call->builtin()->name == "select") return RequiredLiteral(call->args()[0].get());
    return CallLiteral(call);  // input is `.`
  }
  if (auto* pipe = dynamic_cast<const PipeNode*>(n)) {
    std::string from_left;
    if (auto* lc = dynamic_cast<const CallNode*>(pipe->left()); lc && lc->builtin()->name == "select") {
      from_left = RequiredLiteral(lc->args()[0].get());
    }
    if (IsInputPath(pipe->left())) {
      if (auto* rc = dynamic_cast<const CallNode*>(pipe->right())) return Longer(from_left, CallLiteral(rc));
    }
    return from_left;
  }
  if (auto* cmp = dynamic_cast<const CompareNode*>(n); cmp && cmp->op() == CmpOp::kEq) {
    std::string s;
    if (IsInputPath(cmp->left()) && StringLiteralOf(cmp->right(), &s) && RawSafe(s)) return s;
    if (IsInputPath(cmp->right()) && StringLiteralOf(cmp->left(), &s) && RawSafe(s)) return s;
  }
  return "";
}

std::string FormatError(std::string_view text, size_t pos, const std::string& message) {
  // Show the line holding `pos`, with a caret under the column.
  size_t line_start = text.rfind('\n', pos == 0 ? 0 : pos - 1);
  line_start = (line_start == std::string_view::npos || pos == 0) ? 0 : line_start + 1;
  if (pos > 0 && text.substr(0, pos).find('\n') == std::string_view::npos) line_start = 0;
  size_t line_end = text.find('\n', pos);
  if (line_end == std::string_view::npos) line_end = text.size();
  std::string_view line = text.substr(line_start, line_end - line_start);
  size_t col = pos - line_start;
  return fmt::format("{} (column {})\n  {}\n  {}^", message, pos + 1, line, std::string(col, ' '));
}

}  // namespace

Expression::~Expression() = default;

Status Expression::Compile(std::string_view text, std::unique_ptr<Expression>* out) {
  try {
    Lexer lexer(text);
    Parser parser(lexer.Run());
    std::unique_ptr<Expression> e(new Expression());
    e->text_ = std::string(text);
    e->root_ = parser.ParseAll();
    e->required_literal_ = RequiredLiteral(e->root_.get());
    *out = std::move(e);
    return Status::Ok();
  } catch (const ParseError& err) {
    return Status::InvalidArgument(FormatError(text, err.pos, err.message));
  }
}

Expression::Result Expression::Eval(const Value& input, Arena* arena, Value* out, std::string* error) const {
  EvalContext ctx{arena, error};
  switch (root_->Eval(input, ctx, out)) {
    case Res::kValue: return Result::kValue;
    case Res::kEmpty: return Result::kEmpty;
    case Res::kError: return Result::kError;
  }
  return Result::kError;
}

Expression::Result Expression::Test(const Value& input, Arena* arena, std::string* error) const {
  Value v;
  Result r = Eval(input, arena, &v, error);
  if (r != Result::kValue) return r;
  return v.truthy() ? Result::kValue : Result::kEmpty;
}

}  // namespace govstream::expr
