#include "mq/publish.h"

#include <fmt/core.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <deque>
#include <random>

#include "base/clock.h"
#include "io/signals.h"
#include "mq/client.h"
#include "mq/protocol.h"
#include "mq/topic.h"
#include "mq/transport.h"

namespace govstream::mq {
namespace {

constexpr size_t kWindow = 16;                  // batches awaiting confirmation
constexpr size_t kMaxBatchBytes = 1u << 20;
constexpr int64_t kIdleTickMs = 100;

// Evaluates the record's topic; false (and *error) if there is none.
bool TopicOf(const PublishOptions& o, stream::RecordReader* records, std::string* topic, std::string* error) {
  if (!o.topic_from) {
    *topic = o.topic;
    return true;
  }
  expr::Value v;
  expr::Expression::Result r = o.topic_from->Eval(records->value(), records->arena(), &v, error);
  if (r == expr::Expression::Result::kError) return false;
  if (r == expr::Expression::Result::kEmpty || !v.is_string()) {
    *error = r == expr::Expression::Result::kEmpty ? "--topic-from produced no value"
                                                    : std::string("--topic-from gave a ") + v.type_name() +
                                                          ", not a string";
    return false;
  }
  topic->assign(v.string());
  Status s = ValidateTopic(*topic);
  if (!s.ok()) {
    *error = "--topic-from: " + s.message();
    return false;
  }
  return true;
}

// One run against a broker.
class Publisher {
 public:
  Publisher(const PublishOptions& o, io::Reporter* r, Client* c, PublishResult* res)
      : o_(o), reporter_(r), client_(c), res_(res) {
    max_batch_bytes_ = std::min<uint64_t>(kMaxBatchBytes, c->max_batch_bytes());
  }

  // Adds one line; false when the run must stop (status in failure()).
  bool Add(std::string_view topic, std::string_view payload, stream::RecordReader* records) {
    if (payload.size() > client_->max_message_bytes()) {
      ++res_->refused;
      records->ReportCurrent(io::Problem::kEvalError,
                             fmt::format("{} bytes is more than the broker accepts (--max-message-bytes {}): "
                                         "not published",
                                         payload.size(), client_->max_message_bytes()));
      return true;
    }
    size_t entry = proto::PublishEntryBytes({topic, payload});
    if (count_ > 0 && client_->batch_bytes() + entry > max_batch_bytes_) {
      if (!SendBatch()) return false;
    }
    client_->Add(topic, payload);
    ++count_;
    if (count_ >= o_.batch) return SendBatch();
    return true;
  }

  // Sends the batch in progress (waiting for window space first).
  bool SendBatch() {
    if (count_ == 0) return true;
    while (inflight_.size() >= kWindow) {
      if (!Pump(o_.timeout_ms)) return false;
    }
    Status s = client_->SendBatch(next_seq_, static_cast<uint32_t>(count_), WallUs(), o_.mandatory);
    if (!s.ok()) return Fail(s);
    inflight_.push_back({next_seq_, count_, NowMs()});
    res_->sent += count_;
    next_seq_ += count_;
    count_ = 0;
    return true;
  }

  // Handles what the broker sent, waiting up to wait_ms for one command.
  // Not cut short by SIGINT/SIGTERM: confirmations are awaited, bounded by
  // the timeout and the broker's liveness (the reader stops on the signal).
  bool Pump(int64_t wait_ms) {
    bool got = false;
    Client::Event ev;
    for (;;) {
      Status s = client_->Wait(wait_ms, &got, &ev, /*interruptible=*/false);
      if (!s.ok()) return Fail(s);
      if (!got) break;
      if (!Handle(ev)) return false;
      wait_ms = 0;  // then drain what is already there
    }
    if (!inflight_.empty() && NowMs() - inflight_.front().sent_ms > o_.timeout_ms) {
      return Fail(Status(Status::Code::kTimeout, fmt::format("no confirmation from the broker at {} within {} ms",
                                                             o_.client.endpoint, o_.timeout_ms)));
    }
    return true;
  }

  // Waits (bounded by the timeout) until every sent batch is confirmed.
  bool Drain() {
    while (!inflight_.empty()) {
      if (!Pump(std::min<int64_t>(o_.timeout_ms, 100))) return false;
    }
    return true;
  }

  const Status& failure() const { return failure_; }

 private:
  struct Inflight {
    uint64_t first_seq;
    size_t count;
    int64_t sent_ms;
  };

  bool Fail(const Status& s) {
    if (failure_.ok()) failure_ = s;
    return false;
  }

  bool Handle(const Client::Event& ev) {
    if (ev.kind != Client::Event::Kind::kConfirm) {
      return Fail(Status(Status::Code::kConnection, "unexpected message from the broker at " + o_.client.endpoint));
    }
    const proto::Confirm& c = ev.confirm;
    // Before a failure, a backend may confirm the first part of the oldest
    // batch (client.h): the rest of it stays in flight, never confirmed.
    if (inflight_.empty() || inflight_.front().first_seq != c.first_seq || inflight_.front().count < c.count ||
        c.count == 0) {
      return Fail(Status(Status::Code::kConnection,
                         "confirmation for an unknown batch (sequence " + std::to_string(c.first_seq) + ")"));
    }
    if (c.count < inflight_.front().count) {
      inflight_.front().first_seq += c.count;
      inflight_.front().count -= c.count;
    } else {
      inflight_.pop_front();
    }
    res_->confirmed += c.count - c.refused.size();
    res_->refused += c.refused.size();
    if (!c.refused.empty() && refusals_shown_ < kRefusalsShown) {
      ++refusals_shown_;
      reporter_->Error(fmt::format("the broker refused {} of {} lines (sequence numbers from {}): {}",
                                   c.refused.size(), c.count, c.first_seq + c.refused.front(), c.reason));
    } else if (!c.refused.empty()) {
      ++hidden_batches_;
      hidden_lines_ += c.refused.size();
      last_hidden_reason_ = c.reason;
    }
    return true;
  }

  const PublishOptions& o_;
  io::Reporter* reporter_;
  Client* client_;
  PublishResult* res_;
  size_t count_ = 0;
  size_t max_batch_bytes_;
  uint64_t next_seq_ = 1;
  std::deque<Inflight> inflight_;
  Status failure_;
  // Refused batches: the first kRefusalsShown are reported in full, the
  // rest counted and summarised once by ReportHiddenRefusals().
  static constexpr int kRefusalsShown = 3;
  int refusals_shown_ = 0;
  uint64_t hidden_batches_ = 0;
  uint64_t hidden_lines_ = 0;
  std::string last_hidden_reason_;

 public:
  // One line for the refused batches not reported in full (none: nothing).
  void ReportHiddenRefusals() {
    if (hidden_batches_ == 0) return;
    reporter_->Error(fmt::format("the broker refused {} more line{} in {} more batch{}, not shown above (the last: {})",
                                 hidden_lines_, hidden_lines_ == 1 ? "" : "s", hidden_batches_,
                                 hidden_batches_ == 1 ? "" : "es", last_hidden_reason_));
  }
};

stream::RecordReader::Options ReaderOptions(const PublishOptions& o) {
  stream::RecordReader::Options ro;
  ro.max_line_bytes = o.input.max_line_bytes;
  ro.strict = o.input.strict;
  return ro;
}

// Waits (up to --connect-timeout) until a subscriber has subscribed to the
// XPUB socket: from then on what we send reaches it.
Status AwaitSubscriber(const PublishOptions& o, Socket* pub) {
  std::vector<PollEntry> items = {{pub}};
  Frames f;
  int64_t deadline = NowMs() + o.client.connect_timeout_ms;
  for (;;) {
    while (pub->Recv(&f)) {
      if (f.size() == 1 && !f[0].empty() && f[0][0] == 1)
        return Status::Ok();  // a subscription
    }
    if (io::InterruptRequested()) return Status::Interrupted();
    int64_t left = deadline - NowMs();
    if (left <= 0) {
      return Status(Status::Code::kConnection,
                    fmt::format("no subscriber (mq-sub --direct {}) subscribed "
                                "within {} ms (--connect-timeout)",
                                o.listen, o.client.connect_timeout_ms));
    }
    Poll(&items, std::min<int64_t>(left, 100));
  }
}

// What was read: valid records plus the `bad_lines` skipped as invalid;
// res->lines must already count the records to publish.
void CountInput(const stream::RecordReader& records, uint64_t bad_lines, PublishResult* res) {
  res->bytes_in = records.lines().bytes_read();
  res->boms_skipped = records.lines().boms_skipped();
  res->read = records.records() + bad_lines;
  res->skipped = res->read - res->lines;
  res->source_errors = records.source_errors();
}

PublishResult RunListen(const PublishOptions& o, io::Reporter* reporter) {
  PublishResult res;
  res.listen = true;
  Context ctx;
  Socket pub(&ctx, Socket::Type::kXPub);
  pub.SetSendHwm(100000);
  res.status = pub.Bind(o.listen);
  if (!res.status.ok()) return res;
  res.status = AwaitSubscriber(o, &pub);
  if (!res.status.ok()) return res;
  // Closing the socket (with the context, at return) waits up to --timeout
  // for connected subscribers to take what is still queued.
  pub.SetLinger(static_cast<int>(std::min<int64_t>(o.timeout_ms, INT_MAX)));

  res.input_started = true;
  uint64_t bad_before = reporter->bad_lines();
  io::Progress progress(o.input.progress);
  stream::RecordReader records(o.input.inputs, ReaderOptions(o), reporter);
  std::string topic, error;
  for (;;) {
    if (!records.Next()) {
      res.input_ended = records.status().ok();
      break;
    }
    records.ShowProgress(&progress);
    if (!TopicOf(o, &records, &topic, &error)) {
      if (!records.ReportCurrent(io::Problem::kEvalError, error)) break;
      continue;
    }
    ++res.lines;
    if (pub.Send({topic, records.line()}, false) == Socket::SendResult::kSent) ++res.sent;
  }
  records.FinishProgress(&progress);
  res.status = records.status();
  CountInput(records, reporter->bad_lines() - bad_before, &res);
  return res;  // nothing is confirmed in this mode: confirmed stays 0
}

}  // namespace

std::string DefaultPublisherId() {
  char host[256] = {0};
  if (gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0') std::snprintf(host, sizeof(host), "host");
  std::random_device rd;
  return fmt::format("{}-{}-{:04x}", host, static_cast<long>(getpid()), rd() & 0xffff);
}

std::string PublishSummary(const PublishResult& r) {
  if (!r.input_started) return "nothing was published (the input was not read)";
  std::string s =
      r.listen ? fmt::format(
                     "{} of {} lines sent, at most once (nothing is confirmed "
                     "with --listen)",
                     r.sent, r.lines)
               : fmt::format(
                     "{} of {} lines confirmed, {} refused, {} not confirmed",
                     r.confirmed, r.lines, r.refused, r.unconfirmed());
  if (r.skipped > 0) s += fmt::format(", {} skipped", r.skipped);
  if (!r.input_ended) s += "; the rest of the input was not read";
  return s;
}

PublishResult RunPublish(const PublishOptions& o, io::Reporter* reporter) {
  if (!o.listen.empty()) return RunListen(o, reporter);
  PublishResult res;
  std::unique_ptr<Client> client;
  ClientOptions co = o.client;
  co.role = proto::Role::kPublisher;
  co.name = o.publisher_id;
  res.status = Client::Connect(co, &client);
  if (!res.status.ok()) return res;

  Publisher pub(o, reporter, client.get(), &res);
  stream::RecordReader::Options ro = ReaderOptions(o);
  // Before the reader blocks for input: publish what we have, read replies.
  ro.before_block = [&] {
    if (pub.SendBatch()) pub.Pump(0);
  };
  ro.idle_tick_ms = kIdleTickMs;
  // A failure (e.g. the broker said BYE) stops the reader too.
  ro.on_idle_tick = [&] { return pub.failure().ok() && pub.Pump(0); };
  res.input_started = true;
  uint64_t bad_before = reporter->bad_lines();
  io::Progress progress(o.input.progress);
  stream::RecordReader records(o.input.inputs, ro, reporter);
  std::string topic, error;
  while (pub.failure().ok()) {
    if (!records.Next()) {
      res.input_ended = records.status().ok() && pub.failure().ok();
      break;
    }
    records.ShowProgress(&progress);
    if (!TopicOf(o, &records, &topic, &error)) {
      if (!records.ReportCurrent(io::Problem::kEvalError, error)) break;
      continue;
    }
    ++res.lines;
    if (!pub.Add(topic, records.line(), &records)) break;
  }
  records.FinishProgress(&progress);
  if (pub.failure().ok() && pub.SendBatch()) pub.Drain();
  pub.ReportHiddenRefusals();
  if (pub.failure().ok()) {
    client->Bye("done");
  }
  CountInput(records, reporter->bad_lines() - bad_before, &res);
  if (!pub.failure().ok()) {
    res.status = pub.failure();
    // A refusal that ended the run (RabbitMQ closes the channel over a line
    // larger than its max_message_size): the summary alone would not say why.
    if (res.status.code() == Status::Code::kUnconfirmed) reporter->Error(res.status.message());
  } else if (!records.status().ok()) {
    res.status = records.status();
  } else if (res.refused > 0) {
    res.status = Status(Status::Code::kUnconfirmed, "some lines were refused");
  } else if (io::InterruptRequested()) {
    res.status = Status::Interrupted();
  }
  return res;
}

}  // namespace govstream::mq
