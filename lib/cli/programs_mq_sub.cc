// Option table of mq-sub.
#include "cli/programs.h"

namespace govstream::cli {

const ProgramSpec& MqSubSpec() {
  static const ProgramSpec kSpec = [] {
    ProgramSpec s;
    s.name = "mq-sub";
    s.summary = "subscribe to mq-broker topics or consume a queue, and print the messages as NDJSON";
    s.usage = "mq-sub [OPTIONS] --topic PATTERN... [--queue NAME]";
    s.description =
        "mq-sub writes each message it receives as one NDJSON line on standard "
        "output: the "
        "payload as published, or with --envelope a record {\"topic\", "
        "\"seq\", \"publisher\", "
        "\"ts\", \"redelivered\", \"payload\"}. Output is flushed after every "
        "batch of messages, "
        "so mq-sub | stream-filter ... sees each message at once.\n"
        "\n"
        "Patterns are dot-separated words where * matches exactly one word and "
        "# zero or more "
        "(alerts.# matches alerts and alerts.http.5xx). Topics under $SYS (the "
        "broker's own "
        "metrics) are only matched by patterns that start with $SYS.\n"
        "\n"
        "Without --queue the subscription is fan-out: every matching message "
        "published while "
        "mq-sub is connected. With --queue NAME, mq-sub consumes the named "
        "queue, declaring it "
        "(idempotently) with the patterns as bindings; the queue keeps "
        "messages while no "
        "consumer runs, and consumers of one queue share its messages. A "
        "queued message is "
        "acknowledged once its line was written and flushed to standard "
        "output; messages "
        "not acknowledged when mq-sub dies are delivered again, to this or "
        "another consumer, "
        "with \"redelivered\": true in the envelope. Lines that a downstream "
        "reader never "
        "reads (for example lines still in the pipe when head exits) were "
        "acknowledged all the "
        "same and are gone from the queue: to take exactly N messages from a "
        "queue, use -c N, "
        "not | head -n N.\n"
        "\n"
        "When standard output is closed (mq-sub | head -1 after head exited), "
        "mq-sub notices at "
        "once, even while no message arrives, and exits quietly with status "
        "0.\n"
        "\n"
        "With --direct ENDPOINT, mq-sub subscribes to an mq-pub --listen "
        "publisher instead of a "
        "broker: at most once, no queue, no acknowledgement.";
    s.options = {
        {.long_name = "topic",
         .short_name = 't',
         .kind = ValueKind::kString,
         .value_name = "PATTERN",
         .help = "Subscribe to topics matching PATTERN",
         .repeatable = true},
        {.long_name = "queue",
         .short_name = 'q',
         .kind = ValueKind::kString,
         .value_name = "NAME",
         .help = "Consume the named queue, bound to the --topic patterns",
         .details = "A message is acknowledged once its line was written to "
                    "standard output, and "
                    "only then removed from the queue; use -c N to take "
                    "exactly N messages."},
        {.long_name = "declare",
         .kind = ValueKind::kFlag,
         .help = "Only declare the --queue and its bindings, then exit 0 "
                 "(messages are kept from then on)"},
        {.long_name = "count",
         .short_name = 'c',
         .kind = ValueKind::kCount,
         .value_name = "N",
         .help = "Exit (status 0) after writing N messages; N is at least 1",
         .details = "With --queue exactly N messages are taken from the queue; "
                    "the rest of what the "
                    "broker sent ahead goes back to it. Without -c, mq-sub "
                    "runs until it is stopped, "
                    "its output is closed, or --timeout elapses."},
        {.long_name = "timeout",
         .short_name = 'W',
         .kind = ValueKind::kDuration,
         .value_name = "DUR",
         .help = "Exit with status 7 when no message arrives for DUR"},
        {.long_name = "envelope",
         .short_name = 'e',
         .kind = ValueKind::kFlag,
         .help = "Wrap each message: topic, seq, publisher, ts (RFC 3339 UTC), "
                 "redelivered, payload"},
        {.long_name = "prefetch",
         .kind = ValueKind::kCount,
         .value_name = "N",
         .help = "Messages the broker may send ahead of acknowledgements "
                 "(flow-control credit)",
         .default_text = "1000"},
    };
    for (auto& o : CommonClientOptions()) s.options.push_back(o);
    s.options.push_back({.long_name = "queue-type", .kind = ValueKind::kChoice, .value_name = "TYPE",
                         .help = "amqp://: the type of a --queue that mq-sub declares",
                         .details = "quorum queues replicate with Raft and sync to disk before they "
                                    "confirm; classic queues are durable on one node; stream queues keep "
                                    "an append-only log after acknowledgement, and mq-sub reads a stream "
                                    "from its first message on every run. A queue that already exists with another type "
                                    "is refused by RabbitMQ (exit status 11).",
                         .default_text = "quorum", .choices = {"classic", "quorum", "stream"}});
    s.options.push_back({.long_name = "direct", .kind = ValueKind::kEndpoint, .value_name = "ENDPOINT",
                         .help = "No broker: subscribe to an mq-pub --listen ENDPOINT, at most once"});
    s.options.push_back({.long_name = "name", .kind = ValueKind::kString, .value_name = "NAME",
                         .help = "Name shown in the broker's log", .default_text = "HOST-PID-RANDOM"});
    s.options.push_back({.long_name = "line-buffered", .kind = ValueKind::kFlag,
                         .help = "Flush standard output after every message"});
    s.options.push_back({.long_name = "stats", .kind = ValueKind::kFlag,
                         .help = "Print a one-line JSON summary on standard error at exit",
                         .details = "Fields: program, messages, written, redelivered, bad_payloads, "
                                    "bytes_out, seconds, messages_per_sec, latency_ms {p50, p99} (from "
                                    "the publisher's send time to arrival, same-clock hosts only)."});
    s.exit_codes = {
        {kExitOk,
         "--count messages were written, or the output was closed (| head)."},
        {kExitSkipped,
         "Some payloads were not one line of valid JSON; each was reported and "
         "skipped."},
        {kExitUsage,
         "Usage error: bad option (such as -c 0), pattern or endpoint."},
        {kExitIo, "Standard output could not be written."},
        {kExitConnection,
         "The broker could not be reached within --connect-timeout, the "
         "connection was "
         "lost, or the broker ended the session (for example a fan-out "
         "subscriber that "
         "fell too far behind); the reason is printed."},
        {kExitTimeout, "No message arrived within --timeout."},
        {kExitAccess, "The broker refused this client (the reason is printed): amqp://, the login or a permission; "
                      "mq-broker, this client's CURVE key (not authorized, or removed while connected), CURVE "
                      "against a plain-text broker or the reverse, or an --acl rule"},
        {kExitRejected,
         "amqp://: the broker refused the set-up: the --exchange does not exist, or the --queue exists "
         "with another type or other arguments."},
        {kExitInterrupted,
         "Interrupted by SIGINT or SIGTERM; unacknowledged queue messages go "
         "back to "
         "the queue."},
    };
    s.examples = {
        {"Print every alert while connected:", "mq-sub --topic 'alerts.#'"},
        {"Create the jobs queue before any worker runs, so nothing published "
         "is missed:",
         "mq-sub --queue jobs --topic 'jobs.#' --declare"},
        {"A worker sharing the jobs queue with others:",
         "mq-sub --queue jobs --topic 'jobs.#' | ./worker"},
        {"Take the nightly report from the reports queue (declared beforehand "
         "with --declare, so "
         "a report published before mq-sub started waits there), failing if "
         "nothing comes "
         "within an hour:",
         "mq-sub --queue reports --topic 'reports.#' -c 1 -W 1h > report.json"},
        {"Watch the broker's own metrics:",
         "mq-sub --topic '$SYS.#' | stream-filter '.refused > 0'"},
    };
    s.see_also = {"govstream(7)", "mq-pub(1)", "mq-broker(1)", "mosquitto_sub(1)"};
    return s;
  }();
  return kSpec;
}

}  // namespace govstream::cli
