// Diagnostics and run statistics shared by every NDJSON-reading program.
//
// Reporter prints "program: SOURCE:LINE: reason" on stderr for the first
// `max_shown` problems of each run and only counts the rest; Finish() then
// prints one summary line with the totals by kind, so nothing is skipped
// silently. Stats collects the counters behind --stats and renders the
// one-line JSON summary. Progress draws the --progress line on a terminal.
// None of these are thread-safe.
#ifndef GOVSTREAM_IO_REPORT_H_
#define GOVSTREAM_IO_REPORT_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>
#include <string_view>

namespace govstream::io {

enum class Problem { kInvalidJson, kTooLong, kEvalError };

class Reporter {
 public:
  explicit Reporter(std::string program, uint64_t max_shown = 10)
      : program_(std::move(program)), max_shown_(max_shown) {}

  // Runs before each diagnostic is printed; programs flush their pending
  // output there so stdout and stderr stay in order on a terminal.
  void set_before_print(std::function<void()> fn) { before_print_ = std::move(fn); }

  // A bad line or failed evaluation, counted by kind.
  void Report(Problem kind, std::string_view source, uint64_t line, std::string_view reason);
  // A message not tied to a line ("cannot open x"); always printed.
  void Error(std::string_view message);
  // Prints the summary line if anything was reported beyond max_shown, or
  // any problems at all (with their totals by kind).
  void Finish();

  uint64_t count(Problem kind) const { return counts_[static_cast<int>(kind)]; }
  uint64_t bad_lines() const { return count(Problem::kInvalidJson) + count(Problem::kTooLong); }
  uint64_t eval_errors() const { return count(Problem::kEvalError); }
  uint64_t total() const { return bad_lines() + eval_errors(); }
  uint64_t errors() const { return errors_; }
  const std::string& program() const { return program_; }

 private:
  std::string program_;
  uint64_t max_shown_;
  uint64_t shown_ = 0;
  uint64_t counts_[3] = {0, 0, 0};
  uint64_t errors_ = 0;
  std::function<void()> before_print_;
};

struct Stats {
  uint64_t records_in = 0;
  uint64_t records_out = 0;
  uint64_t bytes_in = 0;
  uint64_t boms_skipped = 0;  // inputs that began with a UTF-8 byte-order mark
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();

  // {"program":...,"records_in":...,"records_out":...,"bad_lines":...,
  //  "eval_errors":...,"bytes_in":...,"bom_skipped":...,"seconds":...,"records_per_sec":...,
  //  "mb_per_sec":...}
  // `extra`: more members, each written as ,"name":value, appended before
  // the closing brace.
  std::string ToJson(const Reporter& reporter, std::string_view extra = {}) const;
};

class Progress {
 public:
  // Active only if `enabled` and stderr is a terminal.
  explicit Progress(bool enabled);
  // Cheap to call per record; redraws at most 4 times a second.
  void Update(uint64_t bytes, uint64_t total_bytes, bool total_known, uint64_t records) {
    if (active_ && (++tick_ & 1023) == 0) Draw(bytes, total_bytes, total_known, records, false);
  }
  void Done(uint64_t bytes, uint64_t total_bytes, bool total_known, uint64_t records);

 private:
  void Draw(uint64_t bytes, uint64_t total, bool total_known, uint64_t records, bool final);
  bool active_;
  uint64_t tick_ = 0;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_ = start_;
};

// Escapes a string for inclusion in a JSON string literal (no quotes added).
std::string JsonEscape(std::string_view s);
// ["a","b"]: the strings as a JSON array.
std::string JsonArray(const std::vector<std::string>& strings);

}  // namespace govstream::io

#endif  // GOVSTREAM_IO_REPORT_H_
