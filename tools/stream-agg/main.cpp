// stream-agg: group-by aggregation over NDJSON.
// Options come from cli::StreamAggSpec(); the work is stream::RunAggregate().
#include <fmt/core.h>
#include <unistd.h>

#include <vector>

#include "agg/aggregator.h"
#include "agg/spec.h"
#include "cli/args.h"
#include "cli/programs.h"
#include "io/output.h"
#include "io/report.h"
#include "io/signals.h"
#include "stream/exit.h"
#include "stream/aggregate.h"

namespace gs = govstream;

namespace {

int Usage(const std::string& message) {
  fmt::print(stderr, "stream-agg: {}\nTry 'stream-agg --help' for more information.\n", message);
  return gs::cli::kExitUsage;
}

}  // namespace

int main(int argc, char** argv) {
  gs::cli::ParseResult parsed = gs::cli::Parse(gs::cli::StreamAggSpec(), argc, argv);
  if (parsed.exit_now) return parsed.exit_code;
  const gs::cli::Args& args = parsed.args;

  if (args.flag("list")) {
    for (const gs::agg::AggregatorDef& d : gs::agg::Registry()) fmt::print("{:<16}{}\n", d.name, d.summary);
    return gs::cli::kExitOk;
  }
  if (args.positionals().empty()) return Usage("no aggregate given (e.g. count, 'avg(.latency_ms)'; see --list)");

  std::vector<gs::agg::KeySpec> keys;
  std::vector<std::string> by = args.strs("by");
  for (size_t i = 0; i < by.size(); ++i) {
    keys.emplace_back();
    gs::Status s = gs::agg::ParseKeySpec(by[i], i, &keys.back());
    if (!s.ok()) return Usage(s.message());
  }
  std::vector<gs::agg::AggSpec> aggs;
  for (const std::string& text : args.positionals()) {
    aggs.emplace_back();
    gs::Status s = gs::agg::ParseAggSpec(text, args.flag("exact"), &aggs.back());
    if (!s.ok()) return Usage(s.message());
  }
  gs::Status names = gs::agg::CheckDistinctNames(keys, aggs);
  if (!names.ok()) return Usage(names.message());

  gs::stream::AggregateOptions o;
  o.keys = &keys;
  o.aggs = &aggs;
  o.input = gs::stream::InputConfigFromArgs(args);
  o.every = args.count("every", 0);
  o.interval_ms = args.duration_ms("interval", 0);
  o.reset = args.flag("reset");
  if (auto sort = args.str("sort")) {
    o.sort_field = *sort;
    if (o.sort_field.size() > 4 && o.sort_field.substr(o.sort_field.size() - 4) == ":asc") {
      o.sort_field.resize(o.sort_field.size() - 4);
      o.sort_ascending = true;
    }
    bool known = false;
    for (const auto& k : keys) known = known || k.output_name == o.sort_field;
    for (const auto& a : aggs) known = known || a.output_name == o.sort_field;
    if (!known) return Usage(fmt::format("--sort: no output field named '{}'", o.sort_field));
  }
  o.top = args.count("top", 0);
  o.max_groups = args.count("max-groups", 0);
  if ((args.has("every") && o.every == 0) || (args.has("interval") && o.interval_ms == 0)) {
    return Usage("--every and --interval must be greater than 0");
  }

  gs::io::InstallSignalHandlers();
  gs::io::EnlargePipe(STDOUT_FILENO);
  gs::io::OutputWriter out(STDOUT_FILENO);
  gs::io::Reporter reporter("stream-agg");
  gs::stream::AggregateResult r = gs::stream::RunAggregate(o, &out, &reporter);

  return gs::stream::ExitCodeFor(r.status, r.source_errors, &reporter);
}
