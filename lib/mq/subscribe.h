// The mq-sub pipeline: broker deliveries -> NDJSON lines on stdout ->
// acknowledgements.
//
// Each message is written as its payload on one line, or with `envelope` as
// {"topic","seq","publisher","ts","redelivered","payload"}. After each
// delivered batch the output is flushed, and only then are the batch's queue
// messages acknowledged (and its credit returned), so an acknowledged
// message has reached the reader of our output. While that reader is slow,
// heartbeats keep the session alive (io::OutputWriter's stall hook).
//
// The run ends: after `count` messages (OK; the unprocessed rest of the
// prefetch goes back to the queue), when nothing arrives for
// idle_timeout_ms (Timeout), when the broker is lost or ends the session
// (Connection), on SIGINT/SIGTERM (Interrupted) or when the output is closed
// (BrokenPipe). When `output_fd` is a pipe, its reader going away (`| head`
// exited) is noticed while waiting for messages too, not only at the next
// write. A payload ending in one newline (amqp-publish -l) is taken without
// it. A payload that is not one line of valid JSON (possible from a raw
// protocol client) is reported, skipped and acknowledged.
//
// Acknowledgement means "written to our output": lines still in a pipe
// when its reader exits were acknowledged and are gone from the queue.
//
// With `direct` set, it subscribes (ZeroMQ SUB) to an `mq-pub --listen`
// endpoint instead: no broker, no acknowledgements, at most once.
#ifndef GOVSTREAM_MQ_SUBSCRIBE_H_
#define GOVSTREAM_MQ_SUBSCRIBE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "io/output.h"
#include "io/report.h"
#include "mq/client.h"

namespace govstream::mq {

struct SubscribeOptions {
  // The broker: endpoint (tcp://, ipc://, amqp://, amqps://), connect
  // timeout and the backend's options; role and name are set by the run.
  ClientOptions client;
  std::string direct;                 // mq-pub --listen endpoint (no broker)
  std::vector<std::string> patterns;  // validated by the caller
  std::string queue;                  // empty: fan-out
  std::string name;                   // shown in broker logs
  uint64_t count = 0;                 // stop after N messages (0: never)
  int64_t idle_timeout_ms = 0;        // -W (0: wait forever)
  bool envelope = false;
  bool declare_only = false;          // declare `queue` and its bindings, then end
  uint32_t prefetch = 1000;
  bool line_buffered = false;
  bool stats = false;                 // one JSON summary line on stderr at exit
  int output_fd = -1;                 // what `out` writes to; watched if a pipe
};

struct SubscribeResult {
  Status status;
  uint64_t received = 0;
  uint64_t written = 0;
  uint64_t redelivered = 0;
  uint64_t bad = 0;  // payloads that were not one line
};

SubscribeResult RunSubscribe(const SubscribeOptions& options, io::OutputWriter* out, io::Reporter* reporter);

}  // namespace govstream::mq

#endif  // GOVSTREAM_MQ_SUBSCRIBE_H_
