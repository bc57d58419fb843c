// Option table of stream-agg.
#include <string>

#include "agg/aggregator.h"
#include "cli/programs.h"

namespace govstream::cli {

std::string AggregateFunctionsText(std::string_view intro) {
  std::string t(intro);
  for (const agg::AggregatorDef& d : agg::Registry()) {
    t += "  " + std::string(d.name);
    t.append(d.name.size() < 16 ? 16 - d.name.size() : 1, ' ');
    t += std::string(d.summary) + "\n";
  }
  t += "\nValues that are missing (null, or no output) or of a type the function "
       "does not take (a string for sum) are skipped and counted per aggregate; "
       "--stats reports the counts, as SQL does with NULL. An argument whose "
       "evaluation fails, where jq raises an error (.x on a string record, "
       "tonumber on \"abc\"), is an evaluation error: the record is reported with "
       "its source and line, counted in eval_errors and skipped whole (no "
       "aggregate and no group takes it), and the exit status is 1, as in "
       "stream-filter(1); with --strict it stops the program (exit status 3).";
  return t;
}

const ProgramSpec& StreamAggSpec() {
  static const ProgramSpec kSpec = [] {
    ProgramSpec s;
    s.name = "stream-agg";
    s.summary = "group NDJSON records and aggregate them: counts, sums, percentiles, distinct, top-k";
    s.usage = "stream-agg [OPTIONS] [--by [NAME=]EXPR]... AGG...";
    s.description =
        "stream-agg reads newline-delimited JSON and writes one record per "
        "group: the group's key fields, then one field per aggregate. Like "
        "mlr stats1 or datamash, but on JSON, with jq expressions for keys "
        "and values, and in bounded memory: percentiles come from a "
        "relative-error sketch (within 1%), distinct counts can use "
        "HyperLogLog, and --max-groups caps the number of groups.\n"
        "\n"
        "Each AGG is [NAME=]FUNC[(EXPR[, ARG])], for example count, "
        "avg(.latency_ms), slow=p99(.latency_ms), top(.path, 5) or "
        "quantile(.bytes, 0.75). The output field is NAME, or by default "
        "count, or FUNC_FIELD when EXPR is a path (avg(.latency_ms) gives "
        "avg_latency_ms), else FUNC.\n"
        "\n"
        "Groups come from --by EXPR, repeatable; the key field is named after "
        "the last field of a path (.client.country gives country), or NAME "
        "with --by NAME=EXPR, or key1, key2... A record for which a key is "
        "missing falls in the null group, as in jq. Without --by, all records "
        "form one group, reported even when the input is empty.\n"
        "\n"
        "Output order is the order in which groups were first seen, or "
        "descending by a field with --sort; --top N keeps the first N. "
        "Results are written at end of input, when SIGINT or SIGTERM arrives "
        "(so tail -F ... | stream-agg ... ended with Ctrl-C prints them), and "
        "as snapshots with --every or --interval.\n"
        "\n"
        "With --state FILE (for cron), a run reads only the input lines added "
        "since the last run and keeps its groups and their aggregate states "
        "in FILE: by default each run writes the totals over everything read "
        "so far, as one long run would; with --reset, only this run's part. "
        "FILE depends on the --by keys, the aggregates, --exact, --max-groups "
        "and --reset.";
    s.positionals = {
        {.name = "AGG", .kind = ValueKind::kString,
         .help = "Aggregates, each [NAME=]FUNC[(EXPR[, ARG])]", .required = false, .repeatable = true},
    };
    s.options = {
        {.long_name = "by", .short_name = 'b', .kind = ValueKind::kExpr, .value_name = "[NAME=]EXPR",
         .help = "Group by the value of EXPR (repeatable: one key field each)", .repeatable = true},
        {.long_name = "exact", .kind = ValueKind::kFlag,
         .help = "Exact percentiles (all values kept in memory), as mlr stats1 computes them",
         .details = "The value at 0-based rank floor(q * n), clamped to n - 1, of the sorted values: "
                    "Miller's non-interpolated percentile (mlr stats1 without -i). Miller's "
                    "interpolated percentiles (mlr stats1 -i) are not offered. Without --exact "
                    "the same rank is read from a sketch, within 1% relative error."},
        {.long_name = "sort", .kind = ValueKind::kString, .value_name = "FIELD[:asc]",
         .help = "Order groups by an output field, highest first (':asc' for lowest first)"},
        {.long_name = "top", .kind = ValueKind::kCount, .value_name = "N",
         .help = "Write only the first N groups (after --sort)"},
        {.long_name = "every", .kind = ValueKind::kCount, .value_name = "N",
         .help = "Also write a snapshot of all groups after every N records"},
        {.long_name = "interval", .kind = ValueKind::kDuration, .value_name = "DUR",
         .help = "Also write a snapshot every DUR of wall-clock time, even while input is idle"},
        {.long_name = "reset", .kind = ValueKind::kFlag,
         .help = "Start from empty groups after each snapshot (per-period results)",
         .details = "Without --reset, snapshots are cumulative. With --state, the end of a run is a "
                    "snapshot too: by default each run writes the running totals since the state was "
                    "made (the groups persist in FILE); with --reset each run writes only the records it "
                    "read (this run's deltas)."},
        {.long_name = "max-groups", .kind = ValueKind::kCount, .value_name = "N",
         .help = "At most N groups; later new keys are folded into one group keyed \"(other)\"",
         .details = "The overflow is reported on standard error when it first happens, and "
                    "--stats counts the records it took."},
        {.long_name = "trust-input", .kind = ValueKind::kFlag,
         .help = "Read each line only as far as the keys and values need, without validating the rest",
         .details = "By default every line is fully validated, so every malformed line is "
                    "reported and skipped. With --trust-input the fields the --by keys and "
                    "aggregates read are looked up with simdjson On-Demand and the rest of the "
                    "line is not checked: a malformed line whose needed fields are readable is "
                    "aggregated, not reported. Faster on wide records."},
        {.long_name = "list", .kind = ValueKind::kFlag, .help = "List the aggregate functions and exit"},
    };
    for (auto& o : CommonInputOptions()) s.options.push_back(o);
    AddThreadOptions(&s, "The workers parse, validate and evaluate the keys and aggregate arguments. With "
                         "--by (and without --max-groups) the groups are then split by key over N feeder "
                         "threads, each feeding its groups their records in input order; otherwise (and "
                         "with --state) one thread feeds them. Either way every group sees its records in input order, so "
                         "the results (sketches and floating-point sums included), the group order, every "
                         "diagnostic, the --stats counts and the exit status are those of --threads 1. "
                         "--interval snapshots merge the groups of every thread; a --state commit falls "
                         "between chunks. --trust-input reads with one thread.");
    static const std::string kFunctions = AggregateFunctionsText("");
    s.sections = {{"AGGREGATE FUNCTIONS", kFunctions}};
    s.exit_codes = CommonExitCodes();
    AddStateOptions(&s);
    s.examples = {
        {"Requests and p99 latency per host:",
         "stream-agg --by .host count 'p99(.latency_ms)' -i access.json"},
        {"Top talkers: the 10 client IPs with the most requests:",
         "stream-agg --by .client.ip count --sort count --top 10 -i access.json"},
        {"Error rate per host (count(EXPR) counts records where EXPR has a value):",
         "stream-agg --by .host count 'errors=count(select(.status >= 500))' -i access.json | "
         "stream-filter --map '{host, rate: (.errors / .count)}' true"},
        {"Live counts per status, printed every 10 seconds and on Ctrl-C:",
         "tail -F access.json | stream-agg --by .status count --interval 10s"},
        {"Distinct users per country, approximately, in bounded memory:",
         "stream-agg --by .client.country 'users=approx_distinct(.user)' -i access.json"},
        {"From cron, every minute: errors per host, reading only the lines added since the last run:",
         "stream-agg --state /var/lib/govstream/errors.state --by .host 'errors=count(select(.status >= 500))' "
         "-i /var/log/app/access.json"},
    };
    s.see_also = {"govstream(7)", "stream-filter(1)", "mlr(1)", "datamash(1)"};
    return s;
  }();
  return kSpec;
}

}  // namespace govstream::cli
