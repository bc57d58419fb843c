// The RabbitMQ backend of Client: AMQP 0-9-1 through rabbitmq-c, plain or
// TLS (amqps://). rabbitmq-c's status codes and replies stay in this file;
// callers see Status values.
//
// How the govstream model maps onto AMQP:
//   topic                routing key on a topic exchange (--exchange,
//                        default amq.topic; it must exist: checked passively,
//                        and its type with an active declare on a second
//                        channel, see CheckExchangeType)
//   publish batch        basic.publish per message on a channel in confirm
//                        mode; delivery tags count from 1 like the batch
//                        sequence numbers, so message N of the run is tag N.
//                        A batch is confirmed once every tag in it is acked
//                        or nacked; nacked and returned (mandatory, no
//                        queue) messages are its refused lines.
//   --queue NAME         a durable queue (x-queue-type quorum by default),
//                        bound to each pattern, consumed with manual acks
//                        and basic.qos = --prefetch
//   fan-out              an exclusive, auto-delete, server-named queue
//   ack after write      basic.ack (multiple) of the last tag written
//   end of session       channel and connection closed: RabbitMQ requeues
//                        every unacknowledged delivery
//   closed by RabbitMQ   after the set-up (ClosedMidStream): a line over its
//                        max_message_size is refused (Unconfirmed), a
//                        refused permission is AccessRefused, anything else
//                        (an exchange deleted, rabbitmqctl close_connection)
//                        Connection. What was settled before the close is
//                        confirmed (ConfirmSettled); the rest is not.
//
// Each message carries app_id (the publisher id), message_id (its sequence
// number), timestamp (seconds) and a header x-govstream-ts-us (the send time
// in microseconds), which make the envelope; messages from other clients
// lack some and get defaults (publisher "", seq = delivery tag, ts = the
// AMQP timestamp or the arrival time).
#include <amqp.h>
#include <amqp_ssl_socket.h>
#include <amqp_tcp_socket.h>
#include <fmt/core.h>
#include <poll.h>
#include <sys/time.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "io/signals.h"
#include "mq/client.h"

namespace govstream::mq {
namespace {

constexpr amqp_channel_t kChannel = 1;
constexpr amqp_channel_t kProbeChannel = 2;  // CheckExchangeType's: RabbitMQ may close it
constexpr int kHeartbeatSeconds = 10;
constexpr uint64_t kMaxMessageBytes = 128ull << 20;  // RabbitMQ's default max_message_size
constexpr uint64_t kMaxBatchBytes = 1u << 20;
constexpr size_t kMaxDeliveriesPerEvent = 1000;
constexpr const char* kTsHeader = "x-govstream-ts-us";

amqp_bytes_t Bytes(std::string_view s) {
  amqp_bytes_t b;
  b.len = s.size();
  b.bytes = const_cast<char*>(s.data());
  return b;
}
std::string_view View(amqp_bytes_t b) { return {static_cast<const char*>(b.bytes), b.len}; }

// The parts of an amqp:// URL (rabbitmq-c's parser, which decodes %XX).
struct Url {
  bool tls = false;
  std::string user, password, host, vhost;
  int port = 0;
  bool has_user = false;
  std::string shown;  // the URL with the password replaced by ***
};

Status ParseUrl(const std::string& url, Url* out) {
  std::vector<char> buf(url.begin(), url.end());
  buf.push_back('\0');
  amqp_connection_info info;
  amqp_default_connection_info(&info);
  const size_t scheme_end = url.find("://") + 3;
  if (scheme_end >= url.size() || url[scheme_end] == '/' || amqp_parse_url(buf.data(), &info) != AMQP_STATUS_OK ||
      info.host == nullptr || info.host[0] == '\0') {
    return Status::InvalidArgument("endpoint '" + url + "': expected amqp://USER:PASS@HOST:PORT/VHOST or amqps://...");
  }
  out->tls = info.ssl != 0;
  out->host = info.host;
  out->port = info.port;
  out->vhost = info.vhost && info.vhost[0] ? info.vhost : "/";  // amqp://host/ means the default vhost
  // amqp_parse_url fills in guest/guest when the URL has no user.
  size_t at = url.find('@', scheme_end);
  size_t slash = url.find('/', scheme_end);
  out->has_user = at != std::string::npos && (slash == std::string::npos || at < slash);
  out->user = info.user ? info.user : "";
  out->password = info.password ? info.password : "";
  out->shown = url;
  if (out->has_user) {
    size_t colon = url.find(':', scheme_end);
    if (colon != std::string::npos && colon < at) out->shown = url.substr(0, colon + 1) + "***" + url.substr(at);
  }
  return Status::Ok();
}

// USER:PASSWORD from --credentials, the URL, the environment or guest.
Status Credentials(const ClientOptions& o, const Url& url, std::string* user, std::string* password) {
  std::string line;
  if (!o.credentials_file.empty()) {
    std::ifstream f(o.credentials_file);
    if (!f || !std::getline(f, line)) {
      return Status::IoError(fmt::format("cannot read --credentials {}: {}", o.credentials_file,
                                         f ? "the file is empty" : std::strerror(errno)));
    }
    if (!line.empty() && line.back() == '\r') line.pop_back();
  } else if (url.has_user) {
    *user = url.user;
    *password = url.password;
    return Status::Ok();
  } else if (const char* env = std::getenv("GOVSTREAM_AMQP_CREDENTIALS"); env && *env) {
    line = env;
  } else {
    *user = "guest";
    *password = "guest";
    return Status::Ok();
  }
  size_t colon = line.find(':');
  if (colon == std::string::npos || colon == 0) {
    return Status::InvalidArgument(
        fmt::format("{}: expected USER:PASSWORD", o.credentials_file.empty() ? std::string("GOVSTREAM_AMQP_CREDENTIALS")
                                                                             : "--credentials " + o.credentials_file));
  }
  *user = line.substr(0, colon);
  *password = line.substr(colon + 1);
  return Status::Ok();
}

class AmqpClient final : public Client {
 public:
  ~AmqpClient() override {
    ReleaseEnvelopes();
    if (conn_) amqp_destroy_connection(conn_);
  }

  Status Open(const ClientOptions& o);

  uint64_t max_message_bytes() const override { return kMaxMessageBytes; }
  uint64_t max_batch_bytes() const override { return kMaxBatchBytes; }
  int64_t heartbeat_ms() const override { return kHeartbeatSeconds * 1000; }
  const std::string& endpoint() const override { return url_.shown; }

  void Add(std::string_view topic, std::string_view payload) override {
    batch_.push_back({batch_text_.size(), topic.size(), payload.size()});
    batch_text_.append(topic);
    batch_text_.append(payload);
  }
  uint64_t batch_bytes() const override { return batch_text_.size() + 16 * batch_.size(); }
  Status SendBatch(uint64_t first_seq, uint32_t count, uint64_t ts_us, bool mandatory) override;

  Status Subscribe(const proto::Subscribe& s) override;
  Status Ack(const proto::Ack& a) override;

  Status Wait(int64_t timeout_ms, bool* got, Event* event, bool interruptible) override;
  void set_watch_fd(int fd) override { watch_fd_ = fd; }
  Status KeepAlive() override;
  void Bye(std::string_view reason) override;

 private:
  struct Pending {  // one message of the batch being built
    size_t offset, topic_len, payload_len;
  };
  struct Batch {  // a sent batch awaiting its confirmation
    uint64_t first_seq = 0;
    uint32_t count = 0;
    uint32_t settled = 0;          // messages acked, nacked or returned
    uint32_t prefix = 0;           // done[0, prefix) are all settled
    std::vector<uint8_t> done;     // per message: settled
    std::vector<uint32_t> sizes;   // per message: payload bytes (to name one RabbitMQ found too large)
    std::vector<uint32_t> refused;  // indexes
    std::string reason;
  };

  // The status a failed rabbitmq-c call means; `what` names the call.
  // Each ends the session (Lost).
  Status FromReply(const amqp_rpc_reply_t& r, std::string_view what);
  Status FromCode(int code, std::string_view what);
  Status FromClose(uint16_t code, std::string_view text, bool connection, std::string_view what);
  // RabbitMQ closed the channel or the connection after the set-up.
  Status ClosedMidStream(uint16_t code, std::string_view text, bool connection);
  // Ends the session with `s` (the first such status is kept, and returned
  // by every later call): what RabbitMQ settled of the oldest batch before
  // that is confirmed (ConfirmSettled), the other batches never are.
  Status Lost(Status s);
  // The status of an ended session.
  Status Closed() const;
  // --exchange must be a topic exchange (Open, after the passive declare).
  Status CheckExchangeType();
  // Handles one frame that is not a delivery (confirms, returns, closes).
  Status OnFrame(const amqp_frame_t& frame);
  void Settle(uint64_t tag, bool multiple, bool ok);
  void SettleOne(Batch* b, uint32_t index, bool ok);
  void Refuse(Batch* b, uint32_t index, std::string reason);
  // Moves confirmed batches to ready_.
  void Collect();
  // Once the session has ended: the oldest batch's settled prefix becomes a
  // confirmation of that part (Client allows it before a failure), and
  // every batch is dropped (their other lines stay unconfirmed).
  void ConfirmSettled();
  // Reads one delivery (into envelopes_) or one other frame (handled),
  // without waiting; *delivered tells which.
  Status ReadOne(bool* delivered);
  // Reads one frame; when it is a delivery, takes what else is already
  // buffered (up to kMaxDeliveriesPerEvent) into *event, and sets *got.
  Status ReadDeliveries(Event* event, bool* got);
  // The envelopes_ as a kDeliver event.
  void ToDeliveries(Event* event);
  void ReleaseEnvelopes();

  ClientOptions options_;
  Url url_;
  amqp_connection_state_t conn_ = nullptr;
  bool closed_ = false;
  Status failure_;     // why the session ended (when it did not end with Bye)
  std::string doing_;  // for messages: "publishing to exchange X", "consuming queue Q"
  std::string exchange_;
  std::string batch_text_;
  std::vector<Pending> batch_;
  std::deque<Batch> inflight_;
  std::deque<proto::Confirm> ready_;
  std::deque<std::string> reasons_;   // of the confirms in ready_
  std::string last_reason_;           // backing the last confirm handed out
  std::string returned_reason_;       // a basic.return waiting for its ack
  uint64_t returned_tag_ = 0;
  bool announce_subscribed_ = false;
  std::string consumer_tag_;  // once consuming
  bool acked_ = false;        // some delivery was acknowledged
  std::vector<amqp_envelope_t> envelopes_;  // backing the last kDeliver event
  int64_t last_send_ms_ = 0;
  int64_t last_recv_ms_ = 0;
  int watch_fd_ = -1;
};

Status AmqpClient::FromClose(uint16_t code, std::string_view text, bool connection, std::string_view what) {
  std::string msg = fmt::format("RabbitMQ at {} {}{}{}: {} {}", url_.shown,
                                connection ? "closed the connection" : "refused",
                                what.empty() ? "" : (connection ? " at " : " "), what, code, text);
  switch (code) {
    case AMQP_ACCESS_REFUSED:
    case AMQP_NOT_ALLOWED:
      return Lost(Status(Status::Code::kAccessRefused, msg));
    case AMQP_NOT_FOUND:
    case AMQP_PRECONDITION_FAILED:
    case AMQP_RESOURCE_LOCKED:
      return Lost(Status(Status::Code::kRejected, msg));
    default:
      return Lost(Status(Status::Code::kConnection, msg));
  }
}

Status AmqpClient::ClosedMidStream(uint16_t code, std::string_view text, bool connection) {
  std::string said = fmt::format("{} {}", code, text);
  const char* closed = connection ? "the connection" : "the channel";
  // A publish over max_message_size: "message size S is larger than
  // [configured] max size M" (rabbit_channel, 3.x). RabbitMQ checks the
  // messages of the channel in order and discards what follows the first
  // one over the limit: it is the first unsettled message larger than M.
  if (code == AMQP_PRECONDITION_FAILED && !inflight_.empty() && text.find("message size") != std::string_view::npos) {
    uint64_t size = 0, max = 0;
    if (size_t at = text.find("message size "); at != std::string_view::npos) {
      std::from_chars(text.data() + at + 13, text.data() + text.size(), size);
    }
    if (size_t at = text.find("max size "); at != std::string_view::npos) {
      std::from_chars(text.data() + at + 9, text.data() + text.size(), max);
    }
    const uint64_t limit = max > 0 ? max : (size > 0 ? size - 1 : 0);
    std::string max_text = max > 0 ? fmt::format(" of {} bytes", max) : "";
    for (Batch& b : inflight_) {
      uint32_t i = b.prefix;
      while (limit > 0 && i < b.sizes.size() && (b.done[i] || b.sizes[i] <= limit)) ++i;
      if (limit == 0 || i >= b.sizes.size()) continue;
      Refuse(&b, i, fmt::format("{} bytes is larger than RabbitMQ's max_message_size{}", b.sizes[i], max_text));
      SettleOne(&b, i, true);  // refused already: not nacked again
      return Lost(Status(
          Status::Code::kUnconfirmed,
          fmt::format("RabbitMQ at {} refused the line with sequence number {} ({} bytes): it is larger than RabbitMQ's "
                      "max_message_size{} (a setting of the broker that AMQP does not announce), and RabbitMQ "
                      "closed {} (RabbitMQ: {}); mq-pub stopped there, and RabbitMQ discarded the lines sent "
                      "after it",
                      url_.shown, b.first_seq + i, b.sizes[i], max_text, closed, said)));
    }
    return Lost(Status(Status::Code::kUnconfirmed,
                       fmt::format("RabbitMQ at {} refused a line that is larger than its max_message_size{} and "
                                   "closed {} while {} (RabbitMQ: {})",
                                   url_.shown, max_text, closed, doing_, said)));
  }
  std::string hint;
  if (code == AMQP_CONNECTION_FORCED) {
    hint = " (an operator closed it, e.g. with rabbitmqctl close_connection, or the node is shutting down)";
  } else if (code == AMQP_NOT_FOUND && text.find("no exchange") != std::string_view::npos) {
    hint = " (the exchange was deleted)";
  } else if (code == AMQP_PRECONDITION_FAILED && text.find("acknowledgement") != std::string_view::npos) {
    hint = " (RabbitMQ's consumer_timeout: the output was blocked for that long)";
  }
  std::string msg = fmt::format("RabbitMQ at {} closed {} while {}: {}{}", url_.shown, closed, doing_, said, hint);
  const bool refused = code == AMQP_ACCESS_REFUSED || code == AMQP_NOT_ALLOWED;
  return Lost(Status(refused ? Status::Code::kAccessRefused : Status::Code::kConnection, msg));
}

Status AmqpClient::Lost(Status s) {
  if (!closed_) {
    closed_ = true;
    failure_ = s;
    ConfirmSettled();
  }
  return failure_.ok() ? s : failure_;
}

Status AmqpClient::Closed() const {
  return failure_.ok() ? Status(Status::Code::kConnection, "the connection to RabbitMQ at " + url_.shown + " is closed")
                       : failure_;
}

Status AmqpClient::FromCode(int code, std::string_view what) {
  if (code == AMQP_STATUS_OK) return Status::Ok();
  return Lost(Status(Status::Code::kConnection,
                     fmt::format("lost RabbitMQ at {} ({}): {}", url_.shown, what, amqp_error_string2(code))));
}

Status AmqpClient::FromReply(const amqp_rpc_reply_t& r, std::string_view what) {
  switch (r.reply_type) {
    case AMQP_RESPONSE_NORMAL:
      return Status::Ok();
    case AMQP_RESPONSE_NONE:
      return Lost(Status(Status::Code::kConnection, fmt::format("RabbitMQ at {}: no reply to {}", url_.shown, what)));
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
      return FromCode(r.library_error, what);
    case AMQP_RESPONSE_SERVER_EXCEPTION:
      if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
        auto* m = static_cast<amqp_connection_close_t*>(r.reply.decoded);
        return FromClose(m->reply_code, View(m->reply_text), true, what);
      }
      if (r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
        auto* m = static_cast<amqp_channel_close_t*>(r.reply.decoded);
        return FromClose(m->reply_code, View(m->reply_text), false, what);
      }
      return Lost(Status(Status::Code::kConnection,
                         fmt::format("RabbitMQ at {}: unexpected reply to {}", url_.shown, what)));
  }
  return Lost(Status(Status::Code::kConnection, "unknown rabbitmq-c reply"));
}

Status AmqpClient::Open(const ClientOptions& o) {
  options_ = o;
  Status s = ParseUrl(o.endpoint, &url_);
  if (!s.ok()) return s;
  std::string user, password;
  s = Credentials(o, url_, &user, &password);
  if (!s.ok()) return s;
  exchange_ = o.exchange.empty() ? "amq.topic" : o.exchange;

  // Connect, retrying until the deadline (a broker starting meanwhile is found).
  const int64_t deadline = NowMs() + o.connect_timeout_ms;
  std::string last_error;
  for (;;) {
    if (io::InterruptRequested()) return Status::Interrupted();
    conn_ = amqp_new_connection();
    amqp_socket_t* sock = url_.tls ? amqp_ssl_socket_new(conn_) : amqp_tcp_socket_new(conn_);
    if (sock == nullptr) return Status(Status::Code::kConnection, "cannot create a socket (rabbitmq-c)");
    if (url_.tls) {
      amqp_ssl_socket_set_verify_peer(sock, 1);
      amqp_ssl_socket_set_verify_hostname(sock, 1);
      std::string ca = o.tls_ca.empty() ? "/etc/ssl/certs/ca-certificates.crt" : o.tls_ca;
      if (amqp_ssl_socket_set_cacert(sock, ca.c_str()) != AMQP_STATUS_OK) {
        return Status::IoError("cannot load the CA certificates of --tls-ca " + ca);
      }
      if (!o.tls_cert.empty() && amqp_ssl_socket_set_key(sock, o.tls_cert.c_str(), o.tls_key.c_str()) != AMQP_STATUS_OK) {
        return Status::IoError(fmt::format("cannot load the client certificate {} with key {}", o.tls_cert, o.tls_key));
      }
    }
    int64_t left = std::max<int64_t>(1, deadline - NowMs());
    struct timeval tv = {static_cast<time_t>(left / 1000), static_cast<suseconds_t>((left % 1000) * 1000)};
    int rc = amqp_socket_open_noblock(sock, url_.host.c_str(), url_.port, &tv);
    if (rc == AMQP_STATUS_OK) break;
    last_error = amqp_error_string2(rc);
    amqp_destroy_connection(conn_);
    conn_ = nullptr;
    if (url_.tls && (rc == AMQP_STATUS_SSL_ERROR || rc == AMQP_STATUS_SSL_HOSTNAME_VERIFY_FAILED ||
                     rc == AMQP_STATUS_SSL_PEER_VERIFY_FAILED || rc == AMQP_STATUS_SSL_CONNECTION_FAILED)) {
      const bool ip_literal = url_.host.find_first_not_of("0123456789.") == std::string::npos ||
                              url_.host.find(':') != std::string::npos;
      return Status(Status::Code::kConnection,
                    rc == AMQP_STATUS_SSL_HOSTNAME_VERIFY_FAILED && ip_literal
                        ? fmt::format("TLS with RabbitMQ at {} failed: {}: rabbitmq-c matches only DNS names in a "
                                      "certificate, not IP addresses; connect by the name the certificate is "
                                      "for (amqps://NAME:PORT/...)",
                                      url_.shown, last_error)
                        : fmt::format("TLS with RabbitMQ at {} failed: {} (is it a TLS port, is the certificate "
                                      "for this host name, and does --tls-ca hold the CA that signed it?)",
                                      url_.shown, last_error));
    }
    if (NowMs() + 200 >= deadline) {
      return Status(Status::Code::kConnection,
                    fmt::format("no AMQP broker answered at {} within {} ms: {} (is RabbitMQ running there?)",
                                url_.shown, o.connect_timeout_ms, last_error));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  struct timeval rpc = {static_cast<time_t>(std::max<int64_t>(1, o.connect_timeout_ms / 1000) + 5), 0};
  amqp_set_rpc_timeout(conn_, &rpc);
  // Capabilities: basic.cancel when the queue goes away (else a consumer of
  // a deleted queue would wait forever), nacks, and a close with the reason
  // on a refused login.
  amqp_table_entry_t caps[4];
  const char* cap_names[4] = {"consumer_cancel_notify", "basic.nack", "publisher_confirms",
                              "authentication_failure_close"};
  for (int i = 0; i < 4; ++i) {
    caps[i].key = amqp_cstring_bytes(cap_names[i]);
    caps[i].value.kind = AMQP_FIELD_KIND_BOOLEAN;
    caps[i].value.value.boolean = 1;
  }
  amqp_table_entry_t prop[2];
  prop[0].key = amqp_cstring_bytes("connection_name");
  prop[0].value.kind = AMQP_FIELD_KIND_UTF8;
  std::string cname = std::string(o.role == proto::Role::kPublisher ? "mq-pub " : "mq-sub ") + o.name;
  prop[0].value.value.bytes = Bytes(cname);
  prop[1].key = amqp_cstring_bytes("capabilities");
  prop[1].value.kind = AMQP_FIELD_KIND_TABLE;
  prop[1].value.value.table = {4, caps};
  amqp_table_t props = {2, prop};
  amqp_rpc_reply_t r = amqp_login_with_properties(conn_, url_.vhost.c_str(), 0, 131072, kHeartbeatSeconds, &props,
                                                  AMQP_SASL_METHOD_PLAIN, user.c_str(), password.c_str());
  if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION && r.library_error == AMQP_STATUS_CONNECTION_CLOSED) {
    // Brokers without authentication_failure_close just drop the socket.
    return Status(Status::Code::kAccessRefused,
                  fmt::format("RabbitMQ at {} closed the connection at login: wrong user or password for vhost '{}'?",
                              url_.shown, url_.vhost));
  }
  s = FromReply(r, fmt::format("the login as '{}' to vhost '{}'", user, url_.vhost));
  if (!s.ok() && r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION) {
    return Status(s.code(), s.message() + (url_.tls ? " (is it an AMQP port?)"
                                                    : " (is it an AMQP port, or a TLS one that needs amqps://?)"));
  }
  if (!s.ok()) return s;
  amqp_channel_open(conn_, kChannel);
  s = FromReply(amqp_get_rpc_reply(conn_), "opening a channel");
  if (!s.ok()) return s;
  // The exchange must exist (passive declare: never created by accident).
  amqp_exchange_declare(conn_, kChannel, Bytes(exchange_), amqp_cstring_bytes("topic"), 1, 0, 0, 0, amqp_empty_table);
  s = FromReply(amqp_get_rpc_reply(conn_), "checking --exchange " + exchange_);
  if (!s.ok()) return s;
  s = CheckExchangeType();
  if (!s.ok()) return s;
  doing_ = o.role == proto::Role::kPublisher ? "publishing to exchange " + exchange_ : "subscribing";
  if (o.role == proto::Role::kPublisher) {
    amqp_confirm_select(conn_, kChannel);
    s = FromReply(amqp_get_rpc_reply(conn_), "confirm.select");
    if (!s.ok()) return s;
  }
  last_send_ms_ = last_recv_ms_ = NowMs();
  return Status::Ok();
}

Status AmqpClient::CheckExchangeType() {
  // AMQP 0-9-1 fixes the types of its standard exchanges: no need to ask
  // (clients without configure permission could not).
  static constexpr std::pair<std::string_view, std::string_view> kStandard[] = {
      {"amq.topic", "topic"},     {"amq.direct", "direct"}, {"amq.fanout", "fanout"},
      {"amq.headers", "headers"}, {"amq.match", "headers"}};
  std::string type, said;
  for (const auto& [name, t] : kStandard) {
    if (exchange_ == name) type = t;
  }
  if (type.empty()) {
    // A passive declare does not check the type. An active one of a topic
    // exchange does: RabbitMQ compares the type first (406 "inequivalent arg
    // 'type' ... current is 'fanout'"), so a 406 over another argument
    // (durable, auto_delete, arguments) means the type matched. The
    // exchange exists (the passive declare said so): nothing is created.
    // A 406 closes the channel, hence a channel of its own. Without
    // configure permission RabbitMQ refuses the declare (403): the type
    // then cannot be checked, and the exchange is taken as it is.
    const std::string what = "checking the type of --exchange " + exchange_;
    amqp_channel_open(conn_, kProbeChannel);
    Status s = FromReply(amqp_get_rpc_reply(conn_), "opening a second channel");
    if (!s.ok()) return s;
    amqp_exchange_declare(conn_, kProbeChannel, Bytes(exchange_), amqp_cstring_bytes("topic"), 0, 1, 0, 0,
                          amqp_empty_table);
    amqp_rpc_reply_t r = amqp_get_rpc_reply(conn_);
    if (r.reply_type == AMQP_RESPONSE_NORMAL) {
      return FromReply(amqp_channel_close(conn_, kProbeChannel, AMQP_REPLY_SUCCESS), "closing the second channel");
    }
    if (r.reply_type != AMQP_RESPONSE_SERVER_EXCEPTION || r.reply.id != AMQP_CHANNEL_CLOSE_METHOD) {
      return FromReply(r, what);
    }
    auto* m = static_cast<amqp_channel_close_t*>(r.reply.decoded);
    const uint16_t code = m->reply_code;
    std::string text(View(m->reply_text));
    amqp_channel_close_ok_t ok;
    s = FromCode(amqp_send_method(conn_, kProbeChannel, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok), what);
    if (!s.ok()) return s;
    if (code == AMQP_ACCESS_REFUSED) return Status::Ok();  // no configure permission: not checked
    if (code != AMQP_PRECONDITION_FAILED) return FromClose(code, text, false, what);
    if (text.find("'type'") == std::string::npos) return Status::Ok();  // a topic exchange
    constexpr std::string_view kCurrent = "current is '";
    if (size_t at = text.find(kCurrent); at != std::string::npos) {
      size_t end = text.find('\'', at + kCurrent.size());
      if (end != std::string::npos) type = text.substr(at + kCurrent.size(), end - at - kCurrent.size());
    }
    said = fmt::format("; RabbitMQ: {} {}", code, text);
  }
  if (type == "topic") return Status::Ok();
  const char* why = type == "fanout"    ? "it sends every message to every bound queue, whatever its topic"
                    : type == "direct"  ? "it routes a topic only to bindings of exactly that text: * and # "
                                          "are no wildcards there"
                    : type == "headers" ? "it routes by message headers and ignores topics"
                                        : "it does not match topics against * and # patterns";
  return Lost(Status(Status::Code::kRejected,
                     fmt::format("--exchange {} at {} is {} exchange, not a topic exchange: {} (use a topic exchange; "
                                 "the default is amq.topic{})",
                                 exchange_, url_.shown, type.empty() ? std::string("another type of")
                                                                     : "a " + type,
                                 why, said)));
}

Status AmqpClient::SendBatch(uint64_t first_seq, uint32_t count, uint64_t ts_us, bool mandatory) {
  amqp_basic_properties_t p;
  std::memset(&p, 0, sizeof(p));
  p._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_APP_ID_FLAG |
             AMQP_BASIC_MESSAGE_ID_FLAG | AMQP_BASIC_TIMESTAMP_FLAG | AMQP_BASIC_HEADERS_FLAG;
  p.content_type = amqp_cstring_bytes("application/json");
  p.delivery_mode = AMQP_DELIVERY_PERSISTENT;
  p.app_id = Bytes(options_.name);
  p.timestamp = ts_us / 1000000;
  amqp_table_entry_t h[1];
  h[0].key = amqp_cstring_bytes(kTsHeader);
  h[0].value.kind = AMQP_FIELD_KIND_I64;
  h[0].value.value.i64 = static_cast<int64_t>(ts_us);
  p.headers = {1, h};
  char id[24];
  if (closed_) {
    batch_.clear();
    batch_text_.clear();
    return Closed();
  }
  Batch& b = inflight_.emplace_back();
  b.first_seq = first_seq;
  b.count = count;
  b.done.assign(count, 0);
  b.sizes.reserve(count);
  for (uint32_t i = 0; i < count && i < batch_.size(); ++i) {
    const Pending& m = batch_[i];
    b.sizes.push_back(static_cast<uint32_t>(m.payload_len));
    auto end = std::to_chars(id, id + sizeof(id), first_seq + i).ptr;
    p.message_id = {static_cast<size_t>(end - id), id};
    std::string_view topic(batch_text_.data() + m.offset, m.topic_len);
    std::string_view payload(batch_text_.data() + m.offset + m.topic_len, m.payload_len);
    int rc = amqp_basic_publish(conn_, kChannel, Bytes(exchange_), Bytes(topic), mandatory ? 1 : 0, 0, &p,
                                Bytes(payload));
    if (rc != AMQP_STATUS_OK) {
      batch_.clear();
      batch_text_.clear();
      return FromCode(rc, "publishing");
    }
  }
  batch_.clear();
  batch_text_.clear();
  last_send_ms_ = NowMs();
  return Status::Ok();
}

void AmqpClient::Refuse(Batch* b, uint32_t index, std::string reason) {
  b->refused.push_back(index);
  if (b->reason.empty()) b->reason = std::move(reason);
}

void AmqpClient::SettleOne(Batch* b, uint32_t index, bool ok) {
  if (index >= b->count || b->done[index]) return;
  const char* nacked = "RabbitMQ nacked it (a queue over its length limit with overflow reject-publish, or an "
                       "internal error)";
  b->done[index] = 1;
  ++b->settled;
  if (b->first_seq + index == returned_tag_) {
    Refuse(b, index, returned_reason_);
    returned_tag_ = 0;
  } else if (!ok) {
    Refuse(b, index, nacked);
  }
  while (b->prefix < b->count && b->done[b->prefix]) ++b->prefix;
}

void AmqpClient::Settle(uint64_t tag, bool multiple, bool ok) {
  // With multiple, every unsettled tag up to `tag` is settled. RabbitMQ may
  // confirm out of order (messages routed to other queues), so each
  // message's state is kept.
  for (Batch& b : inflight_) {
    if (b.first_seq > tag) break;
    const uint64_t end = b.first_seq + b.count;
    if (!multiple) {
      if (tag >= end) continue;
      SettleOne(&b, static_cast<uint32_t>(tag - b.first_seq), ok);
      break;
    }
    const uint32_t last = static_cast<uint32_t>(std::min<uint64_t>(tag + 1, end) - b.first_seq);
    for (uint32_t i = b.prefix; i < last; ++i) SettleOne(&b, i, ok);
  }
  Collect();
}

void AmqpClient::Collect() {
  while (!inflight_.empty() && inflight_.front().settled >= inflight_.front().count) {
    Batch& b = inflight_.front();
    proto::Confirm c;
    c.first_seq = b.first_seq;
    c.count = b.count;
    std::sort(b.refused.begin(), b.refused.end());
    c.refused = std::move(b.refused);
    reasons_.push_back(std::move(b.reason));
    ready_.push_back(std::move(c));
    inflight_.pop_front();
  }
}

void AmqpClient::ConfirmSettled() {
  Collect();
  if (!inflight_.empty() && inflight_.front().prefix > 0) {
    Batch& b = inflight_.front();
    proto::Confirm c;
    c.first_seq = b.first_seq;
    c.count = b.prefix;
    std::sort(b.refused.begin(), b.refused.end());
    for (uint32_t r : b.refused) {
      if (r < b.prefix) c.refused.push_back(r);
    }
    reasons_.push_back(c.refused.empty() ? std::string() : std::move(b.reason));
    ready_.push_back(std::move(c));
  }
  inflight_.clear();
}

Status AmqpClient::OnFrame(const amqp_frame_t& frame) {
  if (frame.frame_type != AMQP_FRAME_METHOD) return Status::Ok();  // heartbeats are handled by rabbitmq-c
  switch (frame.payload.method.id) {
    case AMQP_BASIC_ACK_METHOD: {
      auto* m = static_cast<amqp_basic_ack_t*>(frame.payload.method.decoded);
      Settle(m->delivery_tag, m->multiple, true);
      return Status::Ok();
    }
    case AMQP_BASIC_NACK_METHOD: {
      auto* m = static_cast<amqp_basic_nack_t*>(frame.payload.method.decoded);
      Settle(m->delivery_tag, m->multiple, false);
      return Status::Ok();
    }
    case AMQP_BASIC_RETURN_METHOD: {
      auto* m = static_cast<amqp_basic_return_t*>(frame.payload.method.decoded);
      std::string reason = fmt::format("no queue is bound to topic {} on exchange {} (--mandatory; RabbitMQ: {} {})",
                                       View(m->routing_key), View(m->exchange), m->reply_code, View(m->reply_text));
      amqp_message_t msg;
      Status s = FromReply(amqp_read_message(conn_, frame.channel, &msg, 0), "reading a returned message");
      if (!s.ok()) return s;
      uint64_t tag = 0;
      if (msg.properties._flags & AMQP_BASIC_MESSAGE_ID_FLAG) {
        std::string_view id = View(msg.properties.message_id);
        std::from_chars(id.data(), id.data() + id.size(), tag);
      }
      amqp_destroy_message(&msg);
      if (tag == 0) return Lost(Status(Status::Code::kConnection, "RabbitMQ returned a message without our message id"));
      // Its ack follows the return.
      returned_tag_ = tag;
      returned_reason_ = std::move(reason);
      return Status::Ok();
    }
    // After the set-up. The session ends, but Wait() hands out what was
    // confirmed before it reports why (Lost).
    case AMQP_CHANNEL_CLOSE_METHOD: {
      auto* m = static_cast<amqp_channel_close_t*>(frame.payload.method.decoded);
      (void)ClosedMidStream(m->reply_code, View(m->reply_text), false);
      amqp_channel_close_ok_t ok;
      amqp_send_method(conn_, frame.channel, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok);
      return Status::Ok();
    }
    case AMQP_CONNECTION_CLOSE_METHOD: {
      auto* m = static_cast<amqp_connection_close_t*>(frame.payload.method.decoded);
      (void)ClosedMidStream(m->reply_code, View(m->reply_text), true);
      amqp_connection_close_ok_t ok;
      amqp_send_method(conn_, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok);
      return Status::Ok();
    }
    case AMQP_BASIC_CANCEL_METHOD:
      return Lost(Status(Status::Code::kConnection,
                         fmt::format("RabbitMQ at {} cancelled the consumer (the queue was deleted?)", url_.shown)));
    default:
      return Status::Ok();
  }
}

Status AmqpClient::Subscribe(const proto::Subscribe& s) {
  std::string queue(s.queue);
  std::string what;
  if (!queue.empty()) {
    std::string type = options_.queue_type.empty() ? "quorum" : options_.queue_type;
    amqp_table_entry_t arg[1];
    arg[0].key = amqp_cstring_bytes("x-queue-type");
    arg[0].value.kind = AMQP_FIELD_KIND_UTF8;
    arg[0].value.value.bytes = Bytes(type);
    amqp_table_t args = {1, arg};
    amqp_queue_declare(conn_, kChannel, Bytes(queue), 0, 1, 0, 0, args);
    Status st = FromReply(amqp_get_rpc_reply(conn_), fmt::format("declaring the {} queue {}", type, queue));
    if (!st.ok()) return st;
  } else {
    amqp_queue_declare_ok_t* ok = amqp_queue_declare(conn_, kChannel, amqp_empty_bytes, 0, 0, 1, 1, amqp_empty_table);
    Status st = FromReply(amqp_get_rpc_reply(conn_), "declaring a fan-out queue");
    if (!st.ok()) return st;
    queue.assign(View(ok->queue));
  }
  doing_ = s.queue.empty() ? "consuming fan-out queue " + queue : "consuming queue " + queue;
  for (std::string_view pattern : s.patterns) {
    amqp_queue_bind(conn_, kChannel, Bytes(queue), Bytes(exchange_), Bytes(pattern), amqp_empty_table);
    Status st = FromReply(amqp_get_rpc_reply(conn_),
                          fmt::format("binding queue {} to {} on exchange {}", queue, pattern, exchange_));
    if (!st.ok()) return st;
  }
  if (s.prefetch > 0) {
    amqp_basic_qos(conn_, kChannel, 0, static_cast<uint16_t>(std::min<uint32_t>(s.prefetch, 65535)), 0);
    Status st = FromReply(amqp_get_rpc_reply(conn_), "basic.qos");
    if (!st.ok()) return st;
    // A stream keeps its messages after acknowledgement: read it from the
    // first one (RabbitMQ's default, "next", would skip what is there).
    amqp_table_entry_t offset[1];
    offset[0].key = amqp_cstring_bytes("x-stream-offset");
    offset[0].value.kind = AMQP_FIELD_KIND_UTF8;
    offset[0].value.value.bytes = amqp_cstring_bytes("first");
    amqp_table_t consume_args = options_.queue_type == "stream" ? amqp_table_t{1, offset} : amqp_empty_table;
    amqp_basic_consume_ok_t* ok =
        amqp_basic_consume(conn_, kChannel, Bytes(queue), amqp_empty_bytes, 0, /*no_ack=*/0, 0, consume_args);
    st = FromReply(amqp_get_rpc_reply(conn_), "consuming queue " + queue);
    if (!st.ok()) return st;
    consumer_tag_.assign(View(ok->consumer_tag));
  }
  announce_subscribed_ = true;
  last_send_ms_ = NowMs();
  return Status::Ok();
}

Status AmqpClient::Ack(const proto::Ack& a) {
  if (a.tags.empty()) return Status::Ok();
  if (closed_) return Closed();
  // Tags are written in delivery order: one ack with multiple covers them.
  uint64_t last = *std::max_element(a.tags.begin(), a.tags.end());
  int rc = amqp_basic_ack(conn_, kChannel, last, 1);
  acked_ = true;
  last_send_ms_ = NowMs();
  return FromCode(rc, "acknowledging");
}

void AmqpClient::ReleaseEnvelopes() {
  for (amqp_envelope_t& e : envelopes_) amqp_destroy_envelope(&e);
  envelopes_.clear();
}

void AmqpClient::ToDeliveries(Event* event) {
  event->kind = Event::Kind::kDeliver;
  event->deliveries.clear();
  const int64_t now_us = WallUs();
  for (const amqp_envelope_t& e : envelopes_) {
    proto::Delivery d;
    const amqp_basic_properties_t& p = e.message.properties;
    d.tag = e.delivery_tag;
    d.redelivered = e.redelivered != 0;
    d.topic = View(e.routing_key);
    d.payload = View(e.message.body);
    if (p._flags & AMQP_BASIC_APP_ID_FLAG) d.publisher = View(p.app_id);
    d.seq = e.delivery_tag;
    if (p._flags & AMQP_BASIC_MESSAGE_ID_FLAG) {
      std::string_view id = View(p.message_id);
      uint64_t v = 0;
      auto [end, ec] = std::from_chars(id.data(), id.data() + id.size(), v);
      if (ec == std::errc() && end == id.data() + id.size()) d.seq = v;
    }
    int64_t ts = (p._flags & AMQP_BASIC_TIMESTAMP_FLAG) ? static_cast<int64_t>(p.timestamp) * 1000000 : now_us;
    if (p._flags & AMQP_BASIC_HEADERS_FLAG) {
      for (int k = 0; k < p.headers.num_entries; ++k) {
        const amqp_table_entry_t& h = p.headers.entries[k];
        if (View(h.key) != kTsHeader) continue;
        if (h.value.kind == AMQP_FIELD_KIND_I64) ts = h.value.value.i64;
        if (h.value.kind == AMQP_FIELD_KIND_U64) ts = static_cast<int64_t>(h.value.value.u64);
      }
    }
    d.ts_us = static_cast<uint64_t>(std::max<int64_t>(0, ts));
    event->deliveries.push_back(d);
  }
}

Status AmqpClient::ReadOne(bool* delivered) {
  *delivered = false;
  struct timeval zero = {0, 0};
  amqp_envelope_t env;
  amqp_rpc_reply_t r = amqp_consume_message(conn_, &env, &zero, 0);
  if (r.reply_type == AMQP_RESPONSE_NORMAL) {
    last_recv_ms_ = NowMs();
    envelopes_.push_back(env);
    *delivered = true;
    return Status::Ok();
  }
  if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION && r.library_error == AMQP_STATUS_TIMEOUT) {
    return Status::Ok();  // nothing whole yet
  }
  if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION && r.library_error == AMQP_STATUS_UNEXPECTED_STATE) {
    amqp_frame_t frame;
    int rc = amqp_simple_wait_frame_noblock(conn_, &frame, &zero);
    if (rc == AMQP_STATUS_TIMEOUT) return Status::Ok();
    if (rc != AMQP_STATUS_OK) return FromCode(rc, "reading");
    last_recv_ms_ = NowMs();
    return OnFrame(frame);
  }
  return FromReply(r, "reading");
}

Status AmqpClient::ReadDeliveries(Event* event, bool* got) {
  bool delivered = false;
  Status s = ReadOne(&delivered);
  if (!s.ok() || !delivered) return s;
  while (envelopes_.size() < kMaxDeliveriesPerEvent && (amqp_frames_enqueued(conn_) || amqp_data_in_buffer(conn_))) {
    s = ReadOne(&delivered);
    if (!s.ok()) return s;
    if (!delivered && ready_.empty()) break;
  }
  if (closed_) {  // these deliveries go back to the queue: not handed out
    ReleaseEnvelopes();
    return Status::Ok();
  }
  ToDeliveries(event);
  *got = true;
  return Status::Ok();
}

Status AmqpClient::Wait(int64_t timeout_ms, bool* got, Event* event, bool interruptible) {
  *got = false;
  ReleaseEnvelopes();
  // Frames decoded since the last call (confirms, heartbeats) live in the
  // connection's pools until released; nothing refers to them any more.
  amqp_maybe_release_buffers(conn_);
  const int64_t deadline = NowMs() + std::max<int64_t>(0, timeout_ms);
  for (;;) {
    if (announce_subscribed_) {
      announce_subscribed_ = false;
      event->kind = Event::Kind::kSubscribed;
      *got = true;
      return Status::Ok();
    }
    if (!ready_.empty()) {
      event->kind = Event::Kind::kConfirm;
      event->confirm = std::move(ready_.front());
      ready_.pop_front();
      last_reason_ = std::move(reasons_.front());
      reasons_.pop_front();
      event->confirm.reason = last_reason_;
      *got = true;
      return Status::Ok();
    }
    // Once the session has ended (every failure below ends it), what was
    // confirmed before has been handed out above.
    if (closed_) return Closed();
    if (amqp_frames_enqueued(conn_) || amqp_data_in_buffer(conn_)) {
      Status s = ReadDeliveries(event, got);
      if (!s.ok() && !closed_) return s;
      if (*got) return s;
      if (closed_ || !ready_.empty() || amqp_frames_enqueued(conn_)) continue;
    }
    Status k = KeepAlive();
    if (!k.ok() && !closed_) return k;
    if (!k.ok()) continue;
    if (interruptible && io::InterruptRequested()) return Status::Interrupted();
    int64_t now = NowMs();
    if (now >= deadline) return Status::Ok();
    struct pollfd fds[2] = {{amqp_get_sockfd(conn_), POLLIN, 0}, {watch_fd_, 0, 0}};
    int n = watch_fd_ >= 0 ? 2 : 1;
    int wait = static_cast<int>(std::min<int64_t>({deadline - now, 100, heartbeat_ms() / 2}));
    int rc = ::poll(fds, n, wait);
    if (rc < 0 && errno != EINTR) {
      (void)FromCode(AMQP_STATUS_SOCKET_ERROR, "waiting");
      continue;
    }
    if (n == 2 && (fds[1].revents & (POLLERR | POLLHUP))) return Status::BrokenPipe();
    if (rc > 0 && (fds[0].revents & (POLLIN | POLLERR | POLLHUP))) {
      last_recv_ms_ = NowMs();  // heartbeats included (rabbitmq-c consumes those itself)
      Status s = ReadDeliveries(event, got);
      if (!s.ok() && !closed_) return s;
      if (*got) return s;
    }
  }
}

Status AmqpClient::KeepAlive() {
  if (closed_) return Closed();
  const int64_t now = NowMs();
  if (now - last_recv_ms_ > 3 * heartbeat_ms()) {
    // A caller busy elsewhere (a blocked output) leaves input unread: input
    // waiting means RabbitMQ is alive (it is read by the next Wait()).
    struct pollfd in = {amqp_get_sockfd(conn_), POLLIN, 0};
    if (amqp_data_in_buffer(conn_) || amqp_frames_enqueued(conn_) || ::poll(&in, 1, 0) > 0) last_recv_ms_ = now;
  }
  if (now - last_recv_ms_ > 3 * heartbeat_ms()) {
    return Lost(Status(Status::Code::kConnection, fmt::format("lost RabbitMQ at {}: nothing received for {} ms",
                                                              url_.shown, now - last_recv_ms_)));
  }
  if (now - last_send_ms_ >= heartbeat_ms() / 2) {
    amqp_frame_t hb;
    std::memset(&hb, 0, sizeof(hb));
    hb.frame_type = AMQP_FRAME_HEARTBEAT;
    hb.channel = 0;
    int rc = amqp_send_frame(conn_, &hb);
    if (rc != AMQP_STATUS_OK) return FromCode(rc, "sending a heartbeat");
    last_send_ms_ = now;
  }
  return Status::Ok();
}

void AmqpClient::Bye(std::string_view) {
  if (closed_ || conn_ == nullptr) return;
  closed_ = true;
  struct timeval t = {2, 0};
  amqp_set_rpc_timeout(conn_, &t);
  if (!consumer_tag_.empty() && acked_) {
    // RabbitMQ 3.10's quorum queues may drop acks that arrive just before
    // the channel closes and redeliver those messages
    // (rabbitmq/rabbitmq-server#10327). Stop the consumer first (a round
    // trip behind the acks on this channel) and give the queue a moment to
    // apply them: a duplicate is then rare, never a loss.
    amqp_basic_cancel(conn_, kChannel, Bytes(consumer_tag_));
    (void)amqp_get_rpc_reply(conn_);
    std::this_thread::sleep_for(std::chrono::milliseconds(options_.queue_type == "classic" ? 0 : 200));
  }
  // Closing the channel hands every unacknowledged delivery back to the queue.
  amqp_channel_close(conn_, kChannel, AMQP_REPLY_SUCCESS);
  amqp_connection_close(conn_, AMQP_REPLY_SUCCESS);
}

}  // namespace

Status ConnectAmqp(const ClientOptions& options, std::unique_ptr<Client>* out) {
  auto c = std::make_unique<AmqpClient>();
  Status s = c->Open(options);
  if (!s.ok()) return s;
  *out = std::move(c);
  return Status::Ok();
}

Status ValidateAmqpUrl(const std::string& url) {
  Url u;
  return ParseUrl(url, &u);
}

}  // namespace govstream::mq
