// amqp_peer: the RabbitMQ side of bench/run's durable suite (rabbitmq-c).
//
// usage: amqp-peer publish --port P --queue Q --file FILE [--type quorum]
//                  [--count N] [--window N] [--rate MSGS_PER_SEC]
//                  [--exchange X --routing-key K] [--timeout SECS]
//        amqp-peer consume --port P --queue Q --count N [--type quorum]
//                  [--prefetch N] [--ack-every N] [--timeout SECS] [--delete]
//        common: [--host 127.0.0.1] (guest/guest, vhost /)
//
// Both declare Q durable with x-queue-type = --type (quorum or classic), so
// either may start first.
//
// publish: every line of FILE (or its first --count lines; newline stripped,
// loaded before timing) is one persistent message (delivery_mode 2) to the
// default exchange with routing key Q (or, with --exchange and
// --routing-key, to exchange X with key K: X must exist and route K to Q,
// as amq.topic does once Q is bound to K), mandatory, on a channel in confirm
// mode. Publishing is pipelined: up
// to --window messages (default 1000) may be unconfirmed at a time; the
// publisher reads the broker's basic.ack / basic.nack frames as they come
// (a `multiple` ack confirms every tag up to its own) and blocks only when
// the window is full. With --rate, message i is sent at start + i / rate
// (acks are read while it waits). Each message's confirm latency is the time
// from its basic.publish to the ack that covers it.
//
// consume: basic.qos --prefetch (default 1000), basic.consume with manual
// acks; every --ack-every messages (default 250) one basic.ack with
// multiple=1 acknowledges them all, and the last ones at the end. Exits
// after --count messages; --delete then deletes Q. It says "amqp-peer:
// consuming Q" on stderr once basic.consume is answered.
//
// Each prints one JSON line on stdout, e.g.
//   {"program":"amqp-peer","mode":"publish","queue":"q","type":"quorum",
//    "messages":N,"sent":N,"confirmed":N,"nacked":0,"returned":0,
//    "ack_frames":...,"multiple_acks":...,"seconds":...,"msgs_per_sec":...,
//    "confirm_latency_ms":{"p50":...,"p99":...,"max":...}}
//   {"program":"amqp-peer","mode":"consume",...,"received":N,"bytes":...,
//    "acks_sent":...,"redelivered":0,"seconds":...,"msgs_per_sec":...}
// where seconds run from the first publish (the first delivery) to the last
// confirmation (delivery).
//
// Exit status: 0 every message confirmed (received); 1 input error; 2 usage;
// 5 connection or channel failure; 6 some messages nacked or returned;
// 7 timeout.
#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_tcp_socket.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

constexpr amqp_channel_t kChannel = 1;
constexpr int kExitInput = 1, kExitUsage = 2, kExitConnection = 5,
              kExitRefused = 6, kExitTimeout = 7;

struct Options {
  std::string mode, host = "127.0.0.1", queue, type = "quorum", file, exchange,
      routing_key;
  int port = 5672;
  uint64_t window = 1000, count = 0, prefetch = 1000, ack_every = 250;
  double rate = 0, timeout_s = 60;
  bool remove = false;
};

[[noreturn]] void Usage(const std::string& msg) {
  std::fprintf(
      stderr,
      "amqp-peer: %s\n"
      "usage: amqp-peer publish --port P --queue Q --file FILE [--type "
      "quorum|classic] [--count N] [--window N] [--rate R] [--exchange X "
      "--routing-key K] [--timeout SECS]\n"
      "       amqp-peer consume --port P --queue Q --count N [--type "
      "quorum|classic] [--prefetch N] [--ack-every N] [--timeout SECS] "
      "[--delete]\n",
      msg.c_str());
  std::exit(kExitUsage);
}

[[noreturn]] void Die(int code, const std::string& msg) {
  std::fprintf(stderr, "amqp-peer: %s\n", msg.c_str());
  std::exit(code);
}

double ParseNumber(const char* s, const std::string& what, bool integer) {
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(s, &end);
  if (errno != 0 || end == s || *end != '\0' || !(v > 0) ||
      (integer && v != static_cast<double>(static_cast<uint64_t>(v)))) {
    Usage(what + " must be a positive " + (integer ? "integer" : "number"));
  }
  return v;
}

Options ParseArgs(int argc, char** argv) {
  Options o;
  if (argc < 2) Usage("publish or consume?");
  o.mode = argv[1];
  if (o.mode == "-h" || o.mode == "--help") {
    std::printf("see the comment at the top of bench/amqp_peer.cpp\n");
    std::exit(0);
  }
  if (o.mode != "publish" && o.mode != "consume")
    Usage("unknown mode " + o.mode);
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) Usage(a + " needs a value");
      return argv[++i];
    };
    auto count = [&]() {
      return static_cast<uint64_t>(ParseNumber(value(), a, true));
    };
    if (a == "--host") {
      o.host = value();
    } else if (a == "--port") {
      o.port = static_cast<int>(count());
    } else if (a == "--queue") {
      o.queue = value();
    } else if (a == "--type") {
      o.type = value();
      if (o.type != "quorum" && o.type != "classic") {
        Usage("--type is quorum or classic");
      }
    } else if (a == "--file") {
      o.file = value();
    } else if (a == "--exchange") {
      o.exchange = value();
    } else if (a == "--routing-key") {
      o.routing_key = value();
    } else if (a == "--window") {
      o.window = count();
    } else if (a == "--count") {
      o.count = count();
    } else if (a == "--prefetch") {
      o.prefetch = count();
    } else if (a == "--ack-every") {
      o.ack_every = count();
    } else if (a == "--rate") {
      o.rate = ParseNumber(value(), a, false);
    } else if (a == "--timeout") {
      o.timeout_s = ParseNumber(value(), a, false);
    } else if (a == "--delete") {
      o.remove = true;
    } else {
      Usage("unknown argument " + a);
    }
  }
  if (o.queue.empty()) Usage("--queue is required");
  if (o.mode == "publish" && o.file.empty()) Usage("--file is required");
  if (o.mode == "consume" && o.count == 0) Usage("--count is required");
  if (o.mode == "publish" && o.remove) Usage("--delete is for consume");
  if (o.exchange.empty() != o.routing_key.empty())
    Usage("--exchange and --routing-key go together");
  if (o.mode == "consume" && !o.exchange.empty())
    Usage("--exchange is for publish");
  if (o.prefetch > 65535) Usage("--prefetch is at most 65535");
  return o;
}

std::string ReplyText(const amqp_rpc_reply_t& r) {
  switch (r.reply_type) {
    case AMQP_RESPONSE_NORMAL:
      return "ok";
    case AMQP_RESPONSE_NONE:
      return "missing RPC reply";
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
      return amqp_error_string2(r.library_error);
    case AMQP_RESPONSE_SERVER_EXCEPTION:
      if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD ||
          r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
        // Both methods begin with reply_code and reply_text.
        auto* m = static_cast<amqp_channel_close_t*>(r.reply.decoded);
        return std::to_string(m->reply_code) + " " +
               std::string(static_cast<const char*>(m->reply_text.bytes),
                           m->reply_text.len);
      }
      return "server exception, method " + std::to_string(r.reply.id);
  }
  return "unknown reply";
}

void CheckReply(amqp_connection_state_t conn, const char* what) {
  amqp_rpc_reply_t r = amqp_get_rpc_reply(conn);
  if (r.reply_type != AMQP_RESPONSE_NORMAL) {
    Die(kExitConnection, std::string(what) + ": " + ReplyText(r));
  }
}

// Connects, logs in, opens channel 1 and declares the durable queue.
amqp_connection_state_t Connect(const Options& o) {
  amqp_connection_state_t conn = amqp_new_connection();
  amqp_socket_t* sock = amqp_tcp_socket_new(conn);
  if (sock == nullptr) Die(kExitConnection, "cannot create a TCP socket");
  int rc = amqp_socket_open(sock, o.host.c_str(), o.port);
  if (rc != AMQP_STATUS_OK) {
    Die(kExitConnection, "cannot connect to " + o.host + ":" +
                             std::to_string(o.port) + ": " +
                             amqp_error_string2(rc));
  }
  amqp_rpc_reply_t r = amqp_login(conn, "/", 0, AMQP_DEFAULT_FRAME_SIZE, 0,
                                  AMQP_SASL_METHOD_PLAIN, "guest", "guest");
  if (r.reply_type != AMQP_RESPONSE_NORMAL) {
    Die(kExitConnection, "login: " + ReplyText(r));
  }
  amqp_channel_open(conn, kChannel);
  CheckReply(conn, "channel.open");
  amqp_table_entry_t arg;
  arg.key = amqp_cstring_bytes("x-queue-type");
  arg.value.kind = AMQP_FIELD_KIND_UTF8;
  arg.value.value.bytes = amqp_cstring_bytes(o.type.c_str());
  amqp_table_t args{1, &arg};
  amqp_queue_declare(conn, kChannel, amqp_cstring_bytes(o.queue.c_str()),
                     /*passive=*/0, /*durable=*/1, /*exclusive=*/0,
                     /*auto_delete=*/0, args);
  CheckReply(conn, "queue.declare");
  return conn;
}

void Close(amqp_connection_state_t conn) {
  amqp_channel_close(conn, kChannel, AMQP_REPLY_SUCCESS);
  amqp_connection_close(conn, AMQP_REPLY_SUCCESS);
  amqp_destroy_connection(conn);
}

std::string JsonString(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// ---------------------------------------------------------------- publish
class Publisher {
 public:
  Publisher(const Options& o, amqp_connection_state_t conn, uint64_t n)
      : o_(o), conn_(conn), state_(n + 1, kPending), sent_at_(n + 1) {
    latency_us_.reserve(n);
  }

  int Run(const std::vector<std::string_view>& lines) {
    amqp_confirm_select(conn_, kChannel);
    CheckReply(conn_, "confirm.select");
    amqp_basic_properties_t props;
    props._flags = AMQP_BASIC_DELIVERY_MODE_FLAG;
    props.delivery_mode = 2;  // persistent
    amqp_bytes_t exchange = o_.exchange.empty()
                                ? amqp_empty_bytes
                                : amqp_cstring_bytes(o_.exchange.c_str());
    amqp_bytes_t key = amqp_cstring_bytes(
        (o_.exchange.empty() ? o_.queue : o_.routing_key).c_str());
    start_ = Clock::now();
    const uint64_t n = lines.size();
    for (uint64_t i = 0; i < n; ++i) {
      if (o_.rate > 0) {
        auto due = start_ + std::chrono::duration_cast<Clock::duration>(
                                std::chrono::duration<double>(i / o_.rate));
        while (Clock::now() < due) ReadFrames(due);
      }
      AwaitConfirms([&] { return sent_ - done_ >= o_.window; });
      amqp_bytes_t body{lines[i].size(), const_cast<char*>(lines[i].data())};
      sent_at_[sent_ + 1] = Clock::now();
      int rc =
          amqp_basic_publish(conn_, kChannel, exchange, key,
                             /*mandatory=*/1, /*immediate=*/0, &props, body);
      if (rc != AMQP_STATUS_OK) {
        Die(kExitConnection,
            std::string("basic.publish: ") + amqp_error_string2(rc));
      }
      ++sent_;
      if ((sent_ & 31) == 0) ReadFrames(Clock::now());  // drain, no wait
    }
    AwaitConfirms([&] { return done_ < sent_; });
    auto end = last_confirm_;
    Close(conn_);
    Report(n, end);
    return nacked_ || returned_ ? kExitRefused : 0;
  }

 private:
  enum : uint8_t { kPending, kAcked, kNacked };

  Clock::time_point Deadline() const {
    return Clock::now() + std::chrono::duration_cast<Clock::duration>(
                              std::chrono::duration<double>(o_.timeout_s));
  }

  // Reads and handles every frame that is ready; waits until `until` for the
  // first one (not at all when `until` has passed). True: some frame came.
  bool ReadFrames(Clock::time_point until) {
    bool any = false;
    for (;;) {
      if (!amqp_frames_enqueued(conn_) && !amqp_data_in_buffer(conn_)) {
        int64_t left_us = std::chrono::duration_cast<std::chrono::microseconds>(
                              until - Clock::now())
                              .count();
        int ms = any ? 0
                     : static_cast<int>(
                           std::max<int64_t>(0, (left_us + 999) / 1000));
        pollfd p{amqp_get_sockfd(conn_), POLLIN, 0};
        int pr = poll(&p, 1, ms);
        if (pr < 0 && errno == EINTR) continue;
        if (pr < 0)
          Die(kExitConnection, std::string("poll: ") + std::strerror(errno));
        if (pr == 0) return any;
      }
      amqp_frame_t f;
      int rc = amqp_simple_wait_frame(conn_, &f);
      if (rc != AMQP_STATUS_OK) {
        Die(kExitConnection,
            std::string("reading a frame: ") + amqp_error_string2(rc));
      }
      any = true;
      if (f.frame_type == AMQP_FRAME_METHOD) Handle(f.payload.method);
      amqp_maybe_release_buffers(conn_);
    }
  }

  // Waits (bounded by --timeout) for confirmations while `more` holds.
  template <typename F>
  void AwaitConfirms(F more) {
    while (more()) {
      if (!ReadFrames(Deadline())) {
        Die(kExitTimeout, "no confirmation within --timeout (" +
                              std::to_string(done_) + " of " +
                              std::to_string(sent_) + " answered)");
      }
    }
  }

  void Handle(const amqp_method_t& m) {
    switch (m.id) {
      case AMQP_BASIC_ACK_METHOD: {
        auto* a = static_cast<amqp_basic_ack_t*>(m.decoded);
        ++ack_frames_;
        multiple_acks_ += a->multiple != 0;
        Mark(a->delivery_tag, a->multiple, kAcked);
        break;
      }
      case AMQP_BASIC_NACK_METHOD: {
        auto* a = static_cast<amqp_basic_nack_t*>(m.decoded);
        Mark(a->delivery_tag, a->multiple, kNacked);
        break;
      }
      case AMQP_BASIC_RETURN_METHOD: {  // then its header and body frames
        ++returned_;
        amqp_message_t msg;
        amqp_rpc_reply_t r = amqp_read_message(conn_, kChannel, &msg, 0);
        if (r.reply_type != AMQP_RESPONSE_NORMAL) {
          Die(kExitConnection, "reading a returned message: " + ReplyText(r));
        }
        amqp_destroy_message(&msg);
        break;
      }
      case AMQP_CHANNEL_CLOSE_METHOD:
      case AMQP_CONNECTION_CLOSE_METHOD: {
        auto* c = static_cast<amqp_channel_close_t*>(m.decoded);
        Die(kExitConnection,
            "the broker closed the " +
                std::string(m.id == AMQP_CHANNEL_CLOSE_METHOD ? "channel"
                                                              : "connection") +
                ": " + std::to_string(c->reply_code) + " " +
                std::string(static_cast<const char*>(c->reply_text.bytes),
                            c->reply_text.len));
      }
      default:
        break;  // connection.blocked/unblocked and the like: nothing to do
    }
  }

  void Mark(uint64_t tag, bool multiple, uint8_t how) {
    if (tag == 0 && multiple) tag = sent_;  // every outstanding message
    if (tag > sent_) Die(kExitConnection, "ack for an unsent delivery tag");
    auto now = Clock::now();
    auto one = [&](uint64_t t) {
      if (state_[t] != kPending) return;
      state_[t] = how;
      ++done_;
      if (how == kAcked) {
        ++confirmed_;
        latency_us_.push_back(static_cast<float>(
            std::chrono::duration<double, std::micro>(now - sent_at_[t])
                .count()));
      } else {
        ++nacked_;
      }
    };
    if (multiple) {
      for (uint64_t t = low_; t <= tag; ++t) one(t);
    } else {
      one(tag);
    }
    while (low_ <= sent_ && state_[low_] != kPending) ++low_;
    last_confirm_ = now;
  }

  void Report(uint64_t n, Clock::time_point end) {
    double secs = Seconds(start_, end);
    auto pct = [&](double q) -> double {
      if (latency_us_.empty()) return 0;
      size_t k = std::min(latency_us_.size() - 1,
                          static_cast<size_t>(q * latency_us_.size()));
      std::nth_element(latency_us_.begin(), latency_us_.begin() + k,
                       latency_us_.end());
      return latency_us_[k] / 1e3;
    };
    double p50 = pct(0.50), p99 = pct(0.99), mx = pct(1.0);
    std::printf(
        "{\"program\":\"amqp-peer\",\"mode\":\"publish\",\"queue\":%s,"
        "\"type\":%s,\"messages\":%llu,\"sent\":%llu,\"confirmed\":%llu,"
        "\"nacked\":%llu,\"returned\":%llu,\"ack_frames\":%llu,"
        "\"multiple_acks\":%llu,\"window\":%llu,\"rate\":%g,\"seconds\":%.6f,"
        "\"msgs_per_sec\":%.0f,\"confirm_latency_ms\":{\"p50\":%.3f,"
        "\"p99\":%.3f,\"max\":%.3f}}\n",
        JsonString(o_.queue).c_str(), JsonString(o_.type).c_str(),
        static_cast<unsigned long long>(n),
        static_cast<unsigned long long>(sent_),
        static_cast<unsigned long long>(confirmed_),
        static_cast<unsigned long long>(nacked_),
        static_cast<unsigned long long>(returned_),
        static_cast<unsigned long long>(ack_frames_),
        static_cast<unsigned long long>(multiple_acks_),
        static_cast<unsigned long long>(o_.window), o_.rate, secs,
        secs > 0 ? confirmed_ / secs : 0.0, p50, p99, mx);
    std::fflush(stdout);
  }

  const Options& o_;
  amqp_connection_state_t conn_;
  std::vector<uint8_t> state_;  // per delivery tag (1-based)
  std::vector<Clock::time_point> sent_at_;
  std::vector<float> latency_us_;
  Clock::time_point start_, last_confirm_;
  uint64_t sent_ = 0, done_ = 0, low_ = 1, confirmed_ = 0, nacked_ = 0,
           returned_ = 0, ack_frames_ = 0, multiple_acks_ = 0;
};

int Publish(const Options& o) {
  std::ifstream in(o.file, std::ios::binary);
  if (!in) Die(kExitInput, "cannot open " + o.file);
  std::string data((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  if (in.bad()) Die(kExitInput, "cannot read " + o.file);
  std::vector<std::string_view> lines;
  std::string_view rest(data);
  while (!rest.empty()) {
    size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    if (!line.empty()) lines.push_back(line);
    rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
  }
  if (o.count > 0 && lines.size() > o.count) lines.resize(o.count);
  if (lines.empty()) Die(kExitInput, o.file + " has no lines");
  amqp_connection_state_t conn = Connect(o);
  Publisher p(o, conn, lines.size());
  return p.Run(lines);
}

// ---------------------------------------------------------------- consume
int Consume(const Options& o) {
  amqp_connection_state_t conn = Connect(o);
  amqp_basic_qos(conn, kChannel, 0, static_cast<uint16_t>(o.prefetch), 0);
  CheckReply(conn, "basic.qos");
  amqp_basic_consume(conn, kChannel, amqp_cstring_bytes(o.queue.c_str()),
                     amqp_empty_bytes, /*no_local=*/0, /*no_ack=*/0,
                     /*exclusive=*/0, amqp_empty_table);
  CheckReply(conn, "basic.consume");
  std::fprintf(stderr, "amqp-peer: consuming %s\n", o.queue.c_str());
  uint64_t got = 0, bytes = 0, acks = 0, redelivered = 0, last_tag = 0;
  Clock::time_point first{}, last{};
  timeval tv{static_cast<time_t>(o.timeout_s),
             static_cast<suseconds_t>(
                 (o.timeout_s - static_cast<time_t>(o.timeout_s)) * 1e6)};
  while (got < o.count) {
    amqp_maybe_release_buffers(conn);
    amqp_envelope_t env;
    amqp_rpc_reply_t r = amqp_consume_message(conn, &env, &tv, 0);
    if (r.reply_type == AMQP_RESPONSE_NORMAL) {
      last = Clock::now();
      if (got == 0) first = last;
      ++got;
      bytes += env.message.body.len;
      redelivered += env.redelivered != 0;
      last_tag = env.delivery_tag;
      amqp_destroy_envelope(&env);
      if (got % o.ack_every == 0 || got == o.count) {
        int rc = amqp_basic_ack(conn, kChannel, last_tag, /*multiple=*/1);
        if (rc != AMQP_STATUS_OK) {
          Die(kExitConnection,
              std::string("basic.ack: ") + amqp_error_string2(rc));
        }
        ++acks;
      }
      continue;
    }
    if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
        r.library_error == AMQP_STATUS_TIMEOUT) {
      Die(kExitTimeout, "no message within --timeout (" + std::to_string(got) +
                            " of " + std::to_string(o.count) + " received)");
    }
    if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
        r.library_error == AMQP_STATUS_UNEXPECTED_STATE) {
      amqp_frame_t f;
      int rc = amqp_simple_wait_frame(conn, &f);
      if (rc != AMQP_STATUS_OK) {
        Die(kExitConnection,
            std::string("reading a frame: ") + amqp_error_string2(rc));
      }
      if (f.frame_type == AMQP_FRAME_METHOD &&
          (f.payload.method.id == AMQP_CHANNEL_CLOSE_METHOD ||
           f.payload.method.id == AMQP_CONNECTION_CLOSE_METHOD)) {
        auto* c = static_cast<amqp_channel_close_t*>(f.payload.method.decoded);
        Die(kExitConnection,
            "the broker closed the channel: " + std::to_string(c->reply_code) +
                " " +
                std::string(static_cast<const char*>(c->reply_text.bytes),
                            c->reply_text.len));
      }
      continue;  // e.g. basic.cancel-ok, connection.blocked
    }
    Die(kExitConnection, "basic.consume: " + ReplyText(r));
  }
  if (o.remove) {
    amqp_queue_delete(conn, kChannel, amqp_cstring_bytes(o.queue.c_str()), 0,
                      0);
    CheckReply(conn, "queue.delete");
  }
  Close(conn);
  double secs = Seconds(first, last);
  std::printf(
      "{\"program\":\"amqp-peer\",\"mode\":\"consume\",\"queue\":%s,"
      "\"type\":%s,\"received\":%llu,\"bytes\":%llu,\"acks_sent\":%llu,"
      "\"ack_every\":%llu,\"prefetch\":%llu,\"redelivered\":%llu,"
      "\"seconds\":%.6f,\"msgs_per_sec\":%.0f}\n",
      JsonString(o.queue).c_str(), JsonString(o.type).c_str(),
      static_cast<unsigned long long>(got),
      static_cast<unsigned long long>(bytes),
      static_cast<unsigned long long>(acks),
      static_cast<unsigned long long>(o.ack_every),
      static_cast<unsigned long long>(o.prefetch),
      static_cast<unsigned long long>(redelivered), secs,
      secs > 0 ? got / secs : 0.0);
  std::fflush(stdout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o = ParseArgs(argc, argv);
  return o.mode == "publish" ? Publish(o) : Consume(o);
}
