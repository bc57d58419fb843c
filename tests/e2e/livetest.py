"""Shared plumbing of the live end-to-end tests (test_live.py,
test_agg_live.py): a TestCase base that starts each program in its own
process group and kills every group it started in tearDown, and the runner
that ends with the `N passed, M failed` line CI reads.
"""

import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
BIN_DIR = os.path.abspath(os.environ.get("GOVSTREAM_BIN")
                          or os.path.join(HERE, "..", "..", "build", "bin"))
PIPE = subprocess.PIPE
DEVNULL = subprocess.DEVNULL


def read_until_match(fd, find, timeout, buf=b""):
    """Reads fd until find(data) gives the length of the wanted prefix, or
    timeout or end of file; returns (data up to that length, monotonic time
    it was there or None)."""
    deadline = time.monotonic() + timeout
    while True:
        end = find(buf)
        if end is not None:
            return buf[:end], time.monotonic()
        left = deadline - time.monotonic()
        if left <= 0:
            return buf, None
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            continue
        chunk = os.read(fd, 65536)
        if not chunk:
            return buf, None
        buf += chunk


class ProcessTest(unittest.TestCase):
    """Tracks the processes it starts and kills them in tearDown."""

    def setUp(self):
        self.procs = []
        self.fds = []
        self.tmp = tempfile.mkdtemp(prefix="govstream-live-")

    def tearDown(self):
        # Each process leads its own process group (or joined one led by an
        # earlier process of this test); killing the groups of the processes
        # we have not reaped reaches them and nothing else.
        for p in self.procs:
            if p.returncode is None:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
                try:
                    p.kill()
                except ProcessLookupError:
                    pass
        for p in self.procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
            for f in (p.stdin, p.stdout, p.stderr):
                if f is not None:
                    try:
                        f.close()
                    except OSError:
                        pass
        for fd in self.fds:
            try:
                os.close(fd)
            except OSError:
                pass
        shutil.rmtree(self.tmp, ignore_errors=True)

    # -- helpers ----------------------------------------------------------

    def spawn(self, args, **kw):
        """Starts args in a new session, or with process_group=PGID (0: a new
        group led by the process) in that group of this session."""
        if "process_group" not in kw:
            kw["start_new_session"] = True
        elif sys.version_info < (3, 11):  # Popen(process_group=) is new in 3.11
            pgid = kw.pop("process_group")
            kw["preexec_fn"] = lambda: os.setpgid(0, pgid)
        p = subprocess.Popen(args, **kw)
        self.procs.append(p)
        return p

    def path(self, name):
        return os.path.join(self.tmp, name)

    def append(self, path, data):
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)

    def wait_exit(self, p, timeout, what="process"):
        try:
            return p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.fail("%s still running after %.1f s" % (what, timeout))

    def pipe_into_head(self, producer, args):
        """Runs `producer | args | head -1` (no producer: args reads
        /dev/null); returns (what head printed, the args process), after head
        exits. Fails if head gets no line within 10 s."""
        stdin = subprocess.DEVNULL
        if producer is not None:
            prod = self.spawn(producer, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            stdin = prod.stdout
        p = self.spawn(args, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if producer is not None:
            prod.stdout.close()
        head = self.spawn(["head", "-1"], stdin=p.stdout, stdout=subprocess.PIPE)
        p.stdout.close()
        try:
            first, _ = head.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.fail("head -1 got no line within 10 s")
        return first, p

    # -- watching a process read its input (Linux /proc) -----------------

    @staticmethod
    def rchar(pid):
        """Bytes the process has read so far, or None."""
        try:
            with open("/proc/%d/io" % pid) as f:
                for line in f:
                    if line.startswith("rchar:"):
                        return int(line.split()[1])
        except OSError:
            return None
        return None

    @staticmethod
    def blocked(pid):
        """True when the process sleeps (e.g. in read, waiting for input)."""
        try:
            with open("/proc/%d/stat" % pid) as f:
                return f.read().rsplit(")", 1)[1].split()[0] == "S"
        except OSError:
            return False

    def wait_idle(self, p, timeout=5.0):
        """Waits until p sleeps with a stable read counter; returns the counter."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            now = self.rchar(p.pid)
            if now is not None and now == last and self.blocked(p.pid):
                return now
            last = now
            time.sleep(0.05)
        self.fail("%s did not settle into waiting for input within %.1f s"
                  % (os.path.basename(p.args[0]), timeout))

    def wait_read(self, p, base, nbytes, timeout=5.0):
        """Waits until p has read nbytes more than `base` and blocks again."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            now = self.rchar(p.pid)
            if now is None:
                self.skipTest("/proc/PID/io is not readable here")
            if now - base >= nbytes and self.blocked(p.pid):
                time.sleep(0.05)  # let it finish with the records it read
                return
            time.sleep(0.02)
        self.fail("%s read %s of %d bytes within %.1f s"
                  % (os.path.basename(p.args[0]), self.rchar(p.pid) - base, nbytes, timeout))



def run_main(program, module_name):
    """Runs the unittest cases of `module_name`; prints `N passed, M failed`."""
    if not os.access(program, os.X_OK):
        print("%s not found (set GOVSTREAM_BIN)" % program, file=sys.stderr)
        print("0 passed, 1 failed")
        return 1
    argv = [a for a in sys.argv[1:] if not a.startswith("-")]
    verbosity = 2 if ("-v" in sys.argv[1:] or "--verbose" in sys.argv[1:]) else 1
    loader = unittest.TestLoader()
    if argv:
        suite = loader.loadTestsFromNames(argv, sys.modules[module_name])
    else:
        suite = loader.loadTestsFromModule(sys.modules[module_name])
    result = unittest.TextTestRunner(verbosity=verbosity, stream=sys.stdout).run(suite)
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    passed = result.testsRun - failed - len(result.skipped)
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1
