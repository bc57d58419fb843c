// The mq-pub pipeline: NDJSON records -> topic -> batched PUBLISH commands ->
// broker confirmations.
//
// Every valid input line becomes one message whose payload is the line's
// bytes, on the fixed `topic` or on the string `topic_from` yields for it (a
// record for which it yields no valid topic is skipped and reported like a
// bad line). Bad lines are handled by stream::RecordReader as everywhere.
// Messages go out in batches of up to `batch` lines (or 1 MiB), and a
// partial batch is sent whenever input would block, so a live `tail -F`
// pipeline publishes each line at once. At most kWindow batches await
// confirmation at a time.
//
// The run succeeds only when the broker confirmed every published line. At
// end of input (or SIGINT/SIGTERM) it waits up to `timeout_ms` for the
// outstanding confirmations. The result counts lines confirmed, refused
// (negatively confirmed: e.g. a full queue) and unconfirmed (sent or read
// but never confirmed: lost connection, timeout), and its status says why.
//
// With `listen` set there is no broker: records go out on a ZeroMQ PUB
// socket bound there, at most once (late or slow subscribers miss messages).
#ifndef GOVSTREAM_MQ_PUBLISH_H_
#define GOVSTREAM_MQ_PUBLISH_H_

#include <cstdint>
#include <string>

#include "base/status.h"
#include "expr/expr.h"
#include "io/report.h"
#include "stream/records.h"

namespace govstream::mq {

struct PublishOptions {
  stream::InputConfig input;
  std::string broker = "tcp://127.0.0.1:7750";
  std::string listen;                          // brokerless PUB mode when set
  std::string topic;                           // fixed topic, or
  const expr::Expression* topic_from = nullptr;  // per-record topic
  std::string publisher_id;
  size_t batch = 1000;
  bool mandatory = false;  // refuse lines no queue or subscriber would get
  int64_t timeout_ms = 30000;
  int64_t connect_timeout_ms = 5000;
};

struct PublishResult {
  // OK; Connection (unreachable or lost); Timeout (confirmations late);
  // Unconfirmed (some lines refused); DataError (--strict); Interrupted.
  Status status;
  uint64_t lines = 0;        // valid records read
  uint64_t sent = 0;         // handed to the broker
  uint64_t confirmed = 0;
  uint64_t refused = 0;
  uint64_t unconfirmed() const { return lines - confirmed - refused; }
  uint64_t source_errors = 0;
};

PublishResult RunPublish(const PublishOptions& options, io::Reporter* reporter);

// A publisher id unique enough across hosts and runs: HOST-PID-RANDOM.
std::string DefaultPublisherId();

}  // namespace govstream::mq

#endif  // GOVSTREAM_MQ_PUBLISH_H_
