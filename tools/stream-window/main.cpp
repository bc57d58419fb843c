// stream-window: aggregation over time windows of NDJSON records.
// Options come from cli::StreamWindowSpec(); the work is stream::RunWindow().
#include <fcntl.h>
#include <fmt/core.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <vector>

#include "agg/aggregator.h"
#include "agg/spec.h"
#include "cli/args.h"
#include "cli/programs.h"
#include "expr/expr.h"
#include "io/output.h"
#include "io/report.h"
#include "io/signals.h"
#include "stream/exit.h"
#include "stream/window.h"
#include "time/duration.h"
#include "time/timestamp.h"

namespace gs = govstream;

namespace {

int Usage(const std::string& message) { return gs::cli::UsageError(gs::cli::StreamWindowSpec(), message); }

}  // namespace

int main(int argc, char** argv) {
  gs::cli::ParseResult parsed = gs::cli::Parse(gs::cli::StreamWindowSpec(), argc, argv);
  if (parsed.exit_now) return parsed.exit_code;
  const gs::cli::Args& args = parsed.args;

  if (args.flag("list")) {
    fmt::print("{}", gs::agg::RegistryListing());
    return gs::cli::kExitOk;
  }

  // Durations up to 1000 years (so that time arithmetic cannot overflow).
  constexpr int64_t kMaxDurationMs = int64_t{365'000} * 86'400'000;
  for (const char* o : {"tumbling", "sliding", "slide", "session", "offset", "max-delay", "allowed-lateness",
                        "idle-timeout", "every"}) {
    if (args.duration_ms(o, 0) > kMaxDurationMs) return Usage(fmt::format("--{} must be at most 365000d", o));
  }

  // The window.
  gs::window::WindowSpec w;
  int kinds = 0;
  for (const char* k : {"tumbling", "sliding", "session", "count"}) kinds += args.has(k) ? 1 : 0;
  if (kinds == 0) return Usage("no window given: use one of --tumbling DUR, --sliding DUR --slide DUR, --session GAP, --count N");
  if (kinds > 1) return Usage("only one of --tumbling, --sliding, --session and --count may be given");
  if (args.has("tumbling")) {
    w.kind = gs::window::Kind::kTumbling;
    w.size_ms = w.slide_ms = args.duration_ms("tumbling", 0);
    if (w.size_ms <= 0) return Usage("--tumbling must be greater than 0");
  } else if (args.has("sliding")) {
    w.kind = gs::window::Kind::kSliding;
    w.size_ms = args.duration_ms("sliding", 0);
    if (w.size_ms <= 0) return Usage("--sliding must be greater than 0");
    if (!args.has("slide")) return Usage("--sliding needs --slide DUR (how often a window starts)");
    w.slide_ms = args.duration_ms("slide", 0);
    if (w.slide_ms <= 0) return Usage("--slide must be greater than 0");
    if (w.slide_ms > w.size_ms) {
      return Usage(fmt::format("--slide ({}) must not be longer than the window (--sliding {})",
                               gs::time::FormatDurationMs(w.slide_ms), gs::time::FormatDurationMs(w.size_ms)));
    }
  } else if (args.has("session")) {
    w.kind = gs::window::Kind::kSession;
    w.gap_ms = args.duration_ms("session", 0);
    if (w.gap_ms <= 0) return Usage("--session must be greater than 0");
  } else {
    w.kind = gs::window::Kind::kCount;
    w.count = args.count("count", 0);
    if (w.count == 0) return Usage("--count must be greater than 0");
  }
  if (args.has("slide") && w.kind != gs::window::Kind::kSliding) return Usage("--slide needs --sliding DUR");
  if (args.has("offset") && w.kind != gs::window::Kind::kTumbling && w.kind != gs::window::Kind::kSliding) {
    return Usage("--offset applies to --tumbling and --sliding windows only");
  }
  w.offset_ms = args.duration_ms("offset", 0);
  w.allowed_lateness_ms = args.duration_ms("allowed-lateness", 0);

  // Time.
  std::unique_ptr<gs::expr::Expression> time_expr;
  if (auto t = args.str("time")) {
    gs::Status s = gs::expr::Expression::Compile(*t, &time_expr);
    if (!s.ok()) return Usage("--time '" + *t + "': " + s.message());
  } else {
    for (const char* o : {"time-unit", "time-format", "max-delay", "allowed-lateness", "late-output",
                          "idle-timeout"}) {
      if (args.has(o)) {
        return Usage(fmt::format("--{} applies to event time: give --time EXPR (without it, windows are in "
                                 "processing time)",
                                 o));
      }
    }
  }
  if (w.kind == gs::window::Kind::kCount) {
    for (const char* o : {"max-delay", "allowed-lateness", "late-output", "idle-timeout"}) {
      if (args.has(o)) return Usage(fmt::format("--{} does not apply to --count windows", o));
    }
  }
  gs::time::TimeUnit unit = gs::time::TimeUnit::kSeconds;
  if (auto u = args.str("time-unit")) unit = *gs::time::ParseTimeUnit(*u);
  std::optional<gs::time::TimeFormat> format;
  if (auto f = args.str("time-format")) {
    format.emplace();
    gs::Status s = gs::time::TimeFormat::Compile(*f, &*format);
    if (!s.ok()) return Usage(s.message());
  }

  // Emit policy.
  std::string emit = args.str("emit").value_or("final");
  int64_t every = 0;
  if (emit == "changes") {
    if (!args.has("every")) return Usage("--emit changes needs --every DUR (how often to write early results)");
    every = args.duration_ms("every", 0);
    if (every <= 0) return Usage("--every must be greater than 0");
  } else if (args.has("every")) {
    return Usage("--every needs --emit changes");
  }
  if (args.has("idle-timeout") && args.duration_ms("idle-timeout", 0) <= 0) {
    return Usage("--idle-timeout must be greater than 0");
  }

  // Keys and aggregates.
  if (args.positionals().empty()) return Usage("no aggregate given (e.g. count, 'avg(.latency_ms)'; see --list)");
  std::vector<gs::agg::KeySpec> keys;
  std::vector<gs::agg::AggSpec> aggs;
  gs::Status grouping = gs::agg::ParseGrouping(args.strs("by"), args.positionals(), args.flag("exact"), &keys, &aggs);
  if (!grouping.ok()) return Usage(grouping.message());
  for (const char* reserved : {"window_start", "window_end", "mark"}) {
    bool clash = false;
    for (const auto& k : keys) clash = clash || k.output_name == reserved;
    for (const auto& a : aggs) clash = clash || a.output_name == reserved;
    if (clash) return Usage(fmt::format("the output field '{}' is reserved for the window; name the key or "
                                        "aggregate otherwise (NAME=...)",
                                        reserved));
  }

  gs::stream::WindowRunOptions o;
  o.keys = &keys;
  o.aggs = &aggs;
  o.input = gs::stream::InputConfigFromArgs(args);
  o.window = w;
  o.time_expr = time_expr.get();
  o.time_unit = unit;
  o.time_format = format ? &*format : nullptr;
  o.max_delay_ms = args.duration_ms("max-delay", 0);
  o.idle_timeout_ms = args.duration_ms("idle-timeout", 0);
  o.every_ms = every;
  o.max_groups = args.count("max-groups", 0);

  if (std::string problem = gs::stream::ResumeOptionsProblem(args); !problem.empty()) return Usage(problem);
  // What a --state file depends on: a run with other options refuses it.
  o.state_config = fmt::format(
      "window={}:{}:{}:{}:{} offset={} lateness={} time={} unit={} format={} max_delay={} idle={} every={} by={} "
      "aggs={} exact={} max_groups={}",
      static_cast<int>(w.kind), w.size_ms, w.slide_ms, w.gap_ms, w.count, w.offset_ms, w.allowed_lateness_ms,
      args.str("time").value_or(""), args.str("time-unit").value_or(""), args.str("time-format").value_or(""),
      o.max_delay_ms, o.idle_timeout_ms, o.every_ms, gs::io::JsonArray(args.strs("by")),
      gs::io::JsonArray(args.positionals()), args.flag("exact"), o.max_groups);

  gs::io::InstallSignalHandlers();
  std::unique_ptr<gs::io::OutputWriter> late;
  int late_fd = -1;
  if (auto path = args.str("late-output")) {
    // With --state, runs add to the late records of the runs before (read
    // too: a cut last record is trimmed below).
    late_fd = ::open(path->c_str(), O_CREAT | O_CLOEXEC | (args.has("state") ? O_RDWR | O_APPEND : O_WRONLY | O_TRUNC),
                     0644);
    if (late_fd < 0) {
      fmt::print(stderr, "stream-window: cannot open --late-output {}: {}\n", *path, std::strerror(errno));
      return gs::cli::kExitIo;
    }
    if (args.has("state")) {
      // A record a killed run left cut is written again by this one.
      gs::Status s = gs::io::TrimPartialLastLine(late_fd, *path);
      if (!s.ok()) {
        fmt::print(stderr, "stream-window: --late-output: {}\n", s.message());
        return gs::cli::kExitIo;
      }
    }
    late = std::make_unique<gs::io::OutputWriter>(late_fd);
    o.late_output = late.get();
    o.late_output_name = *path;
  }
  gs::io::EnlargePipe(STDOUT_FILENO);
  gs::io::OutputWriter out(STDOUT_FILENO);
  gs::io::Reporter reporter("stream-window");
  gs::stream::WindowRunResult r = gs::stream::RunWindow(o, &out, &reporter);
  late.reset();
  if (late_fd >= 0) ::close(late_fd);

  return gs::stream::ExitCodeFor(r.status, r.source_errors, &reporter);
}
