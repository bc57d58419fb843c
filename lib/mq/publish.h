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
// With `listen` set there is no broker: records go out on a ZeroMQ XPUB
// socket bound there, at most once. Input is read only once a subscriber
// has subscribed (within connect_timeout_ms, else Connection), so a
// subscriber that is already running gets a whole file; subscribers that
// join later or fall behind miss messages. At the end the socket lingers up
// to `timeout_ms` so that queued messages reach connected subscribers.
// Nothing is confirmed in that mode.
#ifndef GOVSTREAM_MQ_PUBLISH_H_
#define GOVSTREAM_MQ_PUBLISH_H_

#include <cstdint>
#include <string>

#include "base/status.h"
#include "expr/expr.h"
#include "io/report.h"
#include "mq/client.h"
#include "stream/records.h"

namespace govstream::mq {

struct PublishOptions {
  stream::InputConfig input;
  // The broker: endpoint (tcp://, ipc://, amqp://, amqps://), connect
  // timeout and the backend's options; role and name are set by the run.
  ClientOptions client;
  std::string listen;                          // brokerless PUB mode when set
  std::string topic;                           // fixed topic, or
  const expr::Expression* topic_from = nullptr;  // per-record topic
  std::string publisher_id;
  size_t batch = 1000;
  bool mandatory = false;  // refuse lines no queue or subscriber would get
  int64_t timeout_ms = 30000;
};

// The counts add up: read = confirmed + refused + unconfirmed + skipped,
// with lines = read - skipped the lines there were to publish.
struct PublishResult {
  // OK; Connection (unreachable or lost; with `listen`: no subscriber);
  // Timeout (confirmations late); Unconfirmed (some lines refused);
  // DataError (--strict); Interrupted.
  Status status;
  bool listen = false;   // brokerless mode: nothing is confirmed
  uint64_t read = 0;     // non-blank input lines, valid or not
  uint64_t skipped = 0;  // not published: bad lines, records without a topic
  uint64_t lines = 0;    // records to publish (read - skipped)
  uint64_t sent = 0;     // handed to the broker (or the --listen socket)
  uint64_t confirmed = 0;
  uint64_t refused = 0;  // by the broker, or too large to send
  // Neither confirmed nor refused: sent and unanswered, or never sent.
  uint64_t unconfirmed() const { return lines - confirmed - refused; }
  uint64_t bytes_in = 0;       // input bytes read
  uint64_t boms_skipped = 0;   // inputs that began with a byte-order mark
  bool input_started = false;  // reading began (not before: e.g. no broker)
  bool input_ended = false;    // the whole input was read
  uint64_t source_errors = 0;
};

PublishResult RunPublish(const PublishOptions& options, io::Reporter* reporter);

// The one-line account of a run that did not end well, e.g. "3 of 5 lines
// confirmed, 1 refused, 1 not confirmed, 2 skipped; the rest of the input
// was not read" (with `listen`: "N of M lines sent, at most once ...").
std::string PublishSummary(const PublishResult& r);

// A publisher id unique enough across hosts and runs: HOST-PID-RANDOM.
std::string DefaultPublisherId();

}  // namespace govstream::mq

#endif  // GOVSTREAM_MQ_PUBLISH_H_
