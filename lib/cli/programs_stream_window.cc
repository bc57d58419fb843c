// Option table of stream-window.
#include <string>

#include "agg/aggregator.h"
#include "cli/programs.h"
#include "window/assigner.h"

namespace govstream::cli {
namespace {

const std::string& WindowsText() {
  static const std::string kText = [] {
    std::string t =
        "Exactly one window option selects the kind of window; every window is "
        "[window_start, window_end), start inclusive, end exclusive.\n\n";
    for (const window::AssignerDef& d : window::Assigners()) {
      t += "  --";
      t += d.option;
      t.append(d.option.size() < 14 ? 14 - d.option.size() : 1, ' ');
      t += d.summary;
      t += "\n";
    }
    t += "\nTumbling and sliding windows are aligned to the Unix epoch, shifted by "
         "--offset, as in Flink: --tumbling 1h --offset 30m gives windows from half "
         "past to half past. A record exactly on a boundary belongs to the window "
         "that starts there. A sliding window is computed from panes (slices) of "
         "gcd(size, slide): each record updates one pane, and a firing window combines "
         "its panes per key through running aggregates (two stacks), a constant number "
         "of merges per window and key, so the cost does not grow with size/slide.\n\n"
         "A session window of a key starts at its first record and ends GAP after "
         "its last; a record that falls within GAP of two sessions merges them.\n\n"
         "A count window holds N records of one key in arrival order and fires at "
         "the N-th; its window_start and window_end are the earliest and latest "
         "record time in it (both inclusive). Partial count windows fire at end of "
         "input.";
    return t;
  }();
  return kText;
}

}  // namespace

const ProgramSpec& StreamWindowSpec() {
  static const ProgramSpec kSpec = [] {
    ProgramSpec s;
    s.name = "stream-window";
    s.summary = "aggregate NDJSON records over tumbling, sliding, session or count windows";
    s.usage = "stream-window [OPTIONS] WINDOW [--by [NAME=]EXPR]... AGG...";
    s.description =
        "stream-window reads newline-delimited JSON and writes one record per "
        "window and group: the aggregates of stream-agg(1), computed over time "
        "windows in event time (--time EXPR) or processing time (arrival), with "
        "Flink's semantics: watermarks with bounded out-of-orderness "
        "(--max-delay), allowed lateness with updated results, and late records "
        "that are counted and kept (--late-output), never dropped silently.\n"
        "\n"
        "WINDOW is one of --tumbling DUR, --sliding DUR --slide DUR, --session "
        "GAP or --count N. Each AGG is [NAME=]FUNC[(EXPR[, ARG])] and --by "
        "[NAME=]EXPR names a group key, exactly as for stream-agg.\n"
        "\n"
        "Event time (--time EXPR) comes from RFC 3339 text such as "
        "2026-03-01T12:00:05.250Z or 2026-03-01T13:00:05+01:00 (a zone is "
        "required), from epoch numbers (--time-unit, seconds by default, "
        "fractions allowed), or from any other text with --time-format. Times "
        "are kept in milliseconds (finer fractions are truncated). Without "
        "--time, a record's time is the wall clock when it is read, and windows "
        "fire on the wall clock, also while no input arrives.\n"
        "\n"
        "A record whose time is missing, null or unparseable is skipped and "
        "reported as \"stream-window: SOURCE:LINE: reason\" (the first 10 in "
        "full, then a count); the exit status is then 1, and with --strict the "
        "first one stops the program with status 3.\n"
        "\n"
        "With --state FILE (for cron), a run reads only the input lines added "
        "since the last run, and the end of input does not close the windows: "
        "the open windows, the watermark and the keys are kept in FILE, and a "
        "window spanning two runs fires once, in the run whose watermark passes "
        "its end, with every record counted once. --late-output FILE is then "
        "appended to rather than truncated. FILE depends on the window, --time "
        "and its options, --max-delay, --idle-timeout, --every, the --by keys, "
        "the aggregates, --exact and --max-groups.";
    s.positionals = {
        {.name = "AGG", .kind = ValueKind::kString,
         .help = "Aggregates, each [NAME=]FUNC[(EXPR[, ARG])]", .required = false, .repeatable = true},
    };
    s.options = {
        {.long_name = "tumbling", .kind = ValueKind::kDuration, .value_name = "DUR",
         .help = "Tumbling windows of DUR, aligned to the epoch (+ --offset)"},
        {.long_name = "sliding", .kind = ValueKind::kDuration, .value_name = "DUR",
         .help = "Sliding (hopping) windows of DUR, one starting every --slide"},
        {.long_name = "slide", .kind = ValueKind::kDuration, .value_name = "DUR",
         .help = "With --sliding: how often a window starts (at most the window size)"},
        {.long_name = "session", .kind = ValueKind::kDuration, .value_name = "GAP",
         .help = "Session windows per key, closed after GAP without records for the key"},
        {.long_name = "count", .kind = ValueKind::kCount, .value_name = "N",
         .help = "Count windows per key: one result for every N records of the key"},
        {.long_name = "offset", .kind = ValueKind::kDuration, .value_name = "DUR",
         .help = "Shift tumbling and sliding window boundaries by DUR from the epoch",
         .default_text = "0s"},
        {.long_name = "by", .short_name = 'b', .kind = ValueKind::kExpr, .value_name = "[NAME=]EXPR",
         .help = "Group by the value of EXPR (repeatable: one key field each)", .repeatable = true},
        {.long_name = "time", .short_name = 't', .kind = ValueKind::kExpr, .value_name = "EXPR",
         .help = "Event time of a record (RFC 3339 text or epoch number); without it, processing time",
         .details = "Strings are read as RFC 3339 (or with --time-format), numbers as epoch time "
                    "in --time-unit."},
        {.long_name = "time-unit", .kind = ValueKind::kChoice, .value_name = "UNIT",
         .help = "Unit of numeric event times",
         .details = "Times are kept in milliseconds; finer fractions are truncated. Numbers are read as "
                    "jq reads JSON numbers, as IEEE doubles: integers beyond 2^53 (nanoseconds since 1970, "
                    "for example) and fractions beyond about 16 significant digits are first rounded to "
                    "the nearest double (today's nanosecond times to a multiple of 256 ns), so a time "
                    "within that much of a window boundary can fall on its other side. RFC 3339 strings "
                    "keep their digits exactly.",
         .default_text = "s", .choices = {"s", "ms", "us", "ns"}},
        {.long_name = "time-format", .kind = ValueKind::kString, .value_name = "FORMAT",
         .help = "Read string event times with strptime-style directives, e.g. '%d/%b/%Y:%H:%M:%S %z'",
         .details = "Directives: %Y %m %d %e %H %M %S, %f (fraction of a second), %z (Z, +HH, "
                    "+HHMM, +HH:MM), %Z (UTC, GMT or Z), %b %h %B (English month "
                    "names, full or abbreviated, any case), %j (day of the year), %y (69-99: 19xx, 00-68: 20xx), %s (epoch "
                    "seconds), %T (%H:%M:%S), %D (%m/%d/%y), %F (%Y-%m-%d), %R (%H:%M), %n %t "
                    "and a space (any white space), %% (a percent sign). Missing fields default "
                    "to 1970-01-01 00:00:00; without %z or %Z the time is UTC. Month names do "
                    "not depend on the locale."},
        {.long_name = "max-delay", .kind = ValueKind::kDuration, .value_name = "DUR",
         .help = "Allowed out-of-orderness: the watermark is the largest event time minus DUR",
         .default_text = "0s"},
        {.long_name = "allowed-lateness", .kind = ValueKind::kDuration, .value_name = "DUR",
         .help = "Keep fired windows DUR longer; a late record then re-emits the window (mark update)",
         .default_text = "0s"},
        {.long_name = "late-output", .kind = ValueKind::kFile, .value_name = "FILE",
         .help = "Write records later than the allowed lateness to FILE (they are always counted)",
         .details = "FILE is truncated when the program starts, or appended to with --state."},
        {.long_name = "idle-timeout", .kind = ValueKind::kDuration, .value_name = "DUR",
         .help = "After DUR without input, advance the watermark with the wall clock",
         .details = "Once no record has arrived for DUR, the watermark moves on as if a record "
                    "stamped with the largest event time plus the time since the last record had "
                    "arrived, so the last windows of a quiet live stream fire."},
        {.long_name = "emit", .kind = ValueKind::kChoice, .value_name = "WHEN",
         .help = "final: one result per window and key when it fires; changes: also early results",
         .default_text = "final", .choices = {"final", "changes"}},
        {.long_name = "every", .kind = ValueKind::kDuration, .value_name = "DUR",
         .help = "With --emit changes: early results for changed open windows every DUR",
         .details = "DUR is measured on the watermark (event time), or on the wall clock in "
                    "processing time; early results are written at each multiple of DUR for the "
                    "window and key pairs fed since the previous ones."},
        {.long_name = "exact", .kind = ValueKind::kFlag,
         .help = "Exact percentiles (all values kept in memory), as mlr stats1 computes them"},
        {.long_name = "max-groups", .kind = ValueKind::kCount, .value_name = "N",
         .help = "At most N live keys; later new keys are folded into one key \"(other)\"",
         .details = "Keys are forgotten when their last window is purged. The overflow is "
                    "reported on standard error when it first happens, and --stats counts the "
                    "records it took (overflow_keys). A real key whose value is the string "
                    "\"(other)\" is not told apart from the overflow key in the output."},
        {.long_name = "trust-input", .kind = ValueKind::kFlag,
         .help = "Read each line only as far as the time, keys and values need, without validating the rest"},
        {.long_name = "list", .kind = ValueKind::kFlag, .help = "List the aggregate functions and exit"},
    };
    for (auto& o : CommonInputOptions()) s.options.push_back(o);
    static const std::string kFunctions =
        AggregateFunctionsText("The aggregates of stream-agg(1), with the same names and defaults:\n\n");
    s.sections = {
        {"WINDOWS", WindowsText()},
        {"OUTPUT",
         "One NDJSON record per window and key:\n"
         "\n"
         "  {\"window_start\":\"2026-03-01T12:00:00Z\",\"window_end\":\"2026-03-01T12:01:00Z\",\n"
         "   \"host\":\"web-01\",\"count\":42,\"p99_latency_ms\":812.5,\"mark\":\"final\"}\n"
         "\n"
         "window_start and window_end are RFC 3339 in UTC (with milliseconds when they are not "
         "zero); then the key fields, then one field per aggregate, then mark:\n"
         "\n"
         "  event                                           mark\n"
         "  the watermark reaches window_end, or input ends  final\n"
         "  --every DUR passes while the window is open      early\n"
         "  a late record (within --allowed-lateness) for a\n"
         "    window and key that have no final result yet   final\n"
         "  a late record (within --allowed-lateness) for a\n"
         "    window and key that already have a result      update (replaces it)\n"
         "\n"
         "The first final or update result of a window and key is always final: update only "
         "ever replaces an earlier result of the same window and key. A record is never added "
         "to a window that is past the watermark plus --allowed-lateness, nor does it create "
         "one: a window that had no records when the watermark passed its end stays empty.\n"
         "\n"
         "Results that fire together are ordered by window_end, then by key (in jq's order "
         "of the key values). An update is written as soon as its late record is read. "
         "The names window_start, window_end and mark cannot be used for keys or aggregates."},
        {"WATERMARKS AND LATE DATA",
         "In event time the watermark is the largest event time seen minus --max-delay. A "
         "window fires when the watermark reaches its end, so records up to --max-delay out "
         "of order are still counted in their window. A record for a window that has fired "
         "is late: within --allowed-lateness of the window end it is added and the window's "
         "result is written again, marked update; later still it is not aggregated, but "
         "counted, reported on standard error at exit (and in --stats as late_dropped), and "
         "written to --late-output FILE as it was read. A record late for some of the "
         "sliding windows that contain it is still added to those not yet past their "
         "lateness (as in Flink); it is dropped only when it is too late for all of them. "
         "When a late record merges session windows, the merged session is written as an "
         "update and supersedes the results of the sessions it joined. first and last "
         "follow arrival order.\n"
         "\n"
         "With --idle-timeout DUR the watermark advances while input is idle (see the "
         "option). In processing time the watermark is the wall clock: windows fire on time "
         "even while no input arrives. End of input fires every open window; so do SIGINT "
         "and SIGTERM, after which the exit status is 130.\n"
         "\n"
         "Memory is bounded by the open windows times their keys (plus the panes of sliding "
         "windows); --stats reports open_windows, groups (window x key states), keys and "
         "memory_bytes at end of input before the last windows fire, their peaks, the "
         "results by mark, late_dropped, overflow_keys (records counted under --max-groups' "
         "overflow key), the watermark and, per aggregate, the values skipped as missing or "
         "of the wrong type; with --state also late_dropped_total (over every run of FILE), "
         "state_bytes and state_commits. In processing time, and with --every, results are written "
         "within about 100 ms of the wall-clock instant they are due."},
        {"AGGREGATE FUNCTIONS", kFunctions},
    };
    AddThreadOptions(&s, "The workers parse, validate and evaluate the time, keys and aggregate arguments; "
                         "the records are assigned to windows in input order, so the results, the "
                         "watermark, late records, every diagnostic, the --stats counts and the exit "
                         "status are those of --threads 1 (in processing time a record's time is the wall "
                         "clock when it is assigned). A --state commit falls between chunks. --trust-input "
                         "reads with one thread.");
    s.exit_codes = CommonExitCodes();
    for (ExitCodeSpec& e : s.exit_codes) {
      if (e.code == kExitSkipped) {
        e.meaning = "Finished, but some input lines were skipped (invalid JSON, invalid UTF-8, too long, "
                    "an evaluation error, or a missing or unparseable time); each was reported on "
                    "standard error. Late records alone do not change the exit status (they are "
                    "counted and reported).";
      } else if (e.code == kExitData) {
        e.meaning = "With --strict: stopped at the first bad line, evaluation error or record without "
                    "a usable time (the windows so far are written).";
      }
    }
    AddStateOptions(&s);
    s.examples = {
        {"5xx responses per minute per host:",
         "stream-filter '.status >= 500' access.json | stream-window --tumbling 1m --time .ts --by .host count"},
        {"A sliding 10-minute p99 latency, every minute, tolerating 5 s of disorder:",
         "stream-window --sliding 10m --slide 1m --time .ts --max-delay 5s 'p99(.latency_ms)' -i access.json"},
        {"User sessions with a 30-minute gap:",
         "stream-window --session 30m --time .ts --by .user count 'first(.path)' 'last(.path)' -i access.json"},
        {"Apache access log times, late records kept aside:",
         "stream-window --tumbling 5m --time .time --time-format '%d/%b/%Y:%H:%M:%S %z' "
         "--allowed-lateness 1m --late-output late.json count -i apache.json"},
        {"Live counts per minute of a quiet log, emitted on time:",
         "tail -F access.json | stream-window --tumbling 1m --time .ts --idle-timeout 5s count"},
        {"From cron, every minute: 5xx per host per 5 minutes, each window written once it is complete:",
         "stream-window --state /var/lib/govstream/5xx.state --tumbling 5m --time .ts --by .host "
         "'errors=count(select(.status >= 500))' -i /var/log/app/access.json >> 5xx-per-5m.ndjson"},
    };
    s.see_also = {"govstream(7)", "stream-agg(1)", "stream-filter(1)"};
    return s;
  }();
  return kSpec;
}

}  // namespace govstream::cli
