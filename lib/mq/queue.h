// Messages as the broker stores them, and a named queue: the messages that
// matched its bindings, kept until a consumer acknowledges them.
//
// A Queue holds ready messages (in arrival order) and, per consumer, the
// messages delivered to it but not yet acknowledged. Its limits count both:
// a message occupies the queue from Push() until Ack(). When a consumer goes
// away, its unacknowledged messages return to the front of the ready list in
// their original order, marked redelivered. Nothing is ever dropped: a full
// queue refuses (HasRoom() is false) and the caller refuses the publish.
//
// Plain data structure: no I/O, not thread-safe (the broker's one thread owns
// every queue).
#ifndef GOVSTREAM_MQ_QUEUE_H_
#define GOVSTREAM_MQ_QUEUE_H_

#include <absl/container/flat_hash_map.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "mq/topic.h"

namespace govstream::mq {

struct StoredMessage {
  std::string topic;
  std::string payload;
  std::shared_ptr<const std::string> publisher;
  uint64_t seq = 0;
  uint64_t ts_us = 0;        // publisher's send time
  int64_t received_ns = 0;   // broker's steady clock at arrival
  size_t bytes() const { return topic.size() + payload.size(); }
};
using MessageRef = std::shared_ptr<const StoredMessage>;

class Queue {
 public:
  struct Limits {
    uint64_t max_bytes = 0;     // 0: unlimited
    uint64_t max_messages = 0;  // 0: unlimited
  };
  struct Taken {
    uint64_t tag;
    bool redelivered;
    MessageRef message;
    uint64_t store_seq;  // its record in the durable store (0: in memory only)
  };
  // Cumulative counters, for $SYS stats.
  struct Counters {
    uint64_t in = 0;           // messages stored
    uint64_t out = 0;          // deliveries (including redeliveries)
    uint64_t acked = 0;
    uint64_t redelivered = 0;  // messages returned to the queue for redelivery
    uint64_t refused = 0;      // publishes refused at the limit
  };

  Queue(std::string name, Limits limits) : name_(std::move(name)), limits_(limits) {}

  const std::string& name() const { return name_; }
  // The queue's id in the durable store (0: in memory only).
  uint32_t store_id() const { return store_id_; }
  void set_store_id(uint32_t id) { store_id_ = id; }
  // Adds a binding; binding the same pattern twice is a no-op (false).
  bool Bind(const Pattern& p);
  const std::vector<Pattern>& bindings() const { return bindings_; }
  bool Matches(std::string_view topic) const;

  // Whether one more message of `bytes` fits under the limits. When it does
  // not, *why says which limit (and the refusal is counted).
  bool HasRoom(size_t bytes, std::string* why);
  // Holds room for a message about to be pushed (HasRoom() counts it), or
  // gives it back.
  void Reserve(size_t bytes);
  void Unreserve(size_t bytes);
  // `store_seq`: the message's record in the durable store (0: none);
  // `redelivered`: delivered before (by a broker before a restart).
  // `record_bytes`: its record's size on disk (counted in disk_bytes()).
  void Push(MessageRef m, uint64_t store_seq = 0, bool redelivered = false, uint32_t record_bytes = 0);

  // Spilled messages: held by the queue (counted in ready(), bytes() and
  // the limits) but left in the durable store, to be read back in order
  // (Unspill) when the messages in memory run low. While any are spilled,
  // the broker spills every new message too, so that order is kept.
  // `from_seq`: the store sequence number of the first one (when none were).
  void Spill(uint64_t from_seq, uint64_t count, uint64_t bytes, uint64_t record_bytes);
  void Unspill(MessageRef m, uint64_t store_seq, bool redelivered, uint32_t record_bytes);
  // Forgets the spilled messages that could not be read back (the caller
  // reports them).
  void DropSpilled();
  uint64_t spilled() const { return spilled_; }
  uint64_t spill_from() const { return spill_from_; }
  void set_spill_from(uint64_t seq) { spill_from_ = seq; }
  // Bytes of the ready messages held in memory.
  uint64_t resident_bytes() const { return resident_bytes_; }

  void AddConsumer(uint64_t consumer);
  // Returns the consumer's unacknowledged messages to the front of the ready
  // list (marked redelivered) and forgets the consumer.
  void RemoveConsumer(uint64_t consumer);
  const std::vector<uint64_t>& consumers() const { return consumers_; }
  // Where the next round of deliveries starts among consumers() (advances
  // each call), so that consumers take turns.
  size_t NextRound() { return round_++; }

  // Moves up to max_n ready messages (and at least one, if any is ready,
  // even above max_bytes) to the consumer's unacknowledged set.
  void Take(uint64_t consumer, size_t max_n, size_t max_bytes, std::vector<Taken>* out);
  // False if the tag is not outstanding for this consumer. *store_seq (if
  // given) is set to the message's store_seq.
  bool Ack(uint64_t consumer, uint64_t tag, uint64_t* store_seq = nullptr);

  size_t ready() const { return ready_.size() + spilled_; }
  size_t resident() const { return ready_.size(); }
  size_t unacked() const { return unacked_count_; }
  uint64_t bytes() const { return bytes_; }
  uint64_t disk_bytes() const { return disk_bytes_; }  // records of messages not yet acknowledged
  const Counters& counters() const { return counters_; }

 private:
  struct Entry {
    MessageRef message;
    bool redelivered = false;
    uint32_t record_bytes = 0;
    uint64_t store_seq = 0;
  };
  std::string name_;
  Limits limits_;
  std::vector<Pattern> bindings_;
  std::deque<Entry> ready_;
  absl::flat_hash_map<uint64_t, absl::flat_hash_map<uint64_t, Entry>> unacked_;  // consumer -> tag -> entry
  std::vector<uint64_t> consumers_;
  size_t unacked_count_ = 0;
  size_t round_ = 0;
  uint64_t bytes_ = 0;
  uint64_t disk_bytes_ = 0;
  uint64_t spilled_ = 0, spilled_bytes_ = 0, spilled_record_bytes_ = 0, spill_from_ = 0;
  uint64_t resident_bytes_ = 0;
  uint64_t reserved_bytes_ = 0, reserved_messages_ = 0;
  uint32_t store_id_ = 0;
  uint64_t next_tag_ = 1;
  Counters counters_;
};

}  // namespace govstream::mq

#endif  // GOVSTREAM_MQ_QUEUE_H_
