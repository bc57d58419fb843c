// stream-filter: keep the NDJSON records that match a jq expression.
// Options come from cli::StreamFilterSpec(); the work is stream::RunFilter().
#include <fmt/core.h>
#include <unistd.h>

#include <memory>

#include "cli/args.h"
#include "cli/programs.h"
#include "expr/expr.h"
#include "io/output.h"
#include "io/report.h"
#include "io/signals.h"
#include "stream/exit.h"
#include "stream/filter.h"

namespace gs = govstream;

namespace {

int ExpressionError(const char* what, const gs::Status& s) {
  fmt::print(stderr, "stream-filter: {}: {}\n", what, s.message());
  return gs::cli::kExitUsage;
}

}  // namespace

int main(int argc, char** argv) {
  const gs::cli::ProgramSpec& spec = gs::cli::StreamFilterSpec();
  gs::cli::ParseResult parsed = gs::cli::Parse(spec, argc, argv);
  if (parsed.exit_now) return parsed.exit_code;
  const gs::cli::Args& args = parsed.args;

  std::unique_ptr<gs::expr::Expression> predicate, map;
  gs::Status s = gs::expr::Expression::Compile(args.positionals()[0], &predicate);
  if (!s.ok()) return ExpressionError("bad expression", s);

  if (args.has("map") && args.has("fields")) {
    fmt::print(stderr, "stream-filter: --map and --fields cannot be combined\n");
    return gs::cli::kExitUsage;
  }
  std::string map_text;
  if (auto m = args.str("map")) map_text = *m;
  if (auto f = args.str("fields")) {
    std::string error;
    if (!gs::stream::FieldsToExpression(*f, &map_text, &error)) {
      fmt::print(stderr, "stream-filter: {}\n", error);
      return gs::cli::kExitUsage;
    }
  }
  if (!map_text.empty()) {
    s = gs::expr::Expression::Compile(map_text, &map);
    if (!s.ok()) return ExpressionError("bad --map expression", s);
  }

  gs::stream::FilterOptions o;
  o.predicate = predicate.get();
  o.map = map.get();
  o.input = gs::stream::InputConfigFromArgs(args);
  for (size_t i = 1; i < args.positionals().size(); ++i) o.input.inputs.push_back(args.positionals()[i]);
  o.invert = args.flag("invert");
  o.count_only = args.flag("count");
  o.limit_set = args.has("limit");
  o.limit = args.count("limit", 0);
  if (std::string problem = gs::stream::ResumeOptionsProblem(args); !problem.empty()) {
    return gs::cli::UsageError(spec, problem);
  }
  // What a --state file depends on: a run with other options refuses it.
  o.state_config = fmt::format("expr={} map={} invert={}", args.positionals()[0], map_text, o.invert);

  gs::io::InstallSignalHandlers();
  gs::io::EnlargePipe(STDOUT_FILENO);
  gs::io::OutputWriter out(STDOUT_FILENO);
  gs::io::Reporter reporter("stream-filter");
  gs::stream::FilterResult r = gs::stream::RunFilter(o, &out, &reporter);

  return gs::stream::ExitCodeFor(r.status, r.source_errors, &reporter);
}
