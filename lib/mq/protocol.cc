#include "mq/protocol.h"

#include <cstring>

#include "mq/topic.h"

namespace govstream::mq::proto {
namespace {

template <typename T>
void Put(T v, std::string* out) {
  char b[sizeof(T)];
  for (size_t i = 0; i < sizeof(T); ++i) b[i] = static_cast<char>((static_cast<uint64_t>(v) >> (8 * i)) & 0xff);
  out->append(b, sizeof(T));
}

template <typename Len>
void PutString(std::string_view s, std::string* out) {
  Put<Len>(static_cast<Len>(s.size()), out);
  out->append(s);
}

// Bounds-checked little-endian reader over one body frame. The first failure
// sticks: later reads return zero values and ok() stays false.
class Reader {
 public:
  Reader(Command c, std::string_view body) : command_(c), body_(body) {}

  template <typename T>
  T Get(const char* what) {
    if (!Need(sizeof(T), what)) return T{};
    uint64_t v = 0;
    for (size_t i = 0; i < sizeof(T); ++i) v |= static_cast<uint64_t>(static_cast<unsigned char>(body_[at_ + i])) << (8 * i);
    at_ += sizeof(T);
    return static_cast<T>(v);
  }
  template <typename Len>
  std::string_view GetString(const char* what) {
    Len n = Get<Len>(what);
    if (!Need(n, what)) return {};
    std::string_view s = body_.substr(at_, n);
    at_ += n;
    return s;
  }
  // Fails unless the whole body was consumed.
  Status Finish() {
    if (status_.ok() && at_ != body_.size()) Fail(std::to_string(body_.size() - at_) + " unexpected trailing bytes");
    return status_;
  }
  bool ok() const { return status_.ok(); }
  size_t remaining() const { return body_.size() - at_; }
  void Fail(const std::string& why) {
    if (status_.ok()) status_ = Status::DataError(std::string(CommandName(command_)) + ": " + why);
  }

 private:
  bool Need(size_t n, const char* what) {
    if (!status_.ok()) return false;
    if (body_.size() - at_ < n) {
      Fail(std::string("truncated ") + what);
      return false;
    }
    return true;
  }
  Command command_;
  std::string_view body_;
  size_t at_ = 0;
  Status status_;
};

void CheckTopic(Reader* r, std::string_view topic) {
  if (!r->ok()) return;
  Status s = ValidateTopic(topic);
  if (!s.ok()) r->Fail(s.message());
}

}  // namespace

const char* CommandName(Command c) {
  switch (c) {
    case Command::kHello: return "HELLO";
    case Command::kWelcome: return "WELCOME";
    case Command::kPublish: return "PUBLISH";
    case Command::kConfirm: return "CONFIRM";
    case Command::kSubscribe: return "SUBSCRIBE";
    case Command::kSubscribed: return "SUBSCRIBED";
    case Command::kDeliver: return "DELIVER";
    case Command::kAck: return "ACK";
    case Command::kHeartbeat: return "HEARTBEAT";
    case Command::kBye: return "BYE";
    case Command::kError: return "ERROR";
    case Command::kDenied: return "DENIED";
  }
  return "UNKNOWN";
}

std::string EncodeHeader(Command c) {
  std::string h = "GQ";
  h.push_back(static_cast<char>(kVersion));
  h.push_back(static_cast<char>(c));
  return h;
}

Status DecodeHeader(std::string_view frame, Command* c) {
  if (frame.size() != kHeaderBytes || frame[0] != 'G' || frame[1] != 'Q') {
    return Status::DataError("not a govstream header frame (expected 4 bytes 'G' 'Q' version command)");
  }
  if (static_cast<uint8_t>(frame[2]) != kVersion) {
    return Status::DataError("unsupported protocol version " + std::to_string(static_cast<uint8_t>(frame[2])) +
                             " (this side speaks version 1)");
  }
  auto code = static_cast<uint8_t>(frame[3]);
  if (code < static_cast<uint8_t>(Command::kHello) || code > static_cast<uint8_t>(Command::kDenied)) {
    return Status::DataError("unknown command " + std::to_string(code));
  }
  *c = static_cast<Command>(code);
  return Status::Ok();
}

std::string EncodeHello(const Hello& h) {
  std::string out;
  Put<uint8_t>(static_cast<uint8_t>(h.role), &out);
  PutString<uint8_t>(h.publisher.substr(0, kMaxPublisherBytes), &out);
  return out;
}

Status DecodeHello(std::string_view body, Hello* h) {
  Reader r(Command::kHello, body);
  auto role = r.Get<uint8_t>("role");
  h->publisher = r.GetString<uint8_t>("publisher id");
  if (r.ok() && role != static_cast<uint8_t>(Role::kPublisher) && role != static_cast<uint8_t>(Role::kSubscriber)) {
    r.Fail("unknown role " + std::to_string(role));
  }
  if (r.ok() && h->publisher.empty()) r.Fail("empty publisher id");
  h->role = static_cast<Role>(role);
  return r.Finish();
}

std::string EncodeWelcome(const Welcome& w) {
  std::string out;
  Put<uint32_t>(w.heartbeat_ms, &out);
  Put<uint32_t>(w.max_message_bytes, &out);
  Put<uint32_t>(w.max_frame_bytes, &out);
  return out;
}

Status DecodeWelcome(std::string_view body, Welcome* w) {
  Reader r(Command::kWelcome, body);
  w->heartbeat_ms = r.Get<uint32_t>("heartbeat");
  w->max_message_bytes = r.Get<uint32_t>("max message bytes");
  w->max_frame_bytes = r.Get<uint32_t>("max frame bytes");
  if (r.ok() && w->heartbeat_ms == 0) r.Fail("heartbeat interval 0");
  return r.Finish();
}

void EncodePublish(const PublishBatch& b, std::string* out) {
  size_t start = out->size();
  BeginPublish(out);
  for (const Message& m : b.messages) AppendPublish(m, out);
  std::string tail = out->substr(start);
  FinishPublish(b.first_seq, b.ts_us, b.flags, static_cast<uint32_t>(b.messages.size()), &tail);
  out->replace(start, std::string::npos, tail);
}

void BeginPublish(std::string* out) { out->append(kPublishHeaderBytes, '\0'); }

void AppendPublish(const Message& m, std::string* out) {
  PutString<uint16_t>(m.topic, out);
  PutString<uint32_t>(m.payload, out);
}

void FinishPublish(uint64_t first_seq, uint64_t ts_us, uint8_t flags, uint32_t count, std::string* out) {
  std::string h;
  Put<uint64_t>(first_seq, &h);
  Put<uint64_t>(ts_us, &h);
  Put<uint8_t>(flags, &h);
  Put<uint32_t>(count, &h);
  out->replace(0, h.size(), h);
}

Status DecodePublish(std::string_view body, PublishBatch* b) {
  Reader r(Command::kPublish, body);
  b->first_seq = r.Get<uint64_t>("first sequence number");
  b->ts_us = r.Get<uint64_t>("timestamp");
  b->flags = r.Get<uint8_t>("flags");
  uint32_t n = r.Get<uint32_t>("message count");
  b->messages.clear();
  if (r.ok() && (b->flags & ~kPublishMandatory) != 0) r.Fail("unknown flags " + std::to_string(b->flags));
  if (r.ok() && n == 0) r.Fail("empty batch");
  // Each message takes at least 6 bytes: never reserve more than the body holds.
  if (r.ok() && n > r.remaining() / 6) r.Fail("message count " + std::to_string(n) + " exceeds the frame");
  for (uint32_t i = 0; i < n && r.ok(); ++i) {
    Message m;
    m.topic = r.GetString<uint16_t>("topic");
    m.payload = r.GetString<uint32_t>("payload");
    CheckTopic(&r, m.topic);
    b->messages.push_back(m);
  }
  return r.Finish();
}

std::string EncodeConfirm(const Confirm& c) {
  std::string out;
  Put<uint64_t>(c.first_seq, &out);
  Put<uint32_t>(c.count, &out);
  Put<uint32_t>(static_cast<uint32_t>(c.refused.size()), &out);
  for (uint32_t i : c.refused) Put<uint32_t>(i, &out);
  PutString<uint16_t>(c.reason.substr(0, 65535), &out);
  return out;
}

Status DecodeConfirm(std::string_view body, Confirm* c) {
  Reader r(Command::kConfirm, body);
  c->first_seq = r.Get<uint64_t>("first sequence number");
  c->count = r.Get<uint32_t>("count");
  uint32_t n = r.Get<uint32_t>("refused count");
  c->refused.clear();
  if (r.ok() && (n > c->count || n > r.remaining() / 4)) r.Fail("refused count " + std::to_string(n) + " out of range");
  for (uint32_t i = 0; i < n && r.ok(); ++i) {
    uint32_t at = r.Get<uint32_t>("refused index");
    if (r.ok() && (at >= c->count || (!c->refused.empty() && at <= c->refused.back()))) {
      r.Fail("refused index " + std::to_string(at) + " out of order or range");
    }
    c->refused.push_back(at);
  }
  c->reason = r.GetString<uint16_t>("reason");
  return r.Finish();
}

std::string EncodeSubscribe(const Subscribe& s) {
  std::string out;
  Put<uint32_t>(s.prefetch, &out);
  PutString<uint8_t>(s.queue, &out);
  Put<uint8_t>(static_cast<uint8_t>(s.patterns.size()), &out);
  for (std::string_view p : s.patterns) PutString<uint8_t>(p, &out);
  return out;
}

Status DecodeSubscribe(std::string_view body, Subscribe* s) {
  Reader r(Command::kSubscribe, body);
  s->prefetch = r.Get<uint32_t>("prefetch");
  s->queue = r.GetString<uint8_t>("queue name");
  auto n = r.Get<uint8_t>("pattern count");
  s->patterns.clear();
  for (uint8_t i = 0; i < n && r.ok(); ++i) {
    std::string_view p = r.GetString<uint8_t>("pattern");
    if (!r.ok()) break;
    Pattern parsed;
    Status ps = Pattern::Parse(p, &parsed);
    if (!ps.ok()) r.Fail(ps.message());
    s->patterns.push_back(p);
  }
  if (r.ok() && n == 0) r.Fail("no pattern");
  if (r.ok() && s->prefetch == 0 && s->queue.empty()) r.Fail("prefetch 0 without a queue");
  if (r.ok() && !s->queue.empty()) {
    Status qs = ValidateTopic(s->queue);  // queue names follow the topic word rules
    if (!qs.ok()) r.Fail("queue name: " + qs.message());
  }
  return r.Finish();
}

std::string EncodeSubscribed(const Subscribed& s) {
  std::string out;
  PutString<uint8_t>(s.queue, &out);
  Put<uint64_t>(s.depth, &out);
  return out;
}

Status DecodeSubscribed(std::string_view body, Subscribed* s) {
  Reader r(Command::kSubscribed, body);
  s->queue = r.GetString<uint8_t>("queue name");
  s->depth = r.Get<uint64_t>("depth");
  return r.Finish();
}

void BeginDeliver(std::string* out) { Put<uint32_t>(0, out); }

void AppendDelivery(const Delivery& d, std::string* out) {
  Put<uint64_t>(d.tag, out);
  Put<uint8_t>(d.redelivered ? kFlagRedelivered : 0, out);
  PutString<uint8_t>(d.publisher.substr(0, kMaxPublisherBytes), out);
  Put<uint64_t>(d.seq, out);
  Put<uint64_t>(d.ts_us, out);
  PutString<uint16_t>(d.topic, out);
  PutString<uint32_t>(d.payload, out);
}

void FinishDeliver(uint32_t count, std::string* out) {
  for (size_t i = 0; i < 4; ++i) (*out)[i] = static_cast<char>((count >> (8 * i)) & 0xff);
}

Status DecodeDeliver(std::string_view body, std::vector<Delivery>* out) {
  Reader r(Command::kDeliver, body);
  uint32_t n = r.Get<uint32_t>("message count");
  out->clear();
  if (r.ok() && n > r.remaining() / 32) r.Fail("message count " + std::to_string(n) + " exceeds the frame");
  for (uint32_t i = 0; i < n && r.ok(); ++i) {
    Delivery d;
    d.tag = r.Get<uint64_t>("delivery tag");
    auto flags = r.Get<uint8_t>("flags");
    d.redelivered = (flags & kFlagRedelivered) != 0;
    d.publisher = r.GetString<uint8_t>("publisher id");
    d.seq = r.Get<uint64_t>("sequence number");
    d.ts_us = r.Get<uint64_t>("timestamp");
    d.topic = r.GetString<uint16_t>("topic");
    d.payload = r.GetString<uint32_t>("payload");
    CheckTopic(&r, d.topic);
    out->push_back(d);
  }
  return r.Finish();
}

std::string EncodeAck(const Ack& a) {
  std::string out;
  Put<uint32_t>(a.credit, &out);
  Put<uint32_t>(static_cast<uint32_t>(a.tags.size()), &out);
  for (uint64_t t : a.tags) Put<uint64_t>(t, &out);
  return out;
}

Status DecodeAck(std::string_view body, Ack* a) {
  Reader r(Command::kAck, body);
  a->credit = r.Get<uint32_t>("credit");
  uint32_t n = r.Get<uint32_t>("tag count");
  a->tags.clear();
  if (r.ok() && n > r.remaining() / 8) r.Fail("tag count " + std::to_string(n) + " exceeds the frame");
  for (uint32_t i = 0; i < n && r.ok(); ++i) a->tags.push_back(r.Get<uint64_t>("tag"));
  return r.Finish();
}

std::string EncodeReason(std::string_view reason) {
  std::string out;
  PutString<uint16_t>(reason.substr(0, 65535), &out);
  return out;
}

Status DecodeReason(std::string_view body, std::string_view* reason) {
  Reader r(Command::kError, body);
  *reason = r.GetString<uint16_t>("reason");
  return r.Finish();
}

}  // namespace govstream::mq::proto
