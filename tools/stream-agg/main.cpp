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

int Usage(const std::string& message) { return gs::cli::UsageError(gs::cli::StreamAggSpec(), message); }

}  // namespace

int main(int argc, char** argv) {
  gs::cli::ParseResult parsed = gs::cli::Parse(gs::cli::StreamAggSpec(), argc, argv);
  if (parsed.exit_now) return parsed.exit_code;
  const gs::cli::Args& args = parsed.args;

  if (args.flag("list")) {
    fmt::print("{}", gs::agg::RegistryListing());
    return gs::cli::kExitOk;
  }
  if (args.positionals().empty()) return Usage("no aggregate given (e.g. count, 'avg(.latency_ms)'; see --list)");

  std::vector<gs::agg::KeySpec> keys;
  std::vector<gs::agg::AggSpec> aggs;
  gs::Status grouping = gs::agg::ParseGrouping(args.strs("by"), args.positionals(), args.flag("exact"), &keys, &aggs);
  if (!grouping.ok()) return Usage(grouping.message());

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

  if (std::string problem = gs::stream::ResumeOptionsProblem(args); !problem.empty()) return Usage(problem);
  // What a --state file depends on: a run with other options refuses it.
  o.state_config = fmt::format("by={} aggs={} exact={} max_groups={} reset={}", gs::io::JsonArray(args.strs("by")),
                               gs::io::JsonArray(args.positionals()), args.flag("exact"), o.max_groups, o.reset);

  gs::io::InstallSignalHandlers();
  gs::io::EnlargePipe(STDOUT_FILENO);
  gs::io::OutputWriter out(STDOUT_FILENO);
  gs::io::Reporter reporter("stream-agg");
  gs::stream::AggregateResult r = gs::stream::RunAggregate(o, &out, &reporter);

  return gs::stream::ExitCodeFor(r.status, r.source_errors, &reporter);
}
