#include "mq/broker.h"

#include <absl/container/flat_hash_map.h>
#include <fmt/core.h>
#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <deque>
#include <map>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "agg/sketches.h"
#include "base/clock.h"
#include "expr/json.h"
#include "io/report.h"
#include "io/signals.h"
#include "mq/broker_fsm.h"
#include "mq/protocol.h"
#include "mq/queue.h"
#include "mq/security.h"
#include "mq/store.h"
#include "mq/topic.h"
#include "mq/transport.h"
#include "time/timestamp.h"

namespace govstream::mq {
namespace {

constexpr size_t kMaxDeliverBytes = 1u << 20;  // one DELIVER frame, unless a single message is larger
constexpr size_t kDrainPerPoll = 256;          // messages read from one socket before serving the others
constexpr size_t kRouteCacheMax = 100000;
constexpr uint64_t kMaxShownProblems = 10;
constexpr std::string_view kStatsTopic = "$SYS.broker.stats";
constexpr int64_t kShutdownDelayMs = 200;  // a revoked client's DENIED goes out before its connection is cut

struct Peer {
  uint64_t id = 0;
  std::string identity;
  PeerState state = PeerState::kConnected;
  std::shared_ptr<const std::string> name;
  int64_t last_recv_ms = 0;
  int64_t last_send_ms = 0;
  // Subscribers and consumers.
  std::vector<Pattern> patterns;
  Queue* queue = nullptr;
  uint32_t prefetch = 0;
  uint32_t credit = 0;
  std::deque<MessageRef> pending;  // fan-out: matched, not yet sent
  size_t pending_bytes = 0;
  int64_t last_ack_ms = 0;
  int fd = -1;           // connection the last message came in on
  std::string key;       // its CURVE key's name ("" without --authorized-keys)
  std::string remote;    // its TCP peer address "ip:port" (to close it on revocation), or ""
  bool suspect = false;  // a connection with that fd closed: probe it
  bool dirty = false;
};

// The TCP peer of a descriptor as "ip:port", or "" (not TCP, or closed).
std::string PeerAddress(int fd) {
  if (fd < 0) return {};
  sockaddr_storage a{};
  socklen_t n = sizeof a;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&a), &n) != 0) return {};
  char ip[INET6_ADDRSTRLEN] = {};
  if (a.ss_family == AF_INET) {
    auto* v4 = reinterpret_cast<sockaddr_in*>(&a);
    ::inet_ntop(AF_INET, &v4->sin_addr, ip, sizeof ip);
    return fmt::format("{}:{}", ip, ntohs(v4->sin_port));
  }
  if (a.ss_family == AF_INET6) {
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&a);
    ::inet_ntop(AF_INET6, &v6->sin6_addr, ip, sizeof ip);
    return fmt::format("[{}]:{}", ip, ntohs(v6->sin6_port));
  }
  return {};
}

// Closes a connection under ZeroMQ's feet (its engine sees the end and
// drops it), if the descriptor still is that connection.
bool ShutdownConnection(int fd, const std::string& remote) {
  if (remote.empty() || PeerAddress(fd) != remote) return false;
  return ::shutdown(fd, SHUT_RDWR) == 0;
}

// A PUBLISH held back while a fan-out subscriber catches up.
struct Parked {
  std::string identity;
  std::string body;
};

struct Route {
  std::vector<Peer*> subscribers;
  std::vector<Queue*> queues;
};

// A confirmation waiting for the store's sync to cover `pos`.
struct PendingConfirm {
  uint64_t peer_id;
  proto::Confirm confirm;  // its reason is a view: of `reason` once sent
  std::string reason;
  uint64_t pos;
};

// A message whose durable records are written but not yet applied (Commit).
struct Staged {
  MessageRef message;
  bool own;
};

}  // namespace

class Broker::Impl {
 public:
  Impl(const BrokerOptions& o, io::Reporter* r) : options_(o), reporter_(r) {}
  // Closes the sockets in a fixed order before the context ends: the
  // router's event monitor first, then the monitored sockets, then the PAIR
  // socket that received the events. (Closing the PAIR first left ZeroMQ
  // sending events into a closed inproc pipe during shutdown.)
  ~Impl() {
    if (router_ && monitor_) router_->StopMonitor();
    for (auto& [sock, pair] : plain_monitors_) sock->StopMonitor();
    router_.reset();
    xpub_.reset();
    sub_in_.reset();
    pull_in_.reset();
    monitor_.reset();
    plain_monitors_.clear();
  }

  Status Open();
  Status Run();
  std::vector<std::string> Endpoints() const { return endpoints_; }

 private:
  // Incoming.
  void OnClientMessage(const Frames& f);
  void OnForeignMessage(const Frames& f, const std::shared_ptr<const std::string>& who, uint64_t* seq);
  void OnXPubSubscription(const Frames& f);
  void OnMonitorEvent(const Frames& f);
  void OnPlainMonitorEvent(const Frames& f);
  // Actions of the state table (broker_fsm.h).
  void Refuse(Peer* p, std::string_view why);
  void Welcome(Peer* p, const proto::Hello& h);
  void Publish(Peer* p, const proto::PublishBatch& b);
  // True while some fan-out subscriber has more than the buffer waiting.
  bool Congested();
  void ReleaseParked();
  void Subscribe(Peer* p, const proto::Subscribe& s);
  void Consume(Peer* p, const proto::Subscribe& s);
  void AckFrom(Peer* p, const proto::Ack& a);
  void Close(Peer* p, std::string_view why, bool tell);
  // Routing and delivery.
  const Route& RouteFor(std::string_view topic);
  // Stores one message for every target; false (and *why) if a queue refused
  // it, or if `mandatory` and it has no target. `own`: the broker's own
  // $SYS message, not counted in messages_in or unroutable.
  bool Route1(MessageRef m, bool mandatory, std::string* why, bool own = false);
  // With a store: Stage() checks and reserves room like Route1 and appends
  // the message's records for its durable queues; Commit() writes them and
  // then stores every staged message (or, if the write failed, none, and
  // returns why). Store1() is one message staged and committed.
  // The checks both share: the message's route, or null (and *why) if it is
  // refused (unroutable with `mandatory`, or a queue without room).
  const Route* Admit(const StoredMessage& m, bool mandatory, std::string* why, bool own);
  bool Stage(MessageRef m, bool mandatory, std::string* why, bool own);
  Status Commit();
  bool Store1(MessageRef m, bool mandatory, std::string* why, bool own = false);
  // Durable start: opens the store and rebuilds the queues from it.
  Status Recover();
  Queue* DeclareQueue(const std::string& name);
  void PersistBindings(Queue* q);
  // Sends the confirmation now, or once the store's sync covers `pos`.
  void Confirm(Peer* p, proto::Confirm c, uint64_t pos);
  void ReleaseConfirms();
  void ReportStore(const Status& s);
  void FlushDeliveries();
  void FlushSubscriber(Peer* p);
  void FlushQueue(Queue* q);
  // Reads spilled messages of a durable queue back from the store while
  // those in memory are under half its share.
  void Refill(Queue* q);
  bool SendDeliver(Peer* p, const std::vector<proto::Delivery>& batch, size_t bytes);
  void ForwardToXPub(const StoredMessage& m);
  // Timers.
  void CheckPeers(int64_t now);
  void PublishStats(int64_t now);
  // Sending to a peer; false if the peer is gone (it is then closed).
  bool SendTo(Peer* p, proto::Command c, std::string_view body);
  void Problem(uint64_t* counter, const std::string& message);
  void RemoveClosed();
  // Security: refuses `p` (DENIED, with why) and ends its session.
  void Deny(Peer* p, const std::string& why);
  // Rereads keys and ACL; closes what they no longer allow.
  void Reload(bool forced);
  // Plain ZeroMQ connections by descriptor, with their key (for revocation).
  void NotePlain(const Frames& f);
  // Whether a plain SUB prefix is allowed for `key`: every topic starting
  // with it must be readable (checked word-wise, conservatively).
  bool PrefixAllowed(const std::string& key, std::string_view prefix, std::string* why);

  BrokerOptions options_;
  io::Reporter* reporter_;
  Context ctx_;
  std::unique_ptr<Socket> router_, xpub_, sub_in_, pull_in_, monitor_;
  std::unique_ptr<Security> security_;
  struct PlainConn {
    std::string key, remote;
  };
  absl::flat_hash_map<int, PlainConn> plain_conns_;
  // With --authorized-keys: the plain sockets' monitors, whose DISCONNECTED
  // events retire plain_conns_ entries (descriptors are reused).
  std::vector<std::pair<Socket*, std::unique_ptr<Socket>>> plain_monitors_;
  uint64_t revoked_ = 0;
  struct PendingShutdown {
    int64_t at_ms;
    int fd;
    std::string remote;
  };
  std::vector<PendingShutdown> pending_shutdowns_;
  std::vector<std::string> endpoints_;

  absl::flat_hash_map<std::string, std::unique_ptr<Peer>> peers_;  // by ZeroMQ identity
  absl::flat_hash_map<uint64_t, Peer*> peers_by_id_;
  std::vector<Peer*> fanout_;
  std::vector<Peer*> closed_;
  std::map<std::string, std::unique_ptr<Queue>> queues_;
  absl::flat_hash_map<std::string, Route> routes_;
  std::vector<Peer*> dirty_peers_;
  std::vector<Queue*> dirty_queues_;
  std::vector<std::pair<std::string, int>> xpub_prefixes_;
  std::deque<Parked> parked_;
  uint64_t held_batches_ = 0;
  uint64_t next_peer_id_ = 1;

  // Counters (cumulative) and the per-interval latency sketch.
  uint64_t messages_in_ = 0, delivered_ = 0, refused_ = 0, malformed_ = 0, oversized_ = 0, unroutable_ = 0;
  uint64_t foreign_in_ = 0, foreign_rejected_ = 0, xpub_forwarded_ = 0, xpub_dropped_ = 0;
  uint64_t slow_disconnected_ = 0, expired_ = 0, refused_commands_ = 0, problems_shown_ = 0;
  uint64_t connections_ = 0, disconnections_ = 0, handshake_failures_ = 0, dropped_ = 0;
  uint64_t prev_in_ = 0, prev_delivered_ = 0;
  absl::flat_hash_map<std::string, Queue::Counters> prev_queue_;
  agg::QuantileSketch latency_ms_;
  uint64_t sys_seq_ = 0, foreign_pub_seq_ = 0, foreign_push_seq_ = 0;
  std::shared_ptr<const std::string> sys_name_ = std::make_shared<const std::string>("$SYS");
  std::shared_ptr<const std::string> pub_name_ = std::make_shared<const std::string>("zmq-pub");
  std::shared_ptr<const std::string> push_name_ = std::make_shared<const std::string>("zmq-push");
  int64_t started_ms_ = NowMs();
  int64_t last_stats_ms_ = started_ms_;
  expr::JsonParser json_;
  std::string json_buf_;
  std::string deliver_buf_;
  // Reused per delivery batch (no allocation per batch).
  std::vector<proto::Delivery> batch_;
  std::vector<MessageRef> hold_;
  std::vector<Queue::Taken> taken_;
  expr::Arena arena_;
  // The durable store (data_dir), and what waits on it.
  std::unique_ptr<Store> store_;
  std::vector<Staged> staged_;
  std::vector<uint64_t> staged_seqs_;  // per staged message, one per durable queue of its route
  std::deque<PendingConfirm> confirms_;
  int64_t recovery_ms_ = 0;
  uint64_t recovered_ = 0, corrupt_records_ = 0;
  uint64_t prev_fsyncs_ = 0, prev_records_synced_ = 0;
  bool store_failing_ = false;  // reported once per failing stretch
};

Status Broker::Impl::Open() {
  if (!options_.data_dir.empty()) {
    Status r = Recover();  // first: a locked or unreadable directory binds no port
    if (!r.ok()) return r;
  }
  // Keys and the ZAP handler first: a CURVE socket must never be bound
  // before the handler that checks its clients.
  Status sec = Security::Open(options_.security, &ctx_, reporter_, &security_);
  if (!sec.ok()) return sec;
  router_ = std::make_unique<Socket>(&ctx_, Socket::Type::kRouter);
  security_->Secure(router_.get());
  router_->SetRouterMandatory();
  router_->SetSendHwm(0);  // bounded by the protocol: credit and publisher windows
  router_->SetRecvHwm(0);
  uint64_t max_frame = std::max<uint64_t>(options_.max_message_bytes, kMaxDeliverBytes) + 65536;
  router_->SetMaxMessageSize(static_cast<int64_t>(max_frame));
  Status s = router_->Bind(options_.listen);
  if (!s.ok()) return s;
  endpoints_.push_back("clients " + router_->LastEndpoint());
  // Connection-level events (accepted, closed, failed handshakes: garbage on
  // the socket, oversized frames) are counted from ZeroMQ's monitor.
  monitor_ = router_->StartMonitor(&ctx_, "mq-broker-monitor");
  auto open = [&](std::unique_ptr<Socket>* sock, Socket::Type type, const std::string& ep, const char* role) {
    if (ep.empty()) return Status::Ok();
    *sock = std::make_unique<Socket>(&ctx_, type);
    security_->Secure(sock->get());
    (*sock)->SetMaxMessageSize(static_cast<int64_t>(max_frame));
    if (type == Socket::Type::kXPub) {
      if (security_->has_acl()) (*sock)->SetXPubManual();  // each prefix is checked first
      (*sock)->SetXPubNoDrop();
      (*sock)->SetSendHwm(100000);
    }
    if (type == Socket::Type::kSub) (*sock)->Subscribe("");
    Status b = (*sock)->Bind(ep);
    if (b.ok()) endpoints_.push_back(std::string(role) + " " + (*sock)->LastEndpoint());
    return b;
  };
  if (!(s = open(&xpub_, Socket::Type::kXPub, options_.sub_listen, "plain-sub")).ok()) return s;
  if (!(s = open(&sub_in_, Socket::Type::kSub, options_.pub_listen, "plain-pub")).ok()) return s;
  if (!(s = open(&pull_in_, Socket::Type::kPull, options_.push_listen, "plain-push")).ok()) return s;
  if (security_->restricted()) {
    int n = 0;
    for (Socket* sock : {xpub_.get(), sub_in_.get(), pull_in_.get()}) {
      if (!sock) continue;
      auto pair = sock->StartMonitor(&ctx_, "mq-broker-plain-monitor-" + std::to_string(n++));
      if (pair) plain_monitors_.emplace_back(sock, std::move(pair));
    }
  }
  if (!security_->curve()) {
    for (const auto& [option, ep] : {std::pair<const char*, const std::string&>{"listen", options_.listen},
                                     {"sub-listen", options_.sub_listen},
                                     {"pub-listen", options_.pub_listen},
                                     {"push-listen", options_.push_listen}}) {
      if (ep.empty() || IsLocalEndpoint(ep)) continue;
      reporter_->Error(fmt::format(
          "warning: --{} {} accepts connections from other machines without CURVE: anyone who can reach it can "
          "publish, subscribe, consume queues and read every payload in plain text (give --curve-key and "
          "--authorized-keys; see mq-broker(1), SECURITY)",
          option, ep));
    }
  }
  return Status::Ok();
}

Queue* Broker::Impl::DeclareQueue(const std::string& name) {
  auto it = queues_.find(name);
  if (it != queues_.end()) return it->second.get();
  auto q = std::make_unique<Queue>(name, Queue::Limits{options_.max_queue_bytes, options_.max_queue_messages});
  if (store_) q->set_store_id(store_->PutQueue(name, {}));
  if (options_.verbose) reporter_->Error(fmt::format("queue '{}' declared", name));
  routes_.clear();
  return queues_.emplace(name, std::move(q)).first->second.get();
}

void Broker::Impl::PersistBindings(Queue* q) {
  if (!store_) return;
  std::vector<std::string> texts;
  for (const Pattern& b : q->bindings()) texts.push_back(b.text());
  store_->PutQueue(q->name(), texts);
}

Status Broker::Impl::Recover() {
  StoreOptions so{.dir = options_.data_dir,
                  .fsync = options_.fsync,
                  .segment_bytes = options_.segment_bytes,
                  .queue_memory = options_.queue_memory};
  Recovery rec;
  Status s = Store::Open(so, reporter_, &store_, &rec);
  if (!s.ok()) return s;
  absl::flat_hash_map<uint32_t, Queue*> by_id;
  for (const Recovery::QueueDef& d : rec.queues) {
    auto q = std::make_unique<Queue>(d.name, Queue::Limits{options_.max_queue_bytes, options_.max_queue_messages});
    q->set_store_id(d.id);
    for (const std::string& text : d.bindings) {
      Pattern pat;
      Status ps = Pattern::Parse(text, &pat);
      if (!ps.ok()) {
        reporter_->Error(fmt::format("queue '{}': stored binding '{}' is not a valid pattern ({}); dropped", d.name,
                                     text, ps.message()));
        continue;
      }
      q->Bind(pat);
    }
    by_id[d.id] = q.get();
    queues_[d.name] = std::move(q);
  }
  uint64_t bytes = 0;
  for (Recovery::Message& m : rec.messages) {
    Queue* q = by_id[m.queue_id];
    bytes += m.message->bytes();
    uint32_t rb = static_cast<uint32_t>(std::min<uint64_t>(Store::RecordBytes(*m.message), UINT32_MAX));
    q->Push(std::move(m.message), m.seq, m.redelivered, rb);
  }
  recovered_ = rec.messages.size();
  for (const auto& [id, sp] : rec.spilled) {
    auto qit = by_id.find(id);
    if (qit == by_id.end()) continue;  // cannot happen: recovery names every queue
    qit->second->Spill(sp.from_seq, sp.count, sp.bytes, sp.record_bytes);
    recovered_ += sp.count;
    bytes += sp.bytes;
  }
  recovery_ms_ = rec.elapsed_ms;
  corrupt_records_ = rec.corrupt_records;
  reporter_->Error(fmt::format("recovered {} message{} in {} queue{} from {} in {} ms ({} bytes of payload and "
                               "topics; {} segment{} scanned, {} corrupt record{} skipped)",
                               recovered_, recovered_ == 1 ? "" : "s", queues_.size(), queues_.size() == 1 ? "" : "s",
                               options_.data_dir, recovery_ms_, bytes, rec.segments, rec.segments == 1 ? "" : "s",
                               rec.corrupt_records, rec.corrupt_records == 1 ? "" : "s"));
  return Status::Ok();
}

void Broker::Impl::ReportStore(const Status& s) {
  if (s.ok()) {
    if (store_failing_) reporter_->Error("writing to " + options_.data_dir + " works again; publishes are accepted");
    store_failing_ = false;
    return;
  }
  if (!store_failing_) {
    reporter_->Error(s.message() + "; publishes to durable queues are refused until it can be written (consumers "
                                   "are still served what the broker holds)");
  }
  store_failing_ = true;
}

void Broker::Impl::Confirm(Peer* p, proto::Confirm c, uint64_t pos) {
  if (confirms_.empty() && (pos == 0 || store_->synced() >= pos)) {
    SendTo(p, proto::Command::kConfirm, proto::EncodeConfirm(c));
    return;
  }
  std::string reason(c.reason);
  confirms_.push_back({p->id, std::move(c), std::move(reason), pos});
}

void Broker::Impl::ReleaseConfirms() {
  if (confirms_.empty()) return;
  const uint64_t synced = store_->synced();
  const Status error = store_->sync_error();
  while (!confirms_.empty()) {
    PendingConfirm& pc = confirms_.front();
    if (pc.pos > synced) {
      if (error.ok()) break;
      // The sync failed: what it should have covered is not known to be on
      // disk, so none of it is confirmed.
      pc.confirm.refused.clear();
      for (uint32_t i = 0; i < pc.confirm.count; ++i) pc.confirm.refused.push_back(i);
      pc.reason = "not stored: " + error.message();
      refused_ += pc.confirm.count;
    }
    pc.confirm.reason = pc.reason;
    auto it = peers_by_id_.find(pc.peer_id);
    if (it != peers_by_id_.end()) SendTo(it->second, proto::Command::kConfirm, proto::EncodeConfirm(pc.confirm));
    confirms_.pop_front();
  }
  if (!error.ok()) ReportStore(error);
}

void Broker::Impl::Problem(uint64_t* counter, const std::string& message) {
  ++*counter;
  if (problems_shown_ < kMaxShownProblems) {
    reporter_->Error(message);
    if (++problems_shown_ == kMaxShownProblems) {
      reporter_->Error("further problems with clients are only counted (see $SYS.broker.stats)");
    }
  }
}

bool Broker::Impl::SendTo(Peer* p, proto::Command c, std::string_view body) {
  if (p->state == PeerState::kGone) return false;
  std::string header = proto::EncodeHeader(c);
  std::vector<std::string_view> frames = {p->identity, header};
  if (!body.empty()) frames.push_back(body);
  Socket::SendResult r = router_->Send(frames);
  if (r == Socket::SendResult::kSent) {
    p->last_send_ms = NowMs();
    return true;
  }
  // Unreachable: the connection is gone. Would block: the peer has stopped
  // reading although the protocol bounds what it is owed.
  std::string who = p->name ? *p->name : std::string("(no HELLO yet)");
  if (r == Socket::SendResult::kUnreachable) {
    Problem(&dropped_, fmt::format("client '{}' is gone without a goodbye (killed, connection lost, or a frame "
                                   "over the size limit, which ZeroMQ answers by closing the connection)",
                                   who));
  } else {
    Problem(&dropped_, fmt::format("client '{}' stopped reading; disconnected", who));
  }
  Close(p, r == Socket::SendResult::kUnreachable ? "connection lost" : "not reading (send queue full)", false);
  return false;
}

void Broker::Impl::Refuse(Peer* p, std::string_view why) {
  ++refused_commands_;
  SendTo(p, proto::Command::kError, proto::EncodeReason(why));
}

void Broker::Impl::OnClientMessage(const Frames& f) {
  if (f.size() < 2 || f.size() > 3) {
    Problem(&malformed_, fmt::format("malformed message from a client: {} frames (expected header and body)",
                                     f.size() - (f.size() > 0)));
    return;
  }
  std::string identity(f[0]);
  proto::Command command;
  Status s = proto::DecodeHeader(f[1], &command);
  auto it = peers_.find(identity);
  Peer* p = it == peers_.end() ? nullptr : it->second.get();
  if (!s.ok()) {
    Problem(&malformed_, "malformed message from a client: " + s.message());
    if (p) Refuse(p, s.message());
    return;
  }
  if (!p) {
    std::string key = security_->curve() ? f.Property("User-Id") : std::string();
    if (!security_->Admitted(key)) {
      // A session started on a connection whose key has since been removed.
      ++refused_commands_;
      (void)router_->Send({identity, proto::EncodeHeader(proto::Command::kDenied),
                           proto::EncodeReason("this client's key ('" + key +
                                               "') is no longer in the broker's --authorized-keys")});
      return;
    }
    auto np = std::make_unique<Peer>();
    np->id = next_peer_id_++;
    np->identity = identity;
    np->key = std::move(key);
    if (security_->restricted()) np->remote = PeerAddress(f.source_fd());
    np->last_send_ms = NowMs();
    p = np.get();
    peers_by_id_[p->id] = p;
    peers_.emplace(identity, std::move(np));
  }
  p->last_recv_ms = NowMs();
  p->fd = f.source_fd();
  p->suspect = false;
  std::string_view body = f.size() == 3 ? f[2] : std::string_view();

  // Decode first: the state table only ever sees well-formed commands.
  PeerEvent event;
  proto::Hello hello;
  proto::PublishBatch batch;
  proto::Subscribe sub;
  proto::Ack ack;
  std::string_view reason;
  switch (command) {
    case proto::Command::kHello:
      s = proto::DecodeHello(body, &hello), event = PeerEvent::kHello;
      break;
    case proto::Command::kPublish:
      if (p->state == PeerState::kPublishing && (!parked_.empty() || Congested())) {
        // Flow control: keep it (unconfirmed) until the subscribers catch up.
        ++held_batches_;
        parked_.push_back({identity, std::string(body)});
        return;
      }
      s = proto::DecodePublish(body, &batch), event = PeerEvent::kPublish;
      break;
    case proto::Command::kSubscribe:
      s = proto::DecodeSubscribe(body, &sub);
      event = sub.queue.empty() ? PeerEvent::kSubscribeFanout : PeerEvent::kSubscribeQueue;
      break;
    case proto::Command::kAck:
      s = proto::DecodeAck(body, &ack), event = PeerEvent::kAck;
      break;
    case proto::Command::kHeartbeat:
      event = PeerEvent::kHeartbeat;
      if (!body.empty()) s = Status::DataError("HEARTBEAT: unexpected body");
      break;
    case proto::Command::kBye:
      s = proto::DecodeReason(body, &reason), event = PeerEvent::kBye;
      break;
    default:
      Problem(&malformed_, std::string("a client sent ") + proto::CommandName(command) + ", a broker-to-client command");
      Refuse(p, std::string(proto::CommandName(command)) + " is not a client command");
      return;
  }
  if (!s.ok()) {
    Problem(&malformed_, "malformed message from a client: " + s.message());
    Refuse(p, s.message());
    return;
  }
  Transition t = NextTransition(p->state, event);
  PeerState before = p->state;
  if (t.action != PeerAction::kRefuse) p->state = t.next;
  switch (t.action) {
    case PeerAction::kRefuse:
      Refuse(p, fmt::format("{} is not allowed in state {}", EventName(event), StateName(before)));
      break;
    case PeerAction::kWelcome:
      Welcome(p, hello);
      break;
    case PeerAction::kPublish:
      Publish(p, batch);
      break;
    case PeerAction::kSubscribe:
      Subscribe(p, sub);
      break;
    case PeerAction::kConsume:
      Consume(p, sub);
      break;
    case PeerAction::kAck:
      AckFrom(p, ack);
      break;
    case PeerAction::kTouch:
      break;
    case PeerAction::kClose:
      p->state = before;
      Close(p, reason.empty() ? "said goodbye" : reason, false);
      break;
  }
}

bool Broker::Impl::Congested() {
  for (Peer* s : fanout_) {
    if (s->pending_bytes > options_.subscriber_buffer_bytes) return true;
  }
  return false;
}

void Broker::Impl::ReleaseParked() {
  while (!parked_.empty() && !Congested()) {
    Parked b = std::move(parked_.front());
    parked_.pop_front();
    auto it = peers_.find(b.identity);
    if (it == peers_.end() || it->second->state != PeerState::kPublishing) continue;  // publisher gone
    proto::PublishBatch batch;
    Status s = proto::DecodePublish(b.body, &batch);
    if (!s.ok()) {
      Problem(&malformed_, "malformed message from a client: " + s.message());
      Refuse(it->second.get(), s.message());
      continue;
    }
    Publish(it->second.get(), batch);
    FlushDeliveries();
  }
}

void Broker::Impl::Welcome(Peer* p, const proto::Hello& h) {
  p->name = std::make_shared<const std::string>(h.publisher);
  if (options_.verbose) reporter_->Error(fmt::format("client '{}' connected", h.publisher));
  proto::Welcome w;
  w.heartbeat_ms = static_cast<uint32_t>(options_.heartbeat_ms);
  w.max_message_bytes = static_cast<uint32_t>(std::min<uint64_t>(options_.max_message_bytes, UINT32_MAX));
  w.max_frame_bytes = static_cast<uint32_t>(std::max<uint64_t>(options_.max_message_bytes, kMaxDeliverBytes) + 32768);
  SendTo(p, proto::Command::kWelcome, proto::EncodeWelcome(w));
}

void Broker::Impl::Publish(Peer* p, const proto::PublishBatch& b) {
  proto::Confirm c;
  c.first_seq = b.first_seq;
  c.count = static_cast<uint32_t>(b.messages.size());
  std::string first_reason;
  int64_t now_ns = NowNs();
  std::vector<uint32_t> staged;  // indexes of the messages Commit() applies or refuses
  for (size_t i = 0; i < b.messages.size(); ++i) {
    const proto::Message& m = b.messages[i];
    std::string why;
    if (m.payload.size() > options_.max_message_bytes) {
      ++oversized_;
      why = fmt::format("message of {} bytes is larger than --max-message-bytes {}", m.payload.size(),
                        options_.max_message_bytes);
    } else if (!security_->Allows(p->key, Acl::Op::kPublish, m.topic, &why)) {
      ++refused_;
    } else {
      auto sm = std::make_shared<StoredMessage>();
      sm->topic.assign(m.topic);
      sm->payload.assign(m.payload);
      sm->publisher = p->name;
      sm->seq = b.first_seq + i;
      sm->ts_us = b.ts_us;
      sm->received_ns = now_ns;
      const bool mandatory = (b.flags & proto::kPublishMandatory) != 0;
      if (store_ ? Stage(std::move(sm), mandatory, &why, false) : Route1(std::move(sm), mandatory, &why)) {
        if (store_) staged.push_back(static_cast<uint32_t>(i));
        continue;
      }
    }
    c.refused.push_back(static_cast<uint32_t>(i));
    if (first_reason.empty()) first_reason = why;
  }
  uint64_t pos = 0;
  if (store_) {
    const bool durable = !staged_seqs_.empty();
    Status s = Commit();
    if (!s.ok()) {
      c.refused.insert(c.refused.end(), staged.begin(), staged.end());
      std::sort(c.refused.begin(), c.refused.end());
      if (first_reason.empty()) first_reason = "not stored: " + s.message();
    } else if (durable && store_->fsync_mode() == FsyncMode::kBatch) {
      pos = store_->written();
    }
  }
  c.reason = first_reason;
  if (store_) {
    Confirm(p, std::move(c), pos);
  } else {
    SendTo(p, proto::Command::kConfirm, proto::EncodeConfirm(c));
  }
}

const Route* Broker::Impl::Admit(const StoredMessage& m, bool mandatory, std::string* why, bool own) {
  const Route& r = RouteFor(m.topic);
  if (r.queues.empty() && r.subscribers.empty()) {
    if (!own) ++unroutable_;
    if (mandatory) {
      ++refused_;
      *why = "no queue or subscriber matches topic '" + m.topic + "' (--mandatory)";
      return nullptr;
    }
  }
  // All or nothing: a message refused by one queue goes nowhere, so the
  // publisher's negative confirmation means exactly "not delivered".
  for (Queue* q : r.queues) {
    if (!q->HasRoom(m.bytes(), why)) {
      ++refused_;
      return nullptr;
    }
  }
  return &r;
}

bool Broker::Impl::Stage(MessageRef m, bool mandatory, std::string* why, bool own) {
  const Route* found = Admit(*m, mandatory, why, own);
  if (!found) return false;
  const Route& r = *found;
  for (Queue* q : r.queues) {
    q->Reserve(m->bytes());
    staged_seqs_.push_back(store_->AppendMessage(q->store_id(), *m));
  }
  staged_.push_back({std::move(m), own});
  return true;
}

Status Broker::Impl::Commit() {
  Status s;
  if (!staged_seqs_.empty()) {
    s = store_->Write();
    if (s.ok()) s = store_->Sync();
    ReportStore(s);
  }
  size_t k = 0;
  for (Staged& st : staged_) {
    const Route& r = RouteFor(st.message->topic);  // the same route Stage() saw: nothing changed in between
    const uint32_t record_bytes =
        static_cast<uint32_t>(std::min<uint64_t>(Store::RecordBytes(*st.message), UINT32_MAX));
    for (Queue* q : r.queues) {
      q->Unreserve(st.message->bytes());
      if (s.ok()) {
        // Over its memory share (or behind messages that are), a durable
        // queue keeps the message on disk only.
        if (q->spilled() > 0 || q->resident_bytes() + st.message->bytes() > options_.queue_memory) {
          q->Spill(staged_seqs_[k], 1, st.message->bytes(), record_bytes);
        } else {
          q->Push(st.message, staged_seqs_[k], false, record_bytes);
        }
        dirty_queues_.push_back(q);
      }
      ++k;
    }
    if (!s.ok()) {
      ++refused_;
      continue;
    }
    if (!st.own) ++messages_in_;
    for (Peer* sub : r.subscribers) {
      sub->pending_bytes += st.message->bytes();
      sub->pending.push_back(st.message);
      if (!sub->dirty) {
        sub->dirty = true;
        dirty_peers_.push_back(sub);
      }
    }
    ForwardToXPub(*st.message);
  }
  staged_.clear();
  staged_seqs_.clear();
  return s;
}

bool Broker::Impl::Store1(MessageRef m, bool mandatory, std::string* why, bool own) {
  if (!store_) return Route1(std::move(m), mandatory, why, own);
  if (!Stage(std::move(m), mandatory, why, own)) return false;
  Status s = Commit();
  if (!s.ok()) *why = "not stored: " + s.message();
  return s.ok();
}

bool Broker::Impl::Route1(MessageRef m, bool mandatory, std::string* why, bool own) {
  const Route* found = Admit(*m, mandatory, why, own);
  if (!found) return false;
  const Route& r = *found;
  if (!own) ++messages_in_;
  for (Queue* q : r.queues) {
    q->Push(m);
    dirty_queues_.push_back(q);
  }
  for (Peer* s : r.subscribers) {
    s->pending_bytes += m->bytes();
    s->pending.push_back(m);
    if (!s->dirty) {
      s->dirty = true;
      dirty_peers_.push_back(s);
    }
  }
  ForwardToXPub(*m);
  return true;
}

const Route& Broker::Impl::RouteFor(std::string_view topic) {
  auto it = routes_.find(absl::string_view(topic.data(), topic.size()));
  if (it != routes_.end()) return it->second;
  if (routes_.size() >= kRouteCacheMax) routes_.clear();
  Route r;
  for (Peer* s : fanout_) {
    for (const Pattern& pat : s->patterns) {
      if (pat.Matches(topic)) {
        r.subscribers.push_back(s);
        break;
      }
    }
  }
  for (auto& [name, q] : queues_) {
    if (q->Matches(topic)) r.queues.push_back(q.get());
  }
  return routes_.emplace(std::string(topic), std::move(r)).first->second;
}

void Broker::Impl::ForwardToXPub(const StoredMessage& m) {
  if (!xpub_ || xpub_prefixes_.empty()) return;
  bool wanted = false;
  for (const auto& [prefix, n] : xpub_prefixes_) {
    if (std::string_view(m.topic).substr(0, prefix.size()) == prefix) {
      wanted = true;
      break;
    }
  }
  if (!wanted) return;
  if (xpub_->Send({m.topic, m.payload}) == Socket::SendResult::kSent) {
    ++xpub_forwarded_;
  } else if (xpub_dropped_++ == 0) {
    reporter_->Error("a plain ZeroMQ subscriber is not keeping up: messages it missed are counted as "
                     "xpub_dropped in $SYS.broker.stats (plain SUB is at-most-once; use mq-sub for delivery)");
  }
}

void Broker::Impl::Subscribe(Peer* p, const proto::Subscribe& s) {
  std::string why;
  for (std::string_view text : s.patterns) {
    if (!security_->Allows(p->key, Acl::Op::kSubscribe, text, &why)) return Deny(p, why);
  }
  p->patterns.clear();
  for (std::string_view text : s.patterns) {
    Pattern pat;
    (void)Pattern::Parse(text, &pat);  // validated by the decoder
    p->patterns.push_back(std::move(pat));
  }
  p->prefetch = p->credit = s.prefetch;
  p->last_ack_ms = NowMs();
  fanout_.push_back(p);
  routes_.clear();
  SendTo(p, proto::Command::kSubscribed, proto::EncodeSubscribed({}));
}

void Broker::Impl::Consume(Peer* p, const proto::Subscribe& s) {
  if (security_->has_acl()) {
    std::string why, name(s.queue);
    auto existing = queues_.find(name);
    if (s.prefetch > 0 && !security_->Allows(p->key, Acl::Op::kConsume, name, &why)) return Deny(p, why);
    if (existing == queues_.end() && !security_->Allows(p->key, Acl::Op::kDeclare, name, &why)) return Deny(p, why);
    for (std::string_view text : s.patterns) {
      bool bound = false;
      if (existing != queues_.end()) {
        for (const Pattern& b : existing->second->bindings()) bound = bound || b.text() == text;
      }
      if (bound) continue;  // binding it again changes nothing
      if (!security_->Allows(p->key, Acl::Op::kBind, name, &why) ||
          !security_->Allows(p->key, Acl::Op::kSubscribe, text, &why)) {
        return Deny(p, why);
      }
    }
  }
  Queue* q = DeclareQueue(std::string(s.queue));
  bool bound = false;
  for (std::string_view text : s.patterns) {
    Pattern pat;
    (void)Pattern::Parse(text, &pat);
    bound = q->Bind(pat) || bound;
  }
  if (bound) PersistBindings(q);
  if (s.prefetch == 0) {  // declare and bind only
    routes_.clear();
    proto::Subscribed ok;
    ok.queue = q->name();
    ok.depth = q->ready();
    SendTo(p, proto::Command::kSubscribed, proto::EncodeSubscribed(ok));
    return;
  }
  q->AddConsumer(p->id);
  p->queue = q;
  p->prefetch = p->credit = s.prefetch;
  routes_.clear();
  proto::Subscribed ok;
  ok.queue = q->name();
  ok.depth = q->ready();
  SendTo(p, proto::Command::kSubscribed, proto::EncodeSubscribed(ok));
  dirty_queues_.push_back(q);
}

void Broker::Impl::AckFrom(Peer* p, const proto::Ack& a) {
  p->last_ack_ms = NowMs();
  p->credit = static_cast<uint32_t>(std::min<uint64_t>(uint64_t{p->credit} + a.credit, p->prefetch));
  if (p->queue) {
    for (uint64_t tag : a.tags) {
      uint64_t seq = 0;  // an unknown tag (already requeued) is harmless
      if (p->queue->Ack(p->id, tag, &seq) && seq != 0) store_->AppendAck(seq);
    }
    dirty_queues_.push_back(p->queue);
  } else if (!p->dirty) {
    p->dirty = true;
    dirty_peers_.push_back(p);
  }
}

void Broker::Impl::Close(Peer* p, std::string_view why, bool tell) {
  if (p->state == PeerState::kGone) return;
  // Saying goodbye can fail, and a failed send closes the peer itself (once).
  if (tell && !SendTo(p, proto::Command::kBye, proto::EncodeReason(why))) return;
  if (options_.verbose || why.substr(0, 4) == "fell" || why.substr(0, 2) == "no") {
    reporter_->Error(fmt::format("client '{}' left: {}", p->name ? *p->name : std::string("?"), why));
  }
  p->state = PeerState::kGone;
  if (p->queue) {
    p->queue->RemoveConsumer(p->id);
    dirty_queues_.push_back(p->queue);
    p->queue = nullptr;
  }
  fanout_.erase(std::remove(fanout_.begin(), fanout_.end(), p), fanout_.end());
  p->pending.clear();
  routes_.clear();
  closed_.push_back(p);
}

void Broker::Impl::RemoveClosed() {
  // Close() lists a peer once (it returns early for a gone one); dedupe all
  // the same, since erasing a peer twice would use it after it is freed.
  std::sort(closed_.begin(), closed_.end());
  closed_.erase(std::unique(closed_.begin(), closed_.end()), closed_.end());
  for (Peer* p : closed_) {
    dirty_peers_.erase(std::remove(dirty_peers_.begin(), dirty_peers_.end(), p), dirty_peers_.end());
    peers_by_id_.erase(p->id);
    peers_.erase(p->identity);
  }
  closed_.clear();
}

bool Broker::Impl::SendDeliver(Peer* p, const std::vector<proto::Delivery>& batch, size_t bytes) {
  // One reused buffer: a fresh ~300 KB string per batch costs an mmap, page
  // faults and a munmap each time.
  std::string& body = deliver_buf_;
  body.clear();
  body.reserve(bytes + 4);
  proto::BeginDeliver(&body);
  for (const proto::Delivery& d : batch) proto::AppendDelivery(d, &body);
  proto::FinishDeliver(static_cast<uint32_t>(batch.size()), &body);
  if (!SendTo(p, proto::Command::kDeliver, body)) return false;
  delivered_ += batch.size();
  p->credit -= static_cast<uint32_t>(batch.size());
  return true;
}

void Broker::Impl::FlushSubscriber(Peer* p) {
  p->dirty = false;
  if (p->state == PeerState::kGone) return;
  std::vector<proto::Delivery>& batch = batch_;
  std::vector<MessageRef>& hold = hold_;  // keeps the batch's messages alive until sent
  int64_t now_ns = NowNs();
  while (p->credit > 0 && !p->pending.empty()) {
    batch.clear();
    size_t bytes = 0;
    hold.clear();
    while (batch.size() < p->credit && !p->pending.empty()) {
      const MessageRef& m = p->pending.front();
      size_t b = proto::DeliveryBytes({.publisher = *m->publisher, .topic = m->topic, .payload = m->payload});
      if (!batch.empty() && bytes + b > kMaxDeliverBytes) break;
      bytes += b;
      batch.push_back({.tag = 0, .redelivered = false, .publisher = *m->publisher, .seq = m->seq,
                       .ts_us = m->ts_us, .topic = m->topic, .payload = m->payload});
      latency_ms_.Add(static_cast<double>(now_ns - m->received_ns) / 1e6);
      p->pending_bytes -= m->bytes();
      hold.push_back(m);
      p->pending.pop_front();
    }
    if (!SendDeliver(p, batch, bytes)) return;
  }
}

void Broker::Impl::Refill(Queue* q) {
  if (!store_ || q->spilled() == 0 || q->resident_bytes() >= options_.queue_memory / 2) return;
  std::vector<Recovery::Message> got;
  uint64_t next = 0;
  Status s = store_->ReadQueue(q->store_id(), q->spill_from(), options_.queue_memory - q->resident_bytes(),
                               q->spilled(), &got, &next);
  for (Recovery::Message& m : got) {
    uint32_t rb = static_cast<uint32_t>(std::min<uint64_t>(Store::RecordBytes(*m.message), UINT32_MAX));
    q->Unspill(std::move(m.message), m.seq, m.redelivered, rb);
  }
  q->set_spill_from(next);
  if (!s.ok() || got.empty()) {
    reporter_->Error(fmt::format("queue '{}': {} message{} could not be read back from {}{}{}", q->name(),
                                 q->spilled(), q->spilled() == 1 ? "" : "s", options_.data_dir,
                                 s.ok() ? "" : ": ", s.message()));
    q->DropSpilled();
  }
}

void Broker::Impl::FlushQueue(Queue* q) {
  Refill(q);
  std::vector<Queue::Taken>& taken = taken_;
  std::vector<proto::Delivery>& batch = batch_;
  int64_t now_ns = NowNs();
  bool progress = true;
  while (progress && q->ready() > 0) {
    progress = false;
    std::vector<uint64_t> consumers = q->consumers();  // copy: a failed send removes one
    // Consumers with credit share what is ready: each takes at most its
    // share per round, and rounds start at the next consumer each time, so
    // a trickle of messages alternates between them.
    std::vector<Peer*> ready_peers;
    const size_t n = consumers.size();
    const size_t first = n == 0 ? 0 : q->NextRound() % n;
    for (size_t k = 0; k < n; ++k) {
      auto pit = peers_by_id_.find(consumers[(first + k) % n]);
      if (pit == peers_by_id_.end()) continue;
      Peer* p = pit->second;
      if (p->state != PeerState::kGone && p->credit > 0) ready_peers.push_back(p);
    }
    if (ready_peers.empty()) break;
    if (q->resident() == 0) Refill(q);
    const size_t share = std::max<size_t>(1, (q->ready() + ready_peers.size() - 1) / ready_peers.size());
    for (Peer* p : ready_peers) {
      if (p->state == PeerState::kGone || p->credit == 0 || q->ready() == 0) continue;
      taken.clear();
      q->Take(p->id, std::min<size_t>(p->credit, share), kMaxDeliverBytes, &taken);
      batch.clear();
      size_t bytes = 0;
      uint64_t through = 0;
      for (const Queue::Taken& t : taken) {
        through = std::max(through, t.store_seq);
        const StoredMessage& m = *t.message;
        batch.push_back({.tag = t.tag, .redelivered = t.redelivered, .publisher = *m.publisher, .seq = m.seq,
                         .ts_us = m.ts_us, .topic = m.topic, .payload = m.payload});
        bytes += proto::DeliveryBytes(batch.back());
        if (!t.redelivered) latency_ms_.Add(static_cast<double>(now_ns - m.received_ns) / 1e6);
      }
      if (through != 0) {
        // On disk (in the page cache, which survives the broker) before the
        // consumer can see them: a restart then marks them redelivered.
        store_->AppendDelivered(q->store_id(), through);
        ReportStore(store_->Write());
      }
      if (!batch.empty() && SendDeliver(p, batch, bytes)) progress = true;
    }
  }
}

void Broker::Impl::FlushDeliveries() {
  for (size_t i = 0; i < dirty_peers_.size(); ++i) FlushSubscriber(dirty_peers_[i]);
  dirty_peers_.clear();
  std::sort(dirty_queues_.begin(), dirty_queues_.end());
  dirty_queues_.erase(std::unique(dirty_queues_.begin(), dirty_queues_.end()), dirty_queues_.end());
  std::vector<Queue*> queues;
  queues.swap(dirty_queues_);
  for (Queue* q : queues) FlushQueue(q);
  RemoveClosed();
}

void Broker::Impl::OnForeignMessage(const Frames& f, const std::shared_ptr<const std::string>& who, uint64_t* seq) {
  ++foreign_in_;
  std::string where = "from a plain ZeroMQ " + std::string(who == pub_name_ ? "PUB" : "PUSH") + " client";
  if (f.size() != 2) {
    Problem(&foreign_rejected_, fmt::format("rejected a message {}: {} frames (expected [topic, payload])", where,
                                            f.size()));
    return;
  }
  Status s = ValidateTopic(f[0]);
  if (!s.ok()) {
    Problem(&foreign_rejected_, "rejected a message " + where + ": " + s.message());
    return;
  }
  if (security_->restricted()) {
    NotePlain(f);
    std::string key = f.Property("User-Id"), why;
    if (!security_->Admitted(key)) {
      Problem(&foreign_rejected_, "rejected a message " + where + ": its key ('" + key +
                                      "') is no longer in --authorized-keys");
      return;
    }
    if (!security_->Allows(key, Acl::Op::kPublish, f[0], &why)) {
      ++foreign_rejected_;
      return;
    }
  }
  std::string_view payload = f[1];
  std::string error;
  if (payload.size() > options_.max_message_bytes) {
    ++oversized_;
    Problem(&foreign_rejected_, fmt::format("rejected a message {}: {} bytes, more than --max-message-bytes", where,
                                            payload.size()));
    return;
  }
  if (payload.find('\n') != std::string_view::npos) {
    Problem(&foreign_rejected_, "rejected a message " + where + ": the payload spans lines (not one NDJSON line)");
    return;
  }
  json_buf_.assign(payload);
  json_buf_.append(simdjson::SIMDJSON_PADDING, '\0');
  expr::Value v;
  arena_.Reset();
  if (!json_.Parse(std::string_view(json_buf_.data(), payload.size()), &arena_, &v, &error)) {
    Problem(&foreign_rejected_, "rejected a message " + where + ": payload is not JSON: " + error);
    return;
  }
  auto sm = std::make_shared<StoredMessage>();
  sm->topic.assign(f[0]);
  sm->payload.assign(payload);
  sm->publisher = who;
  sm->seq = ++*seq;
  sm->ts_us = WallUs();
  sm->received_ns = NowNs();
  std::string why;
  if (!Store1(std::move(sm), false, &why)) {
    Problem(&foreign_rejected_, "refused a message " + where + ": " + why);
  }
}

void Broker::Impl::OnXPubSubscription(const Frames& f) {
  if (f.size() != 1 || f[0].empty()) return;
  bool subscribe = f[0][0] == 1;
  std::string prefix(f[0].substr(1));
  if (security_->restricted() && subscribe) NotePlain(f);
  if (security_->has_acl()) {
    // XPUB_MANUAL: nothing reaches this peer unless applied here.
    std::string key = f.Property("User-Id"), why;
    bool allowed = security_->Admitted(key) && PrefixAllowed(key, prefix, &why);
    if (!allowed) return;  // never applied: also no unsubscription to count
    xpub_->ApplySubscription(subscribe, prefix);
  }
  auto it = std::find_if(xpub_prefixes_.begin(), xpub_prefixes_.end(), [&](auto& e) { return e.first == prefix; });
  if (subscribe) {
    if (it == xpub_prefixes_.end()) {
      xpub_prefixes_.emplace_back(prefix, 1);
    } else {
      ++it->second;
    }
  } else if (it != xpub_prefixes_.end() && --it->second <= 0) {
    xpub_prefixes_.erase(it);
  }
}

bool Broker::Impl::PrefixAllowed(const std::string& key, std::string_view prefix, std::string* why) {
  // The topics a byte prefix reaches, as patterns to be covered: its whole
  // words then '#' (a partial last word counts as any word), plus $SYS.#
  // when the prefix could begin a $SYS topic ("", "$", "$SY", "$SYS"...).
  size_t dot = prefix.rfind('.');
  std::string words(dot == std::string_view::npos ? std::string_view() : prefix.substr(0, dot + 1));
  std::vector<std::string> needed = {words + "#"};
  constexpr std::string_view kSys = "$SYS";
  bool maybe_sys = prefix.size() <= kSys.size() ? kSys.substr(0, prefix.size()) == prefix
                                                : prefix.substr(0, kSys.size()) == kSys;
  if (words.empty() && maybe_sys) needed.push_back("$SYS.#");
  for (const std::string& pattern : needed) {
    if (!security_->Allows(key, Acl::Op::kSubscribe, pattern, why,
                           fmt::format(" (plain ZeroMQ SUB prefix '{}')", prefix))) {
      return false;
    }
  }
  return true;
}

void Broker::Impl::OnPlainMonitorEvent(const Frames& f) {
  MonitorEvent e;
  if (DecodeMonitorEvent(f, &e) && e.event == ZMQ_EVENT_DISCONNECTED) plain_conns_.erase(static_cast<int>(e.value));
}

void Broker::Impl::NotePlain(const Frames& f) {
  int fd = f.source_fd();
  if (fd < 0) return;
  auto it = plain_conns_.find(fd);
  if (it != plain_conns_.end()) return;
  plain_conns_[fd] = {f.Property("User-Id"), PeerAddress(fd)};
}

void Broker::Impl::Deny(Peer* p, const std::string& why) {
  if (p->state == PeerState::kGone) return;
  if (!SendTo(p, proto::Command::kDenied, proto::EncodeReason(why))) return;
  Close(p, "denied: " + why, false);
}

void Broker::Impl::Reload(bool forced) {
  std::vector<std::string> removed;
  if (!security_->MaybeReload(forced, &removed)) return;
  std::vector<Peer*> all;
  for (auto& [id, p] : peers_) all.push_back(p.get());
  for (Peer* p : all) {
    if (p->state == PeerState::kGone) continue;
    std::string why;
    if (!security_->Admitted(p->key)) {
      ++revoked_;
      reporter_->Error(fmt::format("closing client '{}': its key ('{}') was removed from --authorized-keys",
                                   p->name ? *p->name : std::string("?"), p->key));
      Deny(p, "this client's key ('" + p->key + "') was removed from the broker's --authorized-keys");
      // Later, so that the DENIED gets out first.
      pending_shutdowns_.push_back({NowMs() + kShutdownDelayMs, p->fd, p->remote});
      continue;
    }
    if (!security_->has_acl()) continue;
    bool allowed = true;
    for (const Pattern& pat : p->patterns) {
      allowed = allowed && security_->Allows(p->key, Acl::Op::kSubscribe, pat.text(), &why);
    }
    if (allowed && p->queue) allowed = security_->Allows(p->key, Acl::Op::kConsume, p->queue->name(), &why);
    if (!allowed) Deny(p, why + " (after the --acl was reloaded)");
  }
  for (auto it = plain_conns_.begin(); it != plain_conns_.end();) {
    if (security_->Admitted(it->second.key)) {
      ++it;
      continue;
    }
    if (ShutdownConnection(it->first, it->second.remote)) {
      ++revoked_;
      reporter_->Error(fmt::format("closed a plain ZeroMQ connection from {}: its key ('{}') was removed from "
                                   "--authorized-keys",
                                   it->second.remote, it->second.key));
    }
    plain_conns_.erase(it++);
  }
  RemoveClosed();
}

void Broker::Impl::OnMonitorEvent(const Frames& f) {
  MonitorEvent e;
  if (!DecodeMonitorEvent(f, &e)) return;
  if (e.event == ZMQ_EVENT_ACCEPTED) {
    ++connections_;
  } else if (e.event == ZMQ_EVENT_DISCONNECTED) {
    ++disconnections_;
    // The peer that used this descriptor may be gone without a BYE (killed,
    // or ZeroMQ dropped it for a frame over the size limit). Descriptors are
    // reused, so probe rather than close: a send to a vanished peer fails.
    std::vector<Peer*> probe;
    for (auto& [id, p] : peers_) {
      if (p->fd == static_cast<int>(e.value) && p->state != PeerState::kGone) probe.push_back(p.get());
    }
    for (Peer* p : probe) {
      p->suspect = true;
      SendTo(p, proto::Command::kHeartbeat, {});
    }
  } else if (e.event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL || e.event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL ||
             e.event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
    std::string why = "failed the ZeroMQ handshake (not a ZeroMQ client?)";
    if (e.event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
      ++handshake_failures_;  // the ZAP handler said which key, and counted it
      return;
    }
    if (e.value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH) {
      why = security_->curve() ? "is a plain-text client: this broker requires CURVE (--curve-key, --server-key)"
                               : "is a CURVE client: this broker is plain text (no --curve-key)";
    } else if (e.value == ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC) {
      why = "failed the CURVE handshake (is its --server-key this broker's public key?)";
    }
    Problem(&handshake_failures_, "a client connection to " + e.address + " " + why + "; closed");
  }
}

void Broker::Impl::CheckPeers(int64_t now) {
  std::vector<Peer*> expired;
  for (auto& [id, p] : peers_) {
    if (now - p->last_recv_ms > 3 * options_.heartbeat_ms) {
      expired.push_back(p.get());
    } else if (p->suspect || now - p->last_send_ms >= options_.heartbeat_ms) {
      SendTo(p.get(), proto::Command::kHeartbeat, {});
    }
  }
  for (Peer* p : expired) {
    ++expired_;
    Close(p, fmt::format("no heartbeat for {} ms", now - p->last_recv_ms), true);
  }
  std::vector<Peer*> stalled;
  for (Peer* s : fanout_) {
    if (s->pending_bytes > options_.subscriber_buffer_bytes && now - s->last_ack_ms > options_.stall_timeout_ms) {
      stalled.push_back(s);
    }
  }
  for (Peer* s : stalled) {
    ++slow_disconnected_;
    Close(s,
          fmt::format("fell behind: acknowledged nothing for {} ms while {} bytes waited for it and publishers "
                      "were held back (--stall-timeout); use a queue (mq-sub --queue) to read at your own pace",
                      now - s->last_ack_ms, s->pending_bytes),
          true);
  }
  RemoveClosed();
}

void Broker::Impl::PublishStats(int64_t now) {
  double secs = std::max(1e-3, static_cast<double>(now - last_stats_ms_) / 1000.0);
  size_t publishers = 0, subscribers = fanout_.size(), consumers = 0;
  for (auto& [id, p] : peers_) {
    publishers += p->state == PeerState::kPublishing;
    consumers += p->state == PeerState::kConsuming;
  }
  auto rate = [&](uint64_t now_count, uint64_t prev) {
    return std::round(static_cast<double>(now_count - prev) / secs * 10) / 10;
  };
  auto ms = [&](double q) {
    return latency_ms_.count() == 0 ? std::string("null") : fmt::format("{:.3f}", latency_ms_.Quantile(q));
  };
  std::string j = fmt::format(
      "{{\"ts\":\"{}\",\"uptime_s\":{},\"interval_s\":{:.3f},\"publishers\":{},\"subscribers\":{},\"consumers\":{},"
      "\"held_batches\":{},"
      "\"messages_in\":{},\"in_per_sec\":{},\"delivered\":{},\"out_per_sec\":{},\"refused\":{},\"unroutable\":{},"
      "\"latency_ms\":{{\"p50\":{},\"p99\":{},\"samples\":{}}},\"malformed\":{},\"oversized\":{},"
      "\"refused_commands\":{},\"expired_peers\":{},\"connections\":{},\"disconnections\":{},"
      "\"handshake_failures\":{},\"dropped_connections\":{},\"slow_subscribers_disconnected\":{},\"foreign_in\":{},"
      "\"foreign_rejected\":{},\"xpub_subscriptions\":{},\"xpub_forwarded\":{},\"xpub_dropped\":{},\"queues\":{{",
      time::FormatRfc3339Us(static_cast<int64_t>(WallUs())), (now - started_ms_) / 1000, secs, publishers,
      subscribers, consumers, held_batches_, messages_in_, rate(messages_in_, prev_in_), delivered_, rate(delivered_, prev_delivered_),
      refused_, unroutable_, ms(0.5), ms(0.99), latency_ms_.count(), malformed_, oversized_, refused_commands_, expired_, connections_, disconnections_, handshake_failures_, dropped_,
      slow_disconnected_, foreign_in_, foreign_rejected_, xpub_prefixes_.size(), xpub_forwarded_, xpub_dropped_);
  bool first = true;
  for (auto& [name, q] : queues_) {
    const Queue::Counters& c = q->counters();
    Queue::Counters& prev = prev_queue_[name];
    j += fmt::format(
        "{}\"{}\":{{\"depth\":{},\"unacked\":{},\"bytes\":{},\"consumers\":{},\"in_per_sec\":{},\"out_per_sec\":{},"
        "\"in\":{},\"out\":{},\"acked\":{},\"redeliveries\":{},\"refusals\":{},\"disk_bytes\":{},\"spilled\":{}}}",
        first ? "" : ",", io::JsonEscape(name), q->ready(), q->unacked(), q->bytes(), q->consumers().size(),
        rate(c.in, prev.in), rate(c.out, prev.out), c.in, c.out, c.acked, c.redelivered, c.refused,
        q->disk_bytes(), q->spilled());
    prev = c;
    first = false;
  }
  j += "}";
  if (store_) {
    StoreStats st = store_->stats();
    const uint64_t fsyncs = st.fsyncs - prev_fsyncs_, records = st.records_synced - prev_records_synced_;
    j += fmt::format(
        ",\"store\":{{\"dir\":\"{}\",\"fsync\":\"{}\",\"disk_bytes\":{},\"segments\":{},\"fsyncs\":{},"
        "\"fsyncs_per_sec\":{},\"records_per_fsync\":{},\"recovery_ms\":{},\"recovered\":{},"
        "\"corrupt_records\":{},\"write_failures\":{},\"waiting_confirms\":{}}}",
        io::JsonEscape(options_.data_dir), FsyncModeName(options_.fsync), st.disk_bytes, st.segments, st.fsyncs,
        rate(st.fsyncs, prev_fsyncs_),
        fsyncs == 0 ? std::string("null") : fmt::format("{:.1f}", static_cast<double>(records) / fsyncs),
        recovery_ms_, recovered_, corrupt_records_, st.write_failures, confirms_.size());
    prev_fsyncs_ = st.fsyncs;
    prev_records_synced_ = st.records_synced;
  } else {
    j += ",\"store\":null";
  }
  j += fmt::format(
      ",\"security\":{{\"curve\":{},\"authorized_keys\":{},\"acl\":{},\"auth_refused\":{},\"acl_refused\":{},"
      "\"reloads\":{},\"revoked_connections\":{}}}",
      security_->curve(), security_->restricted() ? std::to_string(security_->keys()) : std::string("null"),
      security_->has_acl(), security_->auth_refused(), security_->acl_refused(), security_->reloads(), revoked_);
  j += "}";
  prev_in_ = messages_in_;
  prev_delivered_ = delivered_;
  latency_ms_ = agg::QuantileSketch();
  last_stats_ms_ = now;

  auto sm = std::make_shared<StoredMessage>();
  sm->topic.assign(kStatsTopic);
  sm->payload = std::move(j);
  sm->publisher = sys_name_;
  sm->seq = ++sys_seq_;
  sm->ts_us = WallUs();
  sm->received_ns = NowNs();
  std::string why;
  if (!Store1(std::move(sm), false, &why, /*own=*/true)) {
    Problem(&refused_, "could not store $SYS.broker.stats: " + why);
  }
}

Status Broker::Impl::Run() {
  std::vector<PollEntry> items;
  items.push_back({router_.get()});
  if (xpub_) items.push_back({xpub_.get()});
  if (sub_in_) items.push_back({sub_in_.get()});
  if (pull_in_) items.push_back({pull_in_.get()});
  if (monitor_) items.push_back({monitor_.get()});
  if (security_->zap_socket()) items.push_back({security_->zap_socket()});
  for (auto& [sock, pair] : plain_monitors_) items.push_back({pair.get()});
  if (store_ && store_->wake_fd() >= 0) items.push_back({.socket = nullptr, .fd = store_->wake_fd()});
  Frames frames;
  int64_t next_check = NowMs() + options_.heartbeat_ms / 2;
  int64_t next_stats = options_.stats_interval_ms > 0 ? NowMs() + options_.stats_interval_ms : INT64_MAX;
  while (!io::InterruptRequested()) {
    int64_t now = NowMs();
    int64_t wait = std::max<int64_t>(0, std::min(next_check, next_stats) - now);
    if (Poll(&items, wait)) {
      for (PollEntry& e : items) {
        if (!e.readable) continue;
        if (!e.socket) {  // the store's syncer: confirmations may go out
          store_->OnWake();
          continue;
        }
        for (size_t n = 0; n < kDrainPerPoll && e.socket->Recv(&frames); ++n) {
          if (e.socket == router_.get()) {
            OnClientMessage(frames);
          } else if (e.socket == xpub_.get()) {
            OnXPubSubscription(frames);
          } else if (e.socket == monitor_.get()) {
            OnMonitorEvent(frames);
          } else if (e.socket == security_->zap_socket()) {
            security_->HandleZap(frames);
          } else if (e.socket == sub_in_.get()) {
            OnForeignMessage(frames, pub_name_, &foreign_pub_seq_);
          } else if (e.socket == pull_in_.get()) {
            OnForeignMessage(frames, push_name_, &foreign_push_seq_);
          } else {
            OnPlainMonitorEvent(frames);
          }
        }
      }
    }
    FlushDeliveries();
    ReleaseParked();
    if (store_) {
      if (store_->HasPending()) ReportStore(store_->Write());  // acknowledgements, delivery marks
      ReleaseConfirms();
    }
    now = NowMs();
    if (now >= next_check) {
      const bool hangup = io::TakeReloadRequest();
      if (hangup || security_->restricted()) Reload(hangup);
      for (auto it = pending_shutdowns_.begin(); it != pending_shutdowns_.end();) {
        if (it->at_ms > now) {
          ++it;
          continue;
        }
        ShutdownConnection(it->fd, it->remote);
        it = pending_shutdowns_.erase(it);
      }
      CheckPeers(now);
      ReleaseParked();
      next_check = now + std::max<int64_t>(1, options_.heartbeat_ms / 2);
    }
    if (now >= next_stats) {
      PublishStats(now);
      next_stats = now + options_.stats_interval_ms;
      FlushDeliveries();
    }
  }
  // Orderly stop: confirm what is stored, tell every client, say what was
  // still queued.
  if (store_) {
    Status s = store_->WriteAndSync(10000);
    if (!s.ok()) reporter_->Error(s.message());
    ReleaseConfirms();
  }
  std::vector<Peer*> all;
  for (auto& [id, p] : peers_) all.push_back(p.get());
  for (Peer* p : all) Close(p, "broker shutting down", true);
  RemoveClosed();
  uint64_t ready = 0, unacked = 0;
  size_t nonempty = 0;
  for (auto& [name, q] : queues_) {
    ready += q->ready();
    unacked += q->unacked();
    nonempty += (q->ready() + q->unacked()) > 0;
  }
  if (ready + unacked > 0 && store_) {
    reporter_->Error(fmt::format("shutting down with {} message{} in {} queue{} ({} waiting for a consumer, {} "
                                 "delivered but not acknowledged), stored in {}: they are delivered after a restart",
                                 ready + unacked, ready + unacked == 1 ? "" : "s", nonempty, nonempty == 1 ? "" : "s",
                                 ready, unacked, options_.data_dir));
  } else if (ready + unacked > 0) {
    reporter_->Error(fmt::format("shutting down with {} message{} in {} queue{} ({} waiting for a consumer, {} "
                                 "delivered but not acknowledged); queues are kept in memory only, so these are lost",
                                 ready + unacked, ready + unacked == 1 ? "" : "s", nonempty, nonempty == 1 ? "" : "s",
                                 ready, unacked));
  }
  store_.reset();
  return Status::Ok();
}

Broker::Broker(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Broker::~Broker() = default;

Status Broker::Create(const BrokerOptions& options, io::Reporter* reporter, std::unique_ptr<Broker>* out) {
  auto impl = std::make_unique<Impl>(options, reporter);
  Status s = impl->Open();
  if (!s.ok()) return s;
  out->reset(new Broker(std::move(impl)));
  return Status::Ok();
}

std::vector<std::string> Broker::Endpoints() const { return impl_->Endpoints(); }
Status Broker::Run() { return impl_->Run(); }

}  // namespace govstream::mq
