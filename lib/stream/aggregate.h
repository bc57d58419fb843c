// The stream-agg pipeline: records -> group keys -> aggregate states ->
// one output record per group.
//
// RunAggregate() reads every source, evaluates the --by keys (a key that is
// missing is null, as in jq) and feeds each aggregate's value to its group's
// state. Values that are missing (null or no output) or of a type the
// function skips are counted per aggregate, never fed. Results are written
// at end of input, on SIGINT/SIGTERM (then status Interrupted), and as
// snapshots every N records or every interval of wall-clock time (also while
// input is idle); with `reset` each snapshot covers only its own period.
// Output order: groups in first-seen order (the overflow group last), or by
// `sort_field`; then at most `top` groups.
//
// With input.threads > 1 (not with --state or --trust-input),
// worker threads parse and evaluate (stream/parallel.h); with --by and no
// group limit the groups are fed on feeder threads by key
// (stream/shards.h), else on the calling thread. Each group is fed its
// records in input order either way: the output is that of one thread.
//
// With input.resume (--state), the groups and their states are loaded from
// the state file, only new input is read, and the table is committed with
// the input positions (stream/resume.h). The end of the run is a snapshot:
// without `reset` it writes the running totals (the table persists); with
// `reset` only this run's records (the table is committed empty).
#ifndef GOVSTREAM_STREAM_AGGREGATE_H_
#define GOVSTREAM_STREAM_AGGREGATE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "agg/spec.h"
#include "base/status.h"
#include "io/output.h"
#include "io/report.h"
#include "stream/records.h"

namespace govstream::stream {

struct AggregateOptions {
  const std::vector<agg::KeySpec>* keys = nullptr;
  const std::vector<agg::AggSpec>* aggs = nullptr;
  InputConfig input;  // sources and the shared input options
  uint64_t every = 0;               // snapshot every N records (0: off)
  int64_t interval_ms = 0;          // snapshot every interval (0: off)
  bool reset = false;
  std::string sort_field;           // empty: first-seen order
  bool sort_ascending = false;
  uint64_t top = 0;                 // 0: all groups
  uint64_t max_groups = 0;          // 0: unlimited
  std::string state_config;         // with input.resume: the options a --state file must match
};

struct AggregateResult {
  Status status;  // OK, DataError, Interrupted, BrokenPipe, IoError
  uint64_t source_errors = 0;
};

AggregateResult RunAggregate(const AggregateOptions& options, io::OutputWriter* out, io::Reporter* reporter);

}  // namespace govstream::stream

#endif  // GOVSTREAM_STREAM_AGGREGATE_H_
