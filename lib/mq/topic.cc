#include "mq/topic.h"

namespace govstream::mq {
namespace {

constexpr std::string_view kSys = "$SYS";

// Splits on '.'; false if a word is empty.
bool SplitWords(std::string_view text, std::vector<std::string_view>* words) {
  words->clear();
  size_t start = 0;
  for (;;) {
    size_t dot = text.find('.', start);
    std::string_view w = text.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (w.empty()) return false;
    words->push_back(w);
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

// Why `text` is not a valid topic (or pattern, with `wildcards`), or
// nullptr. No allocation on the valid path (called for every message).
const char* ShapeError(std::string_view text, bool wildcards, std::vector<std::string_view>* words) {
  if (text.empty()) return "empty";
  if (text.size() > kMaxTopicBytes) return "longer than 255 bytes";
  for (unsigned char c : text) {
    if (c <= ' ' || c == 0x7f) return "contains whitespace or a control character";
  }
  if (!SplitWords(text, words)) return "empty word (leading, trailing or double '.')";
  for (std::string_view w : *words) {
    bool wild = w == "*" || w == "#";
    if (wild && wildcards) continue;
    if (w.find_first_of("*#") != std::string_view::npos) {
      return wildcards ? "'*' and '#' must be whole words" : "a topic cannot contain '*' or '#' (those are for patterns)";
    }
  }
  return nullptr;
}

Status CheckShape(std::string_view what, std::string_view text, bool wildcards, std::vector<std::string_view>* words) {
  const char* why = ShapeError(text, wildcards, words);
  if (why == nullptr) return Status::Ok();
  std::string message;
  message.append(what).append(" '").append(text).append("': ").append(why);
  return Status::InvalidArgument(message);
}

}  // namespace

Status ValidateTopic(std::string_view topic) {
  thread_local std::vector<std::string_view> words;  // reused: no allocation per message
  return CheckShape("topic", topic, false, &words);
}

Status Pattern::Parse(std::string_view text, Pattern* out) {
  std::vector<std::string_view> words;
  Status s = CheckShape("pattern", text, true, &words);
  if (!s.ok()) return s;
  out->text_ = std::string(text);
  out->words_.assign(words.begin(), words.end());
  return Status::Ok();
}

bool Pattern::Matches(std::string_view topic) const {
  // $SYS topics: only for patterns that name $SYS first.
  bool sys_topic = topic.substr(0, kSys.size()) == kSys && (topic.size() == kSys.size() || topic[kSys.size()] == '.');
  if (sys_topic != (words_.front() == kSys)) return false;

  // Wildcard matching over words: '*' is one word (like '?' in a glob), '#'
  // any run of words (like '*'), with backtracking to the last '#'.
  size_t p = 0, star_p = std::string_view::npos, star_t = 0;
  size_t t = 0;  // byte offset of the current topic word
  auto word_at = [&](size_t at) {
    size_t dot = topic.find('.', at);
    return topic.substr(at, dot == std::string_view::npos ? std::string_view::npos : dot - at);
  };
  auto next = [&](size_t at) {
    size_t dot = topic.find('.', at);
    return dot == std::string_view::npos ? topic.size() + 1 : dot + 1;
  };
  while (t <= topic.size()) {
    std::string_view w = word_at(t);
    if (p < words_.size() && words_[p] == "#") {
      star_p = p++;
      star_t = t;
    } else if (p < words_.size() && (words_[p] == "*" || words_[p] == w)) {
      ++p;
      t = next(t);
    } else if (star_p != std::string_view::npos) {
      p = star_p + 1;
      star_t = next(star_t);
      t = star_t;
    } else {
      return false;
    }
  }
  while (p < words_.size() && words_[p] == "#") ++p;
  return p == words_.size();
}

bool Pattern::Covers(const Pattern& other) const {
  const std::vector<std::string>& a = words_;
  const std::vector<std::string>& b = other.words_;
  if ((a.front() == kSys) != (b.front() == kSys)) return false;
  // cover[i][j]: a[i..] covers b[j..]; filled from the ends.
  std::vector<std::vector<char>> cover(a.size() + 1, std::vector<char>(b.size() + 1, 0));
  cover[a.size()][b.size()] = 1;
  for (size_t i = a.size() + 1; i-- > 0;) {
    for (size_t j = b.size() + 1; j-- > 0;) {
      if (i == a.size()) continue;  // only the (end, end) cell is true
      if (a[i] == "#") {
        // '#' takes no word of b, or takes b[j] (whatever it is) and stays.
        cover[i][j] = cover[i + 1][j] || (j < b.size() && cover[i][j + 1]);
      } else if (j == b.size() || b[j] == "#") {
        cover[i][j] = 0;
      } else if (b[j] == "*") {
        cover[i][j] = a[i] == "*" && cover[i + 1][j + 1];
      } else {
        cover[i][j] = (a[i] == "*" || a[i] == b[j]) && cover[i + 1][j + 1];
      }
    }
  }
  return cover[0][0] != 0;
}

std::string Pattern::LiteralPrefix() const {
  std::string prefix;
  for (const std::string& w : words_) {
    if (w == "*" || w == "#") return prefix;
    prefix.append(w).push_back('.');
  }
  return text_;  // no wildcard: the whole topic
}

}  // namespace govstream::mq
