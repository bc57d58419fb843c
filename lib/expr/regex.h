// Internal: jq's regular expressions on RE2.
//
// jq uses Oniguruma with Perl syntax; RE2 accepts the common subset in
// linear time. CompileRegex translates what differs (anchors around
// newlines, (?m), (?x) and the x flag, Unicode \w \d \s, multi-character
// case folds under i) and refuses, with the reason, every pattern whose
// result it cannot make equal to jq's: backreferences, lookaround, nested
// classes, `$` followed by more pattern, and the like. Refused, never
// evaluated differently.
#ifndef GOVSTREAM_EXPR_REGEX_H_
#define GOVSTREAM_EXPR_REGEX_H_

#include <re2/re2.h>

#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"

namespace govstream::expr {

// Compiles `pattern` with jq `flags` (g, i, n, s, l, p; null/"" for none).
Status CompileRegex(std::string_view pattern, std::string_view flags, std::unique_ptr<RE2>* out);

// Whether `re` matches somewhere in `text`; with `non_empty_only` (jq's "n"
// flag; `re` must then be compiled with that flag) only non-empty matches
// count.
bool RegexTest(const RE2& re, std::string_view text, bool non_empty_only);

// A substring every match of `pattern` must contain, or "" (for prefilters).
// Conservative: gives up on alternation, groups and escapes.
std::string RegexRequiredLiteral(std::string_view pattern, std::string_view flags);

}  // namespace govstream::expr

#endif  // GOVSTREAM_EXPR_REGEX_H_
