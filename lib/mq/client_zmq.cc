// The mq-broker backend of Client: the govstream protocol (docs/protocol.md)
// on one ZeroMQ DEALER connection, with the HELLO/WELCOME handshake and
// heartbeats both ways.
//
// Connect() is bounded: ZeroMQ retries the TCP connection in the background
// and the HELLO waits queued until it succeeds, for at most
// connect_timeout_ms; then Connection ("no govstream broker answered at
// ..."). Afterwards the broker counts as lost when nothing (not even a
// heartbeat) has come from it for 3 heartbeat intervals.
//
// With a CURVE key (options.curve_key, server_key) the connection is
// encrypted and this client authenticates with its key. While connecting,
// the socket's monitor tells a refused key, a broker of the other kind
// (plain text vs CURVE) and a failing handshake apart, so that each is
// reported at once (kAccessRefused) instead of as a silent timeout.
#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "base/clock.h"
#include "io/signals.h"
#include "mq/client.h"
#include "mq/keys.h"
#include "mq/transport.h"

namespace govstream::mq {
namespace {

constexpr int kMaxFailedHandshakes = 30;  // ZeroMQ retries every 100 ms

class ZmqClient final : public Client {
 public:
  static Status Connect(const ClientOptions& options, std::unique_ptr<Client>* out);
  // The monitor stops before the monitored socket closes (no events into a
  // closed pipe).
  ~ZmqClient() override {
    if (monitor_) socket_->StopMonitor();
  }

  uint64_t max_message_bytes() const override { return welcome_.max_message_bytes; }
  uint64_t max_batch_bytes() const override {
    return welcome_.max_frame_bytes > 4096 ? welcome_.max_frame_bytes - 4096 : 1024;
  }
  int64_t heartbeat_ms() const override { return welcome_.heartbeat_ms; }
  const std::string& endpoint() const override { return options_.endpoint; }

  void Add(std::string_view topic, std::string_view payload) override {
    if (body_.empty()) proto::BeginPublish(&body_);
    proto::AppendPublish({topic, payload}, &body_);
  }
  uint64_t batch_bytes() const override { return body_.size(); }
  Status SendBatch(uint64_t first_seq, uint32_t count, uint64_t ts_us, bool mandatory) override {
    if (body_.empty()) proto::BeginPublish(&body_);
    proto::FinishPublish(first_seq, ts_us, mandatory ? proto::kPublishMandatory : 0, count, &body_);
    Status s = Send(proto::Command::kPublish, body_);
    body_.clear();
    return s;
  }

  Status Subscribe(const proto::Subscribe& s) override {
    subscribing_ = true;
    return Send(proto::Command::kSubscribe, proto::EncodeSubscribe(s));
  }
  Status Ack(const proto::Ack& a) override { return Send(proto::Command::kAck, proto::EncodeAck(a)); }

  Status Wait(int64_t timeout_ms, bool* got, Event* event, bool interruptible) override;
  void set_watch_fd(int fd) override { watch_fd_ = fd; }
  Status KeepAlive() override;
  void Bye(std::string_view reason) override;

 private:
  Status Send(proto::Command c, std::string_view body);
  Status Lost(const std::string& why) const;
  // The meaning of a monitor event while connecting, or OK to go on.
  Status OnMonitorEvent(const Frames& f);
  // A command from the broker as an event, or the status it means.
  Status ToEvent(proto::Command cmd, std::string_view body, Event* event);

  ClientOptions options_;
  std::unique_ptr<Context> ctx_;
  std::unique_ptr<Socket> socket_;
  std::unique_ptr<Socket> monitor_;  // handshake failures, also on reconnection
  std::unique_ptr<Frames> frames_;
  bool curve_ = false;
  std::string public_key_;
  int failed_handshakes_ = 0;
  proto::Welcome welcome_;
  std::string body_;  // the PUBLISH batch being built
  bool subscribing_ = false;
  bool subscribed_ = false;
  int64_t last_recv_ms_ = 0;
  int64_t last_send_ms_ = 0;
  int watch_fd_ = -1;
};

}  // namespace

Status ConnectZmq(const ClientOptions& options, std::unique_ptr<Client>* out) {
  return ZmqClient::Connect(options, out);
}

Status ZmqClient::Lost(const std::string& why) const {
  return Status(Status::Code::kConnection, "lost the broker at " + options_.endpoint + ": " + why);
}

Status ZmqClient::Connect(const ClientOptions& options, std::unique_ptr<Client>* out) {
  auto c = std::make_unique<ZmqClient>();
  c->options_ = options;
  c->ctx_ = std::make_unique<Context>();
  c->socket_ = std::make_unique<Socket>(c->ctx_.get(), Socket::Type::kDealer);
  c->frames_ = std::make_unique<Frames>();
  c->socket_->SetSendHwm(0);
  c->socket_->SetRecvHwm(0);
  if (!options.curve_key.empty()) {
    KeyPair mine;
    Status k = LoadSecretKey(options.curve_key, &mine);
    if (!k.ok()) return k;
    std::string server;
    k = LoadPublicKey(options.server_key, &server);
    if (!k.ok()) return k;
    c->socket_->SetCurveClient(mine.public_z85, mine.secret_z85, server);
    c->curve_ = true;
    c->public_key_ = mine.public_z85;
  }
  c->monitor_ = c->socket_->StartMonitor(c->ctx_.get(), "mq-client-monitor");
  Status s = c->socket_->Connect(options.endpoint);
  if (!s.ok()) return s;
  proto::Hello hello;
  hello.role = options.role;
  hello.publisher = options.name;
  // Queued on the DEALER until the connection is up (ZeroMQ retries it).
  s = c->Send(proto::Command::kHello, proto::EncodeHello(hello));
  if (!s.ok()) return s;
  int64_t deadline = NowMs() + options.connect_timeout_ms;
  c->last_recv_ms_ = NowMs();
  std::vector<PollEntry> items = {{c->socket_.get()}};
  if (c->monitor_) items.push_back({c->monitor_.get()});
  for (;;) {
    if (io::InterruptRequested()) return Status::Interrupted();
    int64_t left = deadline - NowMs();
    if (left <= 0) {
      return Status(Status::Code::kConnection,
                    "no govstream broker answered at " + options.endpoint + " within " +
                        std::to_string(options.connect_timeout_ms) + " ms (is mq-broker running there?)");
    }
    Poll(&items, std::min<int64_t>(left, 100));
    while (c->monitor_ && c->monitor_->Recv(c->frames_.get())) {
      Status m = c->OnMonitorEvent(*c->frames_);
      if (!m.ok()) return m;
    }
    if (!c->socket_->Recv(c->frames_.get())) continue;
    const Frames& f = *c->frames_;
    proto::Command cmd;
    if (f.size() < 1 || !proto::DecodeHeader(f[0], &cmd).ok()) {
      return Status(Status::Code::kConnection, "the peer at " + options.endpoint + " is not a govstream broker");
    }
    std::string_view body = f.size() > 1 ? f[1] : std::string_view();
    if (cmd == proto::Command::kWelcome) {
      Status w = proto::DecodeWelcome(body, &c->welcome_);
      if (!w.ok()) return Status(Status::Code::kConnection, "bad WELCOME from " + options.endpoint + ": " + w.message());
      c->last_recv_ms_ = NowMs();
      *out = std::move(c);
      return Status::Ok();
    }
    if (cmd == proto::Command::kDenied) {
      std::string_view reason;
      (void)proto::DecodeReason(body, &reason);
      return Status(Status::Code::kAccessRefused, "the broker at " + options.endpoint + " refused: " + std::string(reason));
    }
    if (cmd == proto::Command::kError || cmd == proto::Command::kBye) {
      std::string_view reason;
      (void)proto::DecodeReason(body, &reason);
      return Status(Status::Code::kConnection, "the broker at " + options.endpoint + " refused: " + std::string(reason));
    }
  }
}

Status ZmqClient::OnMonitorEvent(const Frames& f) {
  MonitorEvent e;
  if (!DecodeMonitorEvent(f, &e)) return Status::Ok();
  const std::string& at = options_.endpoint;
  if (e.event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
    return Status(Status::Code::kAccessRefused,
                  "the broker at " + at + " refused this client's key (public key " + public_key_ +
                      "): it is not in the broker's --authorized-keys");
  }
  if (e.event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL && e.value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH) {
    return Status(Status::Code::kAccessRefused,
                  curve_ ? "the broker at " + at +
                               " is plain text, but --curve-key asks for CURVE (drop --curve-key and --server-key, "
                               "or start mq-broker with --curve-key)"
                         : "the broker at " + at +
                               " requires CURVE: give --curve-key (this client's secret key file) and --server-key "
                               "(the broker's public key)");
  }
  if (e.event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL || e.event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL ||
      (curve_ && e.event == ZMQ_EVENT_DISCONNECTED)) {
    // The broker hung up during the handshake. A CURVE broker usually does
    // so before a plain client learns why (the mismatch above comes after
    // a few tries); a CURVE client with a wrong --server-key never learns.
    if (++failed_handshakes_ >= kMaxFailedHandshakes) {
      return Status(Status::Code::kAccessRefused,
                    "the broker at " + at + " closed the connection during the " + (curve_ ? "CURVE" : "ZeroMQ") +
                        " handshake, " + std::to_string(failed_handshakes_) + " times: " +
                        (curve_ ? "is --server-key the broker's public key (its .pub file), and does the broker "
                                  "use CURVE at all (a plain-text broker also hangs up before saying so)?"
                                : "does it require CURVE (--curve-key, --server-key)?"));
    }
  }
  if (e.event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) failed_handshakes_ = 0;
  return Status::Ok();
}

Status ZmqClient::Send(proto::Command c, std::string_view body) {
  std::string header = proto::EncodeHeader(c);
  std::vector<std::string_view> frames = {header};
  if (!body.empty()) frames.push_back(body);
  // HWM is unlimited: a send only queues, it never blocks or drops.
  if (socket_->Send(frames, true) != Socket::SendResult::kSent) {
    return Status(Status::Code::kConnection, "cannot send to the broker at " + options_.endpoint);
  }
  last_send_ms_ = NowMs();
  return Status::Ok();
}

Status ZmqClient::KeepAlive() {
  int64_t now = NowMs();
  int64_t hb = welcome_.heartbeat_ms;
  if (now - last_recv_ms_ > 3 * hb) {
    // Input may be waiting unread while the caller is busy: the broker is
    // alive then (the input is left for Wait()).
    if (socket_->HasInput()) {
      last_recv_ms_ = now;
    } else {
      return Lost("nothing received for " + std::to_string(now - last_recv_ms_) + " ms");
    }
  }
  if (now - last_send_ms_ >= hb) return Send(proto::Command::kHeartbeat, {});
  return Status::Ok();
}

Status ZmqClient::Wait(int64_t timeout_ms, bool* got, Event* event, bool interruptible) {
  *got = false;
  int64_t deadline = NowMs() + std::max<int64_t>(0, timeout_ms);
  std::vector<PollEntry> items = {{socket_.get()}};
  if (watch_fd_ >= 0) items.push_back({.fd = watch_fd_});
  if (monitor_) items.push_back({monitor_.get()});
  for (;;) {
    // ZeroMQ reconnects by itself; a broker that now refuses this client
    // (its key removed, or restarted with other security) says so here.
    while (monitor_ && monitor_->Recv(frames_.get())) {
      Status m = OnMonitorEvent(*frames_);
      if (!m.ok()) return m;
    }
    if (socket_->Recv(frames_.get())) {
      last_recv_ms_ = NowMs();
      const Frames& f = *frames_;
      proto::Command cmd;
      Status h = f.size() >= 1 && f.size() <= 2 ? proto::DecodeHeader(f[0], &cmd)
                                                  : Status::DataError("wrong number of frames");
      if (!h.ok()) return Lost("undecodable message: " + h.message());
      if (cmd != proto::Command::kHeartbeat) {
        Status e = ToEvent(cmd, f.size() > 1 ? f[1] : std::string_view(), event);
        if (!e.ok()) return e;
        *got = true;
        return Status::Ok();
      }
      continue;
    }
    Status k = KeepAlive();
    if (!k.ok()) return k;
    if (interruptible && io::InterruptRequested()) return Status::Interrupted();
    int64_t now = NowMs();
    if (now >= deadline) return Status::Ok();
    int64_t hb = welcome_.heartbeat_ms;
    int64_t until = std::min({deadline, last_send_ms_ + hb, last_recv_ms_ + 3 * hb + 1});
    Poll(&items, std::max<int64_t>(0, std::min<int64_t>(until - now, hb)));
    if (watch_fd_ >= 0 && items[1].error) return Status::BrokenPipe();
  }
}

void ZmqClient::Bye(std::string_view reason) {
  (void)Send(proto::Command::kBye, proto::EncodeReason(reason));
  socket_->SetLinger(1000);  // let the BYE out before the socket closes
}

Status ZmqClient::ToEvent(proto::Command cmd, std::string_view body, Event* event) {
  std::string_view reason;
  switch (cmd) {
    case proto::Command::kConfirm: {
      event->kind = Event::Kind::kConfirm;
      Status s = proto::DecodeConfirm(body, &event->confirm);
      if (!s.ok()) return Status(Status::Code::kConnection, "bad confirmation from the broker: " + s.message());
      return Status::Ok();
    }
    case proto::Command::kSubscribed:
      event->kind = Event::Kind::kSubscribed;
      subscribed_ = true;
      return Status::Ok();
    case proto::Command::kDeliver: {
      event->kind = Event::Kind::kDeliver;
      Status s = proto::DecodeDeliver(body, &event->deliveries);
      if (!s.ok()) return Status(Status::Code::kConnection, "bad delivery from the broker: " + s.message());
      return Status::Ok();
    }
    case proto::Command::kBye:
      (void)proto::DecodeReason(body, &reason);
      return Status(Status::Code::kConnection,
                    "the broker at " + options_.endpoint + " ended the session: " + std::string(reason));
    case proto::Command::kDenied:
      (void)proto::DecodeReason(body, &reason);
      return Status(Status::Code::kAccessRefused, "the broker at " + options_.endpoint + " refused: " + std::string(reason));
    case proto::Command::kError:
      (void)proto::DecodeReason(body, &reason);
      return Status(Status::Code::kConnection,
                    "the broker at " + options_.endpoint +
                        (subscribing_ && !subscribed_ ? " refused the subscription: " : " refused a command: ") +
                        std::string(reason));
    default:
      return Status(Status::Code::kConnection,
                    std::string("unexpected ") + proto::CommandName(cmd) + " from the broker");
  }
}

}  // namespace govstream::mq
