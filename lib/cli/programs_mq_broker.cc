// Option table of mq-broker.
#include "cli/programs.h"

namespace govstream::cli {

const ProgramSpec& MqBrokerSpec() {
  static const ProgramSpec kSpec = [] {
    ProgramSpec s;
    s.name = "mq-broker";
    s.summary = "route NDJSON messages by topic to subscribers and to queues that keep them until acknowledged";
    s.usage = "mq-broker [OPTIONS]";
    s.description =
        "mq-broker is the hub between mq-pub and mq-sub. Publishers send messages on dot-separated "
        "topics (http.5xx.api); subscribers give patterns where * matches one word and # zero or "
        "more words, as in AMQP topic exchanges.\n"
        "\n"
        "A fan-out subscription (mq-sub --topic P) gets every matching message while it is "
        "connected. A named queue (mq-sub --queue NAME --topic P) stores every matching message "
        "until a consumer acknowledges it; it is declared by its first consumer, outlives its "
        "consumers, and its consumers share its messages, one consumer per message at a time "
        "(consumers with credit take turns). A consumer that disconnects or misses heartbeats "
        "has its unacknowledged messages redelivered, marked as such. Delivery is credit-based (each subscriber's --prefetch), so "
        "a slow consumer slows only its own delivery.\n"
        "\n"
        "Nothing is dropped silently. A publish that a full queue cannot take is refused, and "
        "mq-pub reports it and exits non-zero; a message goes to all its destinations or, if any "
        "queue refuses it, to none. Fan-out is flow-controlled end to end: while a subscriber has "
        "more than --subscriber-buffer waiting, the broker holds further publishes (unconfirmed) "
        "until it catches up, so publishers slow to the pace of the slowest subscriber. A "
        "subscriber that holds publishers back and acknowledges nothing for --stall-timeout is "
        "disconnected with a message saying so (mq-sub exits with status 5).\n"
        "\n"
        "Without --data-dir, queues live in memory only: they survive their consumers, not a broker "
        "restart or crash, and at shutdown the broker says how many messages it still held (and "
        "lost). With --data-dir DIR, named queues are durable: their declarations and bindings, "
        "their messages and the acknowledgements go to an append-only log of checksummed records "
        "in DIR (docs/storage.md), and a publish is confirmed only once its records are on disk "
        "(fdatasync; one sync covers every publish that arrived while the previous one ran). A "
        "restart, after a clean stop or kill -9, delivers exactly the messages that were not "
        "acknowledged; those that had been delivered before are marked redelivered. A torn "
        "record at the end of the log is cut off; a corrupt one elsewhere is reported with its "
        "file and offset and skipped. When the disk is full or cannot be written, publishes to "
        "queues are refused (mq-pub exits 6) and consumers are still served. Fan-out "
        "subscriptions are at most once in both modes.\n"
        "\n"
        "The broker also speaks plain ZeroMQ: every message is forwarded on --sub-listen (XPUB) "
        "as [topic, payload] frames for any ZeroMQ SUB socket (subscribing by topic prefix; at "
        "most once, misses counted as xpub_dropped), and [topic, payload] messages from any "
        "ZeroMQ PUB socket on --pub-listen or PUSH socket on --push-listen are routed like "
        "published ones. Their payloads must be one line of JSON; others are rejected and "
        "counted.\n"
        "\n"
        "All endpoints listen on the loopback interface by default; listening on another "
        "address is an explicit choice (e.g. --listen tcp://0.0.0.0:7750). A port given as * "
        "is chosen by the system; the endpoints actually bound are printed on standard error "
        "at start-up. Listening on another address without CURVE prints a warning naming the risk.\n"
        "\n"
        "Security. With --curve-key every endpoint is encrypted and authenticated with CURVE (ZeroMQ "
        "RFC 26); with --authorized-keys only the listed client keys may connect (checked by a ZAP "
        "handler, RFC 27), and with --acl each key name may only publish, subscribe, consume, declare "
        "and bind what its rules grant. Nothing is refused silently: a refused key or a refused "
        "command makes the client exit 10 with the reason, a refused publish is negatively confirmed "
        "(mq-pub exits 6, naming the topic and the rule), and every refusal is logged with the key "
        "name and counted in $SYS.broker.stats (security). SIGHUP reloads the keys and the rules.";
    s.options = {
        {.long_name = "listen", .short_name = 'l', .kind = ValueKind::kEndpoint, .value_name = "ENDPOINT",
         .help = "Where mq-pub and mq-sub connect", .default_text = "tcp://127.0.0.1:7750"},
        {.long_name = "sub-listen", .kind = ValueKind::kEndpoint, .value_name = "ENDPOINT",
         .help = "XPUB endpoint for plain ZeroMQ SUB clients ('none' to disable)",
         .default_text = "tcp://127.0.0.1:7751"},
        {.long_name = "pub-listen", .kind = ValueKind::kEndpoint, .value_name = "ENDPOINT",
         .help = "Endpoint for plain ZeroMQ PUB clients sending [topic, payload] ('none' to disable)",
         .default_text = "tcp://127.0.0.1:7752"},
        {.long_name = "push-listen", .kind = ValueKind::kEndpoint, .value_name = "ENDPOINT",
         .help = "Endpoint for plain ZeroMQ PUSH clients sending [topic, payload] ('none' to disable)",
         .default_text = "tcp://127.0.0.1:7753"},
        {.long_name = "stats-interval", .kind = ValueKind::kDuration, .value_name = "DUR",
         .help = "Publish the broker's metrics as NDJSON on $SYS.broker.stats every DUR",
         .details = "Fields: ts, uptime_s, interval_s, publishers, subscribers, consumers, held_batches "
                    "(publishes held by flow control), messages_in, in_per_sec (messages from clients: the "
                    "broker's own $SYS messages are not counted there, nor in unroutable), delivered, "
                    "out_per_sec, refused, unroutable, latency_ms {p50, p99, samples} "
                    "(broker arrival to delivery, this interval), malformed, oversized, "
                    "refused_commands, expired_peers, connections, disconnections, handshake_failures "
                    "(connections that were not ZeroMQ), dropped_connections (clients gone without a "
                    "goodbye: killed, or a frame over the size limit), slow_subscribers_disconnected, foreign_in, "
                    "foreign_rejected, xpub_subscriptions, xpub_forwarded, xpub_dropped, and queues: "
                    "per queue depth, unacked, bytes, consumers, in_per_sec, out_per_sec, in, out, "
                    "acked, redeliveries, refusals, disk_bytes and spilled (with --data-dir: the bytes of its unacknowledged records, and how many of its messages are on disk only). With --data-dir, store: dir, fsync, disk_bytes, segments, fsyncs, fsyncs_per_sec, records_per_fsync, recovery_ms, recovered, corrupt_records, write_failures, waiting_confirms (null without). Subscribe with mq-sub --topic '$SYS.#'.",
         .default_text = "10s"},
        {.long_name = "heartbeat", .kind = ValueKind::kDuration, .value_name = "DUR",
         .help = "Heartbeat interval told to clients; a client silent for 3 intervals is gone",
         .default_text = "1s"},
        {.long_name = "max-queue-bytes", .kind = ValueKind::kSize, .value_name = "SIZE",
         .help = "Largest total payload a queue holds (ready and unacknowledged); then publishes are refused",
         .default_text = "256M"},
        {.long_name = "max-queue-messages", .kind = ValueKind::kCount, .value_name = "N",
         .help = "Most messages a queue holds (ready and unacknowledged); then publishes are refused",
         .default_text = "1000000"},
        {.long_name = "max-message-bytes", .kind = ValueKind::kSize, .value_name = "SIZE",
         .help = "Largest payload accepted; larger ones are refused", .default_text = "16M"},
        {.long_name = "subscriber-buffer", .kind = ValueKind::kSize, .value_name = "SIZE",
         .help = "Bytes held for one fan-out subscriber before publishers are held back",
         .default_text = "16M"},
        {.long_name = "stall-timeout", .kind = ValueKind::kDuration, .value_name = "DUR",
         .help = "Disconnect a fan-out subscriber that holds publishers back and acknowledges nothing for DUR",
         .default_text = "10s"},
        {.long_name = "data-dir", .kind = ValueKind::kFile, .value_name = "DIR",
         .help = "Keep named queues in DIR, durable through restarts and crashes (created if missing; one broker per DIR)"},
        {.long_name = "fsync", .kind = ValueKind::kChoice, .value_name = "MODE",
         .help = "With --data-dir: when a publish is on disk before it is confirmed",
         .details = "batch: one fdatasync covers every publish written while the previous one ran (group "
                    "commit), confirmed after it. always: an fdatasync for each publish batch before its "
                    "confirmation. never: no fdatasync at all; a crash of the machine (not of the broker) "
                    "can lose confirmed messages: for tests and benchmarks only, unsafe.",
         .default_text = "batch", .choices = {"batch", "always", "never"}},
        {.long_name = "segment-size", .kind = ValueKind::kSize, .value_name = "SIZE",
         .help = "With --data-dir: start a new log segment once one holds SIZE; drained segments are deleted",
         .default_text = "64M"},
        {.long_name = "queue-memory", .kind = ValueKind::kSize, .value_name = "SIZE",
         .help = "With --data-dir: most of one queue's messages held in memory; the rest of its backlog stays "
                 "on disk and is read back in order as it is delivered",
         .default_text = "64M"},
        {.long_name = "curve-key", .kind = ValueKind::kFile, .value_name = "FILE",
         .help = "Encrypt every endpoint with CURVE, with the broker's secret key in FILE (see --gen-key)",
         .details = "Covers the client endpoint and the plain ZeroMQ XPUB, SUB and PULL endpoints. FILE must "
                    "not be readable by group or others (as ssh demands of its keys). Give clients FILE.pub "
                    "(mq-pub/mq-sub --server-key FILE.pub, or pyzmq's curve_serverkey). Without "
                    "--authorized-keys any client that knows the broker's public key may connect: the "
                    "traffic is encrypted, not authorised."},
        {.long_name = "authorized-keys", .kind = ValueKind::kFile, .value_name = "PATH",
         .help = "Only clients with these public keys may connect (a directory of .pub files, or a file)",
         .details = "A directory holds one certificate per client (its metadata name, else its file name "
                    "without .pub, names the key), as written by --gen-key or CZMQ's zcert; a file is one "
                    "such certificate, or lines 'NAME PUBLIC-KEY' (Z85). The keys are reloaded on SIGHUP and "
                    "when PATH changes (checked twice a second), without dropping other clients; the "
                    "sessions and plain connections of a removed key are closed (mq-sub and mq-pub exit 10). "
                    "A PATH that fails to load keeps the previous keys, and says why. Refusals are logged with "
                    "the key and counted (security.auth_refused in $SYS.broker.stats)."},
        {.long_name = "acl", .kind = ValueKind::kFile, .value_name = "FILE",
         .help = "What each key name may publish, subscribe to, consume, declare and bind (needs --authorized-keys)",
         .details = "Lines (mosquitto's acl_file, with govstream's patterns; '#' starts a comment line): "
                    "'key NAME' (or 'user NAME'; 'key *' for every key) starts NAME's rules; 'topic write "
                    "PATTERN' allows publishing to the topics PATTERN matches; 'topic read PATTERN' allows "
                    "subscribing to the patterns it covers (fan-out, plain SUB prefixes, and queue bindings); "
                    "'topic readwrite PATTERN' (or 'topic PATTERN') both; 'queue consume|declare|bind|all "
                    "NAME' the queues NAME matches ('*': any characters). Everything else is refused: a "
                    "publish per message (negatively confirmed: mq-pub exits 6 and names the topic and the "
                    "rule), a subscription, consume, declare or bind at once (mq-sub exits 10 with the "
                    "reason). $SYS topics need rules naming $SYS ('topic read $SYS.#'). Reloaded with "
                    "--authorized-keys; live subscriptions the new rules refuse are closed. Refusals are "
                    "logged with the key name and counted (security.acl_refused)."},
        {.long_name = "gen-key", .kind = ValueKind::kFile, .value_name = "FILE",
         .help = "Write a new CURVE key pair: FILE (secret, mode 0600) and FILE.pub, then exit",
         .details = "For the broker and for each client. The key's name (in both files' metadata) is FILE's "
                    "base name without extension: the name --acl rules use when FILE.pub is put into the "
                    "--authorized-keys directory. Existing files are never overwritten."},
        {.long_name = "verbose", .short_name = 'v', .kind = ValueKind::kFlag,
         .help = "Log clients connecting and leaving, and queues being declared"},
    };
    s.exit_codes = {
        {kExitOk, "Stopped by SIGINT or SIGTERM after telling every client."},
        {kExitUsage, "Usage error: bad option or endpoint; a key, --authorized-keys or --acl file with bad contents or a secret key readable by others."},
        {kExitIo, "The --data-dir cannot be used (not creatable or writable, or locked by another mq-broker), or a key or --acl file cannot be read or written."},
        {kExitConnection, "An endpoint could not be bound (address in use, no permission)."},
    };
    s.examples = {
        {"Run a broker on the default loopback endpoints:", "mq-broker"},
        {"Accept clients from other machines, stats every minute:",
         "mq-broker --listen tcp://0.0.0.0:7750 --stats-interval 1m"},
        {"Keep queues on disk, through restarts and crashes:", "mq-broker --data-dir /var/lib/govstream/mq"},
        {"Encrypt, and admit only known clients (keys made with --gen-key):",
         "mq-broker --gen-key broker.key && mq-broker --curve-key broker.key --authorized-keys clients/ "
         "--acl broker.acl"},
        {"Watch the depth of every queue:",
         "mq-sub --topic '$SYS.broker.stats' | stream-filter --map '.queues' true"},
    };
    s.see_also = {"govstream(7)", "mq-pub(1)", "mq-sub(1)", "mosquitto(8)"};
    return s;
  }();
  return kSpec;
}

}  // namespace govstream::cli
