// ParallelLines: the per-line work of a reading program (parse, validate,
// evaluate) spread over worker threads, with every effect -- output,
// diagnostics, counts, stops -- applied in input order on the calling thread,
// so that the result is byte-identical to reading with one thread.
//
// The calling thread reads lines (io::LineReader: sources, BOMs, lines too
// long, source errors, signals) and copies them into chunks of up to
// chunk_bytes; workers turn each line of a chunk into a LineOutcome with
// their own LineWorker (one per thread: a parser, an arena); the calling
// thread then applies the chunks' outcomes in order. At most 2 x threads
// chunks are in flight, so memory stays bounded whatever the input's size.
// Before a read that would block (a pipe or terminal with no data ready),
// the chunk being filled is handed on at once and every chunk in flight is
// applied, then options.before_block runs: a live pipeline sees each line
// downstream as soon as with one thread.
//
// Stops: on_kept returning false (-n reached, output closed), the first
// problem under `strict` (status DataError) or SIGINT/SIGTERM (status
// Interrupted, after the lines read before it are applied). The reader may
// have read ahead of a stop by up to the chunks in flight; nothing read
// ahead has any effect.
//
// Not thread-safe itself (one calling thread); errors are values.
#ifndef GOVSTREAM_STREAM_PARALLEL_H_
#define GOVSTREAM_STREAM_PARALLEL_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "expr/json.h"
#include "expr/value.h"
#include "io/input.h"
#include "io/report.h"

namespace govstream::stream {

// What a worker made of one line.
struct LineOutcome {
  bool record = false;       // a valid JSON value: counted as a record read
  bool kept = false;         // the program keeps it: its output goes to on_kept
  bool has_problem = false;  // reported as SOURCE:LINE: reason, in order
  io::Problem problem = io::Problem::kInvalidJson;
  uint32_t out_begin = 0, out_len = 0;        // the output, in the chunk's out buffer
  uint32_t reason_begin = 0, reason_len = 0;  // the reason, in the chunk's text buffer
};

// One per worker thread. Process() may append to *out (the line's output)
// and *text (a problem's reason) and sets the outcome's offsets into them;
// `line` is followed by at least kPadding readable bytes (simdjson).
class LineWorker {
 public:
  virtual ~LineWorker() = default;
  virtual void Process(std::string_view line, LineOutcome* outcome, std::string* out, std::string* text) = 0;
};

// The part every program's worker shares: parsing a line as one record and
// reporting a problem with it, as RecordReader does on one thread.
class RecordWorker : public LineWorker {
 protected:
  // Parses `line` into *v (in arena_) and marks the outcome a record; false
  // for a line that is not a record (blank, or reported as invalid JSON).
  bool ParseRecord(std::string_view line, expr::Value* v, LineOutcome* oc, std::string* text) {
    arena_.Reset();
    if (!parser_.Parse(line, &arena_, v, &error_)) {
      if (!expr::IsBlank(line)) Problem(io::Problem::kInvalidJson, oc, text);
      return false;
    }
    oc->record = true;
    return true;
  }
  // Reports error_ as a problem of this kind with the line.
  void Problem(io::Problem kind, LineOutcome* oc, std::string* text) {
    oc->has_problem = true;
    oc->problem = kind;
    oc->reason_begin = static_cast<uint32_t>(text->size());
    oc->reason_len = static_cast<uint32_t>(error_.size());
    *text += error_;
  }
  // The output appended to *out since `begin` is the kept line's.
  static void Keep(size_t begin, const std::string& out, LineOutcome* oc) {
    oc->kept = true;
    oc->out_begin = static_cast<uint32_t>(begin);
    oc->out_len = static_cast<uint32_t>(out.size() - begin);
  }

  expr::JsonParser parser_;
  expr::Arena arena_;
  std::string error_;
};

struct ParallelOptions {
  int threads = 2;  // worker threads (>= 1)
  size_t max_line_bytes = 16u << 20;
  size_t chunk_bytes = 1u << 20;
  bool strict = false;
  std::function<std::unique_ptr<LineWorker>()> make_worker;
  // A kept line's output and the line itself, in input order. False: stop
  // reading.
  std::function<bool(std::string_view output, std::string_view line)> on_kept;
  // After every chunk read so far was applied, before a blocking read.
  std::function<void()> before_block;
  // After each chunk was applied (progress); may be empty.
  std::function<void()> after_chunk;
  // While input is idle (everything read was applied), about every
  // idle_tick_ms (at most 50); may be empty. False: stop reading.
  int64_t idle_tick_ms = 0;
  std::function<bool()> on_idle_tick;
};

class ParallelLines {
 public:
  ParallelLines(std::vector<io::LineReader::Source> sources, ParallelOptions options, io::Reporter* reporter);
  ~ParallelLines();  // stops and joins the workers
  ParallelLines(const ParallelLines&) = delete;
  ParallelLines& operator=(const ParallelLines&) = delete;

  // Reads and applies everything (or up to a stop).
  void Run();

  // OK at end of input or after on_kept stopped it; DataError (strict) or
  // Interrupted.
  const Status& status() const { return status_; }
  uint64_t records() const { return records_; }
  uint64_t source_errors() const { return source_errors_; }
  const io::LineReader& lines() const { return reader_; }
  // Feeds `progress` the bytes read and records applied so far, or its
  // final line (as RecordReader does).
  void ShowProgress(io::Progress* progress) const {
    progress->Update(reader_.bytes_read(), reader_.known_total_bytes(), reader_.total_is_known(), records_);
  }
  void FinishProgress(io::Progress* progress) const {
    progress->Done(reader_.bytes_read(), reader_.known_total_bytes(), reader_.total_is_known(), records_);
  }
  // Where the lines applied so far end, per source (as LineReader's
  // positions(), which are ahead by the chunks in flight): what a --state
  // commit records. Updated when a chunk was applied whole.
  const std::vector<io::LineReader::Position>& applied_positions() const { return applied_; }

  // The number of threads for --threads N: N, or when N is 0 the CPUs this
  // process may run on (sched_getaffinity).
  static int ThreadsFor(int64_t requested);

 private:
  struct Chunk;
  class Pool;
  void Submit();
  bool ApplyFront();  // waits for the oldest chunk and applies it; false: stop
  void Drain();

  ParallelOptions options_;
  io::Reporter* reporter_;
  io::LineReader reader_;
  std::unique_ptr<Pool> pool_;
  std::unique_ptr<Chunk> filling_;
  std::vector<std::unique_ptr<Chunk>> in_flight_;  // oldest first
  std::vector<std::unique_ptr<Chunk>> spare_;
  std::vector<io::LineReader::Position> applied_;
  bool stop_ = false;
  Status status_;
  uint64_t records_ = 0;
  uint64_t source_errors_ = 0;
};

}  // namespace govstream::stream

#endif  // GOVSTREAM_STREAM_PARALLEL_H_
