// Process-wide signal policy for govstream programs.
//
// InstallSignalHandlers() ignores SIGPIPE (writes then fail with EPIPE, which
// the OutputWriter turns into a quiet Status::BrokenPipe) and records
// SIGINT/SIGTERM in a flag instead of killing the process. The handlers are
// installed without SA_RESTART, so a blocking read() returns EINTR and the
// program can finish cleanly (flush, emit results) and exit 130. After the
// first SIGINT/SIGTERM a 100 ms interval timer (SIGALRM, also without
// SA_RESTART) keeps interrupting blocking calls, so no call entered after the
// flag was set can block forever; callers retry EINTR and decide themselves
// when to give up (see OutputWriter).
// Thread-safe: the flag is a lock-free atomic.
#ifndef GOVSTREAM_IO_SIGNALS_H_
#define GOVSTREAM_IO_SIGNALS_H_

namespace govstream::io {

void InstallSignalHandlers();
// True once SIGINT or SIGTERM has arrived.
bool InterruptRequested();
// The signal number that arrived (SIGINT or SIGTERM), or 0.
int InterruptSignal();

// SIGHUP as a request to reload configuration (mq-broker's keys and ACL)
// instead of the default (terminate). TakeReloadRequest() is true once per
// SIGHUP received (several before a call count as one).
void InstallReloadHandler();
bool TakeReloadRequest();

}  // namespace govstream::io

#endif  // GOVSTREAM_IO_SIGNALS_H_
