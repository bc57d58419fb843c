// The stream-alert pipeline: records -> time -> every rule's condition and
// key -> the alert state machine -> one NDJSON event per notification; or,
// for the pipeline verbs, records -> key -> dedupe / throttle -> the records
// that pass.
//
// RunAlert() reads every source. The record's time is the --time
// expression's value (RFC 3339 text, epoch numbers in `time_unit`, or text
// in `time_format`), or the wall clock when it is read. A record whose time
// is missing or unparseable, or on which a rule's condition or key fails,
// is reported as "SOURCE:LINE: reason" and counted (fatal with --strict);
// a key that evaluates to no output or is missing is null, as in jq.
// With input.resume (--state), the rules' keys are loaded from the state
// file and committed with the input positions after the output is flushed
// (stream/resume.h): a run reads only the lines added since the last one.
// Not thread-safe; errors are returned in the result, never thrown.
#ifndef GOVSTREAM_ALERT_RUN_H_
#define GOVSTREAM_ALERT_RUN_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "agg/spec.h"
#include "alert/engine.h"
#include "alert/rules.h"
#include "base/status.h"
#include "expr/expr.h"
#include "io/output.h"
#include "io/report.h"
#include "stream/records.h"
#include "time/timestamp.h"

namespace govstream::alert {

enum class OutputFormat { kNdjson, kAlertmanager };

struct AlertRunOptions {
  stream::InputConfig input;
  const std::vector<Rule>* rules = nullptr;  // empty or null: the verbs
  Engine* engine = nullptr;                  // with rules
  const expr::Expression* time_expr = nullptr;  // null: processing time
  time::TimeUnit time_unit = time::TimeUnit::kSeconds;
  const time::TimeFormat* time_format = nullptr;
  OutputFormat output = OutputFormat::kNdjson;
  // The verbs (without rules): keys, dedupe (0: off) and its fields
  // (null: the whole record), throttle (burst 0: off).
  const std::vector<agg::KeySpec>* keys = nullptr;
  int64_t dedupe_ms = 0;
  const expr::Expression* dedupe_fields = nullptr;
  uint64_t throttle_burst = 0;
  int64_t throttle_window_ms = 0;
  uint64_t max_keys = 0;
  // Processing time source (tests); default: the wall clock.
  std::function<int64_t()> clock;
};

struct AlertRunResult {
  Status status;  // OK, DataError, Interrupted, BrokenPipe, IoError
  uint64_t source_errors = 0;
  size_t firing = 0;  // alerts firing at the end
};

AlertRunResult RunAlert(const AlertRunOptions& options, io::OutputWriter* out, io::Reporter* reporter);

// Parses "N/DUR" (--throttle): burst N >= 1, DUR > 0.
Status ParseThrottle(std::string_view text, uint64_t* burst, int64_t* window_ms);

}  // namespace govstream::alert

#endif  // GOVSTREAM_ALERT_RUN_H_
