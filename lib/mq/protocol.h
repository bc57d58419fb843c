// The govstream messaging protocol, version 1: encoding and decoding of the
// frames exchanged between a client (mq-pub, mq-sub: ZeroMQ DEALER) and
// mq-broker (ROUTER). docs/protocol.md is the grammar; this file is its one
// implementation, shared by both sides and by the fuzz target.
//
// Every message is a header frame ("GQ", version, command) followed by at
// most one body frame. Integers are little-endian. Decoders never trust
// their input: any truncation, trailing byte, bad length or invalid topic is
// a DataError naming the command and what is wrong, and the decoded views
// point into the caller's frame (valid as long as it is).
// Stateless; thread-safe.
#ifndef GOVSTREAM_MQ_PROTOCOL_H_
#define GOVSTREAM_MQ_PROTOCOL_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace govstream::mq::proto {

constexpr uint8_t kVersion = 1;
constexpr size_t kHeaderBytes = 4;
constexpr size_t kMaxPublisherBytes = 255;

enum class Command : uint8_t {
  kHello = 1,       // c->b  role, publisher id
  kWelcome = 2,     // b->c  heartbeat interval, limits
  kPublish = 3,     // c->b  a batch of messages
  kConfirm = 4,     // b->c  the outcome of one PUBLISH batch
  kSubscribe = 5,   // c->b  patterns, optional queue, prefetch
  kSubscribed = 6,  // b->c  the subscription is active
  kDeliver = 7,     // b->c  a batch of messages
  kAck = 8,         // c->b  credit returned, queue messages acknowledged
  kHeartbeat = 9,   // both  liveness, when nothing else was sent
  kBye = 10,        // both  orderly end of the session, with a reason
  kError = 11,      // b->c  the last command was refused, with a reason
  kDenied = 12,     // b->c  refused by the access control (--acl, --authorized-keys),
                    //       with a reason; the session ends
};
const char* CommandName(Command c);

std::string EncodeHeader(Command c);
// DataError if the frame is not a version-1 header of a known command.
Status DecodeHeader(std::string_view frame, Command* c);

enum class Role : uint8_t { kPublisher = 1, kSubscriber = 2 };

struct Hello {
  Role role = Role::kPublisher;
  std::string_view publisher;  // publisher id (for a subscriber: its name)
};
std::string EncodeHello(const Hello& h);
Status DecodeHello(std::string_view body, Hello* h);

struct Welcome {
  uint32_t heartbeat_ms = 1000;
  uint32_t max_message_bytes = 0;  // largest payload the broker accepts
  uint32_t max_frame_bytes = 0;    // largest body frame (a batch)
};
std::string EncodeWelcome(const Welcome& w);
Status DecodeWelcome(std::string_view body, Welcome* w);

struct Message {
  std::string_view topic;
  std::string_view payload;
};
constexpr uint8_t kPublishMandatory = 1;  // refuse messages that reach no queue or subscriber
struct PublishBatch {
  uint64_t first_seq = 0;  // sequence number of messages[0]; then +1 each
  uint64_t ts_us = 0;      // publisher's clock when sent, µs since the epoch
  uint8_t flags = 0;       // kPublishMandatory
  std::vector<Message> messages;
};
// Appends to *out. Message topics are not validated here (the encoder is
// the client's; it validated them); the decoder validates every topic.
void EncodePublish(const PublishBatch& b, std::string* out);
// Encoding size of one message inside a batch.
inline size_t PublishEntryBytes(const Message& m) { return 2 + m.topic.size() + 4 + m.payload.size(); }
constexpr size_t kPublishHeaderBytes = 8 + 8 + 1 + 4;
Status DecodePublish(std::string_view body, PublishBatch* b);
// Incremental form (what mq-pub uses): Begin, Append each message, then
// Finish patches the header fields.
void BeginPublish(std::string* out);
void AppendPublish(const Message& m, std::string* out);
void FinishPublish(uint64_t first_seq, uint64_t ts_us, uint8_t flags, uint32_t count, std::string* out);

struct Confirm {
  uint64_t first_seq = 0;
  uint32_t count = 0;
  std::vector<uint32_t> refused;  // indexes into the batch, ascending
  std::string_view reason;        // why (when refused is non-empty)
};
std::string EncodeConfirm(const Confirm& c);
Status DecodeConfirm(std::string_view body, Confirm* c);

struct Subscribe {
  std::vector<std::string_view> patterns;  // at least one
  std::string_view queue;                  // empty: fan-out
  uint32_t prefetch = 0;                   // > 0; 0 with a queue: only declare it
};
std::string EncodeSubscribe(const Subscribe& s);
Status DecodeSubscribe(std::string_view body, Subscribe* s);

struct Subscribed {
  std::string_view queue;  // empty for fan-out
  uint64_t depth = 0;      // messages waiting in the queue
};
std::string EncodeSubscribed(const Subscribed& s);
Status DecodeSubscribed(std::string_view body, Subscribed* s);

struct Delivery {
  uint64_t tag = 0;  // queue delivery tag to acknowledge; 0 for fan-out
  bool redelivered = false;
  std::string_view publisher;
  uint64_t seq = 0;
  uint64_t ts_us = 0;
  std::string_view topic;
  std::string_view payload;
};
constexpr uint8_t kFlagRedelivered = 1;
inline size_t DeliveryBytes(const Delivery& d) {
  return 8 + 1 + 1 + d.publisher.size() + 8 + 8 + 2 + d.topic.size() + 4 + d.payload.size();
}
// A DELIVER body is a u32 count then the entries; the broker appends entries
// one by one and patches the count.
void BeginDeliver(std::string* out);
void AppendDelivery(const Delivery& d, std::string* out);
void FinishDeliver(uint32_t count, std::string* out);
Status DecodeDeliver(std::string_view body, std::vector<Delivery>* out);

struct Ack {
  uint32_t credit = 0;          // messages the client has finished with
  std::vector<uint64_t> tags;   // queue deliveries acknowledged
};
std::string EncodeAck(const Ack& a);
Status DecodeAck(std::string_view body, Ack* a);

// BYE and ERROR carry one reason text.
std::string EncodeReason(std::string_view reason);
Status DecodeReason(std::string_view body, std::string_view* reason);

}  // namespace govstream::mq::proto

#endif  // GOVSTREAM_MQ_PROTOCOL_H_
