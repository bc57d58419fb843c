// Option table of stream-alert.
#include <string>

#include "alert/machine.h"
#include "cli/programs.h"

namespace govstream::cli {
namespace {

const std::string& StateMachineText() {
  static const std::string kText = [] {
    std::string t =
        "Each rule keeps one state per key (the values of its --by expressions). A record "
        "is an observation of every rule at the record's time: its condition (--when) is "
        "true or false, and with the times kept for the key that makes one of four events:\n"
        "\n"
        "  true                           the condition holds, for less than --for so far\n"
        "  true, held --for               it holds, and has held for at least --for\n"
        "  false                          it does not hold, for less than --keep-firing-for\n"
        "  false, held --keep-firing-for  it has not held for at least --keep-firing-for\n"
        "\n"
        "\"Held for\" counts from the first record for which the condition held (pending "
        "since) and, for --keep-firing-for, from the first record of a firing alert for "
        "which it did not. The transitions (this table is the code's table, "
        "kTransitions in lib/alert/machine.cc, printed):\n"
        "\n";
    t += alert::TransitionTableText();
    t +=
        "\n\n"
        "These are Prometheus's alerting-rule semantics, evaluated at each record of the key "
        "instead of at a fixed interval: a key's state changes only when one of its records "
        "arrives (end of input changes nothing). Inactive keys are not kept; a resolved key is "
        "kept until its next record. A record older than the latest record of its key does not "
        "change the key's state; such records are counted (late) and reported in one line at "
        "the end.";
    return t;
  }();
  return kText;
}

}  // namespace

const ProgramSpec& StreamAlertSpec() {
  static const ProgramSpec kSpec = [] {
    ProgramSpec s;
    s.name = "stream-alert";
    s.summary = "alert state per key for NDJSON: pending, firing, resolved, once each; dedupe and throttle";
    s.usage =
        "stream-alert [OPTIONS] (--when EXPR | --rules FILE | --dedupe DUR | --throttle N/DUR) "
        "[--by [NAME=]EXPR]...";
    s.description =
        "stream-alert reads newline-delimited JSON and keeps alert state per rule and key, "
        "as Prometheus's alerting rules do: a key becomes pending when the rule's condition "
        "(--when, a jq expression) is true, firing once it has held for --for, and resolved "
        "once it has been false for --keep-firing-for. It writes one NDJSON event per "
        "notification -- firing once, then again only every --repeat, and resolved once -- "
        "instead of a line for every record that breaks a threshold.\n"
        "\n"
        "One rule comes from the options (--name, --when, --by, --for, --keep-firing-for, "
        "--repeat, --label, --annotations); several come from a rules file (--rules). Times "
        "are event times from --time EXPR (RFC 3339 text, epoch numbers in --time-unit, or "
        "text in --time-format), or the wall clock when a record is read (processing time).\n"
        "\n"
        "For cron, --state FILE keeps every rule's per-key state between runs, so that a run "
        "every minute pages once and resolves once; the exit status tells whether an alert "
        "is firing at the end of input (8) or not (0).\n"
        "\n"
        "Without a rule, stream-alert is a pipeline verb over its input records: --dedupe "
        "DUR drops a record when one with the same key (--by) and fields (--fields, default "
        "the whole record) passed less than DUR earlier, and --throttle N/DUR passes per key "
        "a burst of N records, then one every DUR/N (Vector's throttle); records that pass "
        "are written unchanged.\n"
        "\n"
        "A record whose time is missing or unparseable, or on which a rule's condition or "
        "key fails, is reported as \"stream-alert: SOURCE:LINE: reason\" (the first 10 in "
        "full, then a count) and counted, and the exit status is at least 1; with --strict "
        "the first one stops the program with status 3. A record without a key field (or "
        "whose key expression has no output) counts under the key null, as jq evaluates it: "
        "{\"host\":null}.";
    s.options = {
        {.long_name = "when", .short_name = 'w', .kind = ValueKind::kExpr, .value_name = "EXPR",
         .help = "The rule's condition: true (not false or null) when the alert should fire"},
        {.long_name = "name", .kind = ValueKind::kString, .value_name = "NAME",
         .help = "The rule's name (the alertname)", .default_text = "alert"},
        {.long_name = "by", .short_name = 'b', .kind = ValueKind::kExpr, .value_name = "[NAME=]EXPR",
         .help = "One alert per value of EXPR (repeatable: one key field each)",
         .details = "The key field is named NAME, or after the path (host for .host), or "
                    "key1, key2, ... With the verbs, the key of --dedupe and --throttle.",
         .repeatable = true},
        {.long_name = "for", .kind = ValueKind::kDuration, .value_name = "DUR",
         .help = "Fire once the condition has held for DUR (pending until then)", .default_text = "0s"},
        {.long_name = "keep-firing-for", .kind = ValueKind::kDuration, .value_name = "DUR",
         .help = "Resolve once the condition has been false for DUR", .default_text = "0s"},
        {.long_name = "repeat", .kind = ValueKind::kDuration, .value_name = "DUR",
         .help = "While firing, write the firing event again at a record DUR or more after the last",
         .details = "Without --repeat a firing alert is written once. Alertmanager resolves an alert "
                    "that is not re-sent within its resolve_timeout (5m by default): with "
                    "--output alertmanager, use a --repeat shorter than that."},
        {.long_name = "label", .short_name = 'l', .kind = ValueKind::kString, .value_name = "NAME=VALUE",
         .help = "A static label of the rule (repeatable)", .repeatable = true},
        {.long_name = "annotations", .kind = ValueKind::kExpr, .value_name = "EXPR",
         .help = "An object built from the triggering record, e.g. '{summary: (\"errors on \" + .host)}'",
         .details = "Evaluated on the record that triggers each event; written as the event's "
                    "annotations. An error, or a value that is not an object, is reported as for "
                    "a bad record and the event is written without them."},
        {.long_name = "rules", .short_name = 'r', .kind = ValueKind::kFile, .value_name = "FILE",
         .help = "Read the rules from FILE (NDJSON, one rule per line) instead of the options",
         .details = "Each line is an object with \"name\" and \"when\" and optionally \"by\" (a "
                    "string or an array of strings), \"for\", \"keep_firing_for\", \"repeat\" "
                    "(durations), \"labels\" (an object of strings) and \"annotations\" (a jq "
                    "expression); blank lines and lines starting with # are ignored. See RULES FILE."},
        {.long_name = "time", .short_name = 't', .kind = ValueKind::kExpr, .value_name = "EXPR",
         .help = "Event time of a record (RFC 3339 text or epoch number); without it, processing time"},
        {.long_name = "time-unit", .kind = ValueKind::kChoice, .value_name = "UNIT",
         .help = "Unit of numeric event times", .default_text = "s", .choices = {"s", "ms", "us", "ns"}},
        {.long_name = "time-format", .kind = ValueKind::kString, .value_name = "FORMAT",
         .help = "Read string event times with strptime-style directives, as stream-window(1)"},
        {.long_name = "output", .short_name = 'o', .kind = ValueKind::kChoice, .value_name = "FORMAT",
         .help = "ndjson: stream-alert's events; alertmanager: Alertmanager /api/v2/alerts bodies",
         .default_text = "ndjson", .choices = {"ndjson", "alertmanager"}},
        {.long_name = "max-keys", .kind = ValueKind::kCount, .value_name = "N",
         .help = "At most N kept keys per rule (and per verb); further new keys are counted",
         .details = "A rule's further new keys share one alert under the key \"(other)\"; so do "
                    "--throttle's. --dedupe first forgets identities older than DUR, then passes "
                    "records of identities it cannot keep. The overflow is reported once on "
                    "standard error and counted in --stats (overflow_keys). 0: no limit.",
         .default_text = "100000"},
        {.long_name = "dedupe", .kind = ValueKind::kDuration, .value_name = "DUR",
         .help = "Verb: drop a record if one with the same key and fields passed less than DUR earlier"},
        {.long_name = "fields", .kind = ValueKind::kString, .value_name = "LIST",
         .help = "With --dedupe: compare only these fields, e.g. status,client.ip (default: the whole record)"},
        {.long_name = "throttle", .kind = ValueKind::kString, .value_name = "N/DUR",
         .help = "Verb: per key, pass a burst of N records, then one every DUR/N"},
        {.long_name = "debug-pause-before-rename", .kind = ValueKind::kDuration, .value_name = "DUR",
         .help = "Tests: pause DUR after writing the temporary state file, before the rename",
         .hidden = true},
    };
    for (auto& o : CommonInputOptions()) s.options.push_back(o);
    s.sections = {
        {"STATE MACHINE", StateMachineText()},
        {"OUTPUT",
         "One NDJSON event per notification:\n"
         "\n"
         "  {\"event\":\"firing\",\"rule\":\"errors\",\"key\":{\"host\":\"web-1\"},\n"
         "   \"since\":\"2026-03-01T12:00:00Z\",\"at\":\"2026-03-01T12:03:00Z\",\"repeat\":false,\n"
         "   \"labels\":{\"severity\":\"page\"},\"annotations\":{\"summary\":\"...\"},\n"
         "   \"record\":{...}}\n"
         "\n"
         "event is firing or resolved; key holds the --by fields; since is when the condition "
         "began to hold (the alert's pending time); at is the time of the record that triggered "
         "the event, written whole as record; repeat is true for a firing event written again "
         "by --repeat. labels and annotations appear when the rule has them. Times are RFC 3339 "
         "in UTC.\n"
         "\n"
         "With --output alertmanager each event is instead one line holding the JSON body that "
         "Alertmanager's POST /api/v2/alerts accepts, an array of one alert:\n"
         "\n"
         "  [{\"labels\":{\"alertname\":\"errors\",\"host\":\"web-1\",\"severity\":\"page\"},\n"
         "    \"annotations\":{\"summary\":\"...\"},\"startsAt\":\"2026-03-01T12:03:00Z\"}]\n"
         "\n"
         "The labels are alertname (the rule's name), the key fields and the rule's labels; "
         "every label and annotation value is a string (other values as their JSON text). "
         "startsAt is when the alert began firing; a resolved alert also has endsAt, the time "
         "it resolved. Each line can be posted as it is (see EXAMPLES).\n"
         "\n"
         "With the verbs (--dedupe, --throttle) the records that pass are written unchanged.\n"
         "\n"
         "--stats adds rules, firing_events, repeat_events, resolved_events, keys (kept at the "
         "end), firing (alerts firing at the end), late and overflow_keys; with the verbs, "
         "deduped, throttled, keys and overflow_keys."},
        {"RULES FILE",
         "NDJSON, one rule per line, for example:\n"
         "\n"
         "  {\"name\":\"errors\",\"when\":\".errors > 10\",\"by\":\".host\",\"for\":\"3m\",\n"
         "   \"labels\":{\"severity\":\"page\"},\"annotations\":\"{summary: (.host + \\\" errors\\\")}\"}\n"
         "  {\"name\":\"slow\",\"when\":\".p99 > 800\",\"by\":[\".host\",\".path\"],\"keep_firing_for\":\"5m\"}\n"
         "\n"
         "Rule names must be distinct. A rule's label may not be called alertname. Unknown "
         "members, bad expressions and bad durations are refused with the file and line."},
        {"CRON",
         "With --state FILE each run starts from the state the last one left: a key that was "
         "firing stays firing, without a new firing event, until it resolves. Input files (-i) "
         "are read from where the last run stopped, across rotations, as by stream-filter(1); "
         "standard input (for example the last minute of a log, or a status snapshot) must "
         "continue in time. The same records split across several runs sharing FILE give the "
         "same events as one run over all of them. The file holds the input offsets and one "
         "line per kept key (docs/run-state.md, docs/alert-state.md); a file that another "
         "version wrote, that is truncated or fails its checksum, that holds a rule not given "
         "now, or a rule whose number of keys changed, is an error (status 9); --state-reset "
         "starts afresh. A run killed at any point, even while writing, leaves the previous "
         "state intact."},
    };
    s.exit_codes = CommonExitCodes();
    for (ExitCodeSpec& e : s.exit_codes) {
      if (e.code == kExitOk) {
        e.meaning = "Success: every input line was processed and no alert is firing at the end (with the verbs: "
                    "every line was processed).";
      } else if (e.code == kExitSkipped) {
        e.meaning = "Finished, no alert is firing, but some input lines were skipped (invalid JSON, invalid UTF-8, "
                    "too long, an evaluation error, or a missing or unparseable time); each was reported on "
                    "standard error.";
      } else if (e.code == kExitData) {
        e.meaning = "With --strict: stopped at the first bad line, evaluation error or record without a usable "
                    "time (the events so far are written; the --state file is not updated, so the next run "
                    "reads those lines again).";
      } else if (e.code == kExitIo) {
        e.meaning = "An input file, the rules file or the state file could not be opened, read or written "
                    "(output could not be written: the state is then not saved).";
      }
    }
    s.exit_codes.insert(s.exit_codes.end() - 1,
                        {kExitFiring,
                         "Finished, and at least one alert is firing at the end of input (also when lines were "
                         "skipped: they are reported on standard error). For cron: page while this is the status."});
    AddStateOptions(&s);
    for (OptionSpec& o : s.options) {
      if (o.long_name != "state") continue;
      o.short_name = 's';
      o.help = "Keep every rule's per-key state, and where each input was read to, in FILE between runs (for cron)";
    }
    for (ExitCodeSpec& e : s.exit_codes) {
      if (e.code == kExitState) {
        e.meaning = "The --state file is corrupt, of another format version, does not match the rules, or was "
                    "made by another program; nothing was read or written, and the file was left as it is "
                    "(--state-reset starts afresh).";
      }
    }
    s.examples = {
        {"Page on hosts with more than 10 errors a minute for 3 minutes, resolved when back under:",
         "stream-window --tumbling 1m --time .ts --by .host 'errors=sum(.errors)' -i app.json | stream-alert "
         "--name errors --when '.errors > 10' --for 3m --by .host --time .window_end"},
        {"From cron every minute: page once, resolve once (exit status 8 while firing):",
         "tail -n 10000 app.json | stream-window --tumbling 1m --time .ts --by .host 'errors=sum(.errors)' | "
         "stream-alert --rules rules.ndjson --time .window_end --state /var/lib/govstream/alerts.state"},
        {"Deliver to Alertmanager, one POST per event:",
         "stream-alert --when '.errors > 10' --by .host --repeat 4m --output alertmanager -i m.json | while read "
         "-r body; do curl -sS -H 'Content-Type: application/json' -d \"$body\" "
         "http://alertmanager:9093/api/v2/alerts; done"},
        {"At most one identical error per host and 10 minutes:",
         "stream-alert --dedupe 10m --by .host --fields status,path -i errors.json"},
        {"At most 5 records per user at once, then one every 12 seconds:",
         "stream-alert --throttle 5/1m --by .user -i events.json"},
    };
    s.see_also = {"govstream(7)", "stream-window(1)", "stream-filter(1)", "mq-pub(1)"};
    return s;
  }();
  return kSpec;
}

}  // namespace govstream::cli
