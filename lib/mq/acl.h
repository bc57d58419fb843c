// An --acl file: what each client key (by its name in --authorized-keys)
// may do. Modelled on mosquitto's acl_file, with govstream's patterns:
//
//   # a comment (whole lines only: '#' is also a pattern)
//   key NAME            the rules below, up to the next key line, are NAME's
//                       ("user NAME" is accepted too; "key *": every key's)
//   topic write PATTERN      publish to topics PATTERN matches
//   topic read PATTERN       subscribe to patterns PATTERN covers: fan-out
//                            (mq-sub --topic), plain ZeroMQ SUB prefixes,
//                            and the patterns a queue is bound to
//   topic readwrite PATTERN  both ("topic PATTERN" alone, as in mosquitto)
//   queue consume|declare|bind|all NAME
//                            consume from, declare (create), or bind
//                            patterns to the queues NAME matches ('*' in
//                            NAME matches any characters)
//
// Everything not granted is denied. As in subscriptions, a $SYS topic is
// matched only by a pattern naming $SYS first: "topic read #" does not
// grant $SYS.broker.stats; "topic read $SYS.#" does.
//
// Immutable once loaded; Allows() is thread-compatible (const).
#ifndef GOVSTREAM_MQ_ACL_H_
#define GOVSTREAM_MQ_ACL_H_

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "mq/topic.h"

namespace govstream::mq {

class Acl {
 public:
  enum class Op { kPublish, kSubscribe, kConsume, kDeclare, kBind };

  // IoError if unreadable; InvalidArgument naming file:line for a bad rule.
  static Status Load(const std::string& path, Acl* out);

  // True if `key` may do `op` on `target`: a topic (kPublish), a pattern
  // (kSubscribe) or a queue name. Otherwise false, and *why says which key
  // may not do what, and which rules of the file apply to that key.
  bool Allows(std::string_view key, Op op, std::string_view target, std::string* why) const;

  const std::string& path() const { return path_; }
  size_t rules() const { return rules_.size(); }

 private:
  struct Rule {
    std::string key;  // "*": every key
    Op op;
    Pattern pattern;    // topic rules
    std::string queue;  // queue rules (an fnmatch glob)
    size_t line;
  };
  std::vector<Rule> rules_;
  std::string path_;
};

const char* AclOpName(Acl::Op op);

}  // namespace govstream::mq

#endif  // GOVSTREAM_MQ_ACL_H_
