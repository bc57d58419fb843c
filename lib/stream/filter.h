// The stream-filter pipeline: records -> predicate -> (map) -> writer.
//
// RunFilter() reads every source, keeps the records for which the predicate
// is truthy (or not, with invert), and writes their original bytes, or the
// map expression's value as compact JSON. It flushes before blocking on
// input, stops early at `limit` kept records, and on a broken output pipe.
// Evaluation errors are reported per record like bad lines. With
// input.resume (--state), only the lines after the last run's are read,
// and the state is committed after output flushes (stream/resume.h).
// With input.threads > 1 (and neither --state nor --trust-input), lines are
// parsed and evaluated by that many worker threads (stream/parallel.h), with
// the same output, diagnostics, counts and exit status as one thread.
#ifndef GOVSTREAM_STREAM_FILTER_H_
#define GOVSTREAM_STREAM_FILTER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "expr/expr.h"
#include "io/output.h"
#include "io/report.h"
#include "stream/records.h"

namespace govstream::stream {

struct FilterOptions {
  const expr::Expression* predicate = nullptr;
  const expr::Expression* map = nullptr;  // optional
  InputConfig input;  // sources and the shared input options
  bool invert = false;
  bool count_only = false;
  bool limit_set = false;  // stop after `limit` kept records (0: read nothing)
  uint64_t limit = 0;
  std::string state_config;  // with input.resume: the options a --state file must match
};

struct FilterResult {
  // OK, DataError (--strict), Interrupted, BrokenPipe or IoError (output).
  Status status;
  uint64_t kept = 0;
  uint64_t source_errors = 0;  // inputs that could not be opened or read
};

FilterResult RunFilter(const FilterOptions& options, io::OutputWriter* out, io::Reporter* reporter);

// Turns "--fields host,client.ip" into the jq text of the equivalent
// projection, {"host": .["host"], "client": {"ip": .["client"]["ip"]}}.
// Returns false with *error set for an empty list or empty field name.
bool FieldsToExpression(std::string_view list, std::string* expr_text, std::string* error);

}  // namespace govstream::stream

#endif  // GOVSTREAM_STREAM_FILTER_H_
