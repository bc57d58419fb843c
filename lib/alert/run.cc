#include "alert/run.h"

#include <fmt/core.h>

#include <chrono>
#include <optional>

#include "agg/canonical.h"
#include "alert/limiter.h"
#include "alert/state_file.h"
#include "base/clock.h"
#include "expr/json.h"
#include "io/signals.h"
#include "stream/grouping.h"
#include "time/duration.h"

namespace govstream::alert {
namespace {

// Appends every part to *out (no temporaries).
template <typename... T>
void Append(std::string* out, const T&... parts) {
  (out->append(std::string_view(parts)), ...);
}

constexpr int64_t kMinTime = -(int64_t{1} << 61);
constexpr int64_t kMaxTime = int64_t{1} << 61;

std::string Shown(const expr::Value& v) {
  std::string s;
  expr::AppendJson(v, &s);
  if (s.size() > 80) s = s.substr(0, 77) + "...";
  return s;
}

// The event time of a record, or false with the reason.
bool EventTime(const AlertRunOptions& o, const expr::Value& record, expr::Arena* arena, time::Rfc3339Cache* rfc3339,
               int64_t* t, std::string* reason) {
  const std::string& text = o.time_expr->text();
  expr::Value v;
  std::string error;
  expr::Expression::Result r = o.time_expr->Eval(record, arena, &v, &error);
  if (r == expr::Expression::Result::kError) {
    *reason = "--time " + text + ": " + error + "; record skipped";
    return false;
  }
  if (r == expr::Expression::Result::kEmpty || v.is_null()) {
    *reason = "no time value (--time " + text + " is missing or null); record skipped";
    return false;
  }
  if (v.is_number()) {
    if (time::EpochToMs(v.number(), o.time_unit, t) && *t > kMinTime && *t < kMaxTime) return true;
    *reason = "bad time value " + Shown(v) + ": epoch number out of range; record skipped";
    return false;
  }
  if (v.is_string()) {
    bool ok =
        o.time_format != nullptr ? o.time_format->Parse(v.string(), t, &error) : rfc3339->Parse(v.string(), t, &error);
    if (ok && *t > kMinTime && *t < kMaxTime) return true;
    if (ok) error = "out of range";
    *reason = "bad time value " + Shown(v) + ": " + error + "; record skipped";
    return false;
  }
  *reason = "bad time value " + Shown(v) + ": not a string or number; record skipped";
  return false;
}

// A JSON value's text as a label or annotation value: strings as they are,
// anything else as its JSON text.
void AppendStringOf(std::string_view json_text, std::string* out) {
  *out += '"';
  if (json_text.size() >= 2 && json_text.front() == '"') {
    out->append(json_text.substr(1, json_text.size() - 2));  // already escaped
  } else {
    *out += io::JsonEscape(json_text);
  }
  *out += '"';
}

struct EventWriter {
  const AlertRunOptions& o;
  io::OutputWriter* out;
  std::string line;
  uint64_t firing_events = 0, repeat_events = 0, resolved_events = 0;

  // `annotations`: the object's JSON text, or empty.
  void Write(const Rule& rule, Emit emit, const Engine::Outcome& oc, int64_t now, std::string_view record,
             const std::string& annotations) {
    const bool resolved = emit == Emit::kResolved;
    if (resolved) {
      ++resolved_events;
    } else if (emit == Emit::kRepeat) {
      ++repeat_events;
    } else {
      ++firing_events;
    }
    const std::vector<std::string>& key = *oc.key_json;
    line.clear();
    if (o.output == OutputFormat::kAlertmanager) {
      Append(&line, "[{\"labels\":{\"alertname\":\"", io::JsonEscape(rule.name), "\"");
      for (size_t i = 0; i < rule.keys.size(); ++i) {
        Append(&line, ",\"", io::JsonEscape(rule.keys[i].output_name), "\":");
        AppendStringOf(key[i], &line);
      }
      for (const auto& [k, v] : rule.labels) Append(&line, ",\"", io::JsonEscape(k), "\":\"", io::JsonEscape(v), "\"");
      line += "},\"annotations\":{";
      if (!annotations.empty()) {
        // Re-read the object to turn every value into a string.
        expr::Arena arena;
        expr::Value v;
        std::string error;
        if (expr::ParseJsonSlow(annotations, &arena, &v, &error)) {
          bool first = true;
          expr::ForEachMember(v, [&](std::string_view k, const expr::Value& m) {
            line += first ? "\"" : ",\"";
            first = false;
            Append(&line, io::JsonEscape(k), "\":");
            AppendStringOf(expr::ToJson(m), &line);
            return true;
          });
        }
      }
      line += "},\"startsAt\":\"";
      time::AppendRfc3339(oc.state.firing_since, &line);
      line += "\"";
      if (resolved) {
        line += ",\"endsAt\":\"";
        time::AppendRfc3339(now, &line);
        line += "\"";
      }
      line += "}]\n";
    } else {
      line += resolved ? "{\"event\":\"resolved\"" : "{\"event\":\"firing\"";
      Append(&line, ",\"rule\":\"", io::JsonEscape(rule.name), "\",\"key\":{");
      for (size_t i = 0; i < rule.keys.size(); ++i) {
        if (i) line += ',';
        Append(&line, "\"", io::JsonEscape(rule.keys[i].output_name), "\":", key[i]);
      }
      line += "},\"since\":\"";
      time::AppendRfc3339(oc.state.active_since, &line);
      line += "\",\"at\":\"";
      time::AppendRfc3339(now, &line);
      line += "\",\"repeat\":";
      line += emit == Emit::kRepeat ? "true" : "false";
      if (!rule.labels.empty()) {
        line += ",\"labels\":{";
        bool first = true;
        for (const auto& [k, v] : rule.labels) {
          line += first ? "\"" : ",\"";
          first = false;
          Append(&line, io::JsonEscape(k), "\":\"", io::JsonEscape(v), "\"");
        }
        line += "}";
      }
      if (rule.annotations) Append(&line, ",\"annotations\":", annotations.empty() ? std::string("{}") : annotations);
      line += ",\"record\":";
      line += record;
      line += "}\n";
    }
    out->Write(line);
    if (o.input.line_buffered) out->Flush();
  }
};

}  // namespace

Status ParseThrottle(std::string_view text, uint64_t* burst, int64_t* window_ms) {
  size_t slash = text.find('/');
  auto bad = [&] {
    return Status::InvalidArgument(
        fmt::format("--throttle '{}': expected N/DUR, a burst of N records per key, then N per DUR (e.g. 5/1m)",
                    text));
  };
  if (slash == std::string_view::npos || slash == 0) return bad();
  uint64_t n = 0;
  for (char c : text.substr(0, slash)) {
    if (c < '0' || c > '9' || n > 1'000'000) return bad();
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  if (n == 0) return Status::InvalidArgument("--throttle: N must be at least 1");
  if (n > 1'000'000) return Status::InvalidArgument("--throttle: N must be at most 1000000");
  std::optional<int64_t> d = time::ParseDurationMs(text.substr(slash + 1));
  if (!d) return bad();
  if (*d <= 0) return Status::InvalidArgument("--throttle: DUR must be greater than 0");
  if (*d > int64_t{365'000} * 86'400'000) return Status::InvalidArgument("--throttle: DUR must be at most 365000d");
  *burst = n;
  *window_ms = *d;
  return Status::Ok();
}

AlertRunResult RunAlert(const AlertRunOptions& o, io::OutputWriter* out, io::Reporter* reporter) {
  AlertRunResult result;
  const bool verbs = o.rules == nullptr || o.rules->empty();
  std::function<int64_t()> clock = o.clock ? o.clock : WallMs;

  stream::RecordReader::Options ro;
  ro.max_line_bytes = o.input.max_line_bytes;
  ro.strict = o.input.strict;
  ro.before_block = [out] { out->Flush(); };
  std::unique_ptr<stream::RunState> state;
  std::unique_ptr<stream::RecordReader> reader;
  // The state does not depend on other options: each entry names its rule,
  // and RestoreStateLines refuses what no longer fits.
  result.status = stream::OpenRecords(o.input, "stream-alert", "", ro, reporter, &state, &reader);
  if (!result.status.ok()) return result;
  if (state && !verbs) {
    result.status = RestoreStateLines(o.input.resume.path, state->operator_lines(), *o.rules, o.engine);
    if (!result.status.ok()) return result;
  }
  stream::RecordReader& records = *reader;
  stream::Checkpointer checkpoints(state.get(), out, &records.lines(), [&] {
    return verbs ? std::vector<std::string>{} : StateLines(*o.rules, *o.engine);
  });
  reporter->set_before_print([out] { out->Flush(); });
  io::Stats stats;
  io::Progress progress(o.input.progress);
  time::Rfc3339Cache rfc3339;
  EventWriter writer{o, out, {}};
  std::string canonical, reason, error, identity, annotations;
  std::vector<std::string> key_json;
  uint64_t passed = 0, deduped = 0, throttled = 0;
  std::optional<Deduper> deduper;
  std::optional<Throttler> throttler;
  if (o.dedupe_ms > 0) deduper.emplace(o.dedupe_ms, o.max_keys);
  if (o.throttle_burst > 0) throttler.emplace(o.throttle_burst, o.throttle_window_ms, o.max_keys);
  bool overflow_reported = false;
  auto report_overflow = [&](uint64_t overflow) {
    if (overflow > 0 && !overflow_reported) {
      overflow_reported = true;
      reporter->Error(fmt::format(
          "more than {} keys (--max-keys): {}", o.max_keys,
          verbs && !throttler ? "records of further new keys pass without deduplication (counted: overflow_keys)"
                              : "further new keys are counted under the key \"(other)\" (overflow_keys)"));
    }
  };

  // A commit (Tick) comes before the next record is read: the keys' states
  // then account for exactly the records up to the positions it records.
  while (!out->failed() && (checkpoints.Tick(), records.Next())) {
    records.ShowProgress(&progress);
    int64_t now = 0;
    if (o.time_expr == nullptr) {
      now = clock();
    } else if (!EventTime(o, records.value(), records.arena(), &rfc3339, &now, &reason)) {
      if (!records.ReportCurrent(io::Problem::kEvalError, reason)) break;
      continue;
    }

    if (verbs) {
      if (!stream::EvalGroupKey(*o.keys, records.value(), records.arena(), &canonical, &key_json, &error)) {
        if (!records.ReportCurrent(io::Problem::kEvalError, "--by: " + error + "; record skipped")) break;
        continue;
      }
      if (deduper) {
        identity = canonical;
        identity += '\n';
        if (o.dedupe_fields != nullptr) {
          expr::Value v;
          expr::Expression::Result r = o.dedupe_fields->Eval(records.value(), records.arena(), &v, &error);
          if (r == expr::Expression::Result::kError) {
            if (!records.ReportCurrent(io::Problem::kEvalError, "--fields: " + error + "; record skipped")) break;
            continue;
          }
          agg::AppendCanonical(v, &identity);
        } else {
          agg::AppendCanonical(records.value(), &identity);
        }
        bool pass = deduper->Admit(identity, now);
        report_overflow(deduper->overflow());
        if (!pass) {
          ++deduped;
          continue;
        }
      }
      if (throttler) {
        bool pass = throttler->Admit(canonical, now);
        report_overflow(throttler->overflow());
        if (!pass) {
          ++throttled;
          continue;
        }
      }
      ++passed;
      out->Write(records.line());
      out->Put('\n');
      if (o.input.line_buffered) out->Flush();
      continue;
    }

    bool stop = false;
    for (size_t r = 0; r < o.rules->size() && !stop; ++r) {
      const Rule& rule = (*o.rules)[r];
      expr::Expression::Result t = rule.when->Test(records.value(), records.arena(), &error);
      if (t == expr::Expression::Result::kError) {
        stop = !records.ReportCurrent(io::Problem::kEvalError,
                                      fmt::format("rule '{}': {}; record skipped for this rule", rule.name, error));
        continue;
      }
      bool condition = t == expr::Expression::Result::kValue;
      if (!condition && o.engine->Empty(r)) continue;  // nothing is kept: nothing changes
      if (!stream::EvalGroupKey(rule.keys, records.value(), records.arena(), &canonical, &key_json, &error)) {
        stop = !records.ReportCurrent(
            io::Problem::kEvalError, fmt::format("rule '{}': --by: {}; record skipped for this rule", rule.name, error));
        continue;
      }
      Engine::Outcome oc = o.engine->Observe(r, canonical, key_json, condition, now);
      if (oc.overflow) report_overflow(o.engine->overflow());
      if (oc.emit == Emit::kNothing) continue;
      annotations.clear();
      if (rule.annotations) {
        expr::Value v;
        expr::Expression::Result a = rule.annotations->Eval(records.value(), records.arena(), &v, &error);
        if (a == expr::Expression::Result::kError || (a == expr::Expression::Result::kValue && !v.is_object())) {
          std::string why = a == expr::Expression::Result::kError
                                ? error
                                : std::string("the value is ") + v.type_name() + ", not an object";
          stop = !records.ReportCurrent(
              io::Problem::kEvalError,
              fmt::format("rule '{}': annotations: {}; the event is written without them", rule.name, why));
        } else if (a == expr::Expression::Result::kValue) {
          expr::AppendJson(v, &annotations);
        }
      }
      writer.Write(rule, oc.emit, oc, now, records.line(), annotations);
    }
    if (stop) break;
  }

  records.FinishProgress(&progress);
  out->Flush();
  result.source_errors = records.source_errors();
  result.status = out->failed() ? out->status() : records.status();
  if (result.status.ok() && io::InterruptRequested()) result.status = Status::Interrupted();
  if (!verbs) {
    result.firing = o.engine->firing();
    if (o.engine->late() > 0) {
      reporter->Error(fmt::format(
          "{} record(s) were older than the latest record of their alert key and did not change its state "
          "(counted: late)",
          o.engine->late()));
    }
  }
  // The state is committed only once the events it accounts for are out.
  Status c = checkpoints.Finish(result.status);
  if (!c.ok()) result.status = c;
  reporter->Finish();
  stats.records_in = records.records();
  stats.bytes_in = records.lines().bytes_read();
  stats.boms_skipped = records.lines().boms_skipped();
  if (o.input.stats) {
    std::string extra;
    if (verbs) {
      stats.records_out = passed;
      extra = fmt::format(",\"deduped\":{},\"throttled\":{},\"keys\":{},\"overflow_keys\":{}", deduped, throttled,
                          (deduper ? deduper->size() : 0) + (throttler ? throttler->size() : 0),
                          (deduper ? deduper->overflow() : 0) + (throttler ? throttler->overflow() : 0));
    } else {
      stats.records_out = writer.firing_events + writer.repeat_events + writer.resolved_events;
      extra = fmt::format(
          ",\"rules\":{},\"firing_events\":{},\"repeat_events\":{},\"resolved_events\":{},\"keys\":{},"
          "\"firing\":{},\"late\":{},\"overflow_keys\":{}",
          o.rules->size(), writer.firing_events, writer.repeat_events, writer.resolved_events, o.engine->keys(),
          result.firing, o.engine->late(), o.engine->overflow());
    }
    extra += stream::StateStatsJson(state.get());
    fmt::print(stderr, "{}\n", stats.ToJson(*reporter, extra));
  }
  return result;
}

}  // namespace govstream::alert
