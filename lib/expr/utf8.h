// Internal: UTF-8 encoding of a code point (for \\u escapes).
#ifndef GOVSTREAM_EXPR_UTF8_H_
#define GOVSTREAM_EXPR_UTF8_H_

#include <string>

namespace govstream::expr {

inline void AppendUtf8(unsigned cp, std::string* s) {
  if (cp < 0x80) {
    *s += static_cast<char>(cp);
  } else if (cp < 0x800) {
    *s += static_cast<char>(0xC0 | (cp >> 6));
    *s += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    *s += static_cast<char>(0xE0 | (cp >> 12));
    *s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    *s += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    *s += static_cast<char>(0xF0 | (cp >> 18));
    *s += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    *s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    *s += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

}  // namespace govstream::expr

#endif  // GOVSTREAM_EXPR_UTF8_H_
