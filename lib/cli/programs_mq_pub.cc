// Option table of mq-pub.
#include "cli/programs.h"

namespace govstream::cli {

const ProgramSpec& MqPubSpec() {
  static const ProgramSpec kSpec = [] {
    ProgramSpec s;
    s.name = "mq-pub";
    s.summary = "publish NDJSON lines to an mq-broker or RabbitMQ topic, and exit 0 only when every line was confirmed";
    s.usage = "mq-pub [OPTIONS] (--topic TOPIC | --topic-from EXPR) [-i FILE]...";
    s.description =
        "mq-pub reads newline-delimited JSON and publishes each valid line as "
        "one message, on a "
        "fixed topic or on a topic computed per record by a jq expression. "
        "Every message carries "
        "the publisher's id and a sequence number. Lines that are not valid "
        "JSON are skipped and "
        "reported as in every govstream program (or stop the run with "
        "--strict).\n"
        "\n"
        "Exit status 0 means the broker confirmed every published line: it "
        "routed it, and "
        "stored it in every queue it matched. If the broker cannot be reached, "
        "refuses lines (a "
        "full queue, an oversized message) or does not confirm them within "
        "--timeout, mq-pub "
        "exits with a distinct status and says how many lines were confirmed "
        "and how many were "
        "not. Input that ends without a final newline, and empty input, are "
        "fine.\n"
        "\n"
        "Lines go out in batches of --batch, and a partial batch is sent as "
        "soon as input "
        "pauses, so tail -F ... | mq-pub publishes each line at once. On "
        "SIGINT or SIGTERM it "
        "stops reading, waits (up to --timeout) for the outstanding "
        "confirmations, then exits. "
        "Whenever a run does not end well (exit status 3, 5, 6, 7 or 130), "
        "mq-pub prints how "
        "many lines were confirmed, refused and not confirmed, and says so "
        "when it stopped "
        "before the end of its input.\n"
        "\n"
        "With --listen there is no broker: mq-pub binds a ZeroMQ socket for "
        "mq-sub --direct "
        "subscribers, waits (up to --connect-timeout) until one has "
        "subscribed, and only then "
        "reads its input, so a subscriber that is already running gets a whole "
        "file. At the "
        "end it waits (up to --timeout) until the lines still queued have gone "
        "out. That mode "
        "is at most once: a subscriber that connects later or falls behind "
        "misses messages, "
        "and nothing is confirmed.";
    s.options = {
        {.long_name = "topic", .short_name = 't', .kind = ValueKind::kString, .value_name = "TOPIC",
         .help = "Publish every line on TOPIC (dot-separated words)"},
        {.long_name = "topic-from", .kind = ValueKind::kExpr, .value_name = "EXPR",
         .help = "Publish each line on the topic EXPR gives for it (a string)",
         .details = "A record for which EXPR gives no string, or not a valid topic, is skipped and "
                    "reported. Example: '\"http.\" + (.status|tostring)'."},
    };
    for (auto& o : CommonClientOptions()) {
      if (o.long_name == "connect-timeout") {
        o.details =
            "ZeroMQ retries the connection in the background; the first "
            "command waits "
            "for it, so a broker that starts within DUR is found. With "
            "--listen: how long "
            "to wait for the first subscriber before giving up (exit status "
            "5).";
      }
      s.options.push_back(o);
    }
    s.options.push_back(
        {.long_name = "timeout",
         .short_name = 'W',
         .kind = ValueKind::kDuration,
         .value_name = "DUR",
         .help =
             "Longest wait for a confirmation before giving up (exit status 7)",
         .details =
             "With --listen: the longest wait at the end for subscribers to "
             "take the lines still queued for them.",
         .default_text = "30s"});
    s.options.push_back({.long_name = "batch", .kind = ValueKind::kCount, .value_name = "N",
                         .help = "Lines per PUBLISH batch (at most 1 MiB); partial batches go out when input pauses",
                         .default_text = "1000"});
    s.options.push_back({.long_name = "mandatory", .kind = ValueKind::kFlag,
                         .help = "Refuse lines that no queue or subscriber would receive (exit status 6)",
                         .details = "Without it, a line on a topic nobody subscribes to is confirmed and goes "
                                    "nowhere, as in AMQP without mandatory; the broker counts it as unroutable "
                                    "in $SYS.broker.stats."});
    s.options.push_back({.long_name = "id", .kind = ValueKind::kString, .value_name = "NAME",
                         .help = "Publisher id carried by every message", .default_text = "HOST-PID-RANDOM"});
    s.options.push_back(
        {.long_name = "listen",
         .kind = ValueKind::kEndpoint,
         .value_name = "ENDPOINT",
         .help = "No broker: publish to mq-sub --direct subscribers of "
                 "ENDPOINT, at most once",
         .details =
             "mq-pub binds ENDPOINT and reads its input once a subscriber has "
             "subscribed (within --connect-timeout, else exit status 5). "
             "Nothing is "
             "confirmed; subscribers that join later or fall behind miss "
             "messages."});
    for (auto o : CommonInputOptions()) {
      if (o.long_name == "line-buffered") continue;
      if (o.long_name == "stats") {
        o.details =
            "Fields: program, records_in (valid JSON lines), records_out "
            "(lines confirmed; with "
            "--listen, sent), bad_lines, eval_errors, bytes_in, bom_skipped, seconds, "
            "records_per_sec, "
            "mb_per_sec, read (non-blank input lines), skipped (not published: "
            "bad lines and "
            "records without a valid topic), sent (handed to the broker), "
            "confirmed, refused, "
            "unconfirmed (sent but not confirmed, or read but never sent). "
            "They add up: read = "
            "confirmed + refused + unconfirmed + skipped. With --listen "
            "nothing is confirmed: "
            "confirmed is 0 and every line published counts as unconfirmed.";
      }
      s.options.push_back(o);
    }
    s.exit_codes = {
        {kExitOk,
         "Every line was confirmed by the broker. It routed each line and "
         "stored it in "
         "every queue it matched; empty input is fine. With --listen: every "
         "line was sent "
         "(nothing is confirmed in that mode)."},
        {kExitSkipped,
         "Every published line was confirmed, but some input lines were "
         "skipped. Lines "
         "that are not valid JSON, are too long or get no valid topic from "
         "--topic-from "
         "are reported on standard error and not published."},
        {kExitUsage,
         "Usage error: bad option, topic, endpoint or --topic-from "
         "expression."},
        {kExitData,
         "With --strict: stopped at the first line that could not be "
         "published. The lines "
         "confirmed and not confirmed are reported."},
        {kExitIo,
         "An input file could not be opened or read. It was reported, and the "
         "other files "
         "were published."},
        {kExitConnection,
         "The broker could not be reached within --connect-timeout, or the "
         "connection "
         "was lost. With --listen: no subscriber subscribed within "
         "--connect-timeout. "
         "The lines confirmed and not confirmed are reported."},
        {kExitUnconfirmed,
         "Some lines were refused. The broker refuses lines for a full queue, "
         "and with "
         "--mandatory lines nobody would receive; mq-pub itself refuses lines "
         "larger "
         "than the broker accepts. They are counted; the first 3 refused batches "
         "are reported in full, the rest in one line at the end (how many more "
         "lines and batches, and the last reason), and the summary gives the "
         "exact totals."},
        {kExitTimeout,
         "Confirmations did not arrive within --timeout. The lines confirmed "
         "and not "
         "confirmed are reported."},
        {kExitAccess, "The broker refused this client (the reason is printed): amqp://, the login or a permission; "
                      "mq-broker, this client's CURVE key (not authorized, or removed while connected), CURVE "
                      "against a plain-text broker or the reverse, or an --acl rule"},
        {kExitRejected, "amqp://: the broker refused the set-up: the --exchange does not exist."},
        {kExitInterrupted,
         "Interrupted by SIGINT or SIGTERM. mq-pub stops reading, waits (up to "
         "--timeout) for the outstanding confirmations and reports the lines "
         "confirmed and not confirmed."},
    };
    s.examples = {
        {"Publish a file of events, and know they arrived:",
         "mq-pub --topic events.audit -i audit.ndjson && echo delivered"},
        {"Route each access-log record by status:",
         "tail -F access.json | mq-pub --topic-from '\"http.\" + "
         "(.status|tostring)'"},
        {"Nightly report from cron, failing loudly if the broker did not take "
         "it:",
         "report.sh | mq-pub --topic reports.nightly --mandatory --timeout 1m "
         "|| logger -t report 'not delivered'"},
        {"No broker, at most once: send a file to a subscriber that is already "
         "running:",
         "mq-sub --direct tcp://127.0.0.1:7800 --topic 'logs.#' > logs.ndjson "
         "&\n"
         "mq-pub --listen tcp://127.0.0.1:7800 --topic logs.app -i app.ndjson"},
    };
    s.see_also = {"govstream(7)", "mq-sub(1)", "mq-broker(1)", "mosquitto_pub(1)"};
    return s;
  }();
  return kSpec;
}

}  // namespace govstream::cli
