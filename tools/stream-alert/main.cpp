// stream-alert: alert state per key (pending, firing, resolved) for NDJSON,
// and the dedupe / throttle pipeline verbs.
// Options come from cli::StreamAlertSpec(); the work is alert::RunAlert().
#include <fmt/core.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "agg/spec.h"
#include "alert/engine.h"
#include "alert/rules.h"
#include "alert/run.h"
#include "alert/state_file.h"
#include "cli/args.h"
#include "cli/programs.h"
#include "expr/expr.h"
#include "io/output.h"
#include "io/report.h"
#include "io/signals.h"
#include "stream/exit.h"
#include "stream/filter.h"
#include "time/timestamp.h"

namespace gs = govstream;

namespace {

int Usage(const std::string& message) { return gs::cli::UsageError(gs::cli::StreamAlertSpec(), message); }

}  // namespace

int main(int argc, char** argv) {
  gs::cli::ParseResult parsed = gs::cli::Parse(gs::cli::StreamAlertSpec(), argc, argv);
  if (parsed.exit_now) return parsed.exit_code;
  const gs::cli::Args& args = parsed.args;

  // Which mode: one rule, a rules file, or the verbs.
  const bool verbs = args.has("dedupe") || args.has("throttle");
  int modes = (args.has("when") ? 1 : 0) + (args.has("rules") ? 1 : 0) + (verbs ? 1 : 0);
  if (modes == 0) return Usage("nothing to do: give --when EXPR, --rules FILE, --dedupe DUR or --throttle N/DUR");
  if (modes > 1) return Usage("--when, --rules and the verbs (--dedupe, --throttle) cannot be combined");
  const char* rule_options[] = {"name", "for", "keep-firing-for", "repeat", "label", "annotations"};
  if (!args.has("when")) {
    for (const char* o : rule_options) {
      if (args.has(o)) return Usage(fmt::format("--{} belongs to a rule given with --when", o));
    }
  }
  if (args.has("rules") && args.has("by")) return Usage("--by belongs to a rule: give \"by\" in the rules file");
  if (verbs) {
    for (const char* o : {"state", "state-reset", "state-wait", "rotated", "output"}) {
      if (args.has(o)) return Usage(fmt::format("--{} applies to alert rules, not to --dedupe or --throttle", o));
    }
  }
  if (args.has("fields") && !args.has("dedupe")) return Usage("--fields needs --dedupe DUR");
  if (std::string problem = gs::stream::ResumeOptionsProblem(args); !problem.empty()) return Usage(problem);

  // Rules.
  std::vector<gs::alert::Rule> rules;
  if (args.has("when") || args.has("rules")) {
    std::vector<gs::alert::RuleText> texts;
    if (auto path = args.str("rules")) {
      gs::Status s = gs::alert::ReadRulesFile(*path, &texts);
      if (!s.ok()) {
        if (s.code() == gs::Status::Code::kIoError) {
          fmt::print(stderr, "stream-alert: {}\n", s.message());
          return gs::cli::kExitIo;
        }
        return Usage(s.message());
      }
    } else {
      gs::alert::RuleText t;
      t.name = args.str("name").value_or("alert");
      t.when = *args.str("when");
      t.by = args.strs("by");
      t.for_text = args.str("for").value_or("");
      t.keep_firing_for_text = args.str("keep-firing-for").value_or("");
      t.repeat_text = args.str("repeat").value_or("");
      t.annotations = args.str("annotations").value_or("");
      for (const std::string& l : args.strs("label")) {
        std::pair<std::string, std::string> label;
        gs::Status s = gs::alert::ParseLabel(l, &label);
        if (!s.ok()) return Usage(s.message());
        t.labels.push_back(std::move(label));
      }
      texts.push_back(std::move(t));
    }
    for (const gs::alert::RuleText& t : texts) {
      gs::alert::Rule r;
      gs::Status s = gs::alert::CompileRule(t, &r);
      if (!s.ok()) return Usage(s.message());
      rules.push_back(std::move(r));
    }
    gs::Status s = gs::alert::CheckRuleNames(rules);
    if (!s.ok()) return Usage(s.message());
  }

  // The verbs.
  gs::alert::AlertRunOptions o;
  std::vector<gs::agg::KeySpec> keys;
  std::unique_ptr<gs::expr::Expression> fields;
  if (verbs) {
    std::vector<std::string> by = args.strs("by");
    for (size_t i = 0; i < by.size(); ++i) {
      gs::agg::KeySpec k;
      gs::Status s = gs::agg::ParseKeySpec(by[i], i, &k);
      if (!s.ok()) return Usage("--by: " + s.message());
      keys.push_back(std::move(k));
    }
    if (args.has("dedupe")) {
      o.dedupe_ms = args.duration_ms("dedupe", 0);
      if (o.dedupe_ms <= 0) return Usage("--dedupe must be greater than 0");
    }
    if (auto f = args.str("fields")) {
      std::string text, error;
      if (!gs::stream::FieldsToExpression(*f, &text, &error)) return Usage(error);
      gs::Status s = gs::expr::Expression::Compile(text, &fields);
      if (!s.ok()) return Usage("--fields: " + s.message());
    }
    if (auto t = args.str("throttle")) {
      gs::Status s = gs::alert::ParseThrottle(*t, &o.throttle_burst, &o.throttle_window_ms);
      if (!s.ok()) return Usage(s.message());
    }
  }

  // Time.
  std::unique_ptr<gs::expr::Expression> time_expr;
  if (auto t = args.str("time")) {
    gs::Status s = gs::expr::Expression::Compile(*t, &time_expr);
    if (!s.ok()) return Usage("--time '" + *t + "': " + s.message());
  } else {
    for (const char* opt : {"time-unit", "time-format"}) {
      if (args.has(opt)) return Usage(fmt::format("--{} applies to event time: give --time EXPR", opt));
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

  std::vector<gs::alert::RuleTiming> timings;
  for (const gs::alert::Rule& r : rules) timings.push_back(r.timing);
  const uint64_t max_keys = args.count("max-keys", 100000);
  gs::alert::Engine engine(rules.size(), timings, max_keys);
  o.input = gs::stream::InputConfigFromArgs(args);
  if (args.has("debug-pause-before-rename")) {
    int64_t ms = args.duration_ms("debug-pause-before-rename", 0);
    o.input.resume.before_rename = [ms](const std::string& tmp) {
      fmt::print(stderr, "stream-alert: wrote {}; pausing before the rename\n", tmp);
      std::fflush(stderr);
      std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    };
  }

  o.rules = &rules;
  o.engine = &engine;
  o.time_expr = time_expr.get();
  o.time_unit = unit;
  o.time_format = format ? &*format : nullptr;
  o.output = args.str("output").value_or("ndjson") == "alertmanager" ? gs::alert::OutputFormat::kAlertmanager
                                                                    : gs::alert::OutputFormat::kNdjson;
  o.keys = &keys;
  o.dedupe_fields = fields.get();
  o.max_keys = max_keys;

  gs::io::InstallSignalHandlers();
  gs::io::EnlargePipe(STDOUT_FILENO);
  gs::io::OutputWriter out(STDOUT_FILENO);
  gs::io::Reporter reporter("stream-alert");
  gs::alert::AlertRunResult r = gs::alert::RunAlert(o, &out, &reporter);

  int code = gs::stream::ExitCodeFor(r.status, r.source_errors, &reporter);
  if ((code == gs::cli::kExitOk || code == gs::cli::kExitSkipped) && r.firing > 0) return gs::cli::kExitFiring;
  return code;
}
