// Option table of stream-filter.
#include "cli/programs.h"

namespace govstream::cli {

const ProgramSpec& StreamFilterSpec() {
  static const ProgramSpec kSpec = [] {
    ProgramSpec s;
    s.name = "stream-filter";
    s.summary = "keep the NDJSON records that match a jq expression";
    s.usage = "stream-filter [OPTIONS] EXPR [FILE...]";
    s.description =
        "stream-filter reads newline-delimited JSON (one value per line) and "
        "writes, unchanged, the lines for which EXPR is true, like "
        "jq -c 'select(EXPR)' but at the speed of simdjson. EXPR is a jq "
        "expression from the subset described in govstream(7); an expression "
        "outside the subset is refused, never evaluated differently from jq.\n"
        "\n"
        "Kept records are written byte for byte as they were read. With "
        "--map, the value of a second expression is written instead, as "
        "compact JSON.\n"
        "\n"
        "Input is standard input, or the FILEs given after EXPR and with "
        "-i/--input, read in order; '-' names standard input. Every line is "
        "validated as JSON. A line that is not valid JSON or UTF-8, or is "
        "longer than --max-line-bytes, is skipped and reported as "
        "stream-filter: SOURCE:LINE: reason. An expression that fails on a "
        "record (for example .a.b when .a is a number) drops that record and "
        "is reported the same way, as jq does. Blank lines are ignored.\n"
        "\n"
        "Output is block-buffered, and flushed whenever the program is about "
        "to wait for input, so tail -F | stream-filter passes each match on "
        "at once. When the reader of the output goes away (| head), "
        "stream-filter exits quietly with status 0.";
    s.positionals = {
        {.name = "EXPR", .kind = ValueKind::kExpr,
         .help = "The predicate: records for which it is true (not false or null) are kept",
         .required = true},
        {.name = "FILE", .kind = ValueKind::kFile,
         .help = "Input files, read in order ('-' is standard input)",
         .repeatable = true},
    };
    s.options = {
        {.long_name = "invert", .short_name = 'v', .kind = ValueKind::kFlag,
         .help = "Keep the records for which EXPR is false or null"},
        {.long_name = "count", .short_name = 'c', .kind = ValueKind::kFlag,
         .help = "Print only the number of kept records"},
        {.long_name = "limit", .short_name = 'n', .kind = ValueKind::kCount,
         .value_name = "N",
         .help = "Stop reading after N kept records, like grep -m"},
        {.long_name = "map", .kind = ValueKind::kExpr, .value_name = "EXPR",
         .help = "Write the value of EXPR for each kept record instead of the record",
         .details = "Same values as jq -c 'select(PREDICATE) | EXPR'. A record "
                    "for which EXPR produces no value (select) writes nothing."},
        {.long_name = "fields", .kind = ValueKind::kString,
         .value_name = "LIST",
         .help = "Write only these fields, e.g. host,status,client.ip",
         .details = "Shorthand for --map with an object of the listed paths: "
                    "--fields host,client.ip writes "
                    "{\"host\":...,\"client\":{\"ip\":...}}. Missing fields are "
                    "null, as in jq. Cannot be combined with --map."},
        {.long_name = "trust-input", .kind = ValueKind::kFlag,
         .help = "Check only kept records fully; read the others only as far as EXPR needs",
         .details = "By default every line is fully validated, so every "
                    "malformed line is reported. With --trust-input, a record "
                    "is first evaluated from the fields EXPR reads (simdjson "
                    "On-Demand), and when EXPR requires a literal (for "
                    "example test(\"^/api/v1\") requires /api/v1), lines "
                    "without it are dropped unparsed, as ripgrep does. Kept "
                    "records are still fully validated before they are "
                    "written, but a malformed line, or an evaluation error, "
                    "among the dropped ones goes unreported."},
    };
    for (auto& o : CommonInputOptions()) s.options.push_back(o);
    AddThreadOptions(&s, "Lines are read in order, parsed, validated and evaluated by the workers in chunks, "
                         "and written in input order: the output, every diagnostic (with its file and line), "
                         "the --stats counts and the exit status are those of --threads 1. A chunk is handed "
                         "on as soon as input pauses, so a live pipeline is not delayed. With --trust-input the "
                         "workers also do its prefilter and On-Demand reads. With --state, a commit falls "
                         "between chunks and records the lines applied; -n with --state reads with one "
                         "thread.");
    s.exit_codes = CommonExitCodes();
    AddStateOptions(&s);
    s.examples = {
        {"Server errors from a JSON access log:",
         "stream-filter '.status >= 500' access.json"},
        {"Follow a live log and keep slow API calls, projected to three fields:",
         "tail -F access.json | stream-filter --fields host,path,latency_ms '.latency_ms > 250 and (.path | startswith(\"/api/\"))'"},
        {"Count requests from one country without a TLS connection:",
         "stream-filter -c '.client.country == \"DE\" and (.tls | not)' access.json"},
        {"Reshape records, like jq -c 'select(P) | {...}':",
         "stream-filter --map '{host, status, slow: (.latency_ms > 250)}' '.method == \"POST\"' access.json"},
        {"From cron, every minute: only the lines added since the last run, across rotations:",
         "stream-filter --state /var/lib/govstream/5xx.state '.status >= 500' /var/log/app/access.json >> 5xx.ndjson"},
        {"A cron check that fails when the log holds malformed lines:",
         "stream-filter --stats 'false' app.json || echo \"bad input: exit $?\""},
    };
    s.see_also = {"govstream(7)", "jq(1)", "grep(1)", "mlr(1)"};
    return s;
  }();
  return kSpec;
}

}  // namespace govstream::cli
