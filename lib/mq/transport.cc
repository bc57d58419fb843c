#include "mq/transport.h"

#include <malloc.h>

#include <cerrno>

namespace govstream::mq {
namespace {

zmq::socket_type ZmqType(Socket::Type t) {
  switch (t) {
    case Socket::Type::kRouter: return zmq::socket_type::router;
    case Socket::Type::kDealer: return zmq::socket_type::dealer;
    case Socket::Type::kXPub: return zmq::socket_type::xpub;
    case Socket::Type::kSub: return zmq::socket_type::sub;
    case Socket::Type::kPull: return zmq::socket_type::pull;
    case Socket::Type::kPub: return zmq::socket_type::pub;
    case Socket::Type::kPush: return zmq::socket_type::push;
    case Socket::Type::kPair: return zmq::socket_type::pair;
    case Socket::Type::kRep: return zmq::socket_type::rep;
  }
  return zmq::socket_type::pair;
}

template <typename F>
void Quietly(F f) {
  try {
    f();
  } catch (const zmq::error_t&) {
  }
}

}  // namespace

Context::Context() : ctx_(1) {}

Socket::Socket(Context* ctx, Type type) : socket_(ctx->get(), ZmqType(type)) {
  SetLinger(0);
}

Socket::~Socket() = default;

void Socket::SetLinger(int ms) { Quietly([&] { socket_.set(zmq::sockopt::linger, ms); }); }
void Socket::SetSendHwm(int n) { Quietly([&] { socket_.set(zmq::sockopt::sndhwm, n); }); }
void Socket::SetRecvHwm(int n) { Quietly([&] { socket_.set(zmq::sockopt::rcvhwm, n); }); }
void Socket::SetMaxMessageSize(int64_t bytes) { Quietly([&] { socket_.set(zmq::sockopt::maxmsgsize, bytes); }); }
void Socket::SetRouterMandatory() { Quietly([&] { socket_.set(zmq::sockopt::router_mandatory, 1); }); }
void Socket::SetXPubNoDrop() { Quietly([&] { socket_.set(zmq::sockopt::xpub_nodrop, 1); }); }
void Socket::Subscribe(std::string_view prefix) {
  Quietly([&] { socket_.set(zmq::sockopt::subscribe, zmq::buffer(prefix.data(), prefix.size())); });
}
void Socket::SetHeartbeat(int interval_ms, int timeout_ms) {
  Quietly([&] {
    socket_.set(zmq::sockopt::heartbeat_ivl, interval_ms);
    socket_.set(zmq::sockopt::heartbeat_timeout, timeout_ms);
  });
}

void Socket::SetCurveServer(const std::string& secret_z85) {
  Quietly([&] {
    socket_.set(zmq::sockopt::zap_domain, "govstream");
    socket_.set(zmq::sockopt::curve_server, 1);
    socket_.set(zmq::sockopt::curve_secretkey, secret_z85);
  });
}
void Socket::SetCurveClient(const std::string& public_z85, const std::string& secret_z85,
                            const std::string& server_public_z85) {
  Quietly([&] {
    socket_.set(zmq::sockopt::curve_serverkey, server_public_z85);
    socket_.set(zmq::sockopt::curve_publickey, public_z85);
    socket_.set(zmq::sockopt::curve_secretkey, secret_z85);
  });
}
void Socket::SetXPubManual() { Quietly([&] { socket_.set(zmq::sockopt::xpub_manual, 1); }); }
void Socket::ApplySubscription(bool subscribe, std::string_view prefix) {
  Quietly([&] {
    if (subscribe) {
      socket_.set(zmq::sockopt::subscribe, zmq::buffer(prefix.data(), prefix.size()));
    } else {
      socket_.set(zmq::sockopt::unsubscribe, zmq::buffer(prefix.data(), prefix.size()));
    }
  });
}

Status Socket::Bind(const std::string& endpoint) {
  try {
    socket_.bind(endpoint);
  } catch (const zmq::error_t& e) {
    return Status(Status::Code::kConnection, "cannot listen on " + endpoint + ": " + e.what());
  }
  return Status::Ok();
}

Status Socket::Connect(const std::string& endpoint) {
  try {
    socket_.connect(endpoint);
  } catch (const zmq::error_t& e) {
    return Status(Status::Code::kConnection, "cannot connect to " + endpoint + ": " + e.what());
  }
  return Status::Ok();
}

std::string Socket::LastEndpoint() {
  std::string e;
  Quietly([&] { e = socket_.get(zmq::sockopt::last_endpoint); });
  return e;
}

Socket::SendResult Socket::Send(const std::vector<std::string_view>& frames, bool dont_wait) {
  for (size_t i = 0; i < frames.size(); ++i) {
    int flags = (i + 1 < frames.size() ? ZMQ_SNDMORE : 0) | (dont_wait ? ZMQ_DONTWAIT : 0);
    int rc = zmq_send(static_cast<void*>(socket_), frames[i].data(), frames[i].size(), flags);
    if (rc >= 0) continue;
    // A failure on the first frame sends nothing; later frames of a started
    // multipart message cannot fail for these socket types (atomic pipes).
    if (errno == EAGAIN) return SendResult::kWouldBlock;
    if (errno == EHOSTUNREACH) return SendResult::kUnreachable;
    return SendResult::kFailed;
  }
  return SendResult::kSent;
}

bool Socket::Recv(Frames* out) {
  out->parts_.clear();
  for (;;) {
    zmq::message_t msg;
    int rc = zmq_msg_recv(msg.handle(), static_cast<void*>(socket_), out->parts_.empty() ? ZMQ_DONTWAIT : 0);
    if (rc < 0) {
      if (errno == EINTR && !out->parts_.empty()) continue;  // rest of a message is already queued
      out->parts_.clear();
      return false;
    }
    bool more = msg.more();
    out->parts_.push_back(std::move(msg));
    if (!more) return true;
  }
}

std::unique_ptr<Socket> Socket::StartMonitor(Context* ctx, const std::string& inproc_name) {
  std::string ep = "inproc://" + inproc_name;
  if (zmq_socket_monitor(static_cast<void*>(socket_), ep.c_str(), ZMQ_EVENT_ALL) != 0) return nullptr;
  auto pair = std::make_unique<Socket>(ctx, Type::kPair);
  if (!pair->Connect(ep).ok()) return nullptr;
  return pair;
}

void Socket::StopMonitor() { zmq_socket_monitor(static_cast<void*>(socket_), nullptr, 0); }

bool DecodeMonitorEvent(const Frames& f, MonitorEvent* e) {
  if (f.size() != 2 || f[0].size() != 6) return false;
  const auto* b = reinterpret_cast<const unsigned char*>(f[0].data());
  e->event = static_cast<uint16_t>(b[0] | (b[1] << 8));
  e->value = static_cast<uint32_t>(b[2] | (b[3] << 8) | (b[4] << 16) | (static_cast<uint32_t>(b[5]) << 24));
  e->address.assign(f[1]);
  return true;
}

int Frames::source_fd() const {
  if (parts_.empty()) return -1;
  // ZMQ_SRCFD is deprecated in favour of metadata, but it is the only way
  // libzmq 4.3 offers to tie a message to its connection.
  return zmq_msg_get(const_cast<zmq_msg_t*>(parts_.back().handle()), ZMQ_SRCFD);
}

std::string Frames::Property(const char* name) const {
  if (parts_.empty()) return {};
  const char* v = zmq_msg_gets(const_cast<zmq_msg_t*>(parts_.back().handle()), name);
  return v ? std::string(v) : std::string();
}

bool Socket::HasInput() {
  int events = 0;
  Quietly([&] { events = socket_.get(zmq::sockopt::events); });
  return (events & ZMQ_POLLIN) != 0;
}

bool Poll(std::vector<PollEntry>* entries, int64_t timeout_ms) {
  std::vector<zmq_pollitem_t> items(entries->size());
  for (size_t i = 0; i < entries->size(); ++i) {
    PollEntry& e = (*entries)[i];
    items[i].socket = e.socket ? e.socket->handle() : nullptr;
    items[i].fd = e.fd;
    items[i].events = ZMQ_POLLIN;
    e.readable = false;
    e.error = false;
  }
  int rc = zmq_poll(items.data(), static_cast<int>(items.size()), static_cast<long>(timeout_ms));
  if (rc < 0) return false;
  for (size_t i = 0; i < entries->size(); ++i) {
    (*entries)[i].readable = (items[i].revents & ZMQ_POLLIN) != 0;
    (*entries)[i].error = (items[i].revents & ZMQ_POLLERR) != 0;
  }
  return true;
}

void TuneAllocatorForBatches() {
  mallopt(M_MMAP_THRESHOLD, 8 << 20);
  mallopt(M_TRIM_THRESHOLD, 64 << 20);
}

Status ValidateEndpoint(std::string_view endpoint) {
  auto bad = [&](const char* why) {
    return Status::InvalidArgument("endpoint '" + std::string(endpoint) + "': " + why);
  };
  if (endpoint.substr(0, 6) == "tcp://") {
    std::string_view rest = endpoint.substr(6);
    size_t colon = rest.rfind(':');
    if (colon == std::string_view::npos || colon == 0) return bad("expected tcp://HOST:PORT");
    std::string_view port = rest.substr(colon + 1);
    if (port.empty()) return bad("missing port");
    if (port != "*") {
      unsigned long v = 0;
      for (char c : port) {
        if (c < '0' || c > '9') return bad("port is not a number");
        v = v * 10 + static_cast<unsigned long>(c - '0');
        if (v > 65535) return bad("port out of range");
      }
    }
    return Status::Ok();
  }
  if (endpoint.substr(0, 6) == "ipc://" && endpoint.size() > 6) return Status::Ok();
  if (endpoint.substr(0, 9) == "inproc://" && endpoint.size() > 9) return Status::Ok();
  return bad("expected tcp://HOST:PORT or ipc://PATH");
}

bool IsLocalEndpoint(std::string_view endpoint) {
  if (endpoint.substr(0, 6) != "tcp://") return true;
  std::string_view host = endpoint.substr(6, endpoint.rfind(':') - 6);
  return host.substr(0, 4) == "127." || host == "[::1]" || host == "localhost";
}

}  // namespace govstream::mq
