#include "io/output.h"

#include "io/signals.h"

#include <fcntl.h>
#include <fmt/core.h>
#include <limits.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace govstream::io {
namespace {
constexpr int kMaxStalledInterrupts = 10;
}  // namespace

OutputWriter::OutputWriter(int fd, size_t buffer_bytes)
    : fd_(fd), buf_(new char[buffer_bytes]), cap_(buffer_bytes) {}

OutputWriter::~OutputWriter() { Flush(); }

void OutputWriter::Flush() {
  if (len_ == 0) return;
  WriteAll(buf_.get(), len_);
  len_ = 0;
}

void OutputWriter::WriteSlow(std::string_view bytes) {
  Flush();
  if (bytes.size() >= cap_) {
    WriteAll(bytes.data(), bytes.size());
  } else {
    std::memcpy(buf_.get(), bytes.data(), bytes.size());
    len_ = bytes.size();
  }
}

void OutputWriter::WriteLineSlow(std::string_view bytes) {
  Flush();
  if (bytes.size() + 1 > cap_) {
    std::string line;
    line.reserve(bytes.size() + 1);
    line.append(bytes);
    line += '\n';
    WriteAll(line.data(), line.size());
  } else {
    std::memcpy(buf_.get(), bytes.data(), bytes.size());
    buf_[bytes.size()] = '\n';
    len_ = bytes.size() + 1;
  }
}

Status TrimPartialLastLine(int fd, std::string_view name) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return Status::IoError(fmt::format("cannot stat {}: {}", name, std::strerror(errno)));
  if (!S_ISREG(st.st_mode) || st.st_size == 0) return Status::Ok();
  char block[65536];
  off_t end = st.st_size;
  while (end > 0) {
    const off_t start = end > static_cast<off_t>(sizeof block) ? end - static_cast<off_t>(sizeof block) : 0;
    const size_t n = static_cast<size_t>(end - start);
    if (::pread(fd, block, n, start) != static_cast<ssize_t>(n)) {
      return Status::IoError(fmt::format("cannot read {}: {}", name, std::strerror(errno)));
    }
    for (size_t i = n; i-- > 0;) {
      if (block[i] != '\n') continue;
      const off_t keep = start + static_cast<off_t>(i) + 1;
      if (keep == st.st_size) return Status::Ok();
      if (::ftruncate(fd, keep) != 0) {
        return Status::IoError(fmt::format("cannot truncate {}: {}", name, std::strerror(errno)));
      }
      return Status::Ok();
    }
    end = start;
  }
  if (::ftruncate(fd, 0) != 0) return Status::IoError(fmt::format("cannot truncate {}: {}", name, std::strerror(errno)));
  return Status::Ok();
}

void OutputWriter::set_stall_hook(int64_t every_ms, std::function<bool()> on_stall) {
  struct stat st;
  stall_capable_ = fstat(fd_, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode));
  stall_every_ms_ = every_ms;
  on_stall_ = std::move(on_stall);
}

void OutputWriter::WriteAll(const char* p, size_t n) {
  if (!status_.ok()) return;
  if (on_stall_ && stall_capable_) {
    // POLLOUT on a pipe means at least PIPE_BUF bytes fit, and a write of at
    // most PIPE_BUF bytes then completes without blocking.
    while (n > 0) {
      struct pollfd pfd = {fd_, POLLOUT, 0};
      int r = ::poll(&pfd, 1, static_cast<int>(stall_every_ms_));
      if (r == 0 || (r < 0 && errno == EINTR)) {
        if (InterruptRequested() || !on_stall_()) {
          status_ = Status::Interrupted();
          return;
        }
        continue;
      }
      size_t chunk = n < PIPE_BUF ? n : PIPE_BUF;
      ssize_t w = ::write(fd_, p, chunk);
      if (w < 0) {
        if (errno == EINTR || errno == EAGAIN) continue;
        status_ = errno == EPIPE ? Status::BrokenPipe()
                                 : Status::IoError(std::string("write error: ") + std::strerror(errno));
        return;
      }
      p += w;
      n -= static_cast<size_t>(w);
      written_ += static_cast<uint64_t>(w);
    }
    return;
  }
  // After SIGINT/SIGTERM the final results are still written to a reader that
  // keeps reading, but a reader that takes nothing for about a second
  // (10 interruptions by the 100 ms timer of io/signals.h) is given up on.
  int stalled_after_interrupt = 0;
  while (n > 0) {
    ssize_t w = ::write(fd_, p, n);
    if (w < 0) {
      if (errno == EINTR) {
        if (InterruptRequested() && ++stalled_after_interrupt >= kMaxStalledInterrupts) {
          status_ = Status::Interrupted();
          return;
        }
        continue;
      }
      if (errno == EPIPE) {
        status_ = Status::BrokenPipe();
      } else {
        status_ = Status::IoError(std::string("write error: ") + std::strerror(errno));
      }
      return;
    }
    stalled_after_interrupt = 0;
    p += w;
    n -= static_cast<size_t>(w);
    written_ += static_cast<uint64_t>(w);
  }
}

void EnlargePipe(int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISFIFO(st.st_mode)) return;
#ifdef F_SETPIPE_SZ
  (void)fcntl(fd, F_SETPIPE_SZ, 1 << 20);
#endif
}

}  // namespace govstream::io
