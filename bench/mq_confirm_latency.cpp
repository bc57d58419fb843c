// mq_confirm_latency: publish-to-confirm latency through mq-broker at a
// paced rate (bench/run durable/confirm-latency).
//
// usage: mq-confirm-latency --broker ENDPOINT --file FILE [--topic bench.load]
//                           [--count N] [--rate 10000] [--timeout SECS]
//
// mq-pub reports no per-message confirm latency and has no rate option, so
// this probe publishes the way mq-pub does with paced input, through the
// same client library (lib/mq): every millisecond it sends one PUBLISH batch
// with the lines that fell due since the last one (at 10,000 msgs/s, batches
// of 10; mq-pub sends a partial batch whenever its input would block), at
// most 16 batches awaiting confirmation (mq-pub's window; while it is full,
// due lines wait and go out in one larger batch). A message's confirm latency
// is the time from its batch's send to that batch's CONFIRM. Lines are the
// first --count lines of FILE (all by default), loaded before timing.
//
// Prints one JSON line on stdout:
//   {"program":"mq-confirm-latency","messages":N,"confirmed":N,"refused":0,
//    "batches":...,"rate":...,"paced_rate":...,"seconds":...,
//    "confirm_latency_ms":{"p50":...,"p99":...,"max":...}}
// Exit status: 0 every message confirmed; 1 input error; 2 usage; 5 broker
// unreachable or lost; 6 some messages refused; 7 timeout.
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "mq/client.h"
#include "mq/protocol.h"

namespace {

namespace mq = govstream::mq;
namespace proto = govstream::mq::proto;
using Clock = std::chrono::steady_clock;

constexpr size_t kWindow = 16;  // batches awaiting confirmation, as mq-pub

[[noreturn]] void Die(int code, const std::string& msg) {
  std::fprintf(stderr, "mq-confirm-latency: %s\n", msg.c_str());
  std::exit(code);
}

[[noreturn]] void Usage(const std::string& msg) {
  std::fprintf(stderr,
               "mq-confirm-latency: %s\nusage: mq-confirm-latency --broker "
               "ENDPOINT --file FILE [--topic T] [--count N] [--rate R] "
               "[--timeout SECS]\n",
               msg.c_str());
  std::exit(2);
}

double Positive(const char* s, const std::string& what) {
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(s, &end);
  if (errno != 0 || end == s || *end != '\0' || !(v > 0)) {
    Usage(what + " must be a positive number");
  }
  return v;
}

uint64_t WallUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct Batch {
  uint64_t first_seq;
  uint32_t count;
  Clock::time_point sent;
};

}  // namespace

int main(int argc, char** argv) {
  std::string broker, file, topic = "bench.load";
  double rate = 10000, timeout_s = 30;
  uint64_t count = 0;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) Usage(a + " needs a value");
      return argv[++i];
    };
    if (a == "--broker" || a == "-b") {
      broker = value();
    } else if (a == "--file") {
      file = value();
    } else if (a == "--topic") {
      topic = value();
    } else if (a == "--count") {
      count = static_cast<uint64_t>(Positive(value(), a));
    } else if (a == "--rate") {
      rate = Positive(value(), a);
    } else if (a == "--timeout") {
      timeout_s = Positive(value(), a);
    } else {
      Usage("unknown argument " + a);
    }
  }
  if (broker.empty() || file.empty()) Usage("--broker and --file are needed");

  std::ifstream in(file, std::ios::binary);
  if (!in) Die(1, "cannot open " + file);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(std::move(line));
    if (count > 0 && lines.size() == count) break;
  }
  if (lines.empty()) Die(1, file + " has no lines");
  const uint64_t n = lines.size();

  mq::ClientOptions co;
  co.endpoint = broker;
  co.role = proto::Role::kPublisher;
  co.name = "bench-confirm-latency";
  std::unique_ptr<mq::Client> client;
  govstream::Status st = mq::Client::Connect(co, &client);
  if (!st.ok()) Die(5, st.message());

  std::deque<Batch> inflight;
  std::vector<float> latency_us;
  latency_us.reserve(n);
  uint64_t next = 0, seq = 1, batches = 0, confirmed = 0, refused = 0;
  const auto start = Clock::now();
  auto due_at = [&](uint64_t k) {
    return start + std::chrono::duration_cast<Clock::duration>(
                       std::chrono::duration<double>(k / rate));
  };
  Clock::time_point last_event = start, sent_all = start;
  while (next < n || !inflight.empty()) {
    auto now = Clock::now();
    if (next < n) {
      uint64_t due = std::min<uint64_t>(
          n, static_cast<uint64_t>(
                 std::chrono::duration<double>(now - start).count() * rate) +
                 1);
      due = std::min<uint64_t>(due, next + 1000);
      if (due > next && inflight.size() < kWindow) {
        for (uint64_t k = next; k < due; ++k) client->Add(topic, lines[k]);
        uint32_t c = static_cast<uint32_t>(due - next);
        st = client->SendBatch(seq, c, WallUs(), /*mandatory=*/false);
        if (!st.ok()) Die(5, st.message());
        inflight.push_back({seq, c, Clock::now()});
        seq += c;
        next = due;
        ++batches;
        if (next == n) sent_all = Clock::now();
      }
    }
    int64_t wait_ms = 0;
    if (next < n && inflight.size() < kWindow) {
      auto left = due_at(next) - Clock::now();
      wait_ms = std::max<int64_t>(
          0,
          std::chrono::duration_cast<std::chrono::milliseconds>(left).count() +
              1);
    } else {
      wait_ms = 100;
      double idle =
          std::chrono::duration<double>(Clock::now() - last_event).count();
      if (idle > timeout_s) {
        Die(7, "no confirmation within --timeout (" +
                   std::to_string(confirmed + refused) + " of " +
                   std::to_string(n) + " answered)");
      }
    }
    bool got = false;
    mq::Client::Event ev;
    st = client->Wait(wait_ms, &got, &ev);
    while (st.ok() && got) {
      if (ev.kind == mq::Client::Event::Kind::kConfirm) {
        auto at = Clock::now();
        last_event = at;
        const proto::Confirm& c = ev.confirm;
        if (inflight.empty() || inflight.front().first_seq != c.first_seq ||
            inflight.front().count != c.count) {
          Die(5, "a CONFIRM out of order");
        }
        float us = static_cast<float>(std::chrono::duration<double, std::micro>(
                                          at - inflight.front().sent)
                                          .count());
        refused += c.refused.size();
        confirmed += c.count - c.refused.size();
        latency_us.insert(latency_us.end(), c.count - c.refused.size(), us);
        inflight.pop_front();
      }
      st = client->Wait(0, &got, &ev);
    }
    if (!st.ok()) Die(5, st.message());
  }
  client->Bye("done");
  double secs = std::chrono::duration<double>(last_event - start).count();
  double paced = std::chrono::duration<double>(sent_all - start).count();
  auto pct = [&](double q) -> double {
    if (latency_us.empty()) return 0;
    size_t k = std::min(latency_us.size() - 1,
                        static_cast<size_t>(q * latency_us.size()));
    std::nth_element(latency_us.begin(), latency_us.begin() + k,
                     latency_us.end());
    return latency_us[k] / 1e3;
  };
  double p50 = pct(0.5), p99 = pct(0.99), mx = pct(1.0);
  std::printf(
      "{\"program\":\"mq-confirm-latency\",\"messages\":%llu,"
      "\"confirmed\":%llu,\"refused\":%llu,\"batches\":%llu,\"rate\":%g,"
      "\"paced_rate\":%.0f,\"seconds\":%.6f,\"confirm_latency_ms\":{"
      "\"p50\":%.3f,\"p99\":%.3f,\"max\":%.3f}}\n",
      static_cast<unsigned long long>(n),
      static_cast<unsigned long long>(confirmed),
      static_cast<unsigned long long>(refused),
      static_cast<unsigned long long>(batches), rate,
      paced > 0 ? (n - 1) / paced : 0.0, secs, p50, p99, mx);
  return refused ? 6 : 0;
}
