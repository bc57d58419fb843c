// Option table of mq-pub.
#include "cli/programs.h"

namespace govstream::cli {

const ProgramSpec& MqPubSpec() {
  static const ProgramSpec kSpec = [] {
    ProgramSpec s;
    s.name = "mq-pub";
    s.summary = "publish NDJSON lines to an mq-broker topic, and exit 0 only when every line was confirmed";
    s.usage = "mq-pub [OPTIONS] (--topic TOPIC | --topic-from EXPR) [-i FILE]...";
    s.description =
        "mq-pub reads newline-delimited JSON and publishes each valid line as one message, on a "
        "fixed topic or on a topic computed per record by a jq expression. Every message carries "
        "the publisher's id and a sequence number. Lines that are not valid JSON are skipped and "
        "reported as in every govstream program (or stop the run with --strict).\n"
        "\n"
        "Exit status 0 means the broker confirmed every published line: it routed it, and "
        "stored it in every queue it matched. If the broker cannot be reached, refuses lines (a "
        "full queue, an oversized message) or does not confirm them within --timeout, mq-pub "
        "exits with a distinct status and says how many lines were confirmed and how many were "
        "not. Input that ends without a final newline, and empty input, are fine.\n"
        "\n"
        "Lines go out in batches of --batch, and a partial batch is sent as soon as input "
        "pauses, so tail -F ... | mq-pub publishes each line at once. On SIGINT or SIGTERM it "
        "stops reading, waits (up to --timeout) for the outstanding confirmations, then exits.\n"
        "\n"
        "With --listen there is no broker: mq-pub binds a ZeroMQ PUB socket for mq-sub --direct "
        "subscribers. That mode is at most once: a subscriber that connects late or falls behind "
        "misses messages, and nothing is confirmed.";
    s.options = {
        {.long_name = "topic", .short_name = 't', .kind = ValueKind::kString, .value_name = "TOPIC",
         .help = "Publish every line on TOPIC (dot-separated words)"},
        {.long_name = "topic-from", .kind = ValueKind::kExpr, .value_name = "EXPR",
         .help = "Publish each line on the topic EXPR gives for it (a string)",
         .details = "A record for which EXPR gives no string, or not a valid topic, is skipped and "
                    "reported. Example: '\"http.\" + (.status|tostring)'."},
    };
    for (auto& o : CommonClientOptions()) s.options.push_back(o);
    s.options.push_back({.long_name = "timeout", .short_name = 'W', .kind = ValueKind::kDuration,
                         .value_name = "DUR",
                         .help = "Longest wait for a confirmation before giving up (exit status 7)",
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
    s.options.push_back({.long_name = "listen", .kind = ValueKind::kEndpoint, .value_name = "ENDPOINT",
                         .help = "No broker: publish on a ZeroMQ PUB socket bound here, at most once",
                         .details = "For mq-sub --direct ENDPOINT. Nothing is confirmed; subscribers that "
                                    "join late or fall behind miss messages."});
    for (auto& o : CommonInputOptions()) {
      if (o.long_name != "line-buffered") s.options.push_back(o);
    }
    s.exit_codes = CommonExitCodes();
    s.exit_codes.pop_back();  // 130 goes last, after the messaging codes
    s.exit_codes.push_back({kExitConnection, "The broker could not be reached within --connect-timeout, or the "
                                             "connection was lost; the lines confirmed and not confirmed are "
                                             "reported."});
    s.exit_codes.push_back({kExitUnconfirmed, "The broker refused some lines (a full queue, an oversized "
                                              "message); they are counted and the first refusals reported."});
    s.exit_codes.push_back({kExitTimeout, "Confirmations did not arrive within --timeout."});
    s.exit_codes.push_back({kExitInterrupted, "Interrupted by SIGINT or SIGTERM, after waiting (up to "
                                              "--timeout) for the outstanding confirmations."});
    s.examples = {
        {"Publish a file of events, and know they arrived:",
         "mq-pub --topic events.audit -i audit.ndjson && echo delivered"},
        {"Route each access-log record by status:",
         "tail -F access.json | mq-pub --topic-from '\"http.\" + (.status|tostring)'"},
        {"Nightly report from cron, failing loudly if the broker did not take it:",
         "report.sh | mq-pub --topic reports.nightly --mandatory --timeout 1m || logger -t report 'not delivered'"},
    };
    s.see_also = {"govstream(7)", "mq-sub(1)", "mq-broker(1)", "mosquitto_pub(1)"};
    return s;
  }();
  return kSpec;
}

}  // namespace govstream::cli
