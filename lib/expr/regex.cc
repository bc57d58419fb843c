#include "expr/regex.h"

#include <fmt/core.h>

namespace govstream::expr {
namespace {

// Rewrites Oniguruma-only anchors into RE2 syntax.
std::string Translate(std::string_view p) {
  static constexpr std::string_view kEnd = "(?:\\n?\\z)";
  std::string out;
  bool in_class = false;
  for (size_t i = 0; i < p.size(); ++i) {
    char c = p[i];
    if (c == '\\' && i + 1 < p.size()) {
      // Oniguruma's \w, \d and \s are Unicode-aware; RE2's are ASCII.
      static constexpr std::string_view kWord = "\\p{L}\\p{M}\\p{Nd}\\p{Pc}";
      static constexpr std::string_view kSpace = "\\t\\n\\v\\f\\r \\x{85}\\p{Z}";
      char e = p[i + 1];
      if (!in_class && e == 'Z') {
        out += kEnd;
      } else if (e == 'w' || e == 's') {
        std::string_view set = e == 'w' ? kWord : kSpace;
        if (in_class) {
          out += set;
        } else {
          out += '[';
          out += set;
          out += ']';
        }
      } else if (!in_class && (e == 'W' || e == 'S')) {
        out += "[^";
        out += e == 'W' ? kWord : kSpace;
        out += ']';
      } else if (e == 'd') {
        out += "\\p{Nd}";
      } else if (e == 'D') {
        out += "\\P{Nd}";
      } else {
        out += c;
        out += p[i + 1];
      }
      ++i;
      continue;
    }
    if (in_class) {
      if (c == ']') in_class = false;
      out += c;
      continue;
    }
    if (c == '[') {
      in_class = true;
      out += c;
      // A ']' right after '[' or '[^' is a literal member.
      if (i + 1 < p.size() && p[i + 1] == '^') out += p[++i];
      if (i + 1 < p.size() && p[i + 1] == ']') out += p[++i];
      continue;
    }
    if (c == '$') {
      out += kEnd;
      continue;
    }
    out += c;
  }
  return out;
}

}  // namespace

Status CompileRegex(std::string_view pattern, std::string_view flags, std::unique_ptr<RE2>* out) {
  RE2::Options opts;
  opts.set_log_errors(false);
  for (char f : flags) {
    switch (f) {
      case 'g':  // global: no effect on test
      case 'l':  // longest match: no effect on whether one exists
      case 's':  // single line (^ = \A, $ = \Z): already how patterns behave
        break;
      case 'i':
        opts.set_case_sensitive(false);
        break;
      case 'p':  // s + m: '.' also matches newline
        opts.set_dot_nl(true);
        break;
      case 'x':
        return Status::InvalidArgument("regex flag 'x' (extended syntax) is not supported by RE2");
      case 'n':  // only non-empty matches count: see RegexTest
        opts.set_longest_match(true);
        break;
      default:
        return Status::InvalidArgument(fmt::format("{} is not a valid modifier string", flags));
    }
  }
  auto re = std::make_unique<RE2>(Translate(pattern), opts);
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
