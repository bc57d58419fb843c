// --state FILE: runs of stream-filter, stream-agg and stream-window that
// resume where the last one stopped, over growing and rotating logs.
// docs/run-state.md has the file's grammar and the guarantee.
//
// A run Open()s the state (taking its lock), asks Plan() what to read, reads
// through an io::LineReader made from the plan, and Commit()s after its
// output has been flushed: the file then records, per named input, the
// identity of the file read (a fingerprint of its first bytes, with the
// device and inode as a hint) and the offset just past the last complete
// line consumed, plus the program's operator state (opaque lines of JSON).
// A final line without '\n' is not consumed: the next run reads it whole.
//
// Rotation: when the file at a path is no longer the one recorded, the old
// one is looked for by its fingerprint among PATH.1, PATH.N[.gz], PATH-*
// and the --rotated globs, and its rest is read first; rotated files that
// are newer than it (two rotations between runs) are read whole, oldest
// first; then the new file from its start. A file truncated in place
// (copytruncate) is read from 0, with a note. Compressed files are read
// through zlib when they are needed (unfinished or newer), else skipped.
//
// Guarantee: at least once. The state is written after the output is
// flushed (temporary file, fsync, rename, fsync of the directory), so a
// run killed at any moment neither loses input nor repeats more than the
// records output since its last commit.
//
// Errors (values): BadState for a corrupt file, a future version, or one
// made with other options (unless reset); IoError when it cannot be read
// or written; Busy when another run holds the lock for longer than
// wait_ms. Not thread-safe.
#ifndef GOVSTREAM_STREAM_RESUME_H_
#define GOVSTREAM_STREAM_RESUME_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "io/input.h"
#include "io/output.h"
#include "io/report.h"

namespace govstream::stream {

inline constexpr int kRunStateVersion = 1;

struct ResumeOptions {
  std::string path;                  // --state FILE; empty: no state
  bool reset = false;                // --state-reset: ignore what the file holds
  std::vector<std::string> rotated;  // --rotated GLOB (repeatable)
  int64_t wait_ms = 10000;           // --state-wait: for another run's lock
  // Tests: runs after a commit's temporary file is written and synced,
  // before it replaces FILE (io::WriteFileAtomically).
  std::function<void(const std::string& tmp_path)> before_rename;
};

class RunState {
 public:
  // `program` and `config` (the options the state depends on, as canonical
  // text) must be those the file was made with, unless options.reset.
  static Status Open(const ResumeOptions& options, std::string_view program, std::string config,
                     io::Reporter* reporter, std::unique_ptr<RunState>* out);
  ~RunState();  // releases the lock
  RunState(const RunState&) = delete;
  RunState& operator=(const RunState&) = delete;

  // The sources to read for `inputs` (empty or "-": standard input, which
  // has no offsets). Says on the reporter what rotation or truncation it
  // found.
  std::vector<io::LineReader::Source> Plan(const std::vector<std::string>& inputs);

  // The operator lines the last run saved (empty on a first run or reset).
  const std::vector<std::string>& operator_lines() const { return operator_lines_; }
  bool resumed() const { return resumed_; }

  // Records where a reader of Plan()'s sources got to (its positions()),
  // and `operator_lines` (each one line of JSON). Call only after the
  // output is flushed.
  Status Commit(const std::vector<io::LineReader::Position>& positions,
                const std::vector<std::string>& operator_lines);

  uint64_t state_bytes() const { return state_bytes_; }
  uint64_t commits() const { return commits_; }

  struct Entry {
    std::string input;  // the path as given
    uint64_t dev = 0, ino = 0;
    uint64_t fingerprint = 0;  // FNV-1a 64 of the first fingerprint_bytes
    uint64_t fingerprint_bytes = 0;
    uint64_t offset = 0;  // just past the last complete line consumed
    uint64_t lines = 0;
    bool gzip = false;
    std::string file;  // the file it was read from (the path, or a rotated name)
  };

 private:
  RunState() = default;
  Status Load(const std::string& text);

  ResumeOptions options_;
  std::string program_, config_;
  io::Reporter* reporter_ = nullptr;
  int lock_fd_ = -1;
  bool resumed_ = false;
  int64_t last_commit_ms_ = 0;  // of the previous run's last commit (wall clock)
  std::vector<Entry> entries_;  // loaded
  std::vector<std::string> operator_lines_;
  // Per source of the plan: which input, and what it is.
  struct Planned {
    size_t input;
    Entry entry;  // identity and start of that file
    bool current;  // the file at the input's path (not a rotated one)
  };
  std::vector<Planned> planned_;
  std::vector<std::string> plan_inputs_;
  uint64_t state_bytes_ = 0, commits_ = 0;
};

// When a reading program commits: at most every interval_ms while reading
// (Tick() per record; the output is flushed first), and at the end. A run
// whose output failed (| head gone, disk full) or that stopped at a bad
// line (--strict), or that failed otherwise, does not commit at the end:
// its next run repeats what this one could not deliver. `operator_lines` (may be empty) gives the
// program's own state at each commit.
class Checkpointer {
 public:
  Checkpointer(RunState* state, io::OutputWriter* out, const io::LineReader* reader,
               std::function<std::vector<std::string>()> operator_lines = {}, int64_t interval_ms = 1000);
  void Tick() {
    if (state_ && (++ticks_ & 1023) == 0) MaybeCommit();
  }
  // With worker threads (stream/parallel.h): the positions committed are
  // those of the lines applied so far, not the reader's; Poll() between
  // chunks instead of Tick() per record.
  using Positions = std::function<const std::vector<io::LineReader::Position>&()>;
  void set_positions(Positions positions) { positions_ = std::move(positions); }
  void Poll() {
    if (state_) MaybeCommit();
  }
  // The final commit for a run that ended with `run_status`.
  Status Finish(const Status& run_status);
  const Status& error() const { return error_; }

 private:
  void MaybeCommit();
  Status CommitNow();
  RunState* state_;
  io::OutputWriter* out_;
  Positions positions_;
  std::function<std::vector<std::string>()> operator_lines_;
  int64_t interval_ms_;
  int64_t last_ms_;
  uint64_t ticks_ = 0;
  Status error_;
};

}  // namespace govstream::stream

#endif  // GOVSTREAM_STREAM_RESUME_H_
