// Topics and subscription patterns, as in AMQP topic exchanges.
//
// A topic is one or more dot-separated words ("http.5xx.api"): each word is
// non-empty and contains neither '*' nor '#' nor whitespace; at most
// kMaxTopicBytes bytes. A pattern has the same shape, and a word may also be
// '*' (exactly one word) or '#' (zero or more words). A topic whose first
// word is "$SYS" (the broker's own metrics) is matched only by patterns whose
// first word is literally "$SYS": '#' alone does not see it.
//
// Patterns are immutable after construction; thread-safe to share.
#ifndef GOVSTREAM_MQ_TOPIC_H_
#define GOVSTREAM_MQ_TOPIC_H_

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace govstream::mq {

constexpr size_t kMaxTopicBytes = 255;

// OK, or InvalidArgument saying what is wrong with `topic`.
Status ValidateTopic(std::string_view topic);

class Pattern {
 public:
  // InvalidArgument if `text` is not a valid pattern.
  static Status Parse(std::string_view text, Pattern* out);

  bool Matches(std::string_view topic) const;
  // True if every topic `other` matches is matched by this pattern (so a
  // grant of this pattern allows subscribing to `other`). Exact for
  // literals, '*' and '#' in `this`; a '#' in `other` is covered only by a
  // '#' (conservative: "*.#" does not cover "#"). The $SYS rule holds:
  // only a pattern naming $SYS first covers one that does.
  bool Covers(const Pattern& other) const;
  const std::string& text() const { return text_; }
  // The literal words before the first wildcard, joined with '.', for a
  // ZeroMQ prefix subscription ("http.*.x" -> "http."; "#" -> "").
  std::string LiteralPrefix() const;

 private:
  std::string text_;
  std::vector<std::string> words_;
};

}  // namespace govstream::mq

#endif  // GOVSTREAM_MQ_TOPIC_H_
