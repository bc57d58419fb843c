// A thin, exception-free layer over ZeroMQ (cppzmq) for lib/mq: sockets,
// whole multipart messages, polling. zmq::error_t never leaves this file's
// implementation; failures come back as Status (Connection for endpoints
// and peers, IoError otherwise).
//
// A Socket is owned by one thread and is not thread-safe (ZeroMQ's rule).
// The Context must outlive its sockets.
#ifndef GOVSTREAM_MQ_TRANSPORT_H_
#define GOVSTREAM_MQ_TRANSPORT_H_

#include <zmq.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace govstream::mq {

class Context {
 public:
  Context();
  zmq::context_t& get() { return ctx_; }

 private:
  zmq::context_t ctx_;
};

// One received multipart message.
class Frames {
 public:
  size_t size() const { return parts_.size(); }
  std::string_view operator[](size_t i) const {
    return {static_cast<const char*>(parts_[i].data()), parts_[i].size()};
  }
  void clear() { parts_.clear(); }
  // The descriptor of the connection the message came in on (ZMQ_SRCFD),
  // or -1. Lets a monitor's DISCONNECTED event be matched to a peer.
  int source_fd() const;
  // A metadata property of the connection the message came in on
  // ("User-Id": the key name the ZAP handler gave; "Peer-Address"), or "".
  std::string Property(const char* name) const;

 private:
  friend class Socket;
  std::vector<zmq::message_t> parts_;
};

class Socket {
 public:
  enum class Type { kRouter, kDealer, kXPub, kSub, kPull, kPub, kPush, kPair, kRep };
  enum class SendResult { kSent, kWouldBlock, kUnreachable, kFailed };

  Socket(Context* ctx, Type type);
  ~Socket();
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;

  // Options; call before Bind/Connect. Errors are only possible for bad
  // values, which are programming errors here, so they are ignored.
  void SetLinger(int ms);
  void SetSendHwm(int n);
  void SetRecvHwm(int n);
  void SetMaxMessageSize(int64_t bytes);
  void SetRouterMandatory();
  void SetXPubNoDrop();
  void Subscribe(std::string_view prefix);  // SUB only
  void SetHeartbeat(int interval_ms, int timeout_ms);
  // CURVE (RFC 26), keys as 40 Z85 characters. A server socket asks the
  // ZAP handler (inproc://zeromq.zap.01, domain "govstream") about every
  // client; a client socket needs the server's public key.
  void SetCurveServer(const std::string& secret_z85);
  void SetCurveClient(const std::string& public_z85, const std::string& secret_z85,
                      const std::string& server_public_z85);
  // XPUB: subscriptions take effect only when applied (ApplySubscription,
  // for the peer whose subscription message was received last).
  void SetXPubManual();
  void ApplySubscription(bool subscribe, std::string_view prefix);

  Status Bind(const std::string& endpoint);
  Status Connect(const std::string& endpoint);
  // The endpoint actually bound (resolves "tcp://127.0.0.1:*").
  std::string LastEndpoint();

  // Sends the frames as one multipart message. With `dont_wait`, a full
  // queue gives kWouldBlock (nothing sent); a ROUTER_MANDATORY socket gives
  // kUnreachable for an unknown peer (frame 0). Blocking sends return
  // kFailed on EINTR.
  SendResult Send(const std::vector<std::string_view>& frames, bool dont_wait = true);
  // Receives one whole multipart message without waiting. False: none ready
  // (or interrupted).
  bool Recv(Frames* out);
  // True if a message is waiting to be received (does not consume it).
  bool HasInput();

  // Starts ZeroMQ's event monitor on this socket and returns a PAIR socket
  // that receives its events (see DecodeMonitorEvent); null on failure.
  std::unique_ptr<Socket> StartMonitor(Context* ctx, const std::string& inproc_name);
  // Stops the monitor started by StartMonitor, so that closing this socket
  // sends no more events into a PAIR socket that may already be closed.
  void StopMonitor();

  void* handle() { return static_cast<void*>(socket_); }

 private:
  zmq::socket_t socket_;
};

// Waits up to timeout_ms (-1: forever) until one of the sockets is readable
// or a plain fd is readable or in error; readable[i] and error[i] tell which.
// A pipe's write end (e.g. stdout into `| head`) reports an error once its
// reader has gone. Returns false when interrupted by a signal (EINTR).
struct PollEntry {
  Socket* socket = nullptr;  // or
  int fd = -1;
  bool readable = false;
  bool error = false;  // plain fds only: POLLERR, POLLHUP or POLLNVAL
};
bool Poll(std::vector<PollEntry>* entries, int64_t timeout_ms);

// A monitor event: ZMQ_EVENT_* code, its value, and the peer's address.
struct MonitorEvent {
  uint16_t event = 0;
  uint32_t value = 0;
  std::string address;
};
bool DecodeMonitorEvent(const Frames& f, MonitorEvent* e);

// Tunes glibc's allocator for message batches: ZeroMQ copies every frame
// into a fresh buffer, and batches of 100 KB-1 MB would otherwise each be
// mmap'ed, faulted in and munmap'ed. Keeps up to 64 MiB of freed memory for
// reuse. Call once at start-up, before threads start.
void TuneAllocatorForBatches();

// Checks a user-given endpoint: tcp://HOST:PORT, ipc://PATH or inproc://NAME.
Status ValidateEndpoint(std::string_view endpoint);
// True for tcp:// endpoints on a loopback address (127.x, ::1, localhost),
// and for ipc:// and inproc://.
bool IsLocalEndpoint(std::string_view endpoint);

}  // namespace govstream::mq

#endif  // GOVSTREAM_MQ_TRANSPORT_H_
