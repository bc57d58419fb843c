// spawn: run a command as the child of this small process, wait for it, and
// write its resource usage to FILE as one JSON line.
//
// usage: spawn FILE COMMAND [ARG...]
//
// bench/run starts every measured process through spawn. Peak RSS cannot be
// taken from os.wait4 in the Python harness itself: on exec, Linux carries
// the old image's RSS high-water mark into the new process's ru_maxrss
// (exec_mmap -> setmax_mm_hiwater_rss), so any child forked from a 25 MB
// Python reports at least 25 MB. Forked from this process instead, a child
// starts from about 1 MB, as under GNU time.
//
// SIGTERM and SIGINT are forwarded to the child (so a broker stopped through
// spawn still shuts down cleanly and reports). The exit status is the
// child's, or 128 + the signal that ended it. If spawn itself is killed, the
// child gets SIGKILL (PR_SET_PDEATHSIG), so no measured process outlives it.
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>

namespace {
volatile pid_t child = -1;
void Forward(int sig) {
  if (child > 0) kill(child, sig);
}
double Secs(const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; }
}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: spawn FILE COMMAND [ARG...]\n");
    return 2;
  }
  struct sigaction sa = {};
  sa.sa_handler = Forward;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  child = fork();
  if (child < 0) {
    std::perror("spawn: fork");
    return 126;
  }
  if (child == 0) {  // exec resets the caught signals to their defaults
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    execvp(argv[2], argv + 2);
    std::perror(argv[2]);
    _exit(127);
  }
  int status = 0;
  rusage ru = {};
  while (wait4(child, &status, 0, &ru) < 0) {
    if (errno != EINTR) {
      std::perror("spawn: wait4");
      return 126;
    }
  }
  if (FILE* f = std::fopen(argv[1], "w")) {
    std::fprintf(f, "{\"maxrss_kb\":%ld,\"user_s\":%.6f,\"sys_s\":%.6f}\n", ru.ru_maxrss,
                 Secs(ru.ru_utime), Secs(ru.ru_stime));
    std::fclose(f);
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
