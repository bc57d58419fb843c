// The stream-window pipeline: records -> event time and group key -> window
// buckets (lib/window) -> one output record per window and key.
//
// RunWindow() reads every source; for each record it evaluates the --time
// expression (event time: RFC 3339 text, epoch numbers in `time_unit`, or
// text in `time_format`), or takes the wall clock (processing time), then
// the --by keys, and feeds the aggregates of the record's window bucket. A
// record whose time is missing or unparseable is reported as
// "SOURCE:LINE: reason" and skipped (counted; fatal with --strict). A record
// later than the allowed lateness is counted, written to the late output
// when there is one, and reported in a summary line on stderr.
//
// Output records: {"window_start":RFC3339,"window_end":RFC3339,<keys>,
// <aggregates>,"mark":"final"|"early"|"update"}, in window-end then key
// order at each firing. While input is idle the wall clock still drives
// processing-time windows and --idle-timeout. At end of input, and on
// SIGINT/SIGTERM (status Interrupted), every open window fires.
//
// With input.resume (--state), the operator's state is loaded from the
// state file and committed with the input positions (stream/resume.h), and
// the end of input (or SIGINT/SIGTERM) does not fire the open windows:
// they stay in the file and fire once, in a later run, when its watermark
// passes their end, with every record counted once.
// Not thread-safe; errors are returned in the result, never thrown.
#ifndef GOVSTREAM_STREAM_WINDOW_H_
#define GOVSTREAM_STREAM_WINDOW_H_

#include <cstdint>
#include <string>
#include <vector>

#include "agg/spec.h"
#include "base/status.h"
#include "expr/expr.h"
#include "io/output.h"
#include "io/report.h"
#include "stream/records.h"
#include "time/timestamp.h"
#include "window/assigner.h"

namespace govstream::stream {

struct WindowRunOptions {
  const std::vector<agg::KeySpec>* keys = nullptr;
  const std::vector<agg::AggSpec>* aggs = nullptr;
  InputConfig input;
  window::WindowSpec window;
  const expr::Expression* time_expr = nullptr;  // null: processing time
  time::TimeUnit time_unit = time::TimeUnit::kSeconds;
  const time::TimeFormat* time_format = nullptr;  // null: RFC 3339 strings
  int64_t max_delay_ms = 0;
  int64_t idle_timeout_ms = 0;
  int64_t every_ms = 0;  // --emit changes --every
  uint64_t max_groups = 0;
  io::OutputWriter* late_output = nullptr;  // may be null
  std::string late_output_name;
  std::string state_config;  // with input.resume: the options a --state file must match
};

struct WindowRunResult {
  Status status;  // OK, DataError, Interrupted, BrokenPipe, IoError
  uint64_t source_errors = 0;
  uint64_t late_dropped = 0;
};

WindowRunResult RunWindow(const WindowRunOptions& options, io::OutputWriter* out, io::Reporter* reporter);

}  // namespace govstream::stream

#endif  // GOVSTREAM_STREAM_WINDOW_H_
