// LineReader: newline-delimited input from standard input and files.
//
// Reads each source in order with large read() calls into one reusable
// buffer (never zero-filled, never the whole file), and hands out lines as
// views into that buffer: no per-line allocation. A line is valid until the
// next call to Next(), and is always followed by at least kPadding readable
// bytes, so simdjson can parse it in place.
//
// Lines longer than max_line_bytes are never held whole: their bytes are
// discarded as they stream past, and Next() reports Event::kTooLong with the
// line's number. A final line without '\n' is returned like any other; a
// trailing '\r' is removed. A UTF-8 byte-order mark (EF BB BF) at the start
// of a source is skipped and counted (boms_skipped()); anywhere else it is
// part of the line.
//
// Before a read that would block (a pipe or terminal with no data ready),
// the before_block hook runs; programs flush their output there, so live
// pipelines never hold records back. A pending SIGINT/SIGTERM makes Next()
// return Event::kInterrupted.
//
// Sources that cannot be opened or read are reported as Event::kSourceError
// (message() says why) and skipped; reading continues with the next source.
//
// Resuming (--state, stream/resume.h): a Source may start at a byte offset
// (with its line count, so that diagnostics keep their line numbers), be
// gzip-compressed, and hold back a final line that has no '\n' yet (it is
// read whole by the next run). positions() tells, per source, the offset
// just past the last line handed out or skipped.
// Not thread-safe.
#ifndef GOVSTREAM_IO_INPUT_H_
#define GOVSTREAM_IO_INPUT_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace govstream::io {

class LineReader {
 public:
  static constexpr size_t kPadding = 64;  // >= SIMDJSON_PADDING

  struct Options {
    size_t max_line_bytes = 16u << 20;
    size_t initial_buffer_bytes = 1u << 20;
    std::function<void()> before_block;  // may be empty
    // While waiting for input on a pipe or terminal, call on_idle_tick every
    // idle_tick_ms (0: never); used for wall-clock snapshots. It returns
    // false to stop reading (Next() then reports kInterrupted).
    int64_t idle_tick_ms = 0;
    std::function<bool()> on_idle_tick;
  };

  enum class Event {
    kLine,         // line() holds the next line
    kTooLong,      // a line over max_line_bytes was skipped
    kSourceError,  // a source failed to open or read; message()
    kInterrupted,  // SIGINT/SIGTERM arrived
    kEnd,          // all sources consumed
  };

  struct Source {
    std::string path;           // "-" for standard input
    uint64_t offset = 0;        // start here (seek, or skip bytes of a pipe or .gz)
    uint64_t line = 0;          // lines before `offset`
    bool gzip = false;          // decompress (zlib)
    bool hold_partial = false;  // leave a final line without '\n' unread
    std::string shown;          // its name in diagnostics; default: path
  };
  // How far a source has been read: `offset` is just past the last line
  // handed out (or skipped as too long), `line` that line's number.
  struct Position {
    uint64_t offset = 0;
    uint64_t line = 0;
    bool opened = false;
    bool finished = false;  // read to its end (nothing held back)
  };

  // File names ("-": standard input) as Sources that start at 0.
  static std::vector<Source> FromNames(std::vector<std::string> names);

  // `sources`: file names, "-" for standard input; empty means stdin.
  LineReader(std::vector<std::string> sources, Options options);
  LineReader(std::vector<Source> sources, Options options);
  ~LineReader();
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  Event Next();

  std::string_view line() const { return line_; }
  // Name of the current source for diagnostics ("<stdin>" for stdin).
  const std::string& source_name() const { return source_name_; }
  uint64_t line_number() const { return line_no_; }
  const std::string& message() const { return message_; }
  // Bytes read from all sources so far.
  uint64_t bytes_read() const { return bytes_read_; }
  // Sources that began with a UTF-8 byte-order mark, which was skipped.
  uint64_t boms_skipped() const { return boms_skipped_; }
  // Sum of the sizes of the sources, known when all are regular files;
  // with bytes_read() gives progress.
  uint64_t known_total_bytes() const { return known_total_; }
  bool total_is_known() const { return total_known_; }
  // One per source, in order.
  const std::vector<Position>& positions() const { return positions_; }
  // The sources, as given (standard input when none was).
  const std::vector<Source>& sources() const { return sources_; }

 private:
  enum class Open { kOpened, kFailed, kNone };
  Open OpenNext();  // opens the next source
  bool SkipTo(uint64_t offset);  // discards bytes up to `offset` (pipes, .gz)
  ssize_t ReadSome(char* to, size_t n);
  void CloseCurrent();
  enum class Fill { kData, kEof, kError, kInterrupted };
  Fill FillBuffer();     // reads more bytes after end_
  Event SkipLongLine();  // discards up to the next newline
  // Hands out [begin_, end) as the next line; `terminator` bytes follow it.
  Event TakeLine(size_t end, size_t terminator);

  std::vector<Source> sources_;
  std::vector<Position> positions_;
  size_t next_source_ = 0;
  size_t current_ = 0;       // index of the open source
  uint64_t read_offset_ = 0; // source offset of buf_[end_]
  void* gz_ = nullptr;       // gzFile when the source is compressed
  Options options_;
  std::unique_ptr<char[]> buf_;
  size_t cap_ = 0;        // usable bytes (kPadding more are allocated)
  size_t begin_ = 0;      // first unconsumed byte
  size_t end_ = 0;        // end of valid data
  size_t scanned_ = 0;    // bytes from begin_ already known to have no '\n'
  int fd_ = -1;
  bool fd_is_regular_ = false;
  bool eof_ = false;
  bool open_ = false;
  std::string_view line_;
  std::string source_name_;
  uint64_t line_no_ = 0;
  std::string message_;
  uint64_t bytes_read_ = 0;
  uint64_t boms_skipped_ = 0;
  uint64_t known_total_ = 0;
  bool total_known_ = true;
};

}  // namespace govstream::io

#endif  // GOVSTREAM_IO_INPUT_H_
