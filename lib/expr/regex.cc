#include "expr/regex.h"

#include <fmt/core.h>

#include <algorithm>
#include <vector>

#include "expr/utf8.h"

namespace govstream::expr {
namespace {

#include "expr/casefold_table.inc"

// Flags in force at a point of the pattern. `i` and `s` are also passed to
// RE2 (inline groups are kept for them); `m` and `x` are applied here.
struct Scope {
  bool i = false, m = false, x = false;
};

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// Decodes one UTF-8 sequence at p[*pos] (advancing *pos); invalid bytes
// decode as themselves.
char32_t DecodeAt(std::string_view p, size_t* pos) {
  unsigned char c = static_cast<unsigned char>(p[*pos]);
  size_t n = c < 0x80 ? 0 : (c & 0xE0) == 0xC0 ? 1 : (c & 0xF0) == 0xE0 ? 2 : (c & 0xF8) == 0xF0 ? 3 : 0;
  if (*pos + n >= p.size()) n = 0;  // truncated: the byte stands for itself
  char32_t cp = n == 0 ? c : c & (0x3F >> n);
  for (size_t k = 1; k <= n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(p[*pos + k]) & 0x3F);
  *pos += n + 1;
  return cp;
}

char32_t FoldOne(char32_t c) {
  auto it = std::lower_bound(std::begin(kSimpleFolds), std::end(kSimpleFolds), c,
                             [](const SimpleFold& f, char32_t v) { return f.from < v; });
  return it != std::end(kSimpleFolds) && it->from == c ? it->to : c;
}

// The multi-character fold of `c`, or null.
const MultiFold* MultiFoldOf(char32_t c) {
  for (const MultiFold& f : kMultiFolds) {
    for (const char32_t* s = f.sources; *s; ++s) {
      if (*s == c) return &f;
    }
  }
  return nullptr;
}

std::u32string Decode(std::string_view s) {
  std::u32string out;
  for (size_t i = 0; i < s.size();) out += DecodeAt(s, &i);
  return out;
}

// Rewrites a jq (Oniguruma, Perl syntax) pattern into RE2 syntax with the
// same meaning for `test`, or says why it cannot.
//  - `$` and `\Z` match at the end or before a final newline; RE2 has no
//    lookahead, so they are written as a consumed optional newline, which is
//    exact only where nothing but the end can follow (else: refused).
//  - Under (?m), `$` matches before every newline (RE2's (?m:$) does) and
//    `^` after every newline except a final one: RE2's (?m:^) also matches
//    there, so it is accepted only where something non-empty must follow.
//  - (?x) and the x flag: blanks and #-comments outside classes are dropped.
//  - \w, \d, \s are Unicode-aware, as in Oniguruma.
//  - Under (?i), literals whose full case fold has several characters ("ß"
//    and "ss", "ﬁ" and "fi") become alternations, as Oniguruma's string
//    nodes expand them.
class Translator {
 public:
  Translator(std::string_view p, Scope initial) : p_(p) { scopes_.push_back(initial); }

  Status Run(std::string* out) {
    while (pos_ < p_.size()) {
      Status s = Step();
      if (!s.ok()) return s;
    }
    *out = std::move(out_);
    return Status::Ok();
  }

 private:
  Scope& scope() { return scopes_.back(); }

  Status Refuse(const std::string& why) const {
    return Status::InvalidArgument(fmt::format("regex \"{}\" is refused: {}", p_, why));
  }

  // Skips blanks and comments in extended mode.
  void SkipExtended(size_t* pos) const {
    if (!scopes_.back().x) return;
    while (*pos < p_.size()) {
      if (IsSpace(p_[*pos])) {
        ++*pos;
      } else if (p_[*pos] == '#') {
        while (*pos < p_.size() && p_[*pos] != '\n') ++*pos;
      } else {
        break;
      }
    }
  }

  Status Step() {
    SkipExtended(&pos_);
    if (pos_ >= p_.size()) return Status::Ok();
    char c = p_[pos_];
    switch (c) {
      case '[': return Class();
      case '(': return Open();
      case ')':
        if (scopes_.size() > 1) scopes_.pop_back();
        out_ += c;
        ++pos_;
        return Status::Ok();
      case '$':
        ++pos_;
        if (scope().m) {
          out_ += "(?m:$)";
          return Status::Ok();
        }
        return End("$");
      case '^':
        ++pos_;
        if (!scope().m) {
          out_ += '^';
          return Status::Ok();
        }
        if (!MustConsume(pos_)) {
          return Refuse("under (?m), jq's ^ does not match after a final newline and RE2's does; "
                        "it is accepted only before something that cannot match the empty string");
        }
        out_ += "(?m:^)";
        return Status::Ok();
      case '\\': return Escape();
      case '{':
        if (IsQuantifier(pos_)) {
          size_t close = p_.find('}', pos_);
          out_ += p_.substr(pos_, close + 1 - pos_);
          pos_ = close + 1;
          return Status::Ok();
        }
        return Literals();
      case '|': case '.': case '*': case '+': case '?':
        out_ += c;
        ++pos_;
        return Status::Ok();
      default: return Literals();
    }
  }

  // `$` outside (?m), or `\Z`.
  Status End(const char* what) {
    if (!Terminal(pos_)) {
      return Refuse(fmt::format("{} followed by more pattern: jq's {} matches before a final newline without "
                                "consuming it, which RE2 cannot express",
                                what, what));
    }
    out_ += "(?:\\n?\\z)";
    return Status::Ok();
  }

  Status Escape() {
    if (pos_ + 1 >= p_.size()) return Refuse("trailing backslash");
    char e = p_[pos_ + 1];
    static constexpr std::string_view kWord = "\\p{L}\\p{M}\\p{Nd}\\p{Pc}";
    static constexpr std::string_view kSpace = "\\t\\n\\v\\f\\r \\x{85}\\p{Z}";
    switch (e) {
      case 'Z':
        pos_ += 2;
        return End("\\Z");
      case 'w': case 's':
        out_ += '[';
        out_ += e == 'w' ? kWord : kSpace;
        out_ += ']';
        break;
      case 'W': case 'S':
        out_ += "[^";
        out_ += e == 'W' ? kWord : kSpace;
        out_ += ']';
        break;
      case 'd': out_ += "\\p{Nd}"; break;
      case 'D': out_ += "\\P{Nd}"; break;
      case 'p': case 'P': {
        size_t len = 3;
        if (pos_ + 2 < p_.size() && p_[pos_ + 2] == '{') {
          size_t close = p_.find('}', pos_);
          len = close == std::string_view::npos ? p_.size() - pos_ : close + 1 - pos_;
        }
        out_ += p_.substr(pos_, len);
        pos_ += len;
        return Status::Ok();
      }
      case 'Q': {
        // Quoted literal text, up to \E or the end.
        if (scope().i) return Refuse("\\Q...\\E under case-insensitive matching is not supported");
        size_t end = p_.find("\\E", pos_ + 2);
        size_t stop = end == std::string_view::npos ? p_.size() : end + 2;
        out_ += p_.substr(pos_, stop - pos_);
        pos_ = stop;
        return Status::Ok();
      }
      default:
        if (LiteralEscape(pos_, nullptr, nullptr)) return Literals();
        out_ += p_.substr(pos_, 2);
    }
    pos_ += 2;
    return Status::Ok();
  }

  // Whether an escape at `at` stands for one literal character; if so its
  // code point and length.
  bool LiteralEscape(size_t at, char32_t* cp, size_t* len) const {
    if (at + 1 >= p_.size() || p_[at] != '\\') return false;
    char e = p_[at + 1];
    size_t n = 2;
    char32_t v = 0;
    if (e == 'x') {
      size_t k = at + 2;
      bool braced = k < p_.size() && p_[k] == '{';
      if (braced) ++k;
      size_t digits = 0;
      while (k < p_.size() && digits < (braced ? 8u : 2u) && isxdigit(static_cast<unsigned char>(p_[k]))) {
        v = v * 16 + static_cast<char32_t>(std::stoi(std::string(1, p_[k]), nullptr, 16));
        ++k;
        ++digits;
      }
      if (digits == 0 || (braced && (k >= p_.size() || p_[k] != '}'))) return false;
      n = k + braced - at;
    } else if (e == ' ') {
      v = ' ';
    } else if (static_cast<unsigned char>(e) < 0x80 && !isalnum(static_cast<unsigned char>(e)) && e != '_') {
      v = static_cast<unsigned char>(e);
    } else {
      return false;
    }
    if (cp) *cp = v;
    if (len) *len = n;
    return true;
  }

  // A run of literal characters (plain or escaped). Under (?i), full case
  // folds of several characters are expanded.
  Status Literals() {
    struct Item {
      std::string text;  // as written for RE2
      char32_t cp;
    };
    std::vector<Item> run;
    for (;;) {
      size_t at = pos_;
      SkipExtended(&at);
      if (at >= p_.size()) break;
      if (IsQuantifier(at)) break;
      char c = p_[at];
      Item item;
      size_t len = 0;
      if (c == '\\') {
        if (!LiteralEscape(at, &item.cp, &len)) break;
        item.text = item.cp == ' ' ? std::string("\\x20") : std::string(p_.substr(at, len));
      } else if (std::string_view("[]()$^|.*+?").find(c) != std::string_view::npos) {
        break;
      } else {
        size_t end = at;
        item.cp = DecodeAt(p_, &end);
        len = end - at;
        item.text = std::string(p_.substr(at, len));
      }
      // A quantified character stands alone (Oniguruma splits the string).
      size_t after = at + len;
      SkipExtended(&after);
      if (!run.empty() && after < p_.size() && IsQuantifier(after)) break;
      run.push_back(std::move(item));
      pos_ = at + len;
      if (after < p_.size() && IsQuantifier(after)) break;
    }
    if (run.empty()) {  // not reached: callers start at a literal
      out_ += p_[pos_++];
      return Status::Ok();
    }
    if (!scope().i) {
      for (const Item& it : run) out_ += it.text;
      return Status::Ok();
    }
    // Folded run, with characters that fold to several as separators.
    std::u32string folded;
    for (const Item& it : run) folded += MultiFoldOf(it.cp) ? U'\0' : FoldOne(it.cp);
    struct Hit {
      size_t begin, end;
      const MultiFold* fold;
    };
    std::vector<Hit> hits;
    for (const MultiFold& f : kMultiFolds) {
      std::u32string seq = Decode(f.folded);
      for (size_t k = folded.find(seq); k != std::u32string::npos; k = folded.find(seq, k + 1)) {
        hits.push_back({k, k + seq.size(), &f});
      }
    }
    std::sort(hits.begin(), hits.end(), [](const Hit& a, const Hit& b) { return a.begin < b.begin; });
    for (size_t k = 1; k < hits.size(); ++k) {
      if (hits[k].begin < hits[k - 1].end) {
        std::string text;
        for (size_t j = hits[k - 1].begin; j < std::max(hits[k].end, hits[k - 1].end); ++j) text += run[j].text;
        return Refuse(fmt::format("under case-insensitive matching, \"{}\" holds overlapping multi-character case "
                                  "folds, which jq matches in ways RE2 cannot reproduce",
                                  text));
      }
    }
    size_t next_hit = 0;
    for (size_t k = 0; k < run.size();) {
      if (next_hit < hits.size() && hits[next_hit].begin == k) {
        const Hit& h = hits[next_hit++];
        out_ += "(?:";
        for (size_t j = h.begin; j < h.end; ++j) out_ += run[j].text;
        AppendSources(*h.fold, 0);
        out_ += ')';
        k = h.end;
        continue;
      }
      if (const MultiFold* f = MultiFoldOf(run[k].cp)) {
        out_ += "(?:";
        out_ += run[k].text;
        out_ += '|';
        out_ += f->folded;
        AppendSources(*f, run[k].cp);
        out_ += ')';
      } else {
        out_ += run[k].text;
      }
      ++k;
    }
    return Status::Ok();
  }

  void AppendSources(const MultiFold& f, char32_t except) {
    for (const char32_t* s = f.sources; *s; ++s) {
      if (*s == except) continue;
      out_ += '|';
      AppendUtf8(*s, &out_);
    }
  }

  // Whether a quantifier starts at `at` ({n}, {n,}, {n,m} count; "{,n}" is
  // a literal in both engines).
  bool IsQuantifier(size_t at) const {
    char c = p_[at];
    if (c == '*' || c == '+' || c == '?') return true;
    if (c != '{') return false;
    size_t k = at + 1;
    size_t digits = 0;
    while (k < p_.size() && isdigit(static_cast<unsigned char>(p_[k]))) ++k, ++digits;
    if (digits == 0) return false;
    if (k < p_.size() && p_[k] == ',') {
      ++k;
      while (k < p_.size() && isdigit(static_cast<unsigned char>(p_[k]))) ++k;
    }
    return k < p_.size() && p_[k] == '}';
  }

  // Whether a quantifier at `at` allows zero repetitions.
  bool AllowsZero(size_t at) const {
    if (at >= p_.size() || !IsQuantifier(at)) return false;
    char c = p_[at];
    if (c == '*' || c == '?') return true;
    if (c == '{') {
      size_t k = at + 1;
      while (k < p_.size() && p_[k] == '0') ++k;
      return !isdigit(static_cast<unsigned char>(p_[k]));
    }
    return false;
  }

  // End of the bracket expression starting at `at` (index of its ']'), or
  // npos; nested classes and && are reported in *nested.
  size_t ClassEnd(size_t at, bool* nested) const {
    size_t k = at + 1;
    if (k < p_.size() && p_[k] == '^') ++k;
    if (k < p_.size() && p_[k] == ']') ++k;
    for (; k < p_.size(); ++k) {
      char c = p_[k];
      if (c == '\\') {
        ++k;
      } else if (c == '[') {
        if (k + 1 < p_.size() && p_[k + 1] == ':') {
          size_t close = p_.find(":]", k + 2);
          if (close == std::string_view::npos) return std::string_view::npos;
          k = close + 1;
        } else if (nested) {
          *nested = true;
        }
      } else if (c == '&' && k + 1 < p_.size() && p_[k + 1] == '&' && nested) {
        *nested = true;
      } else if (c == ']') {
        return k;
      }
    }
    return std::string_view::npos;
  }

  Status Class() {
    bool nested = false;
    size_t end = ClassEnd(pos_, &nested);
    if (end == std::string_view::npos) {
      out_ += p_.substr(pos_);  // RE2 reports the missing ]
      pos_ = p_.size();
      return Status::Ok();
    }
    if (nested) {
      return Refuse("nested classes and && (class intersection) are Oniguruma extensions; RE2 reads [ and & "
                    "there as literal characters");
    }
    std::string_view body = p_.substr(pos_, end + 1 - pos_);
    if (scope().i) {
      for (size_t k = 0; k < body.size();) {
        char32_t cp = DecodeAt(body, &k);
        if (MultiFoldOf(cp)) {
          return Refuse(fmt::format("under case-insensitive matching, a class holding a character whose case "
                                    "fold has several characters ({}) also matches those characters in jq",
                                    std::string_view(body)));
        }
      }
    }
    std::string rewritten;
    for (size_t k = 0; k < body.size(); ++k) {
      char c = body[k];
      if (c == '\\' && k + 1 < body.size()) {
        char e = body[k + 1];
        if (e == 'w') {
          rewritten += "\\p{L}\\p{M}\\p{Nd}\\p{Pc}";
        } else if (e == 's') {
          rewritten += "\\t\\n\\v\\f\\r \\x{85}\\p{Z}";
        } else if (e == 'd') {
          rewritten += "\\p{Nd}";
        } else if (e == 'D') {
          rewritten += "\\P{Nd}";
        } else {
          rewritten += body.substr(k, 2);
        }
        ++k;
        continue;
      }
      rewritten += c;
    }
    out_ += rewritten;
    pos_ = end + 1;
    return Status::Ok();
  }

  // `(`: a group, or an inline flag setting.
  Status Open() {
    if (pos_ + 1 < p_.size() && p_[pos_ + 1] == '?') {
      size_t k = pos_ + 2;
      if (k < p_.size() && p_[k] == '#') {  // (?#comment)
        size_t close = p_.find(')', k);
        if (close == std::string_view::npos) return Refuse("unterminated (?# comment");
        pos_ = close + 1;
        return Status::Ok();
      }
      if (k < p_.size() && p_[k] == 'P') return Refuse("(?P...) is not jq syntax (write (?<name>...))");
      if (k + 1 < p_.size() && p_[k] == '<' && p_[k + 1] != '=' && p_[k + 1] != '!') {
        // (?<name>...): Oniguruma's named group is RE2's (?P<name>...).
        scopes_.push_back(scope());
        out_ += "(?P<";
        pos_ = k + 1;
        return Status::Ok();
      }
      size_t letters_end = k;
      while (letters_end < p_.size() && (isalpha(static_cast<unsigned char>(p_[letters_end])) || p_[letters_end] == '-')) {
        ++letters_end;
      }
      bool flag_group = letters_end < p_.size() && (p_[letters_end] == ')' || p_[letters_end] == ':');
      if (flag_group) {
        if (letters_end == k && p_[letters_end] == ')') return Refuse("(?): undefined group option");
        for (size_t j = k; j < letters_end; ++j) {
          if (std::string_view("imsx-").find(p_[j]) == std::string_view::npos) {
            return Refuse(fmt::format("(?{}...): undefined group option (jq knows i, m, s and x)", p_[j]));
          }
        }
        if (letters_end > k && p_[k] == '-') return Refuse("a group option cannot start with '-' (jq rejects it)");
        Scope next = scope();
        std::string keep_on, keep_off;
        bool off = false;
        for (size_t j = k; j < letters_end; ++j) {
          char f = p_[j];
          if (f == '-') {
            off = true;
            continue;
          }
          if (f == 'i') next.i = !off;
          if (f == 'm') next.m = !off;
          if (f == 'x') next.x = !off;
          if (f == 'i' || f == 's') (off ? keep_off : keep_on) += f;
        }
        std::string flags = keep_on + (keep_off.empty() ? "" : "-" + keep_off);
        if (p_[letters_end] == ')') {
          scope() = next;
          if (!flags.empty()) out_ += "(?" + flags + ")";
        } else {
          scopes_.push_back(next);
          out_ += "(?" + flags + ":";
        }
        pos_ = letters_end + 1;
        return Status::Ok();
      }
    }
    scopes_.push_back(scope());
    out_ += '(';
    ++pos_;
    return Status::Ok();
  }

  // Index of the ')' closing the group that contains `at`, or the end.
  size_t GroupEnd(size_t at) const {
    int depth = 0;
    for (size_t k = at; k < p_.size(); ++k) {
      char c = p_[k];
      if (c == '\\') {
        ++k;
      } else if (c == '[') {
        size_t e = ClassEnd(k, nullptr);
        if (e == std::string_view::npos) return p_.size();
        k = e;
      } else if (c == '(') {
        ++depth;
      } else if (c == ')') {
        if (depth-- == 0) return k;
      }
    }
    return p_.size();
  }

  // Skips a quantifier (with a lazy or possessive suffix) at *at.
  void SkipQuantifier(size_t* at) const {
    if (*at >= p_.size() || !IsQuantifier(*at)) return;
    *at = p_[*at] == '{' ? p_.find('}', *at) + 1 : *at + 1;
    if (*at < p_.size() && (p_[*at] == '?' || p_[*at] == '+')) ++*at;
  }

  // Whether only the end of the string can follow at `at`: closing groups,
  // other alternatives, or more end anchors.
  bool Terminal(size_t at) const {
    for (;;) {
      SkipExtended(&at);
      if (at >= p_.size()) return true;
      char c = p_[at];
      if (c == ')') {
        ++at;
        SkipQuantifier(&at);
      } else if (c == '|') {
        at = GroupEnd(at + 1);
      } else if (c == '$') {
        ++at;
      } else if (c == '\\' && at + 1 < p_.size() && (p_[at + 1] == 'z' || p_[at + 1] == 'Z')) {
        at += 2;
      } else {
        return false;
      }
    }
  }

  // Whether what starts at `at` (up to the end of its alternative) cannot
  // match the empty string. Conservative: false when unsure.
  bool MustConsume(size_t at) const {
    SkipExtended(&at);
    if (at >= p_.size()) return false;
    char c = p_[at];
    size_t after;
    if (c == '|' || c == ')' || c == '^' || c == '$' || c == '*' || c == '+' || c == '?' || c == '{') {
      return false;
    } else if (c == '\\') {
      if (at + 1 >= p_.size() || std::string_view("bBAzZGKQE").find(p_[at + 1]) != std::string_view::npos) {
        return false;
      }
      size_t len = 2;
      if (!LiteralEscape(at, nullptr, &len) && (p_[at + 1] == 'p' || p_[at + 1] == 'P')) {
        if (at + 2 < p_.size() && p_[at + 2] == '{') {
          size_t close = p_.find('}', at + 2);
          if (close == std::string_view::npos) return false;
          len = close + 1 - at;
        } else {
          len = 3;
        }
      }
      after = at + len;
    } else if (c == '[') {
      size_t e = ClassEnd(at, nullptr);
      if (e == std::string_view::npos) return false;
      after = e + 1;
    } else if (c == '(') {
      size_t body = at + 1;
      if (body < p_.size() && p_[body] == '?') {
        if (body + 1 < p_.size() && p_[body + 1] == ':') {
          body += 2;
        } else {
          return false;  // named groups, flags, lookaround: unsure
        }
      }
      size_t end = GroupEnd(body);
      if (end >= p_.size()) return false;
      // Every alternative must consume.
      for (size_t alt = body;;) {
        if (!MustConsume(alt)) return false;
        size_t bar = alt;
        int depth = 0;
        for (; bar < end; ++bar) {
          char b = p_[bar];
          if (b == '\\') {
            ++bar;
          } else if (b == '[') {
            bar = ClassEnd(bar, nullptr);
          } else if (b == '(') {
            ++depth;
          } else if (b == ')') {
            --depth;
          } else if (b == '|' && depth == 0) {
            break;
          }
        }
        if (bar >= end) break;
        alt = bar + 1;
      }
      after = end + 1;
    } else {
      size_t k = at;
      DecodeAt(p_, &k);
      after = k;
    }
    SkipExtended(&after);
    return !AllowsZero(after);
  }

  std::string_view p_;
  size_t pos_ = 0;
  std::vector<Scope> scopes_;
  std::string out_;
};

}  // namespace

Status CompileRegex(std::string_view pattern, std::string_view flags, std::unique_ptr<RE2>* out) {
  RE2::Options opts;
  opts.set_log_errors(false);
  Scope initial;
  for (char f : flags) {
    switch (f) {
      case 'g':  // global: no effect on test
      case 'l':  // longest match: no effect on whether one exists
      case 's':  // single line (^ = \A, $ = \Z): already how patterns behave
        break;
      case 'i':
        opts.set_case_sensitive(false);
        initial.i = true;
        break;
      case 'p':  // s + m in Oniguruma's sense: '.' also matches newline
        opts.set_dot_nl(true);
        break;
      case 'x':
        initial.x = true;
        break;
      case 'n':  // only non-empty matches count: see RegexTest
        opts.set_longest_match(true);
        break;
      default:
        return Status::InvalidArgument(fmt::format("{} is not a valid modifier string", flags));
    }
  }
  std::string translated;
  Status s = Translator(pattern, initial).Run(&translated);
  if (!s.ok()) return s;
  auto re = std::make_unique<RE2>(translated, opts);
  if (!re->ok()) {
    return Status::InvalidArgument(
        fmt::format("\"{}\" is not a regular expression RE2 can run: {}", pattern, re->error()));
  }
  *out = std::move(re);
  return Status::Ok();
}

std::string RegexRequiredLiteral(std::string_view p, std::string_view flags) {
  for (char f : flags) {
    if (f == 'i' || f == 'x') return "";
  }
  // Inline flags ((?i), (?x)) change what the literal characters mean.
  if (p.find("(?") != std::string_view::npos) return "";
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] == '|') return "";  // alternation anywhere: give up
  }
  std::string best, cur;
  auto flush = [&] {
    if (cur.size() > best.size()) best = cur;
    cur.clear();
  };
  for (size_t i = 0; i < p.size(); ++i) {
    char c = p[i];
    bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '/' ||
                 c == '_' || c == '-' || c == ' ' || c == ':' || c == '=' || c == '@' || c == ',' || c == '#' ||
                 c == '%' || c == '&' || c == '~' || c == ';' || c == '!' || c == '<' || c == '>' || c == '\'';
    if (!plain) {
      flush();
      if (c == '[' || c == '(' || c == '\\') {
        // Skip the class/group/escape conservatively: everything up to the
        // matching close contributes nothing.
        if (c == '\\') {
          ++i;
        } else {
          char close = c == '[' ? ']' : ')';
          int depth = 0;
          for (; i < p.size(); ++i) {
            if (p[i] == '\\') {
              ++i;
              continue;
            }
            if (p[i] == c) ++depth;
            if (p[i] == close && --depth == 0) break;
          }
        }
      }
      continue;
    }
    // A quantifier after this char makes it optional or repeated: drop it.
    char next = i + 1 < p.size() ? p[i + 1] : '\0';
    if (next == '?' || next == '*' || next == '{') {
      flush();
      continue;
    }
    cur += c;
    if (next == '+') flush();  // "ab+" needs "ab"; stop the run there
  }
  flush();
  return best;
}

bool RegexTest(const RE2& re, std::string_view text, bool non_empty_only) {
  re2::StringPiece input(text.data(), text.size());
  if (!non_empty_only) return RE2::PartialMatch(input, re);
  // With leftmost-longest semantics, an empty match at position q means no
  // non-empty match starts at q: move on one character and search again.
  size_t pos = 0;
  re2::StringPiece m;
  while (pos <= text.size()) {
    if (!re.Match(input, pos, text.size(), RE2::UNANCHORED, &m, 1)) return false;
    if (!m.empty()) return true;
    size_t at = static_cast<size_t>(m.data() - text.data());
    pos = at + 1;
    while (pos < text.size() && (static_cast<unsigned char>(text[pos]) & 0xC0) == 0x80) ++pos;
  }
  return false;
}

}  // namespace govstream::expr
