#include "stream/window.h"

#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <memory>

#include "agg/groups.h"
#include "base/clock.h"
#include "expr/json.h"
#include "expr/projection.h"
#include "io/signals.h"
#include "stream/grouping.h"
#include "stream/parallel.h"
#include "time/duration.h"
#include "window/operator.h"

namespace govstream::stream {
namespace {

// The event time from the --time expression's result (r, v, error), or
// false with the reason.
bool EventTimeOf(const WindowRunOptions& o, expr::Expression::Result r, const expr::Value& v, std::string error,
                 time::Rfc3339Cache* rfc3339, int64_t* t, std::string* reason) {
  const std::string& text = o.time_expr->text();
  if (r == expr::Expression::Result::kError) {
    *reason = "--time " + text + ": " + error + "; record skipped";
    return false;
  }
  if (r == expr::Expression::Result::kEmpty || v.is_null()) {
    *reason = "no time value (--time " + text + " is missing or null); record skipped";
    return false;
  }
  if (v.is_number()) {
    if (time::EpochToMs(v.number(), o.time_unit, t) && *t > window::kMinTime / 2 && *t < window::kMaxTime / 2) {
      return true;
    }
    *reason = "bad time value ";
    expr::AppendJson(v, reason);
    reason->append(": epoch number out of range; record skipped");
    return false;
  }
  if (v.is_string()) {
    bool ok =
        o.time_format != nullptr ? o.time_format->Parse(v.string(), t, &error) : rfc3339->Parse(v.string(), t, &error);
    if (ok && *t > window::kMinTime / 2 && *t < window::kMaxTime / 2) return true;
    if (ok) error = "out of range";
    *reason = "bad time value ";
    std::string shown;
    expr::AppendJson(v, &shown);
    if (shown.size() > 80) shown = shown.substr(0, 77) + "...";
    reason->append(shown);
    reason->append(": ");
    reason->append(error);
    reason->append("; record skipped");
    return false;
  }
  *reason = "bad time value ";
  std::string shown;
  expr::AppendJson(v, &shown);
  if (shown.size() > 80) shown = shown.substr(0, 77) + "...";
  reason->append(shown);
  reason->append(": not a string or number; record skipped");
  return false;
}

// The event time of a record, or false with the reason.
bool EventTime(const WindowRunOptions& o, const expr::Value& record, expr::Arena* arena, time::Rfc3339Cache* rfc3339,
               int64_t* t, std::string* reason) {
  expr::Value v;
  std::string error;
  expr::Expression::Result r = o.time_expr->Eval(record, arena, &v, &error);
  return EventTimeOf(o, r, v, std::move(error), rfc3339, t, reason);
}

// Evaluates the time, aggregate arguments and keys of a line on a worker
// thread (ParallelLines), in the order and with the reasons of the
// one-thread loop below, and passes them on as: the event time (8 bytes),
// then EncodeKeyArgs().
class WindowWorker final : public RecordWorker {
 public:
  explicit WindowWorker(const WindowRunOptions& o) : o_(o), key_json_(o.keys->size()) {}
  void Process(std::string_view line, LineOutcome* oc, std::string* out, std::string* text) override {
    expr::Value v;
    if (!ParseRecord(line, &v, oc, text)) return;
    int64_t t = 0;
    if ((o_.time_expr != nullptr && !EventTime(o_, v, &arena_, &rfc3339_, &t, &error_)) ||
        !EvalAggregateArgs(*o_.aggs, v, &arena_, &args_, &error_) ||
        !EvalGroupKey(*o_.keys, v, &arena_, &canonical_, &key_json_, &error_)) {
      return Problem(io::Problem::kEvalError, oc, text);
    }
    const size_t begin = out->size();
    out->append(reinterpret_cast<const char*>(&t), sizeof t);
    EncodeKeyArgs(canonical_, key_json_, args_, out);
    Keep(begin, *out, oc);
  }

 private:
  const WindowRunOptions& o_;
  time::Rfc3339Cache rfc3339_;
  std::string canonical_;
  std::vector<std::string> key_json_;
  std::vector<AggArg> args_;
};

}  // namespace

WindowRunResult RunWindow(const WindowRunOptions& o, io::OutputWriter* out, io::Reporter* reporter) {
  WindowRunResult result;
  const auto& keys = *o.keys;
  const auto& aggs = *o.aggs;
  const bool processing = o.time_expr == nullptr;
  const bool need_clock = processing || o.idle_timeout_ms > 0;

  window::OperatorOptions oo;
  oo.window = o.window;
  oo.aggs = o.aggs;
  oo.key_fields = keys.size();
  oo.max_groups = o.max_groups;
  oo.processing_time = processing;
  oo.max_delay_ms = o.max_delay_ms;
  oo.idle_timeout_ms = o.idle_timeout_ms;
  oo.every_ms = o.every_ms;

  std::string line;
  window::WindowOperator op(oo, [&](const window::Result& r, const window::KeyEntry& k) {
    line.clear();
    line += "{\"window_start\":\"";
    time::AppendRfc3339(r.start, &line);
    line += "\",\"window_end\":\"";
    time::AppendRfc3339(r.end, &line);
    line += "\",";
    AppendGroupFields(keys, k.key_json, aggs, *r.states, &line);
    line += ",\"mark\":\"";
    line += window::MarkName(r.mark);
    line += "\"}\n";
    out->Write(line);
    if (o.input.line_buffered) out->Flush();
  });

  RecordReader::Options ro;
  ro.max_line_bytes = o.input.max_line_bytes;
  ro.strict = o.input.strict;
  ro.before_block = [out, &o] {
    out->Flush();
    if (o.late_output != nullptr) o.late_output->Flush();
  };
  if (need_clock) {
    int64_t tick = 100;
    if (o.idle_timeout_ms > 0) tick = std::min<int64_t>(tick, std::max<int64_t>(o.idle_timeout_ms / 2, 10));
    if (processing) {
      int64_t unit = o.window.kind == window::Kind::kSession   ? o.window.gap_ms
                     : o.window.kind == window::Kind::kSliding ? std::min(o.window.slide_ms, o.window.size_ms)
                                                               : o.window.size_ms;
      if (unit > 0) tick = std::min<int64_t>(tick, std::max<int64_t>(unit / 4, 10));
    }
    ro.idle_tick_ms = tick;
    ro.on_idle_tick = [&] {
      op.OnWallClock(WallMs());
      out->Flush();
      return !out->failed();
    };
  }
  std::unique_ptr<expr::Projection> projection;
  std::unique_ptr<expr::FieldSlots> slots;
  SlotMap slot_map;
  if (o.input.trust_input) {
    std::vector<const expr::Expression*> used;
    if (o.time_expr != nullptr) used.push_back(o.time_expr);
    for (const agg::KeySpec& k : keys) used.push_back(k.expr.get());
    for (const agg::AggSpec& a : aggs) {
      if (a.arg) used.push_back(a.arg.get());
    }
    projection = expr::Projection::Analyze(used);
    ro.projection = projection.get();
    slots = AnalyzeSlots(o.time_expr, keys, aggs, &slot_map);
    ro.slots = slots.get();
  }
  std::unique_ptr<RunState> state;
  std::unique_ptr<RecordReader> reader;
  result.status = OpenRecords(o.input, "stream-window", o.state_config, ro, reporter, &state, &reader);
  if (!result.status.ok()) return result;
  if (state) {
    std::string why;
    if (!op.Load(state->operator_lines(), &why)) {
      result.status = Status(Status::Code::kBadState,
                             fmt::format("{}: {}; the file is left as it is (--state-reset starts afresh)",
                                         o.input.resume.path, why));
      return result;
    }
  }
  RecordReader& records = *reader;
  Checkpointer checkpoints(state.get(), out, &records.lines(), [&] {
    // Late records written so far are flushed with the output they go with.
    if (o.late_output != nullptr) o.late_output->Flush();
    std::vector<std::string> lines;
    op.Save(&lines);
    return lines;
  });
  reporter->set_before_print([out] { out->Flush(); });
  io::Stats stats;
  io::Progress progress(o.input.progress);
  std::vector<AggSkips> skips(aggs.size());
  std::string error, canonical, reason;
  std::vector<std::string> key_json(keys.size());
  std::vector<AggArg> args;  // the aggregates' arguments of the current record
  const bool string_keyed = keys.size() == 1;
  bool overflow_reported = false;
  window::OperatorStats peak;
  auto sample = [&] {
    window::OperatorStats s = op.stats();
    peak.open_windows = std::max(peak.open_windows, s.open_windows);
    peak.buckets = std::max(peak.buckets, s.buckets);
    peak.keys = std::max(peak.keys, s.keys);
    peak.memory_bytes = std::max(peak.memory_bytes, s.memory_bytes);
    return s;
  };

  // A record's time and key found: into its window (or --late-output), then
  // the watermark moves on. `values`: read through slots, else `args`.
  auto place = [&](int64_t t, window::KeyId key, std::string_view line, const expr::Value* values,
                   uint64_t records_read) {
    const int64_t now = need_clock ? WallMs() : 0;
    const window::States* states = op.Assign(t, now, key);
    if (states == nullptr) {  // later than the allowed lateness
      if (o.late_output != nullptr) o.late_output->WriteLine(line);
      return;
    }
    if (op.keys_overflowed() && !overflow_reported) {
      overflow_reported = true;
      reporter->Error(OverflowMessage(o.max_groups));
    }
    if (values != nullptr) {
      FeedAggregatesFromSlots(aggs, slot_map, values, *states, &skips);
    } else {
      FeedAggregates(aggs, args, *states, &skips);
    }
    op.Commit(now);
    if ((records_read & 0xffff) == 0) sample();
  };
  // A key not found by FindString: interned by its canonical encoding (and
  // remembered by the raw bytes `s` of its one string field, when set).
  auto intern = [&](const std::string_view* s) {
    window::KeyId key = op.keys().Intern(canonical, key_json);
    if (s != nullptr) op.keys().RememberString(*s, key);
    return key;
  };

  // With worker threads (not with --trust-input, which reads with one):
  // they parse and evaluate; the records are placed here, in input order,
  // so every window, watermark and late record is as with one thread. (In
  // processing time a record's time is the wall clock when it is placed.)
  // A --state commit between chunks has the positions of the lines applied.
  std::unique_ptr<ParallelLines> par;
  if (o.input.threads > 1 && !o.input.trust_input) {
    ParallelOptions po = ParallelOptionsFor(o.input);
    po.make_worker = [&o] { return std::make_unique<WindowWorker>(o); };
    expr::Arena arena;
    std::string_view canonical_key;
    po.on_kept = [&](std::string_view bytes, std::string_view line) {
      int64_t t;
      std::memcpy(&t, bytes.data(), sizeof t);
      size_t pos = sizeof t;
      arena.Reset();
      DecodeKeyArgs(bytes, &pos, aggs.size(), &canonical_key, &key_json, &args, &arena);
      // A string key whose JSON text has no escapes is its raw bytes, quoted.
      std::string_view raw;
      const bool by_string = string_keyed && key_json[0].size() >= 2 && key_json[0][0] == '"' &&
                             key_json[0].find('\\') == std::string::npos;
      window::KeyId key = window::kNoKey;
      if (by_string) {
        raw = std::string_view(key_json[0]).substr(1, key_json[0].size() - 2);
        key = op.keys().FindString(raw);
      }
      if (key == window::kNoKey) {
        canonical.assign(canonical_key);
        key = intern(by_string ? &raw : nullptr);
      }
      place(t, key, line, nullptr, par->records());
      return !out->failed();
    };
    po.before_block = ro.before_block;
    po.idle_tick_ms = ro.idle_tick_ms;
    po.on_idle_tick = ro.on_idle_tick;
    po.after_chunk = [&] {
      par->ShowProgress(&progress);
      checkpoints.Poll();
    };
    par = std::make_unique<ParallelLines>(records.lines().sources(), std::move(po), reporter);
    checkpoints.set_positions([p = par.get()]() -> const auto& { return p->applied_positions(); });
    par->Run();
  }

  time::Rfc3339Cache rfc3339;
  // A commit (Tick) comes before the next record is read: the operator then
  // holds exactly the records up to the positions it records.
  while (!par && !out->failed() && (checkpoints.Tick(), records.Next())) {
    records.ShowProgress(&progress);
    int64_t t = 0;
    const expr::Value* values = records.fast() ? records.slot_values() : nullptr;
    if (!processing &&
        !(values != nullptr ? EventTimeOf(o, expr::Expression::Result::kValue, values[slot_map.time_slot],
                                          std::string(), &rfc3339, &t, &reason)
                            : EventTime(o, records.value(), records.arena(), &rfc3339, &t, &reason))) {
      if (!records.ReportCurrent(io::Problem::kEvalError, reason)) break;
      continue;
    }
    if (values == nullptr && !EvalAggregateArgs(aggs, records.value(), records.arena(), &args, &error)) {
      if (!records.ReportCurrent(io::Problem::kEvalError, error)) break;  // --strict
      continue;
    }
    window::KeyId key = window::kNoKey;
    if (values != nullptr) {
      // One string key: found by its raw bytes, without encoding it.
      const expr::Value* skey = string_keyed ? &values[slot_map.key_slot[0]] : nullptr;
      if (skey != nullptr && !skey->is_string()) skey = nullptr;
      std::string_view raw = skey != nullptr ? skey->string() : std::string_view();
      if (skey == nullptr || (key = op.keys().FindString(raw)) == window::kNoKey) {
        GroupKeyFromSlots(slot_map, values, &canonical, &key_json);
        key = intern(skey != nullptr ? &raw : nullptr);
      }
    } else {
      // One key: a string value is looked up by its bytes as above; any
      // other outcome (a new key, another type, an error) goes through
      // EvalGroupKey.
      expr::Value skey;
      bool by_string = false;
      if (string_keyed && keys[0].expr->Eval(records.value(), records.arena(), &skey, &error) ==
                              expr::Expression::Result::kValue) {
        by_string = skey.is_string();
        if (by_string) key = op.keys().FindString(skey.string());
      }
      if (key == window::kNoKey) {
        if (!EvalGroupKey(keys, records.value(), records.arena(), &canonical, &key_json, &error)) {
          if (!records.ReportCurrent(io::Problem::kEvalError, error)) break;
          continue;
        }
        std::string_view raw = by_string ? skey.string() : std::string_view();
        key = intern(by_string ? &raw : nullptr);
      }
    }
    place(t, key, records.line(), values, records.records());
  }

  const io::LineReader& lines = par ? par->lines() : records.lines();
  const uint64_t records_in = par ? par->records() : records.records();
  par ? par->FinishProgress(&progress) : records.FinishProgress(&progress);
  window::OperatorStats before_flush = sample();
  // End of input, or interrupted: every open window fires (unless the reader
  // of our output is gone, or a --state keeps them for the next run).
  if (!out->failed() && !state) op.Finish();
  out->Flush();
  if (o.late_output != nullptr) o.late_output->Flush();
  window::OperatorStats s = op.stats();
  result.late_dropped = s.late_dropped;
  if (s.late_dropped > 0) {
    reporter->Error(fmt::format(
        "{} record{} later than the allowed lateness ({}) not aggregated{}", s.late_dropped,
        s.late_dropped == 1 ? "" : "s", time::FormatDurationMs(o.window.allowed_lateness_ms),
        o.late_output != nullptr ? "; written to " + o.late_output_name : " (keep them with --late-output FILE)"));
  }
  reporter->Finish();
  result.source_errors = par ? par->source_errors() : records.source_errors();
  result.status = out->failed() ? out->status() : par ? par->status() : records.status();
  if (result.status.ok() && o.late_output != nullptr && o.late_output->failed() &&
      o.late_output->status().code() == Status::Code::kIoError) {
    result.status =
        Status::IoError("cannot write --late-output " + o.late_output_name + ": " + o.late_output->status().message());
  }
  if (result.status.ok() && io::InterruptRequested()) result.status = Status::Interrupted();
  Status c = checkpoints.Finish(result.status);
  if (!c.ok()) result.status = c;
  if (o.input.stats) {
    std::string extra = fmt::format(
        ",\"results\":{{\"final\":{},\"early\":{},\"update\":{}}},\"late_"
        "dropped\":{},\"open_windows\":{},"
        "\"groups\":{},\"keys\":{},\"memory_bytes\":{},\"peak_open_windows\":{}"
        ",\"peak_groups\":{},"
        "\"peak_memory_bytes\":{},\"overflow_keys\":{},\"watermark\":",
        s.final_results, s.early_results, s.update_results, s.late_dropped, before_flush.open_windows,
        before_flush.buckets, before_flush.keys, before_flush.memory_bytes, peak.open_windows, peak.buckets,
        peak.memory_bytes, s.overflow_records);
    if (before_flush.watermark == window::kMinTime) {
      extra += "null";
    } else {
      extra += '"';
      time::AppendRfc3339(before_flush.watermark, &extra);
      extra += '"';
    }
    extra += SkipsJson(aggs, skips);
    if (state) extra += fmt::format(",\"late_dropped_total\":{}", s.late_dropped_total);
    extra += StateStatsJson(state.get());
    stats.records_in = records_in;
    stats.records_out = s.results;
    stats.bytes_in = lines.bytes_read();
    stats.boms_skipped = lines.boms_skipped();
    fmt::print(stderr, "{}\n", stats.ToJson(*reporter, extra));
  }
  return result;
}

}  // namespace govstream::stream
