// RecordReader: the NDJSON front end every program shares. It reads lines
// (io::LineReader), parses each as one JSON value (expr::JsonParser), and
// hands out only valid records. Bad lines -- invalid JSON or UTF-8, longer
// than max_line_bytes -- are reported through the io::Reporter as
// "SOURCE:LINE: reason" and counted; with `strict` the first one stops the
// reader with Status::DataError. Blank lines are skipped silently. Sources
// that cannot be opened are reported and skipped (source_errors()).
//
// A record's line() and value() stay valid until the next Next(); values a
// consumer computes go in arena(), which is reset at every Next().
// Not thread-safe.
#ifndef GOVSTREAM_STREAM_RECORDS_H_
#define GOVSTREAM_STREAM_RECORDS_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "cli/args.h"
#include "expr/json.h"
#include "expr/projection.h"
#include "expr/value.h"
#include "io/input.h"
#include "io/report.h"
#include "stream/parallel.h"
#include "stream/resume.h"

namespace govstream::stream {

// The input options every NDJSON-reading program shares (the common part of
// its option table: -i, --strict, --max-line-bytes, --line-buffered, --stats,
// --progress, --trust-input).
struct InputConfig {
  std::vector<std::string> inputs;  // empty: stdin
  size_t max_line_bytes = 16u << 20;
  bool strict = false;
  bool trust_input = false;
  bool stats = false;
  bool progress = false;
  bool line_buffered = false;
  int threads = 1;       // --threads (programs that have it): worker threads, resolved (>= 1)
  size_t chunk_bytes = 1u << 20;  // --chunk-bytes (hidden, for tests): the threads' unit of work
  ResumeOptions resume;  // --state (programs that have it)
};

// Reads InputConfig from parsed arguments (options absent from the
// program's table keep their defaults).
InputConfig InputConfigFromArgs(const cli::Args& args);
// The problem with the --state options given (--state-reset, --state-wait
// or --rotated without --state), or "" when there is none.
std::string ResumeOptionsProblem(const cli::Args& args);
// The worker threads' options that come from the input options (threads,
// --max-line-bytes, --chunk-bytes, --strict); the program adds its worker
// and callbacks.
ParallelOptions ParallelOptionsFor(const InputConfig& input);

class RecordReader {
 public:
  struct Options {
    size_t max_line_bytes = 16u << 20;
    bool strict = false;
    std::function<void()> before_block;
    // If non-empty: a line that contains no backslash and not this literal
    // is skipped without parsing (it cannot match). See --trust-input.
    std::string prefilter;
    // If set: records are first evaluated from On-Demand, reading only the
    // projected fields (value() holds just those, projected() is true);
    // call Validate() before using a record further.
    const expr::Projection* projection = nullptr;
    // If set (with `projection` as its fallback): records are first read
    // through these slots; fast() is then true, value() is unset and
    // slot_values() holds the fields. Call Validate() before using a
    // record further.
    const expr::FieldSlots* slots = nullptr;
    // Passed to io::LineReader (wall-clock ticks while input is idle).
    int64_t idle_tick_ms = 0;
    std::function<bool()> on_idle_tick;
  };

  RecordReader(std::vector<std::string> sources, Options options, io::Reporter* reporter);
  // Sources with positions (a --state plan, stream/resume.h).
  RecordReader(std::vector<io::LineReader::Source> sources, Options options, io::Reporter* reporter);

  // True: a record is ready. False: input ended or stopped; see status().
  bool Next();

  std::string_view line() const { return reader_.line(); }
  const expr::Value& value() const { return value_; }
  expr::Arena* arena() { return &arena_; }
  const std::string& source_name() const { return reader_.source_name(); }
  uint64_t line_number() const { return reader_.line_number(); }

  // OK at end of input; DataError (strict) or Interrupted when stopped.
  const Status& status() const { return status_; }
  uint64_t records() const { return records_; }
  uint64_t prefiltered() const { return prefiltered_; }
  uint64_t source_errors() const { return source_errors_; }
  const io::LineReader& lines() const { return reader_; }
  // Feeds `progress` the bytes and records read so far (cheap per record),
  // or its final line.
  void ShowProgress(io::Progress* progress) const {
    progress->Update(reader_.bytes_read(), reader_.known_total_bytes(), reader_.total_is_known(), records_);
  }
  void FinishProgress(io::Progress* progress) const {
    progress->Done(reader_.bytes_read(), reader_.known_total_bytes(), reader_.total_is_known(), records_);
  }

  bool projected() const { return projected_; }
  // The current record was read through Options::slots: slot_values()[s]
  // is field s (null when absent); value() is not set.
  bool fast() const { return fast_; }
  const expr::Value* slot_values() const { return slot_values_.data(); }
  // Fully parses and validates the current record if it was projected;
  // value() is then the whole document. False: it was a bad line (already
  // reported; with --strict, status() is DataError).
  bool Validate();

  // Reports a problem with the current record (e.g. an evaluation error);
  // returns false when --strict says to stop (status() is then DataError).
  bool ReportCurrent(io::Problem kind, std::string_view reason);

 private:
  io::LineReader reader_;
  Options options_;
  io::Reporter* reporter_;
  expr::JsonParser parser_;
  simdjson::ondemand::parser ondemand_;
  bool projected_ = false;
  bool fast_ = false;
  std::vector<expr::Value> slot_values_;
  expr::Arena arena_;
  expr::Value value_;
  Status status_;
  std::string error_;
  uint64_t records_ = 0;
  uint64_t prefiltered_ = 0;
  uint64_t source_errors_ = 0;
};

// The reading side of a run with or without --state: with input.resume.path
// set, opens the state (RunState::Open, taking its lock) into *state and a
// reader over its plan; else a reader over input.inputs (*state stays null).
// Errors: those of RunState::Open (no reader is made).
Status OpenRecords(const InputConfig& input, std::string_view program, std::string config,
                   RecordReader::Options options, io::Reporter* reporter, std::unique_ptr<RunState>* state,
                   std::unique_ptr<RecordReader>* reader);

// The --stats members of a run with a state (empty without one).
std::string StateStatsJson(const RunState* state);

}  // namespace govstream::stream

#endif  // GOVSTREAM_STREAM_RECORDS_H_
