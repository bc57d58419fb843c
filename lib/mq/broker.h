// mq-broker's engine: routes published messages to fan-out subscribers and
// named queues, and bridges plain ZeroMQ clients. docs/protocol.md is the
// wire grammar; this is the server side of it.
//
// One thread runs everything (Run()). Each connected client is a peer with
// an explicit state (broker_fsm.h); every command is decoded first, then
// dispatched through the state table, so a malformed or out-of-place command
// is refused (ERROR) and counted, never acted on.
//
// Memory is bounded. Queues by their limits: a full queue refuses
// publishes (negatively confirmed). Fan-out subscribers by flow control:
// while one has more than subscriber_buffer_bytes waiting, further PUBLISH
// batches are held, unconfirmed, until it catches up, so publishers slow to
// the pace of the slowest subscriber and nothing is dropped. A subscriber
// that holds publishers back and acknowledges nothing for stall_timeout_ms
// is disconnected with a BYE saying so: one stuck reader cannot stop the
// others for ever.
//
// Without data_dir, queues live in memory only: they outlive their
// consumers, not the broker. With data_dir, named queues are durable
// (mq/store.h): their declarations, messages and acknowledgements go to an
// append-only log, a publish is confirmed only once its records are on disk
// (group commit, FsyncMode), and Create() recovers the queues and their
// unacknowledged messages. A failed write refuses the publishes it held.
// Memory stays bounded by queue_memory per durable queue: beyond it, a
// queue's messages stay in the store only and are read back in order as
// the ones in memory are delivered.
// Fan-out subscriptions stay at most once.
//
// Security (mq/security.h): with a CURVE key every endpoint is encrypted,
// and with authorized keys only those clients connect; each connection
// carries its key's name. With an ACL, every publish (per message),
// subscription, consume, declare and bind, and every plain ZeroMQ
// message and SUB prefix, is checked against the name's rules; a refused
// command is answered DENIED and ends the session, a refused message is
// negatively confirmed. SIGHUP, or a change of the files, reloads the
// keys and the ACL; the sessions and plain connections of a removed key,
// and the subscriptions the new ACL no longer allows, are closed.
//
// Failure: Create() returns Connection when an endpoint cannot be bound.
// Run() returns OK after SIGINT/SIGTERM (io/signals.h), having told every
// client (BYE) and reported on stderr how many queued messages it held.
#ifndef GOVSTREAM_MQ_BROKER_H_
#define GOVSTREAM_MQ_BROKER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "io/report.h"
#include "mq/security.h"
#include "mq/store.h"

namespace govstream::mq {

struct BrokerOptions {
  std::string listen = "tcp://127.0.0.1:7750";       // govstream clients (ROUTER)
  std::string sub_listen = "tcp://127.0.0.1:7751";   // plain ZeroMQ SUB clients (XPUB); "" disables
  std::string pub_listen = "tcp://127.0.0.1:7752";   // plain ZeroMQ PUB clients (SUB); "" disables
  std::string push_listen = "tcp://127.0.0.1:7753";  // plain ZeroMQ PUSH clients (PULL); "" disables
  int64_t stats_interval_ms = 10000;                 // $SYS.broker.stats period
  int64_t heartbeat_ms = 1000;                       // peers silent for 3 intervals are gone
  uint64_t max_queue_bytes = 256ull << 20;
  uint64_t max_queue_messages = 1000000;
  uint64_t max_message_bytes = 16u << 20;
  uint64_t subscriber_buffer_bytes = 16u << 20;
  int64_t stall_timeout_ms = 10000;
  bool verbose = false;                              // log peers joining and leaving
  std::string data_dir;                              // durable queues when set
  FsyncMode fsync = FsyncMode::kBatch;
  uint64_t segment_bytes = 64ull << 20;
  uint64_t queue_memory = 64ull << 20;  // per durable queue; the rest of its backlog stays on disk
  SecurityOptions security;             // CURVE, authorized keys, ACL (mq/security.h)
};

class Broker {
 public:
  static Status Create(const BrokerOptions& options, io::Reporter* reporter, std::unique_ptr<Broker>* out);
  ~Broker();
  // The endpoints actually bound, in option order (resolves ports given as
  // '*'), each "ROLE ENDPOINT", e.g. "clients tcp://127.0.0.1:7750".
  std::vector<std::string> Endpoints() const;
  Status Run();

 private:
  class Impl;
  explicit Broker(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace govstream::mq

#endif  // GOVSTREAM_MQ_BROKER_H_
