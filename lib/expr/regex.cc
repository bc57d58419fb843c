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
      if (!in_class && p[i + 1] == 'Z') {
        out += kEnd;
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
      case 'n':
        return Status::InvalidArgument("regex flag 'n' (ignore empty matches) is not supported");
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

}  // namespace govstream::expr
