// Messaging (lib/mq): topic pattern matching as a table, the protocol codec
// (round trips and rejection of malformed bodies), the broker's per-peer
// state table, queue semantics (limits, acknowledgement, redelivery),
// polling a pipe whose reader left, and mq-pub's summary line.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fmt/format.h>
#include <memory>
#include <string>
#include <vector>

#include "base/crc32c.h"
#include "mq/broker_fsm.h"
#include "mq/protocol.h"
#include "mq/publish.h"
#include "mq/queue.h"
#include "mq/store.h"
#include "mq/topic.h"
#include "mq/transport.h"
#include "time/timestamp.h"

namespace gm = govstream::mq;
namespace gp = govstream::mq::proto;

namespace {

struct MatchCase {
  const char* pattern;
  const char* topic;
  bool matches;
};

// AMQP topic-exchange semantics, plus the $SYS rule.
const MatchCase kMatches[] = {
    {"a.b.c", "a.b.c", true},
    {"a.b.c", "a.b", false},
    {"a.b", "a.b.c", false},
    {"a.b.c", "a.b.cd", false},
    {"a.*.c", "a.b.c", true},
    {"a.*.c", "a.c", false},
    {"a.*.c", "a.b.b.c", false},
    {"*", "a", true},
    {"*", "a.b", false},
    {"*.*", "a.b", true},
    {"#", "a", true},
    {"#", "a.b.c", true},
    {"a.#", "a", true},
    {"a.#", "a.b", true},
    {"a.#", "a.b.c", true},
    {"a.#", "ab", false},
    {"a.#", "b.a", false},
    {"#.c", "c", true},
    {"#.c", "a.b.c", true},
    {"#.c", "a.b.cc", false},
    {"a.#.c", "a.c", true},
    {"a.#.c", "a.b.c", true},
    {"a.#.c", "a.b.x.c", true},
    {"a.#.c", "a.b.x.d", false},
    {"a.#.b.#.c", "a.b.c", true},
    {"a.#.b.#.c", "a.x.b.y.z.c", true},
    {"a.#.b.#.c", "a.x.y.z.c", false},
    {"#.#", "a", true},
    {"*.#", "a", true},
    {"#.*", "a.b", true},
    {"a.*.#", "a", false},
    {"a.*.#", "a.b", true},
    {"http.5xx", "http.5xx", true},
    // $SYS topics: only for patterns that start with $SYS.
    {"#", "$SYS.broker.stats", false},
    {"*.broker.stats", "$SYS.broker.stats", false},
    {"$SYS.#", "$SYS.broker.stats", true},
    {"$SYS.*.stats", "$SYS.broker.stats", true},
    {"$SYS.broker.stats", "$SYS.broker.stats", true},
    {"$SYS.#", "SYS.broker.stats", false},
    {"$SYS.#", "$SYSX.broker", false},
    {"#", "$SYSX.broker", true},
};

}  // namespace

TEST_CASE("topic patterns match as in AMQP topic exchanges, with the $SYS rule", "[mq]") {
  for (const MatchCase& c : kMatches) {
    gm::Pattern p;
    REQUIRE(gm::Pattern::Parse(c.pattern, &p).ok());
    INFO(c.pattern << " vs " << c.topic);
    CHECK(p.Matches(c.topic) == c.matches);
  }
}

TEST_CASE("invalid topics and patterns are refused with a reason", "[mq]") {
  const std::string too_long(256, 'x');
  for (const std::string& bad : {std::string(""), std::string(".a"), std::string("a."),
                                 std::string("a..b"), std::string("a b"), std::string("a.*"),
                                 std::string("a.#"), std::string("a*.b"), std::string("a.b#"),
                                 too_long}) {
    INFO(bad);
    CHECK_FALSE(gm::ValidateTopic(bad).ok());
  }
  for (const char* bad : {"", ".a", "a.", "a..b", "a*", "a.b*", "#a", "a.**", "a\tb"}) {
    gm::Pattern p;
    INFO(bad);
    CHECK_FALSE(gm::Pattern::Parse(bad, &p).ok());
  }
  CHECK(gm::ValidateTopic("http.5xx.api-v1").ok());
  CHECK(gm::ValidateTopic("$SYS.broker.stats").ok());
}

TEST_CASE("a pattern's literal prefix is what a ZeroMQ SUB can filter on", "[mq]") {
  auto prefix = [](const char* text) {
    gm::Pattern p;
    REQUIRE(gm::Pattern::Parse(text, &p).ok());
    return p.LiteralPrefix();
  };
  CHECK(prefix("a.b.*") == "a.b.");
  CHECK(prefix("#") == "");
  CHECK(prefix("a.#.c") == "a.");
  CHECK(prefix("a.b") == "a.b");
}

TEST_CASE("protocol: every command round-trips", "[mq]") {
  gp::Command c;
  REQUIRE(gp::DecodeHeader(gp::EncodeHeader(gp::Command::kDeliver), &c).ok());
  CHECK(c == gp::Command::kDeliver);

  // Decoded views point into the encoded frame: keep each one alive.
  gp::Hello h{gp::Role::kSubscriber, "me-1"}, h2;
  std::string hello = gp::EncodeHello(h);
  REQUIRE(gp::DecodeHello(hello, &h2).ok());
  CHECK(h2.role == gp::Role::kSubscriber);
  CHECK(h2.publisher == "me-1");

  gp::Welcome w{1500, 1 << 20, 2 << 20}, w2;
  REQUIRE(gp::DecodeWelcome(gp::EncodeWelcome(w), &w2).ok());
  CHECK(w2.heartbeat_ms == 1500);
  CHECK(w2.max_frame_bytes == (2u << 20));

  gp::PublishBatch b, b2;
  b.first_seq = 41;
  b.ts_us = 1700000000000000;
  b.messages = {{"a.b", "{\"x\":1}"}, {"c", std::string_view("\0z", 2)}};
  std::string body;
  gp::EncodePublish(b, &body);
  REQUIRE(gp::DecodePublish(body, &b2).ok());
  CHECK(b2.first_seq == 41);
  CHECK(b2.ts_us == b.ts_us);
  REQUIRE(b2.messages.size() == 2);
  CHECK(b2.messages[1].topic == "c");
  CHECK(b2.messages[1].payload == std::string_view("\0z", 2));

  gp::Confirm cf{7, 10, {2, 5}, "queue 'q' is full"}, cf2;
  std::string confirm = gp::EncodeConfirm(cf);
  REQUIRE(gp::DecodeConfirm(confirm, &cf2).ok());
  CHECK(cf2.refused == std::vector<uint32_t>{2, 5});
  CHECK(cf2.reason == "queue 'q' is full");

  gp::Subscribe s{{"a.#", "$SYS.#"}, "jobs", 100}, s2;
  std::string subscribe = gp::EncodeSubscribe(s);
  REQUIRE(gp::DecodeSubscribe(subscribe, &s2).ok());
  CHECK(s2.patterns.size() == 2);
  CHECK(s2.queue == "jobs");
  CHECK(s2.prefetch == 100);

  std::string deliver;
  gp::BeginDeliver(&deliver);
  gp::Delivery d{.tag = 9, .redelivered = true, .publisher = "p", .seq = 3, .ts_us = 5, .topic = "t.u", .payload = "{}"};
  gp::AppendDelivery(d, &deliver);
  CHECK(deliver.size() == 4 + gp::DeliveryBytes(d));
  gp::FinishDeliver(1, &deliver);
  std::vector<gp::Delivery> ds;
  REQUIRE(gp::DecodeDeliver(deliver, &ds).ok());
  REQUIRE(ds.size() == 1);
  CHECK(ds[0].tag == 9);
  CHECK(ds[0].redelivered);
  CHECK(ds[0].payload == "{}");

  gp::Ack a{12, {1, 2, 3}}, a2;
  REQUIRE(gp::DecodeAck(gp::EncodeAck(a), &a2).ok());
  CHECK(a2.credit == 12);
  CHECK(a2.tags.size() == 3);
}

TEST_CASE("protocol: malformed frames are rejected with a reason", "[mq]") {
  gp::Command c;
  CHECK_FALSE(gp::DecodeHeader("GQ\x01", &c).ok());                       // short
  CHECK_FALSE(gp::DecodeHeader(std::string("GQ\x02\x01", 4), &c).ok());   // version 2
  CHECK_FALSE(gp::DecodeHeader(std::string("GQ\x01\x00", 4), &c).ok());   // command 0
  CHECK_FALSE(gp::DecodeHeader(std::string("GQ\x01\x0d", 4), &c).ok());   // unknown command
  CHECK_FALSE(gp::DecodeHeader("XQ\x01\x01", &c).ok());

  gp::PublishBatch b;
  b.messages = {{"a.b", "{}"}};
  std::string body;
  gp::EncodePublish(b, &body);
  for (size_t cut = 0; cut < body.size(); ++cut) {
    gp::PublishBatch out;
    INFO("truncated at " << cut);
    CHECK_FALSE(gp::DecodePublish(body.substr(0, cut), &out).ok());
  }
  gp::PublishBatch out;
  CHECK_FALSE(gp::DecodePublish(body + "x", &out).ok());  // trailing byte
  gp::PublishBatch bad_topic;
  bad_topic.messages = {{"a..b", "{}"}};
  std::string bt;
  gp::EncodePublish(bad_topic, &bt);
  govstream::Status s = gp::DecodePublish(bt, &out);
  CHECK_FALSE(s.ok());
  CHECK(s.message().find("PUBLISH") != std::string::npos);
  // A count far beyond what the frame holds is refused before any allocation.
  std::string huge(gp::kPublishHeaderBytes, '\0');
  huge[17] = huge[18] = huge[19] = huge[20] = '\xff';
  CHECK_FALSE(gp::DecodePublish(huge, &out).ok());

  gp::Subscribe sub;
  CHECK_FALSE(gp::DecodeSubscribe(gp::EncodeSubscribe({{"a.b*"}, "", 10}), &sub).ok());
  CHECK_FALSE(gp::DecodeSubscribe(gp::EncodeSubscribe({{"a"}, "", 0}), &sub).ok());  // prefetch 0, fan-out
  std::string declare = gp::EncodeSubscribe({{"a"}, "q", 0});
  CHECK(gp::DecodeSubscribe(declare, &sub).ok());  // prefetch 0 with a queue: declare only
  CHECK_FALSE(gp::DecodeSubscribe(gp::EncodeSubscribe({{}, "", 10}), &sub).ok());   // no pattern
  gp::Hello h;
  CHECK_FALSE(gp::DecodeHello(std::string("\x03\x01x", 3), &h).ok());  // unknown role
  gp::Confirm cf;
  CHECK_FALSE(gp::DecodeConfirm(gp::EncodeConfirm({1, 2, {1, 0}, ""}), &cf).ok());  // out of order
  CHECK_FALSE(gp::DecodeConfirm(gp::EncodeConfirm({1, 2, {2}, ""}), &cf).ok());     // out of range
}

TEST_CASE("broker state table: allowed transitions, refusals elsewhere", "[mq]") {
  using S = gm::PeerState;
  using E = gm::PeerEvent;
  using A = gm::PeerAction;
  CHECK(gm::NextTransition(S::kConnected, E::kHello).action == A::kWelcome);
  CHECK(gm::NextTransition(S::kConnected, E::kHello).next == S::kReady);
  CHECK(gm::NextTransition(S::kConnected, E::kPublish).action == A::kRefuse);
  CHECK(gm::NextTransition(S::kReady, E::kHello).action == A::kRefuse);
  CHECK(gm::NextTransition(S::kReady, E::kPublish).next == S::kPublishing);
  CHECK(gm::NextTransition(S::kReady, E::kSubscribeQueue).next == S::kConsuming);
  CHECK(gm::NextTransition(S::kReady, E::kSubscribeFanout).next == S::kSubscribed);
  CHECK(gm::NextTransition(S::kPublishing, E::kSubscribeFanout).action == A::kRefuse);
  CHECK(gm::NextTransition(S::kSubscribed, E::kPublish).action == A::kRefuse);
  CHECK(gm::NextTransition(S::kConsuming, E::kAck).action == A::kAck);
  CHECK(gm::NextTransition(S::kReady, E::kAck).action == A::kRefuse);
  for (S s : {S::kConnected, S::kReady, S::kPublishing, S::kSubscribed, S::kConsuming}) {
    CHECK(gm::NextTransition(s, E::kHeartbeat).action == A::kTouch);
    CHECK(gm::NextTransition(s, E::kHeartbeat).next == s);
    CHECK(gm::NextTransition(s, E::kBye).next == S::kGone);
    CHECK(gm::NextTransition(s, E::kExpired).action == A::kClose);
  }
}

namespace {

gm::MessageRef Msg(const std::string& payload) {
  auto m = std::make_shared<gm::StoredMessage>();
  m->topic.push_back('t');
  m->payload = payload;
  m->publisher = std::make_shared<const std::string>("p");
  return m;
}

}  // namespace

TEST_CASE("queue: limits refuse, acknowledgement frees, a lost consumer's messages come back first", "[mq]") {
  gm::Queue q("jobs", {.max_bytes = 0, .max_messages = 3});
  std::string why;
  for (int i = 0; i < 3; ++i) {
    REQUIRE(q.HasRoom(2, &why));
    std::string payload = "m";
    payload += std::to_string(i);
    q.Push(Msg(payload));
  }
  CHECK_FALSE(q.HasRoom(2, &why));
  CHECK(why.find("--max-queue-messages 3") != std::string::npos);
  CHECK(q.counters().refused == 1);

  q.AddConsumer(1);
  q.AddConsumer(2);
  std::vector<gm::Queue::Taken> a, b;
  q.Take(1, 2, 1 << 20, &a);
  REQUIRE(a.size() == 2);
  CHECK(a[0].message->payload == "m0");
  q.Take(2, 5, 1 << 20, &b);
  REQUIRE(b.size() == 1);
  CHECK(b[0].message->payload == "m2");
  // Unacknowledged messages still count against the limit.
  CHECK_FALSE(q.HasRoom(2, &why));
  CHECK(q.Ack(1, a[0].tag));
  CHECK_FALSE(q.Ack(1, a[0].tag));  // twice
  CHECK_FALSE(q.Ack(2, a[1].tag));  // not consumer 2's
  CHECK(q.HasRoom(2, &why));
  q.Push(Msg("m3"));

  // Consumer 1 dies holding m1: m1 is redelivered before m3, marked.
  q.RemoveConsumer(1);
  CHECK(q.counters().redelivered == 1);
  std::vector<gm::Queue::Taken> c;
  q.Take(2, 5, 1 << 20, &c);
  REQUIRE(c.size() == 2);
  CHECK(c[0].message->payload == "m1");
  CHECK(c[0].redelivered);
  CHECK(c[1].message->payload == "m3");
  CHECK_FALSE(c[1].redelivered);
  CHECK(q.unacked() == 3);
}

TEST_CASE("queue: byte limit and binding", "[mq]") {
  gm::Queue q("q", {.max_bytes = 10, .max_messages = 0});
  gm::Pattern p;
  REQUIRE(gm::Pattern::Parse("a.#", &p).ok());
  q.Bind(p);
  q.Bind(p);
  CHECK(q.bindings().size() == 1);
  CHECK(q.Matches("a.b"));
  CHECK_FALSE(q.Matches("b"));
  std::string why;
  CHECK(q.HasRoom(10, &why));
  q.Push(Msg("123456789"));  // 10 bytes with the topic
  CHECK_FALSE(q.HasRoom(1, &why));
  CHECK(why.find("--max-queue-bytes 10") != std::string::npos);
}

TEST_CASE("RFC 3339 formatting of microseconds", "[mq][time]") {
  CHECK(govstream::time::FormatRfc3339Us(0) == "1970-01-01T00:00:00.000000Z");
  CHECK(govstream::time::FormatRfc3339Us(1795315801123456) == "2026-11-22T02:50:01.123456Z");
  CHECK(govstream::time::FormatRfc3339Us(-1) == "1969-12-31T23:59:59.999999Z");
  CHECK(govstream::time::FormatRfc3339Us(951782400000000) == "2000-02-29T00:00:00.000000Z");
}

TEST_CASE("Poll reports a pipe whose reader has gone (mq-sub | head)", "[mq]") {
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  std::vector<gm::PollEntry> items = {{.fd = fds[1]}};
  REQUIRE(gm::Poll(&items, 0));
  CHECK_FALSE(items[0].error);  // a reader is there: nothing to report
  close(fds[0]);
  REQUIRE(gm::Poll(&items, 1000));  // returns at once: the error is there
  CHECK(items[0].error);
  CHECK_FALSE(items[0].readable);
  close(fds[1]);
}

TEST_CASE("mq-pub's summary: counts that add up, and unread input said",
          "[mq]") {
  gm::PublishResult r;
  CHECK(gm::PublishSummary(r) ==
        "nothing was published (the input was not read)");
  r.input_started = true;
  r.read = 33;
  r.lines = 33;
  r.sent = 31;
  r.confirmed = 15;
  CHECK(r.unconfirmed() == 18);
  CHECK(gm::PublishSummary(r) ==
        "15 of 33 lines confirmed, 0 refused, 18 not confirmed; the rest of "
        "the input was not read");
  r.input_ended = true;
  r.read = 35;
  r.skipped = 2;
  r.refused = 3;
  CHECK(r.read == r.confirmed + r.refused + r.unconfirmed() + r.skipped);
  CHECK(gm::PublishSummary(r) ==
        "15 of 33 lines confirmed, 3 refused, 15 not confirmed, 2 skipped");
  gm::PublishResult l;
  l.listen = true;
  l.input_started = true;
  l.read = l.lines = l.sent = 4;
  CHECK(gm::PublishSummary(l) ==
        "4 of 4 lines sent, at most once (nothing is confirmed with --listen); "
        "the rest of the input was not read");
}

TEST_CASE("CRC-32C matches the standard check value and extends piecewise", "[mq][store]") {
  const std::string s = "123456789";
  CHECK(govstream::Crc32c(s.data(), s.size()) == 0xE3069283u);
  CHECK(govstream::Crc32c("", 0) == 0u);
  // Any split gives the same checksum as one pass (the SSE4.2 path takes 8
  // bytes at a time, the tail one by one).
  std::string long_text(1000, '\0');
  for (size_t i = 0; i < long_text.size(); ++i) long_text[i] = static_cast<char>(i * 7 + 3);
  const uint32_t whole = govstream::Crc32c(long_text.data(), long_text.size());
  for (size_t cut : {0, 1, 7, 8, 9, 500, 999}) {
    uint32_t c = govstream::Crc32cExtend(0, long_text.data(), cut);
    CHECK(govstream::Crc32cExtend(c, long_text.data() + cut, long_text.size() - cut) == whole);
  }
}

TEST_CASE("store: a queue read back in small steps returns every message once, in order", "[mq][store]") {
  // A batch's DELIVERED record goes to the file before its messages but has
  // a later sequence number; reading back one message at a time must not
  // let that number carry the cursor past the unread messages.
  char dir_template[] = "/tmp/govstream-store-test-XXXXXX";
  REQUIRE(::mkdtemp(dir_template) != nullptr);
  const std::string dir = dir_template;
  govstream::io::Reporter reporter("mq_test");
  {
    std::unique_ptr<gm::Store> store;
    gm::Recovery recovery;
    REQUIRE(gm::Store::Open({.dir = dir, .fsync = gm::FsyncMode::kNever}, &reporter, &store, &recovery).ok());
    const uint32_t q = store->PutQueue("jobs", {"t"});
    std::vector<uint64_t> seqs;
    for (int batch = 0; batch < 3; ++batch) {
      for (int i = 0; i < 4; ++i) seqs.push_back(store->AppendMessage(q, *Msg(fmt::format("m{}", seqs.size()))));
      store->AppendDelivered(q, seqs.front());
      REQUIRE(store->Write().ok());
    }
    std::vector<std::string> got;
    uint64_t from = seqs.front();
    for (int call = 0; call < 100 && got.size() < seqs.size(); ++call) {
      std::vector<gm::Recovery::Message> out;
      uint64_t next = 0;
      REQUIRE(store->ReadQueue(q, from, /*max_bytes=*/1, seqs.size(), &out, &next).ok());
      REQUIRE(out.size() == 1);  // at least one message, never more than max_bytes allows
      got.push_back(out[0].message->payload);
      from = next;
    }
    REQUIRE(got.size() == seqs.size());
    for (size_t i = 0; i < got.size(); ++i) CHECK(got[i] == fmt::format("m{}", i));
  }
  std::filesystem::remove_all(dir);
  CHECK(reporter.errors() == 0);
}
