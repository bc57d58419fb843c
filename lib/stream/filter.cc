#include "stream/filter.h"

#include <fmt/core.h>

#include <cstring>
#include <map>
#include <memory>

#include "expr/projection.h"

#include "io/report.h"
#include "io/signals.h"
#include "stream/parallel.h"
#include "stream/records.h"
#include "stream/resume.h"

namespace govstream::stream {
namespace {

// One worker thread's part of stream-filter: what RunFilter's loop does
// with a record, minus the effects (ParallelLines applies those in order).
//
// With --trust-input (`projection` set), as RecordReader reads such a line:
// a line without the predicate's literal (and without a backslash) is
// skipped unparsed; else the predicate runs on the fields On-Demand read,
// and only a kept record is fully parsed and validated.
class FilterWorker final : public RecordWorker {
 public:
  FilterWorker(const FilterOptions& o, const expr::Projection* projection) : o_(o), projection_(projection) {
    if (projection_ != nullptr && !o.invert) prefilter_ = o.predicate->required_literal();
  }
  void Process(std::string_view line, LineOutcome* oc, std::string* out, std::string* text) override {
    expr::Value v;
    bool projected = false;
    if (projection_ != nullptr) {
      if (!prefilter_.empty() && line.find(prefilter_) == std::string_view::npos &&
          std::memchr(line.data(), '\\', line.size()) == nullptr) {
        return;  // cannot match: not parsed, not counted
      }
      arena_.Reset();
      projected = projection_->Extract(&ondemand_, line, &arena_, &v);
      oc->record = projected;
    }
    if (!projected && !ParseRecord(line, &v, oc, text)) return;
    expr::Expression::Result r = o_.predicate->Test(v, &arena_, &error_);
    if (r == expr::Expression::Result::kError) return Problem(io::Problem::kEvalError, oc, text);
    if ((r == expr::Expression::Result::kValue) == o_.invert) return;
    if (projected && !parser_.Parse(line, &arena_, &v, &error_)) {  // a kept record is always validated
      oc->record = false;
      return Problem(io::Problem::kInvalidJson, oc, text);
    }
    const size_t begin = out->size();
    if (o_.map != nullptr) {
      expr::Value m;
      expr::Expression::Result mr = o_.map->Eval(v, &arena_, &m, &error_);
      if (mr == expr::Expression::Result::kError) return Problem(io::Problem::kEvalError, oc, text);
      if (mr == expr::Expression::Result::kEmpty) return;
      if (!o_.count_only) {
        expr::AppendJson(m, out);
        *out += '\n';
      }
    } else if (!o_.count_only) {
      out->append(line);
      *out += '\n';
    }
    Keep(begin, *out, oc);
  }

 private:
  const FilterOptions& o_;
  const expr::Projection* projection_;
  std::string prefilter_;
  simdjson::ondemand::parser ondemand_;
};

// `state`: with --state (may be null), committed between chunks with the
// positions of the lines applied.
FilterResult RunFilterParallel(const FilterOptions& o, io::OutputWriter* out, io::Reporter* reporter,
                               RunState* state, std::vector<io::LineReader::Source> sources) {
  FilterResult result;
  Checkpointer checkpoints(state, out, nullptr);
  reporter->set_before_print([out] { out->Flush(); });
  io::Stats stats;
  io::Progress progress(o.input.progress);
  ParallelOptions po = ParallelOptionsFor(o.input);
  std::unique_ptr<expr::Projection> projection;
  if (o.input.trust_input) projection = expr::Projection::Analyze(*o.predicate);
  po.make_worker = [&o, &projection] { return std::make_unique<FilterWorker>(o, projection.get()); };
  po.on_kept = [&](std::string_view bytes, std::string_view) {
    ++result.kept;
    out->Write(bytes);
    if (o.input.line_buffered) out->Flush();
    return !out->failed() && !(o.limit_set && result.kept >= o.limit);
  };
  po.before_block = [out] { out->Flush(); };
  const ParallelLines* running = nullptr;
  po.after_chunk = [&] {
    running->ShowProgress(&progress);
    checkpoints.Poll();
  };
  ParallelLines lines(std::move(sources), std::move(po), reporter);
  running = &lines;
  checkpoints.set_positions([&lines]() -> const auto& { return lines.applied_positions(); });
  if (!(o.limit_set && o.limit == 0)) lines.Run();  // -n 0 reads nothing
  lines.FinishProgress(&progress);
  if (o.count_only && !out->failed()) out->Write(fmt::format("{}\n", result.kept));
  out->Flush();
  reporter->Finish();
  stats.records_in = lines.records();
  stats.records_out = result.kept;
  stats.bytes_in = lines.lines().bytes_read();
  stats.boms_skipped = lines.lines().boms_skipped();
  result.source_errors = lines.source_errors();
  result.status = out->failed() ? out->status() : lines.status();
  if (result.status.ok() && io::InterruptRequested()) result.status = Status::Interrupted();
  Status c = checkpoints.Finish(result.status);
  if (!c.ok()) result.status = c;
  if (o.input.stats) fmt::print(stderr, "{}\n", stats.ToJson(*reporter, StateStatsJson(state)));
  return result;
}

}  // namespace

FilterResult RunFilter(const FilterOptions& o, io::OutputWriter* out, io::Reporter* reporter) {
  // With worker threads; not with -n and --state, whose commit must stop at
  // the very line -n reached.
  const bool parallel = o.input.threads > 1 && !(o.limit_set && !o.input.resume.path.empty());
  FilterResult result;
  RecordReader::Options ro;
  ro.max_line_bytes = o.input.max_line_bytes;
  ro.strict = o.input.strict;
  ro.before_block = [out] { out->Flush(); };
  std::unique_ptr<expr::Projection> projection;
  if (o.input.trust_input) {
    if (!o.invert) ro.prefilter = o.predicate->required_literal();
    projection = expr::Projection::Analyze(*o.predicate);
    ro.projection = projection.get();
  }
  std::unique_ptr<RunState> state;
  std::unique_ptr<RecordReader> reader;
  result.status = OpenRecords(o.input, "stream-filter", o.state_config, ro, reporter, &state, &reader);
  if (!result.status.ok()) return result;
  RecordReader& records = *reader;
  if (parallel) return RunFilterParallel(o, out, reporter, state.get(), records.lines().sources());
  Checkpointer checkpoints(state.get(), out, &records.lines());
  reporter->set_before_print([out] { out->Flush(); });
  io::Stats stats;
  io::Progress progress(o.input.progress);
  std::string error;
  std::string buf;

  // A commit (Tick) comes before the next record is read: the positions it
  // records are those of records already processed and written.
  while (!out->failed() && !(o.limit_set && result.kept >= o.limit) && (checkpoints.Tick(), records.Next())) {
    records.ShowProgress(&progress);
    expr::Expression::Result r = o.predicate->Test(records.value(), records.arena(), &error);
    if (r == expr::Expression::Result::kError) {
      if (!records.ReportCurrent(io::Problem::kEvalError, error)) break;
      continue;
    }
    bool keep = (r == expr::Expression::Result::kValue) != o.invert;
    if (!keep) continue;
    if (!records.Validate()) {  // a kept record is always fully validated
      if (!records.status().ok()) break;
      continue;
    }
    if (o.map != nullptr) {
      expr::Value v;
      expr::Expression::Result m = o.map->Eval(records.value(), records.arena(), &v, &error);
      if (m == expr::Expression::Result::kError) {
        if (!records.ReportCurrent(io::Problem::kEvalError, error)) break;
        continue;
      }
      if (m == expr::Expression::Result::kEmpty) continue;
      ++result.kept;
      if (!o.count_only) {
        buf.clear();
        expr::AppendJson(v, &buf);
        buf += '\n';
        out->Write(buf);
      }
    } else {
      ++result.kept;
      if (!o.count_only) {
        out->Write(records.line());
        out->Put('\n');
      }
    }
    if (o.input.line_buffered) out->Flush();
  }

  const io::LineReader& lines = records.lines();
  records.FinishProgress(&progress);
  if (o.count_only && !out->failed()) out->Write(fmt::format("{}\n", result.kept));
  out->Flush();
  reporter->Finish();
  stats.records_in = records.records();
  stats.records_out = result.kept;
  stats.bytes_in = lines.bytes_read();
  stats.boms_skipped = lines.boms_skipped();
  result.source_errors = records.source_errors();
  result.status = out->failed() ? out->status() : records.status();
  if (result.status.ok() && io::InterruptRequested()) result.status = Status::Interrupted();
  Status c = checkpoints.Finish(result.status);
  if (!c.ok()) result.status = c;
  if (o.input.stats) fmt::print(stderr, "{}\n", stats.ToJson(*reporter, StateStatsJson(state.get())));
  return result;
}

namespace {

struct FieldTree {
  std::map<std::string, FieldTree> children;  // ordered by first mention below
  std::vector<std::string> order;
  bool leaf = false;
};

std::string Quote(std::string_view s) {
  std::string q(1, '"');
  q += io::JsonEscape(s);
  q += '"';
  return q;
}

void Render(const FieldTree& t, const std::string& path, std::string* out) {
  *out += '{';
  bool first = true;
  for (const std::string& k : t.order) {
    const FieldTree& c = t.children.at(k);
    if (!first) *out += ", ";
    first = false;
    std::string sub = path + "[" + Quote(k) + "]";
    *out += Quote(k) + ": ";
    if (c.leaf) {
      *out += "." + sub;
    } else {
      Render(c, sub, out);
    }
  }
  *out += '}';
}

}  // namespace

bool FieldsToExpression(std::string_view list, std::string* expr_text, std::string* error) {
  FieldTree root;
  size_t start = 0;
  bool any = false;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    std::string_view field = list.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    start = comma == std::string_view::npos ? list.size() + 1 : comma + 1;
    if (field.empty()) {
      *error = "--fields: empty field name";
      return false;
    }
    FieldTree* node = &root;
    size_t p = 0;
    while (p <= field.size()) {
      size_t dot = field.find('.', p);
      std::string part(field.substr(p, dot == std::string_view::npos ? std::string_view::npos : dot - p));
      p = dot == std::string_view::npos ? field.size() + 1 : dot + 1;
      if (part.empty()) {
        *error = fmt::format("--fields: empty name in '{}'", field);
        return false;
      }
      if (node->leaf) break;  // "a,a.b": a whole already
      if (!node->children.count(part)) node->order.push_back(part);
      node = &node->children[part];
    }
    node->leaf = true;
    node->children.clear();
    node->order.clear();
    any = true;
  }
  if (!any) {
    *error = "--fields: empty list";
    return false;
  }
  expr_text->clear();
  Render(root, "", expr_text);
  return true;
}

}  // namespace govstream::stream
