// zmq_ceiling: the raw ZeroMQ single-hop ceiling on this machine.
//
// usage: zmq-ceiling [--messages N] [--size BYTES] [--file FILE]
//                    [--endpoint tcp://127.0.0.1:*]
//
// One process, two threads: a PUSH socket bound on a loopback TCP endpoint
// (an ephemeral port by default) sends N single-frame messages; a PULL socket
// connected to it in another thread receives them. Default socket options
// (high-water marks 1000/1000, no batching of our own): this is what one
// ZeroMQ hop does with no broker, no protocol, no acknowledgements and no
// per-message work -- the ceiling the messaging benchmark compares
// mq-pub -> mq-broker -> mq-sub against (which needs at least two hops).
//
// Payloads: --file FILE takes the first N lines of FILE (cycled if it has
// fewer; newline stripped), loaded into memory before timing, so the messages
// are the benchmark's own NDJSON lines; otherwise every message is --size
// bytes (default 250) of a fixed JSON-ish text.
//
// Timing: the sender first sends one warm-up message (it also waits for the
// connection); the clock starts when the receiver gets it and stops when the
// receiver gets the last of the N messages. Prints one JSON line on stdout:
//   {"program":"zmq-ceiling","endpoint":...,"messages":N,"bytes":...,
//    "seconds":...,"msgs_per_sec":...,"mb_per_sec":...,"zmq_version":...}
// Exit status: 0 on success, 1 on a ZeroMQ or input error, 2 on bad usage.
#include <zmq.hpp>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <fstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

struct Payloads {
  std::string data;               // all payloads back to back
  std::vector<uint32_t> offsets;  // payload i is [offsets[i], offsets[i+1])
  size_t size() const { return offsets.size() - 1; }
  std::string_view at(size_t i) const {
    return std::string_view(data).substr(offsets[i], offsets[i + 1] - offsets[i]);
  }
};

[[noreturn]] void Usage(const char* msg) {
  std::fprintf(stderr,
               "zmq-ceiling: %s\nusage: zmq-ceiling [--messages N] [--size BYTES] "
               "[--file FILE] [--endpoint tcp://127.0.0.1:*]\n",
               msg);
  std::exit(2);
}

uint64_t ParseCount(const char* s, const char* what) {
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || v == 0) {
    Usage((std::string(what) + " must be a positive integer").c_str());
  }
  return v;
}

std::string JsonEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t messages = 1000000;
  uint64_t size = 250;
  std::string file;
  std::string endpoint = "tcp://127.0.0.1:*";
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto value = [&](const char* name) -> const char* {
      if (i + 1 >= argc) Usage((std::string(name) + " needs a value").c_str());
      return argv[++i];
    };
    if (a == "--messages" || a == "-n") {
      messages = ParseCount(value("--messages"), "--messages");
    } else if (a == "--size") {
      size = ParseCount(value("--size"), "--size");
    } else if (a == "--file") {
      file = value("--file");
    } else if (a == "--endpoint") {
      endpoint = value("--endpoint");
    } else if (a == "-h" || a == "--help") {
      std::printf("usage: zmq-ceiling [--messages N] [--size BYTES] [--file FILE] "
                  "[--endpoint tcp://127.0.0.1:*]\n");
      return 0;
    } else {
      Usage(("unknown argument: " + std::string(a)).c_str());
    }
  }

  // ---- payloads, built before timing
  Payloads p;
  p.offsets.push_back(0);
  if (!file.empty()) {
    std::ifstream in(file);
    if (!in) {
      std::fprintf(stderr, "zmq-ceiling: cannot open %s\n", file.c_str());
      return 1;
    }
    std::string line;
    while (p.size() < messages && std::getline(in, line)) {
      p.data += line;
      p.offsets.push_back(static_cast<uint32_t>(p.data.size()));
    }
    if (p.size() == 0) {
      std::fprintf(stderr, "zmq-ceiling: %s has no lines\n", file.c_str());
      return 1;
    }
  } else {
    std::string text = "{\"msg\":\"";
    while (text.size() + 2 < size) text += static_cast<char>('a' + text.size() % 26);
    text += "\"}";
    text.resize(size, ' ');
    p.data = text;
    p.offsets.push_back(static_cast<uint32_t>(p.data.size()));
  }
  uint64_t total_bytes = 0;
  for (uint64_t i = 0; i < messages; ++i) total_bytes += p.at(i % p.size()).size();

  try {
    zmq::context_t ctx(1);
    zmq::socket_t push(ctx, zmq::socket_type::push);
    push.set(zmq::sockopt::linger, 0);
    push.bind(endpoint);
    std::string bound = push.get(zmq::sockopt::last_endpoint);

    std::string recv_error;
    uint64_t received = 0, received_bytes = 0;
    double seconds = 0;
    std::thread receiver([&] {
      try {
        zmq::socket_t pull(ctx, zmq::socket_type::pull);
        pull.set(zmq::sockopt::linger, 0);
        pull.connect(bound);
        zmq::message_t msg;
        if (!pull.recv(msg)) throw std::runtime_error("warm-up message lost");
        auto t0 = std::chrono::steady_clock::now();
        for (uint64_t i = 0; i < messages; ++i) {
          if (!pull.recv(msg)) throw std::runtime_error("recv returned no message");
          ++received;
          received_bytes += msg.size();
        }
        auto t1 = std::chrono::steady_clock::now();
        seconds = std::chrono::duration<double>(t1 - t0).count();
      } catch (const std::exception& e) {
        recv_error = e.what();
      }
    });

    push.send(zmq::str_buffer("warm-up"), zmq::send_flags::none);
    for (uint64_t i = 0; i < messages; ++i) {
      std::string_view m = p.at(i % p.size());
      push.send(zmq::buffer(m.data(), m.size()), zmq::send_flags::none);
    }
    receiver.join();
    if (!recv_error.empty()) {
      std::fprintf(stderr, "zmq-ceiling: receiver: %s\n", recv_error.c_str());
      return 1;
    }
    if (received != messages || received_bytes != total_bytes) {
      std::fprintf(stderr, "zmq-ceiling: received %llu messages (%llu bytes), sent %llu (%llu bytes)\n",
                   (unsigned long long)received, (unsigned long long)received_bytes,
                   (unsigned long long)messages, (unsigned long long)total_bytes);
      return 1;
    }
    int major = 0, minor = 0, patch = 0;
    zmq_version(&major, &minor, &patch);
    std::printf("{\"program\":\"zmq-ceiling\",\"endpoint\":\"%s\",\"messages\":%llu,\"bytes\":%llu,"
                "\"seconds\":%.6f,\"msgs_per_sec\":%.0f,\"mb_per_sec\":%.1f,"
                "\"zmq_version\":\"%d.%d.%d\"}\n",
                JsonEscape(bound).c_str(), (unsigned long long)messages,
                (unsigned long long)total_bytes, seconds, messages / seconds,
                total_bytes / 1e6 / seconds, major, minor, patch);
  } catch (const zmq::error_t& e) {
    std::fprintf(stderr, "zmq-ceiling: %s\n", e.what());
    return 1;
  }
  return 0;
}
