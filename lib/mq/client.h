// The client side of the govstream protocol (docs/protocol.md), used by
// mq-pub and mq-sub: one DEALER connection to mq-broker, the HELLO/WELCOME
// handshake, heartbeats both ways, and commands in and out.
//
// Connect() is bounded: ZeroMQ retries the TCP connection in the background
// and the HELLO waits queued until it succeeds, for at most
// connect_timeout_ms; then Connection ("no govstream broker answered at
// ..."). Afterwards the broker counts as lost when nothing (not even a
// heartbeat) has come from it for 3 heartbeat intervals.
//
// Owned by one thread; not thread-safe. Errors are Status values:
// Connection (unreachable, lost, or the broker said BYE/ERROR during the
// handshake), Interrupted (SIGINT/SIGTERM while waiting).
#ifndef GOVSTREAM_MQ_CLIENT_H_
#define GOVSTREAM_MQ_CLIENT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"
#include "mq/protocol.h"

namespace govstream::mq {

class Context;
class Socket;
class Frames;

struct ClientOptions {
  std::string endpoint = "tcp://127.0.0.1:7750";
  proto::Role role = proto::Role::kPublisher;
  std::string name;  // publisher id / subscriber name
  int64_t connect_timeout_ms = 5000;
};

class Client {
 public:
  static Status Connect(const ClientOptions& options, std::unique_ptr<Client>* out);
  ~Client();

  const proto::Welcome& welcome() const { return welcome_; }
  const std::string& endpoint() const { return options_.endpoint; }

  // Queues a command for the broker; Connection if that fails.
  Status Send(proto::Command c, std::string_view body);

  // One command from the broker (heartbeats are consumed, not returned).
  // `body` stays valid until the next Wait().
  struct Event {
    proto::Command command;
    std::string_view body;
  };
  // Waits up to timeout_ms for a command. *got tells whether one arrived.
  // Sends a heartbeat when one is due. Errors: Connection when the broker is
  // lost or sends something undecodable, Interrupted on a signal (unless
  // `interruptible` is false: for bounded waits after the signal),
  // BrokenPipe when the watched descriptor reports an error (see
  // set_watch_fd).
  Status Wait(int64_t timeout_ms, bool* got, Event* event, bool interruptible = true);
  // Makes Wait() also watch `fd` (a pipe's write end, e.g. stdout; -1: none)
  // and return BrokenPipe as soon as it reports an error: its reader has
  // gone, so a subscriber learns it while idle, not at its next write.
  void set_watch_fd(int fd) { watch_fd_ = fd; }
  // Sends a heartbeat if nothing was sent for one interval, and checks that
  // the broker is alive; for callers busy elsewhere (e.g. a blocked output).
  Status KeepAlive();
  // Orderly goodbye; errors are ignored (the connection may be gone).
  void Bye(std::string_view reason);

 private:
  Client();
  Status Lost(const std::string& why) const;

  ClientOptions options_;
  std::unique_ptr<Context> ctx_;
  std::unique_ptr<Socket> socket_;
  std::unique_ptr<Frames> frames_;
  proto::Welcome welcome_;
  int64_t last_recv_ms_ = 0;
  int64_t last_send_ms_ = 0;
  int watch_fd_ = -1;
};

}  // namespace govstream::mq

#endif  // GOVSTREAM_MQ_CLIENT_H_
