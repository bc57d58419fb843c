// The client side of a message broker, as mq-pub and mq-sub use it: one
// interface, two backends chosen by the endpoint's scheme.
//
//   tcp://, ipc://     mq-broker, over the govstream protocol (docs/protocol.md)
//                      on a ZeroMQ DEALER socket (client_zmq.cc)
//   amqp://, amqps://  RabbitMQ (or any AMQP 0-9-1 broker), through
//                      rabbitmq-c (client_amqp.cc)
//
// The tools never look at the scheme: Connect() picks the backend, and
// ValidateClientOptions() refuses options the chosen backend cannot honour.
//
// Semantics both backends keep:
// - Publishing: a batch is built with Add() and sent with SendBatch(); the
//   broker answers every batch with exactly one kConfirm event with the same
//   first_seq and count, listing the lines it refused (a full queue, or
//   unroutable with `mandatory`). Batches are confirmed in order. A message
//   is confirmed only once the broker has taken responsibility for it.
//   When the session fails, a backend that settles messages one by one may
//   first confirm the part of the oldest batch it settled (a kConfirm with
//   that batch's first_seq and a smaller count); Wait() then reports the
//   failure, and the other lines are never confirmed.
// - Subscribing: Subscribe() is answered by kSubscribed, then kDeliver
//   events. Ack() acknowledges the queue deliveries written so far (tags in
//   delivery order) and returns credit; what is not acknowledged when the
//   session ends goes back to the queue.
// - Errors are Status values: Connection (unreachable, lost, or the broker
//   ended the session), AccessRefused (credentials or permissions),
//   Rejected (the broker refused the set-up: an exchange that does not
//   exist or is not a topic exchange, a queue declared with other
//   arguments), Unconfirmed (the broker ended the session over a line it
//   refuses: RabbitMQ and a line over its max_message_size), Interrupted (a
//   signal while waiting), BrokenPipe (the watched descriptor failed).
//
// Owned by one thread; not thread-safe. Third-party errors (zmq, rabbitmq-c)
// stay inside the backend that uses that library.
#ifndef GOVSTREAM_MQ_CLIENT_H_
#define GOVSTREAM_MQ_CLIENT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "mq/protocol.h"

namespace govstream::cli {
class Args;
}

namespace govstream::mq {

struct ClientOptions {
  std::string endpoint = "tcp://127.0.0.1:7750";
  proto::Role role = proto::Role::kPublisher;
  std::string name;  // publisher id / subscriber name
  int64_t connect_timeout_ms = 5000;
  // AMQP only (ValidateClientOptions refuses them with tcp:// and ipc://).
  std::string exchange;          // topic exchange; empty: amq.topic
  std::string queue_type;        // classic, quorum or stream; empty: quorum
  std::string credentials_file;  // "USER:PASSWORD" (one line); else the URL's, else
                                 // $GOVSTREAM_AMQP_CREDENTIALS, else guest:guest
  std::string tls_ca;            // amqps:// CA certificates (PEM)
  std::string tls_cert, tls_key; // amqps:// client certificate and key (PEM)
  // mq-broker only: CURVE (mq/keys.h). This client's secret key file, and
  // the broker's public key (a file or 40 Z85 characters); both or neither.
  std::string curve_key;
  std::string server_key;
};

// True for amqp:// and amqps:// endpoints.
bool IsAmqpEndpoint(std::string_view endpoint);
// A usage error for options the endpoint's backend does not have.
Status ValidateClientOptions(const ClientOptions& options);
// The --broker, --connect-timeout and AMQP options of mq-pub and mq-sub
// (cli::CommonClientOptions, and mq-sub's --queue-type), validated.
Status ClientOptionsFromArgs(const cli::Args& args, ClientOptions* out);
// Checks an amqp:// or amqps:// URL (client_amqp.cc).
Status ValidateAmqpUrl(const std::string& url);

class Client {
 public:
  // Connects (bounded by connect_timeout_ms) with the backend for the scheme.
  static Status Connect(const ClientOptions& options, std::unique_ptr<Client>* out);
  virtual ~Client() = default;

  // The largest payload the broker takes, and the largest batch to build.
  virtual uint64_t max_message_bytes() const = 0;
  virtual uint64_t max_batch_bytes() const = 0;
  // How often the session must be kept alive (KeepAlive()) while busy.
  virtual int64_t heartbeat_ms() const = 0;
  virtual const std::string& endpoint() const = 0;

  // -- publishing --------------------------------------------------------
  // Adds a message to the batch being built; batch_bytes() is its size.
  virtual void Add(std::string_view topic, std::string_view payload) = 0;
  virtual uint64_t batch_bytes() const = 0;
  // Sends the batch built since the last call: `count` messages numbered
  // from first_seq (consecutive across batches, from 1), published at ts_us.
  virtual Status SendBatch(uint64_t first_seq, uint32_t count, uint64_t ts_us, bool mandatory) = 0;

  // -- subscribing -------------------------------------------------------
  // prefetch 0 with a queue: only declare the queue and its bindings.
  virtual Status Subscribe(const proto::Subscribe& s) = 0;
  virtual Status Ack(const proto::Ack& a) = 0;

  // -- events ------------------------------------------------------------
  struct Event {
    enum class Kind { kConfirm, kSubscribed, kDeliver };
    Kind kind = Kind::kConfirm;
    proto::Confirm confirm;                   // kConfirm
    std::vector<proto::Delivery> deliveries;  // kDeliver; views valid until the next Wait()
  };
  // Waits up to timeout_ms for one event; *got tells whether one came.
  // Keeps the session alive meanwhile. Interrupted on a signal unless
  // `interruptible` is false (bounded waits after the signal).
  virtual Status Wait(int64_t timeout_ms, bool* got, Event* event, bool interruptible = true) = 0;
  // Makes Wait() also watch `fd` (a pipe's write end, e.g. stdout; -1: none)
  // and return BrokenPipe as soon as it reports an error.
  virtual void set_watch_fd(int fd) = 0;
  // Keeps the session alive and checks the broker is; for callers busy
  // elsewhere (a blocked output).
  virtual Status KeepAlive() = 0;
  // Orderly goodbye; errors are ignored (the connection may be gone).
  // Unacknowledged deliveries go back to the queue.
  virtual void Bye(std::string_view reason) = 0;
};

// The backends (for Connect()).
Status ConnectZmq(const ClientOptions& options, std::unique_ptr<Client>* out);
Status ConnectAmqp(const ClientOptions& options, std::unique_ptr<Client>* out);

}  // namespace govstream::mq

#endif  // GOVSTREAM_MQ_CLIENT_H_
