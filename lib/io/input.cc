#include "io/input.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "io/output.h"
#include "io/signals.h"

namespace govstream::io {

LineReader::LineReader(std::vector<std::string> sources, Options options)
    : sources_(std::move(sources)), options_(std::move(options)) {
  if (sources_.empty()) sources_.push_back("-");
  // The total size is known up front when every source is a regular file.
  for (const std::string& name : sources_) {
    struct stat st;
    if (name == "-" ? fstat(0, &st) != 0 : stat(name.c_str(), &st) != 0) continue;
    if (!S_ISREG(st.st_mode)) {
      total_known_ = false;
      continue;
    }
    known_total_ += static_cast<uint64_t>(st.st_size);
  }
  cap_ = std::max<size_t>(options_.initial_buffer_bytes, 4096);
  buf_.reset(new char[cap_ + kPadding]);  // deliberately not zero-filled
  std::memset(buf_.get() + cap_, 0, kPadding);
}

LineReader::~LineReader() { CloseCurrent(); }

void LineReader::CloseCurrent() {
  if (open_ && fd_ > 0) ::close(fd_);
  open_ = false;
  fd_ = -1;
}

LineReader::Open LineReader::OpenNext() {
  CloseCurrent();
  while (next_source_ < sources_.size()) {
    const std::string& name = sources_[next_source_++];
    begin_ = end_ = scanned_ = 0;
    eof_ = false;
    line_no_ = 0;
    if (name == "-") {
      fd_ = 0;
      source_name_ = "<stdin>";
    } else {
      source_name_ = name;
      fd_ = ::open(name.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd_ < 0) {
        message_ = name + ": " + std::strerror(errno);
        return Open::kFailed;
      }
    }
    open_ = true;
    struct stat st;
    fd_is_regular_ = fstat(fd_, &st) == 0 && S_ISREG(st.st_mode);
    if (fd_is_regular_) {
      posix_fadvise(fd_, 0, 0, POSIX_FADV_SEQUENTIAL);
    } else {
      EnlargePipe(fd_);
    }
    if (S_ISDIR(st.st_mode)) {
      message_ = name + ": Is a directory";
      CloseCurrent();
      return Open::kFailed;
    }
    message_.clear();
    return Open::kOpened;
  }
  return Open::kNone;
}

LineReader::Fill LineReader::FillBuffer() {
  // Make room: move the unconsumed tail to the front, grow if still full.
  if (begin_ > 0) {
    std::memmove(buf_.get(), buf_.get() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  if (end_ == cap_) {
    size_t limit = options_.max_line_bytes + 2;  // line + '\r' + '\n'
    if (cap_ >= limit) return Fill::kData;       // caller handles too-long
    size_t new_cap = std::min(cap_ * 2, std::max(limit, cap_ + 1));
    std::unique_ptr<char[]> bigger(new char[new_cap + kPadding]);
    std::memcpy(bigger.get(), buf_.get(), end_);
    std::memset(bigger.get() + new_cap, 0, kPadding);
    buf_ = std::move(bigger);
    cap_ = new_cap;
  }
  if (!fd_is_regular_ && options_.before_block) {
    struct pollfd p = {fd_, POLLIN, 0};
    int r = ::poll(&p, 1, 0);
    if (r == 0) options_.before_block();
  }
  if (!fd_is_regular_ && options_.idle_tick_ms > 0 && options_.on_idle_tick) {
    for (;;) {
      if (InterruptRequested()) return Fill::kInterrupted;
      struct pollfd p = {fd_, POLLIN, 0};
      int r = ::poll(&p, 1, static_cast<int>(options_.idle_tick_ms));
      if (r > 0) break;
      if (r == 0) {
        if (!options_.on_idle_tick()) return Fill::kInterrupted;
        continue;
      }
      if (errno != EINTR) break;
    }
  }
  for (;;) {
    if (InterruptRequested()) return Fill::kInterrupted;
    ssize_t n = ::read(fd_, buf_.get() + end_, cap_ - end_);
    if (n > 0) {
      end_ += static_cast<size_t>(n);
      bytes_read_ += static_cast<uint64_t>(n);
      return Fill::kData;
    }
    if (n == 0) return Fill::kEof;
    if (errno == EINTR) continue;
    message_ = source_name_ + ": read error: " + std::strerror(errno);
    return Fill::kError;
  }
}

LineReader::Event LineReader::SkipLongLine() {
  // The buffer holds the start of an over-long line; drop bytes until '\n'.
  ++line_no_;
  scanned_ = 0;
  for (;;) {
    char* nl = static_cast<char*>(std::memchr(buf_.get() + begin_, '\n', end_ - begin_));
    if (nl != nullptr) {
      begin_ = static_cast<size_t>(nl - buf_.get()) + 1;
      scanned_ = 0;
      return Event::kTooLong;
    }
    begin_ = end_ = 0;
    Fill f = FillBuffer();
    if (f == Fill::kInterrupted) return Event::kInterrupted;
    if (f != Fill::kData) {
      eof_ = true;
      return Event::kTooLong;
    }
  }
}

LineReader::Event LineReader::TakeLine(size_t end, size_t terminator) {
  size_t len = end - begin_;
  const char* start = buf_.get() + begin_;
  begin_ = end + terminator;
  scanned_ = 0;
  ++line_no_;
  if (line_no_ == 1 && len >= 3 && std::memcmp(start, "\xEF\xBB\xBF", 3) == 0) {
    start += 3;
    len -= 3;
    ++boms_skipped_;
  }
  if (len > 0 && start[len - 1] == '\r') --len;
  if (len > options_.max_line_bytes) return Event::kTooLong;
  line_ = std::string_view(start, len);
  return Event::kLine;
}

LineReader::Event LineReader::Next() {
  for (;;) {
    if (!open_) {
      switch (OpenNext()) {
        case Open::kNone:
          return Event::kEnd;
        case Open::kFailed:
          return Event::kSourceError;
        case Open::kOpened:
          break;
      }
    }
    // Look for the next newline in what we have.
    size_t from = begin_ + scanned_;
    char* nl = static_cast<char*>(std::memchr(buf_.get() + from, '\n', end_ - from));
    if (nl != nullptr) return TakeLine(static_cast<size_t>(nl - buf_.get()), 1);
    scanned_ = end_ - begin_;
    if (eof_) {
      if (begin_ < end_) return TakeLine(end_, 0);  // final line without newline
      CloseCurrent();
      continue;
    }
    if (end_ - begin_ > options_.max_line_bytes + 1) {
      return SkipLongLine();
    }
    Fill f = FillBuffer();
    switch (f) {
      case Fill::kData:
        break;
      case Fill::kEof:
        eof_ = true;
        break;
      case Fill::kInterrupted:
        return Event::kInterrupted;
      case Fill::kError:
        CloseCurrent();
        return Event::kSourceError;
    }
  }
}

}  // namespace govstream::io
