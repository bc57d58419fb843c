#include "mq/subscribe.h"

#include <fmt/core.h>
#include <sys/stat.h>

#include <chrono>
#include <memory>

#include <simdjson.h>

#include "agg/sketches.h"
#include "base/clock.h"
#include "expr/json.h"
#include "expr/value.h"
#include "io/signals.h"
#include "mq/client.h"
#include "mq/protocol.h"
#include "mq/topic.h"
#include "mq/transport.h"
#include "time/timestamp.h"

namespace govstream::mq {
namespace {

// Writes messages as NDJSON lines and keeps the counts.
class LineSink {
 public:
  LineSink(const SubscribeOptions& o, io::OutputWriter* out, io::Reporter* r, SubscribeResult* res)
      : o_(o), out_(out), reporter_(r), res_(res) {}

  // False if the payload was skipped (reported).
  bool Write(proto::Delivery d) {
    // One line's terminator at the end of a payload (amqp-publish -l and
    // other line-based publishers send it) is the line's end, not content.
    if (!d.payload.empty() && d.payload.back() == '\n') d.payload.remove_suffix(1);
    if (!d.payload.empty() && d.payload.back() == '\r') d.payload.remove_suffix(1);
    ++res_->received;
    if (d.redelivered) ++res_->redelivered;
    // Latency (for --stats only): one clock read per batch, see BatchArrived().
    if (o_.stats && d.ts_us != 0) latency_ms_.Add(static_cast<double>(arrived_us_ - static_cast<int64_t>(d.ts_us)) / 1000.0);
    // mq-pub and the broker's plain-ZeroMQ inputs only pass valid JSON, but
    // any ZeroMQ client can speak the protocol: check before writing.
    std::string why;
    if (d.payload.find('\n') != std::string_view::npos) {
      why = "spans lines";
    } else {
      padded_.assign(d.payload);
      padded_.append(simdjson::SIMDJSON_PADDING, '\0');
      arena_.Reset();
      expr::Value v;
      if (!json_.Parse(std::string_view(padded_.data(), d.payload.size()), &arena_, &v, &why)) why = "is not JSON: " + why;
    }
    if (!why.empty()) {
      ++res_->bad;
      reporter_->Error(fmt::format("message {} from '{}' on topic {}: the payload {}; skipped", d.seq, d.publisher,
                                   d.topic, why));
      return false;
    }
    if (o_.envelope) {
      line_.clear();
      line_ += "{\"topic\":\"";
      line_ += io::JsonEscape(d.topic);
      line_ += "\",\"seq\":";
      line_ += std::to_string(d.seq);
      line_ += ",\"publisher\":\"";
      line_ += io::JsonEscape(d.publisher);
      line_ += "\",\"ts\":\"";
      line_ += time::FormatRfc3339Us(static_cast<int64_t>(d.ts_us));
      line_ += d.redelivered ? "\",\"redelivered\":true,\"payload\":" : "\",\"redelivered\":false,\"payload\":";
      out_->Write(line_);
      out_->Write(d.payload);
      out_->Write("}\n");
    } else {
      out_->Write(d.payload);
      out_->Put('\n');
    }
    ++res_->written;
    if (o_.line_buffered) out_->Flush();
    return true;
  }

  // Marks the arrival time of the batch about to be written.
  void BatchArrived() {
    if (o_.stats) arrived_us_ = WallUs();
  }

  std::string Stats(double seconds) const {
    auto q = [&](double p) {
      return latency_ms_.count() == 0 ? std::string("null") : fmt::format("{:.3f}", latency_ms_.Quantile(p));
    };
    return fmt::format(
        "{{\"program\":\"mq-sub\",\"messages\":{},\"written\":{},\"redelivered\":{},\"bad_payloads\":{},"
        "\"bytes_out\":{},\"seconds\":{:.3f},\"messages_per_sec\":{:.0f},\"latency_ms\":{{\"p50\":{},\"p99\":{}}}}}",
        res_->received, res_->written, res_->redelivered, res_->bad, out_->bytes_written(), seconds,
        seconds > 0 ? static_cast<double>(res_->received) / seconds : 0.0, q(0.5), q(0.99));
  }

 private:
  const SubscribeOptions& o_;
  io::OutputWriter* out_;
  io::Reporter* reporter_;
  SubscribeResult* res_;
  std::string line_;
  int64_t arrived_us_ = 0;
  std::string padded_;
  expr::JsonParser json_;
  expr::Arena arena_;
  agg::QuantileSketch latency_ms_;
};

// fd if it is a pipe (whose reader going away poll() reports), else -1.
int PipeToWatch(int fd) {
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0 || !S_ISFIFO(st.st_mode)) return -1;
  return fd;
}

Status Timeout(int64_t ms) {
  return Status(Status::Code::kTimeout, fmt::format("no message within {} ms (-W)", ms));
}

Status RunDirect(const SubscribeOptions& o, io::OutputWriter* out,
                 LineSink* sink, SubscribeResult* res, int watch_fd) {
  Context ctx;
  Socket sub(&ctx, Socket::Type::kSub);
  std::vector<Pattern> patterns(o.patterns.size());
  for (size_t i = 0; i < o.patterns.size(); ++i) {
    (void)Pattern::Parse(o.patterns[i], &patterns[i]);
    sub.Subscribe(patterns[i].LiteralPrefix());
  }
  Status s = sub.Connect(o.direct);
  if (!s.ok()) return s;
  std::vector<PollEntry> items = {{&sub}};
  if (watch_fd >= 0) items.push_back({.fd = watch_fd});
  Frames f;
  int64_t last = NowMs();
  uint64_t seq = 0;
  while (!io::InterruptRequested()) {
    int64_t wait = 1000;
    if (o.idle_timeout_ms > 0) wait = std::min(wait, last + o.idle_timeout_ms - NowMs());
    if (wait <= 0) return Timeout(o.idle_timeout_ms);
    Poll(&items, wait);
    if (items.size() > 1 && items[1].error) return Status::BrokenPipe();
    bool any = false;
    while (sub.Recv(&f)) {
      if (f.size() != 2) continue;
      bool match = false;
      for (const Pattern& p : patterns) match = match || p.Matches(f[0]);
      if (!match) continue;
      any = true;
      proto::Delivery d;
      d.topic = f[0];
      d.payload = f[1];
      d.publisher = "direct";
      d.seq = ++seq;
      sink->BatchArrived();
      sink->Write(d);
      if (o.count > 0 && res->written >= o.count) break;
    }
    out->Flush();
    if (out->failed()) return out->status();
    if (any) last = NowMs();
    if (o.count > 0 && res->written >= o.count) return Status::Ok();
  }
  return Status::Interrupted();
}

Status RunBroker(const SubscribeOptions& o, io::OutputWriter* out,
                 LineSink* sink, SubscribeResult* res, int watch_fd) {
  std::unique_ptr<Client> client;
  ClientOptions co = o.client;
  co.role = proto::Role::kSubscriber;
  co.name = o.name;
  Status s = Client::Connect(co, &client);
  if (!s.ok()) return s;
  client->set_watch_fd(watch_fd);

  proto::Subscribe sub;
  for (const std::string& p : o.patterns) sub.patterns.push_back(p);
  sub.queue = o.queue;
  sub.prefetch = o.declare_only ? 0 : o.prefetch;
  s = client->Subscribe(sub);
  if (!s.ok()) return s;
  // Keep the session alive while the reader of our output is slow.
  // If the broker is lost meanwhile, the output gives up (Interrupted) and
  // `lost` says why: that is a connection failure, not an interruption.
  Status lost;
  out->set_stall_hook(std::max<int64_t>(1, client->heartbeat_ms() / 2), [&] {
    Status k = client->KeepAlive();
    if (!k.ok()) lost = k;
    return k.ok();
  });
  // The hook refers to this frame: drop it before returning (the caller
  // flushes the output again).
  struct DropHook {
    io::OutputWriter* out;
    ~DropHook() { out->set_stall_hook(0, nullptr); }
  } drop_hook{out};

  int64_t last = NowMs();
  proto::Ack ack;
  Client::Event ev;
  for (;;) {
    int64_t wait = 1000;
    if (o.idle_timeout_ms > 0) {
      wait = std::min(wait, last + o.idle_timeout_ms - NowMs());
      if (wait <= 0) {
        client->Bye("timeout");
        return Timeout(o.idle_timeout_ms);
      }
    }
    bool got = false;
    s = client->Wait(wait, &got, &ev);
    if (!s.ok()) {
      if (s.code() == Status::Code::kInterrupted) client->Bye("interrupted");
      if (s.code() == Status::Code::kBrokenPipe) client->Bye("output closed");
      return s;
    }
    if (!got) continue;
    switch (ev.kind) {
      case Client::Event::Kind::kSubscribed:
        if (o.declare_only) {
          client->Bye("declared");
          return Status::Ok();
        }
        break;
      case Client::Event::Kind::kDeliver: {
        last = NowMs();
        ack.tags.clear();
        ack.credit = static_cast<uint32_t>(ev.deliveries.size());
        bool done = false;
        sink->BatchArrived();
        for (const proto::Delivery& d : ev.deliveries) {
          if (o.count > 0 && res->written >= o.count) {
            done = true;
            break;
          }
          sink->Write(d);
          if (d.tag != 0) ack.tags.push_back(d.tag);
        }
        out->Flush();
        if (out->failed()) {
          if (!lost.ok()) return lost;
          client->Bye("output closed");
          return out->status();
        }
        s = client->Ack(ack);
        if (!s.ok()) return s;
        if (done || (o.count > 0 && res->written >= o.count)) {
          client->Bye("done");
          return Status::Ok();
        }
        break;
      }
      case Client::Event::Kind::kConfirm:
        return Status(Status::Code::kConnection, "unexpected confirmation from the broker at " + o.client.endpoint);
    }
  }
}

}  // namespace

SubscribeResult RunSubscribe(const SubscribeOptions& o, io::OutputWriter* out, io::Reporter* reporter) {
  SubscribeResult res;
  LineSink sink(o, out, reporter, &res);
  auto start = std::chrono::steady_clock::now();
  int watch_fd = PipeToWatch(o.output_fd);
  res.status = o.direct.empty() ? RunBroker(o, out, &sink, &res, watch_fd)
                                : RunDirect(o, out, &sink, &res, watch_fd);
  out->Flush();
  if (o.stats) {
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    fmt::print(stderr, "{}\n", sink.Stats(secs));
  }
  return res;
}

}  // namespace govstream::mq
