#include "io/input.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "io/output.h"
#include "io/signals.h"

namespace govstream::io {

std::vector<LineReader::Source> LineReader::FromNames(std::vector<std::string> names) {
  std::vector<Source> out;
  for (std::string& n : names) {
    Source src;
    src.path = std::move(n);
    out.push_back(std::move(src));
  }
  return out;
}

LineReader::LineReader(std::vector<std::string> sources, Options options)
    : LineReader(FromNames(std::move(sources)), std::move(options)) {}

LineReader::LineReader(std::vector<Source> sources, Options options)
    : sources_(std::move(sources)), options_(std::move(options)) {
  if (sources_.empty()) sources_.push_back(FromNames({"-"}).front());
  positions_.resize(sources_.size());
  // The total size is known up front when every source is a regular file.
  for (size_t i = 0; i < sources_.size(); ++i) {
    const Source& src = sources_[i];
    positions_[i].offset = src.offset;
    positions_[i].line = src.line;
    struct stat st;
    if (src.path == "-" ? fstat(0, &st) != 0 : stat(src.path.c_str(), &st) != 0) continue;
    if (!S_ISREG(st.st_mode) || src.gzip) {
      total_known_ = false;
      continue;
    }
    uint64_t size = static_cast<uint64_t>(st.st_size);
    known_total_ += size > src.offset ? size - src.offset : 0;
  }
  cap_ = std::max<size_t>(options_.initial_buffer_bytes, 4096);
  buf_.reset(new char[cap_ + kPadding]);  // deliberately not zero-filled
  std::memset(buf_.get() + cap_, 0, kPadding);
}

LineReader::~LineReader() { CloseCurrent(); }

void LineReader::CloseCurrent() {
  if (gz_) {
    gzclose(static_cast<gzFile>(gz_));  // closes fd_ too
    gz_ = nullptr;
  } else if (open_ && fd_ > 0) {
    ::close(fd_);
  }
  open_ = false;
  fd_ = -1;
}

ssize_t LineReader::ReadSome(char* to, size_t n) {
  if (!gz_) return ::read(fd_, to, n);
  int got = gzread(static_cast<gzFile>(gz_), to, static_cast<unsigned>(std::min<size_t>(n, 1u << 30)));
  if (got < 0) {
    errno = EIO;
    return -1;
  }
  return got;
}

bool LineReader::SkipTo(uint64_t offset) {
  while (read_offset_ < offset) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(cap_, offset - read_offset_));
    ssize_t n = ReadSome(buf_.get(), want);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    read_offset_ += static_cast<uint64_t>(n);
  }
  return true;
}

LineReader::Open LineReader::OpenNext() {
  CloseCurrent();
  while (next_source_ < sources_.size()) {
    current_ = next_source_++;
    const Source& src = sources_[current_];
    const std::string& name = src.path;
    begin_ = end_ = scanned_ = 0;
    eof_ = false;
    line_no_ = src.line;
    read_offset_ = 0;
    positions_[current_].opened = true;
    if (name == "-") {
      fd_ = 0;
      source_name_ = "<stdin>";
    } else {
      source_name_ = src.shown.empty() ? name : src.shown;
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
    if (src.gzip) {
      gz_ = gzdopen(fd_, "rb");
      if (!gz_) {
        message_ = name + ": cannot decompress";
        CloseCurrent();
        return Open::kFailed;
      }
      gzbuffer(static_cast<gzFile>(gz_), 1u << 17);
    }
    if (src.offset > 0) {
      bool ok = fd_is_regular_ && !gz_
                    ? ::lseek(fd_, static_cast<off_t>(src.offset), SEEK_SET) == static_cast<off_t>(src.offset)
                    : SkipTo(src.offset);
      if (!ok) {
        message_ = source_name_ + ": cannot resume at byte " + std::to_string(src.offset) + " (the file is shorter)";
        CloseCurrent();
        return Open::kFailed;
      }
      read_offset_ = src.offset;
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
    ssize_t n = ReadSome(buf_.get() + end_, cap_ - end_);
    if (n > 0) {
      end_ += static_cast<size_t>(n);
      bytes_read_ += static_cast<uint64_t>(n);
      read_offset_ += static_cast<uint64_t>(n);
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
      positions_[current_].offset = read_offset_ - (end_ - begin_);
      positions_[current_].line = line_no_;
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
  positions_[current_].offset = read_offset_ - (end_ - begin_);
  positions_[current_].line = line_no_;
  if (line_no_ == 1 && sources_[current_].offset == 0 && len >= 3 && std::memcmp(start, "\xEF\xBB\xBF", 3) == 0) {
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
      if (begin_ < end_ && !sources_[current_].hold_partial) return TakeLine(end_, 0);  // final line without newline
      positions_[current_].finished = begin_ == end_;
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
