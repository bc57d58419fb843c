#include "stream/aggregate.h"

#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <memory>

#include "agg/groups.h"
#include "expr/json.h"
#include "expr/projection.h"
#include "io/signals.h"
#include "stream/grouping.h"
#include "stream/parallel.h"
#include "stream/shards.h"
#include "stream/records.h"

namespace govstream::stream {
namespace {

// Writes one snapshot of the table.
class Emitter {
 public:
  Emitter(const AggregateOptions& o, io::OutputWriter* out) : o_(o), out_(out) {}

  uint64_t Emit(const std::vector<const agg::Group*>& groups) {
    struct Row {
      std::string json;
      std::string sort_json;
    };
    std::vector<Row> rows;
    rows.reserve(groups.size());
    size_t sort_index = SIZE_MAX;
    const auto& keys = *o_.keys;
    const auto& aggs = *o_.aggs;
    for (size_t i = 0; i < keys.size(); ++i) {
      if (keys[i].output_name == o_.sort_field) sort_index = i;
    }
    for (size_t i = 0; i < aggs.size(); ++i) {
      if (aggs[i].output_name == o_.sort_field) sort_index = keys.size() + i;
    }
    for (const agg::Group* g : groups) {
      Row row;
      row.json += '{';
      AppendGroupFields(keys, g->key_json, aggs, g->states, &row.json, sort_index, &row.sort_json);
      row.json += "}\n";
      rows.push_back(std::move(row));
    }
    if (sort_index != SIZE_MAX) {
      // Compare as jq orders values; parse each sort value once.
      expr::Arena arena;
      std::vector<std::pair<expr::Value, size_t>> order;
      order.reserve(rows.size());
      for (size_t i = 0; i < rows.size(); ++i) {
        expr::Value v;
        std::string error;
        if (!expr::ParseJsonSlow(rows[i].sort_json, &arena, &v, &error)) v = expr::Value::Null();
        order.emplace_back(v, i);
      }
      bool asc = o_.sort_ascending;
      std::stable_sort(order.begin(), order.end(), [asc](const auto& a, const auto& b) {
        int c = expr::Compare(a.first, b.first);
        return asc ? c < 0 : c > 0;
      });
      std::vector<Row> sorted;
      sorted.reserve(rows.size());
      for (auto& [v, i] : order) sorted.push_back(std::move(rows[i]));
      rows.swap(sorted);
    }
    uint64_t n = 0;
    for (const Row& r : rows) {
      if (o_.top != 0 && n >= o_.top) break;
      out_->Write(r.json);
      if (o_.input.line_buffered) out_->Flush();
      ++n;
    }
    out_->Flush();
    return n;
  }

 private:
  const AggregateOptions& o_;
  io::OutputWriter* out_;
};

class AggWorker final : public RecordWorker {
 public:
  explicit AggWorker(const AggregateOptions& o) : o_(o), key_json_(o.keys->size()) {}
  void Process(std::string_view line, LineOutcome* oc, std::string* out, std::string* text) override {
    expr::Value v;
    if (!ParseRecord(line, &v, oc, text)) return;
    if (!EvalGroupKey(*o_.keys, v, &arena_, &canonical_, &key_json_, &error_) ||
        !EvalAggregateArgs(*o_.aggs, v, &arena_, &args_, &error_)) {
      return Problem(io::Problem::kEvalError, oc, text);
    }
    const size_t begin = out->size();
    EncodeKeyArgs(canonical_, key_json_, args_, out);
    Keep(begin, *out, oc);
  }

 private:
  const AggregateOptions& o_;
  std::string canonical_;
  std::vector<std::string> key_json_;
  std::vector<AggArg> args_;
};

// The groups of a --state file's operator lines into the empty `table`.
Status LoadGroups(const std::vector<std::string>& lines, const std::string& path, agg::GroupTable* table) {
  expr::Arena arena;
  std::string error;
  for (size_t i = 0; i < lines.size(); ++i) {
    expr::Value v;
    arena.Reset();
    if (!expr::ParseJsonSlow(lines[i], &arena, &v, &error) || !table->Load(v, &error)) {
      return Status(Status::Code::kBadState,
                    fmt::format("{}: group {} of the saved state: {}; the file is left as it is "
                                "(--state-reset starts afresh)",
                                path, i + 1, error));
    }
  }
  return Status::Ok();
}

}  // namespace

AggregateResult RunAggregate(const AggregateOptions& o, io::OutputWriter* out, io::Reporter* reporter) {
  AggregateResult result;
  const auto& keys = *o.keys;
  const auto& aggs = *o.aggs;
  agg::GroupTable table(o.aggs, keys.size(), o.max_groups);
  Emitter emitter(o, out);
  std::vector<AggSkips> skips(aggs.size());
  uint64_t records_out = 0;
  uint64_t since_snapshot = 0;
  bool overflow_reported = false;
  using Clock = std::chrono::steady_clock;
  Clock::time_point next_tick = Clock::now() + std::chrono::milliseconds(o.interval_ms);

  uint64_t snapshots = 0;
  std::vector<std::string> no_key;
  // With worker threads and --by (without --max-groups), the groups are
  // fed on feeder threads, by key (stream/shards.h).
  std::unique_ptr<ShardedGroups> shards;
  auto emit = [&] {
    if (shards) {
      shards->Sync();
      records_out += emitter.Emit(shards->Ordered());
    } else {
      // Without --by there is one group, reported even when empty ({"count":0}).
      if (keys.empty() && table.size() == 0) table.Find("[]", no_key);
      records_out += emitter.Emit(table.Ordered());
    }
    ++snapshots;
  };
  auto snapshot = [&] {
    emit();
    if (o.reset) shards ? shards->Clear() : table.Clear();
    since_snapshot = 0;
  };
  auto maybe_tick = [&] {
    if (o.interval_ms > 0 && Clock::now() >= next_tick) {
      snapshot();
      next_tick = Clock::now() + std::chrono::milliseconds(o.interval_ms);
    }
  };

  RecordReader::Options ro;
  ro.max_line_bytes = o.input.max_line_bytes;
  ro.strict = o.input.strict;
  ro.before_block = [out] { out->Flush(); };
  if (o.interval_ms > 0) {
    ro.idle_tick_ms = std::min<int64_t>(o.interval_ms, 100);
    ro.on_idle_tick = [&] {
      maybe_tick();
      return !out->failed();
    };
  }
  std::unique_ptr<expr::Projection> projection;
  std::unique_ptr<expr::FieldSlots> slots;
  SlotMap slot_map;
  // One string key read through slots: groups are found by its raw bytes.
  const bool string_keyed = keys.size() == 1;
  if (o.input.trust_input) {
    std::vector<const expr::Expression*> used;
    for (const agg::KeySpec& k : keys) used.push_back(k.expr.get());
    for (const agg::AggSpec& a : aggs) {
      if (a.arg) used.push_back(a.arg.get());
    }
    projection = expr::Projection::Analyze(used);
    ro.projection = projection.get();
    slots = AnalyzeSlots(nullptr, keys, aggs, &slot_map);
    ro.slots = slots.get();
  }
  std::unique_ptr<RunState> state;
  std::unique_ptr<RecordReader> reader;
  result.status = OpenRecords(o.input, "stream-agg", o.state_config, ro, reporter, &state, &reader);
  if (!result.status.ok()) return result;
  if (state) {
    result.status = LoadGroups(state->operator_lines(), o.input.resume.path, &table);
    if (!result.status.ok()) return result;
  }
  RecordReader& records = *reader;
  Checkpointer checkpoints(state.get(), out, &records.lines(), [&table] {
    std::vector<std::string> lines;
    table.Save(&lines);
    return lines;
  });
  reporter->set_before_print([out] { out->Flush(); });
  io::Stats stats;
  io::Progress progress(o.input.progress);
  std::string error, canonical;
  std::vector<std::string> key_json(keys.size());

  auto find = [&](std::string_view canonical_key) {
    agg::Group* g = table.Find(canonical_key, key_json);
    if (table.overflowed() && !overflow_reported) {
      overflow_reported = true;
      reporter->Error(OverflowMessage(o.max_groups));
    }
    return g;
  };

  std::vector<AggArg> args;  // the aggregates' arguments of the current record
  // With worker threads (not with --trust-input, which reads with one):
  // they parse and evaluate; the records are fed here (or by key on feeder
  // threads, not with --state), in input order, so every state, group and
  // snapshot is as with one thread. A --state commit between chunks has
  // the positions of the lines applied.
  std::unique_ptr<ParallelLines> par;
  if (o.input.threads > 1 && !o.input.trust_input) {
    ParallelOptions po = ParallelOptionsFor(o.input);
    po.make_worker = [&o] { return std::make_unique<AggWorker>(o); };
    if (!keys.empty() && o.max_groups == 0 && !state) {
      shards = std::make_unique<ShardedGroups>(o.input.threads, o.aggs, keys.size());
    }
    expr::Arena arena;
    uint64_t fed = 0;
    po.on_kept = [&](std::string_view bytes, std::string_view) {
      if (shards) {
        shards->Add(bytes);
      } else {
        size_t pos = 0;
        std::string_view canonical_key;
        arena.Reset();
        DecodeKeyArgs(bytes, &pos, aggs.size(), &canonical_key, &key_json, &args, &arena);
        FeedAggregates(aggs, args, find(canonical_key)->states, &skips);
      }
      ++since_snapshot;
      if (o.every != 0 && since_snapshot >= o.every) snapshot();
      if (o.interval_ms > 0 && (++fed & 63) == 0) maybe_tick();
      return !out->failed();
    };
    po.before_block = [out] { out->Flush(); };
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
  // A commit (Tick) comes before the next record is read: the table then
  // holds exactly the records up to the positions it records.
  while (!par && !out->failed() && (checkpoints.Tick(), records.Next())) {
    records.ShowProgress(&progress);
    agg::Group* g = nullptr;
    if (records.fast()) {
      const expr::Value* values = records.slot_values();
      const expr::Value* key = string_keyed ? &values[slot_map.key_slot[0]] : nullptr;
      if (key != nullptr && !key->is_string()) key = nullptr;
      if (key != nullptr) g = table.FindString(key->string());
      if (g == nullptr) {
        GroupKeyFromSlots(slot_map, values, &canonical, &key_json);
        g = find(canonical);
        if (key != nullptr) table.RememberString(key->string(), g);
      }
      FeedAggregatesFromSlots(aggs, slot_map, values, g->states, &skips);
    } else {
      // Group key: the canonical encoding of the key values, as a JSON array.
      if (!EvalGroupKey(keys, records.value(), records.arena(), &canonical, &key_json, &error) ||
          !EvalAggregateArgs(aggs, records.value(), records.arena(), &args, &error)) {
        if (!records.ReportCurrent(io::Problem::kEvalError, error)) break;  // --strict
        continue;
      }
      g = find(canonical);
      FeedAggregates(aggs, args, g->states, &skips);
    }
    ++since_snapshot;
    if (o.every != 0 && since_snapshot >= o.every) snapshot();
    if (o.interval_ms > 0 && (records.records() & 63) == 0) maybe_tick();
  }

  // End of input, or interrupted: emit what we have (unless the reader of
  // our output is gone).
  const io::LineReader& lines = par ? par->lines() : records.lines();
  const uint64_t records_in = par ? par->records() : records.records();
  par ? par->FinishProgress(&progress) : records.FinishProgress(&progress);
  // A final snapshot unless the last one already covers everything.
  if (!out->failed() && (since_snapshot > 0 || snapshots == 0)) emit();
  out->Flush();
  reporter->Finish();
  if (shards) {
    shards->Sync();
    shards->AddSkips(&skips);
  }
  std::string extra = fmt::format(",\"groups\":{},\"memory_bytes\":{},\"overflow_keys\":{}",
                                  shards ? shards->size() : table.size(),
                                  shards ? shards->MemoryBytes() : table.MemoryBytes(), table.overflow_keys());
  result.source_errors = par ? par->source_errors() : records.source_errors();
  result.status = out->failed() ? out->status() : par ? par->status() : records.status();
  if (result.status.ok() && io::InterruptRequested()) result.status = Status::Interrupted();
  if (state) {
    if (o.reset) table.Clear();  // written: the next run starts from empty groups
    Status c = checkpoints.Finish(result.status);
    if (!c.ok()) result.status = c;
    extra += StateStatsJson(state.get());
  }
  if (o.input.stats) {
    extra += SkipsJson(aggs, skips);
    stats.records_in = records_in;
    stats.records_out = records_out;
    stats.bytes_in = lines.bytes_read();
    stats.boms_skipped = lines.boms_skipped();
    fmt::print(stderr, "{}\n", stats.ToJson(*reporter, extra));
  }
  return result;
}

}  // namespace govstream::stream
