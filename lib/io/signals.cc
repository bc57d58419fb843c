#include "io/signals.h"

#include <atomic>
#include <csignal>

#include <sys/time.h>

namespace govstream::io {
namespace {

std::atomic<int> g_signal{0};
static_assert(std::atomic<int>::is_always_lock_free);

extern "C" void OnSignal(int sig) {
  if (g_signal.exchange(sig, std::memory_order_relaxed) == 0) {
    // From now on a SIGALRM every 100 ms interrupts any blocking call, so a
    // write(2) that was already blocked (or entered just after this handler
    // ran) returns EINTR and sees the flag. setitimer is a plain syscall.
    struct itimerval every = {};
    every.it_interval.tv_usec = 100000;
    every.it_value.tv_usec = 100000;
    setitimer(ITIMER_REAL, &every, nullptr);
  }
}

extern "C" void OnAlarm(int) {}

std::atomic<bool> g_reload{false};
static_assert(std::atomic<bool>::is_always_lock_free);

extern "C" void OnHangup(int) { g_reload.store(true, std::memory_order_relaxed); }

}  // namespace

void InstallSignalHandlers() {
  struct sigaction ignore = {};
  ignore.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &ignore, nullptr);

  struct sigaction sa = {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: blocking reads return EINTR
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  sa.sa_handler = OnAlarm;
  sigaction(SIGALRM, &sa, nullptr);
}

void InstallReloadHandler() {
  struct sigaction sa = {};
  sa.sa_handler = OnHangup;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGHUP, &sa, nullptr);
}

bool TakeReloadRequest() { return g_reload.exchange(false, std::memory_order_relaxed); }

bool InterruptRequested() { return g_signal.load(std::memory_order_relaxed) != 0; }
int InterruptSignal() { return g_signal.load(std::memory_order_relaxed); }

}  // namespace govstream::io
