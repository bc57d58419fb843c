// OutputWriter: block-buffered writes to a file descriptor (normally stdout).
//
// Bytes accumulate in a fixed buffer and go out in large write() calls; the
// owner calls Flush() before it blocks on input (LineReader's before_block
// hook does this), or after every record with line buffering. When the
// reader of the pipe has gone away, the first failed write sets
// Status::BrokenPipe and every later call is a no-op, so the program can
// stop promptly and quietly. Other write errors give Status::IoError.
// Not thread-safe. Does not own the descriptor.
#ifndef GOVSTREAM_IO_OUTPUT_H_
#define GOVSTREAM_IO_OUTPUT_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"

namespace govstream::io {

class OutputWriter {
 public:
  explicit OutputWriter(int fd, size_t buffer_bytes = 1 << 18);
  ~OutputWriter();  // flushes; errors at that point are dropped
  OutputWriter(const OutputWriter&) = delete;
  OutputWriter& operator=(const OutputWriter&) = delete;

  void Write(std::string_view bytes) {
    if (bytes.size() <= cap_ - len_) {
      __builtin_memcpy(buf_.get() + len_, bytes.data(), bytes.size());
      len_ += bytes.size();
    } else {
      WriteSlow(bytes);
    }
  }
  // `bytes` and a '\n', written together: a line longer than the buffer
  // goes out with its newline in the same write().
  void WriteLine(std::string_view bytes) {
    if (bytes.size() < cap_ - len_) {
      __builtin_memcpy(buf_.get() + len_, bytes.data(), bytes.size());
      len_ += bytes.size();
      buf_[len_++] = '\n';
    } else {
      WriteLineSlow(bytes);
    }
  }
  void Put(char c) {
    if (len_ == cap_) Flush();
    buf_[len_++] = c;
  }
  void Flush();
  bool has_pending() const { return len_ > 0; }
  // OK, BrokenPipe or IoError; sticky.
  const Status& status() const { return status_; }
  bool failed() const { return !status_.ok(); }
  uint64_t bytes_written() const { return written_; }

  // While the reader of a pipe or socket does not take our output, calls
  // `on_stall` every `every_ms` (e.g. to keep a network session alive);
  // returning false gives up (status Interrupted). With a hook set, writes to
  // a pipe go out in chunks the pipe is known to accept without blocking.
  // Without one (the default), write() simply blocks.
  void set_stall_hook(int64_t every_ms, std::function<bool()> on_stall);

 private:
  void WriteSlow(std::string_view bytes);
  void WriteLineSlow(std::string_view bytes);
  void WriteAll(const char* p, size_t n);

  int fd_;
  std::unique_ptr<char[]> buf_;
  size_t cap_;
  size_t len_ = 0;
  uint64_t written_ = 0;
  int64_t stall_every_ms_ = 0;
  bool stall_capable_ = false;  // fd is a pipe or socket
  std::function<bool()> on_stall_;
  Status status_;
};

// Enlarges a pipe's kernel buffer (F_SETPIPE_SZ) when fd is a pipe; a 1 MiB
// pipe nearly doubles throughput between processes on this class of machine.
// Best effort: failures are ignored.
void EnlargePipe(int fd);

// Cuts a regular file opened for appending back to just after its last
// '\n', dropping a last line a killed writer left without one (a --state
// run writes that record again). IoError when the file cannot be read or
// truncated; a file that is empty or ends with '\n' is left as it is.
Status TrimPartialLastLine(int fd, std::string_view name);

}  // namespace govstream::io

#endif  // GOVSTREAM_IO_OUTPUT_H_
