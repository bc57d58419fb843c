#include "stream/records.h"

#include <fmt/core.h>

#include <algorithm>
#include <cstring>

#include "stream/parallel.h"

namespace govstream::stream {

InputConfig InputConfigFromArgs(const cli::Args& args) {
  InputConfig c;
  c.inputs = args.strs("input");
  c.max_line_bytes = args.count("max-line-bytes", c.max_line_bytes);
  c.strict = args.flag("strict");
  c.trust_input = args.flag("trust-input");
  c.stats = args.flag("stats");
  c.progress = args.flag("progress");
  c.line_buffered = args.flag("line-buffered");
  c.resume.path = args.str("state").value_or("");
  c.resume.reset = args.flag("state-reset");
  c.resume.wait_ms = args.duration_ms("state-wait", c.resume.wait_ms);
  c.resume.rotated = args.strs("rotated");
  c.threads = ParallelLines::ThreadsFor(static_cast<int64_t>(args.count("threads", 0)));
  c.chunk_bytes = std::max<size_t>(1, args.count("chunk-bytes", c.chunk_bytes));
  return c;
}

ParallelOptions ParallelOptionsFor(const InputConfig& input) {
  ParallelOptions po;
  po.threads = input.threads;
  po.max_line_bytes = input.max_line_bytes;
  po.chunk_bytes = input.chunk_bytes;
  po.strict = input.strict;
  return po;
}

std::string ResumeOptionsProblem(const cli::Args& args) {
  if (!args.has("state") && (args.has("state-reset") || args.has("rotated") || args.has("state-wait"))) {
    return "--state-reset, --state-wait and --rotated need --state FILE";
  }
  return "";
}

Status OpenRecords(const InputConfig& input, std::string_view program, std::string config,
                   RecordReader::Options options, io::Reporter* reporter, std::unique_ptr<RunState>* state,
                   std::unique_ptr<RecordReader>* reader) {
  state->reset();
  if (input.resume.path.empty()) {
    *reader = std::make_unique<RecordReader>(input.inputs, std::move(options), reporter);
    return Status::Ok();
  }
  Status s = RunState::Open(input.resume, program, std::move(config), reporter, state);
  if (!s.ok()) return s;
  *reader = std::make_unique<RecordReader>((*state)->Plan(input.inputs), std::move(options), reporter);
  return Status::Ok();
}

std::string StateStatsJson(const RunState* state) {
  if (state == nullptr) return "";
  return fmt::format(",\"state_bytes\":{},\"state_commits\":{}", state->state_bytes(), state->commits());
}

RecordReader::RecordReader(std::vector<std::string> sources, Options options, io::Reporter* reporter)
    : RecordReader(io::LineReader::FromNames(std::move(sources)), std::move(options), reporter) {}

RecordReader::RecordReader(std::vector<io::LineReader::Source> sources, Options options, io::Reporter* reporter)
    : reader_(std::move(sources), io::LineReader::Options{.max_line_bytes = options.max_line_bytes,
                                                          .before_block = options.before_block,
                                                          .idle_tick_ms = options.idle_tick_ms,
                                                          .on_idle_tick = options.on_idle_tick}),
      options_(std::move(options)),
      reporter_(reporter) {
  if (options_.slots != nullptr) slot_values_.resize(options_.slots->size());
}

bool RecordReader::ReportCurrent(io::Problem kind, std::string_view reason) {
  reporter_->Report(kind, reader_.source_name(), reader_.line_number(), reason);
  if (options_.strict) {
    status_ = Status::DataError(std::string(reason));
    return false;
  }
  return true;
}

bool RecordReader::Next() {
  arena_.Reset();
  const std::string& lit = options_.prefilter;
  for (;;) {
    switch (reader_.Next()) {
      case io::LineReader::Event::kEnd:
        return false;
      case io::LineReader::Event::kInterrupted:
        status_ = Status::Interrupted();  // or the consumer asked to stop
        return false;
      case io::LineReader::Event::kSourceError:
        ++source_errors_;
        reporter_->Error(reader_.message());
        continue;
      case io::LineReader::Event::kTooLong:
        if (!ReportCurrent(io::Problem::kTooLong, "line longer than --max-line-bytes (" +
                                                      std::to_string(options_.max_line_bytes) + " bytes); skipped")) {
          return false;
        }
        continue;
      case io::LineReader::Event::kLine:
        break;
    }
    std::string_view line = reader_.line();
    if (!lit.empty() && line.find(lit) == std::string_view::npos &&
        std::memchr(line.data(), '\\', line.size()) == nullptr) {
      ++prefiltered_;
      continue;
    }
    if (options_.slots != nullptr && options_.slots->Extract(&ondemand_, line, slot_values_.data())) {
      projected_ = true;
      fast_ = true;
      ++records_;
      return true;
    }
    fast_ = false;
    if (options_.projection != nullptr && options_.projection->Extract(&ondemand_, line, &arena_, &value_)) {
      projected_ = true;
      ++records_;
      return true;
    }
    projected_ = false;
    if (!parser_.Parse(line, &arena_, &value_, &error_)) {
      if (expr::IsBlank(line)) continue;
      if (!ReportCurrent(io::Problem::kInvalidJson, error_)) return false;
      continue;
    }
    ++records_;
    return true;
  }
}

bool RecordReader::Validate() {
  if (!projected_) return true;
  projected_ = false;
  fast_ = false;
  if (parser_.Parse(reader_.line(), &arena_, &value_, &error_)) return true;
  --records_;
  ReportCurrent(io::Problem::kInvalidJson, error_);
  return false;
}

}  // namespace govstream::stream
