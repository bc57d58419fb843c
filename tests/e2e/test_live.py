#!/usr/bin/env python3
"""Live end-to-end tests of stream-filter: timing, pipes, signals, memory.

These need real processes and clocks, so they are not data-driven cases
(see run-cases for those).  Standard library only.

usage: GOVSTREAM_BIN=build/bin python3 tests/e2e/test_live.py [-v] [TestClass.test_name ...]

GOVSTREAM_BIN is the directory that holds the built programs (default:
../../build/bin relative to this file).  `jq`, `tail`, `yes`, `head`, `cat` and
/usr/bin/time (GNU time) must be installed.  Every wait is bounded, and every
process a test starts is killed in tearDown.  Prints the unittest report and,
last, exactly one line "N passed, M failed"; exits 1 if a test failed.
"""

import json
import os
import pty
import random
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

from livetest import BIN_DIR, DEVNULL, PIPE, ProcessTest, read_until_match, run_main

SF = os.path.join(BIN_DIR, "stream-filter")

MB = 1024 * 1024
TIME = "/usr/bin/time"


class LiveTest(ProcessTest):
    """ProcessTest plus this file's read and wait helpers."""

    @staticmethod
    def read_until(fd, needle, timeout, buf=b""):
        """Reads fd until `needle` is in the data or timeout; returns
        (data, monotonic time when needle was seen or None)."""
        return read_until_match(fd, lambda b: len(b) if needle in b else None, timeout, buf)

    @staticmethod
    def drain(fd, quiet_seconds):
        """Reads whatever arrives until fd is quiet for quiet_seconds."""
        data = b""
        while True:
            ready, _, _ = select.select([fd], [], [], quiet_seconds)
            if not ready:
                return data
            chunk = os.read(fd, 65536)
            if not chunk:
                return data
            data += chunk

    def spawn_measured(self, args, **kw):
        """Starts args under /usr/bin/time, which forks it from a small process
        (a child spawned straight from this big Python process would inherit
        its peak RSS).  Returns (process, file that will hold the peak RSS in KiB)."""
        if not os.access(TIME, os.X_OK):
            self.skipTest("%s is not installed" % TIME)
        rss_file = self.path("rss-%d.txt" % len(self.procs))
        return self.spawn([TIME, "-q", "-f", "%M", "-o", rss_file] + args, **kw), rss_file

    @staticmethod
    def read_rss_kib(rss_file):
        with open(rss_file) as f:
            return int(f.read().split()[-1])


class TailFollow(LiveTest):
    """Block-buffered output is flushed before the program waits for input."""

    def test_tail_F_match_passed_on_while_input_is_idle(self):
        # A functional check of flush-before-block: with output held in a block
        # buffer the match would never arrive while the log is quiet. The
        # latency (the 100 ms) is printed, not asserted: the machine
        # is shared and timing assertions would be flaky.
        log = self.path("live.ndjson")
        self.append(log, b"")
        # -s only matters if tail has to poll (no inotify); keeps tail itself fast.
        tail = self.spawn(["tail", "-n", "0", "-s", "0.02", "-F", log],
                          stdout=PIPE, stderr=DEVNULL)
        sf = self.spawn([SF, ".ready or .hit"], stdin=tail.stdout, stdout=PIPE, stderr=PIPE)
        tail.stdout.close()
        fd = sf.stdout.fileno()

        # Wait until tail follows the file: append markers until one comes through.
        seen = None
        deadline = time.monotonic() + 10
        n = 0
        while seen is None and time.monotonic() < deadline:
            n += 1
            self.append(log, b'{"ready":%d}\n' % n)
            _, seen = self.read_until(fd, b'{"ready":%d}\n' % n, 0.5)
        self.assertIsNotNone(seen, "no line came through tail -F | stream-filter within 10 s "
                                   "(output held back in a buffer, or tail not following?)")
        self.drain(fd, 0.2)

        latencies = []
        for attempt in range(3):
            self.append(log, b"".join(b'{"hit":false,"noise":%d}\n' % i for i in range(5)))
            self.drain(fd, 0.05)
            needle = b'{"hit":true,"attempt":%d}\n' % attempt
            t0 = time.monotonic()
            self.append(log, needle)
            data, t1 = self.read_until(fd, needle, 3.0)
            self.assertIsNotNone(t1, "matching line not passed on within 3 s (output held back "
                                     "in a buffer?); got %r" % data)
            self.assertEqual(data, needle)
            latencies.append(t1 - t0)
        sys.stderr.write("tail -F | stream-filter latency, best of 3: %.1f ms\n" % (1000 * min(latencies)))
        self.assertIsNone(sf.poll(), "stream-filter exited while its input was still open")

    def test_file_output_flushed_before_waiting_on_stdin(self):
        # `stream-filter EXPR file -`: the matches from the file must come out
        # while the program waits on the (still open) standard input.
        f = self.path("first.ndjson")
        with open(f, "wb") as out:
            out.write(b'{"a":1}\n{"a":0}\n{"a":2}\n')
        sf = self.spawn([SF, ".a > 0", f, "-"], stdin=PIPE, stdout=PIPE, stderr=PIPE)
        data, t = self.read_until(sf.stdout.fileno(), b'{"a":2}\n', 3.0)
        self.assertIsNotNone(t, "file matches held back while waiting for stdin; got %r" % data)
        self.assertEqual(data, b'{"a":1}\n{"a":2}\n')
        sf.stdin.write(b'{"a":3}\n')
        sf.stdin.flush()
        data, t = self.read_until(sf.stdout.fileno(), b'{"a":3}\n', 3.0)
        self.assertIsNotNone(t, "stdin match held back; got %r" % data)
        sf.stdin.close()
        self.assertEqual(self.wait_exit(sf, 5), 0)
        self.assertEqual(sf.stdout.read(), b"")


class ClosedPipe(LiveTest):
    """`| head -1` ends stream-filter quietly, promptly, with status 0."""

    def run_into_head(self, sf_args, producer=None):
        first, sf = self.pipe_into_head(producer, [SF] + sf_args)
        t_head = time.monotonic()
        status = self.wait_exit(sf, 5, "stream-filter after head exited")
        elapsed = time.monotonic() - t_head
        err = sf.stderr.read()
        return first, status, err, elapsed

    def test_yes_into_head(self):
        first, status, err, elapsed = self.run_into_head([".a"], ["yes", '{"a":1}'])
        self.assertEqual(first, b'{"a":1}\n')
        self.assertEqual(status, 0)
        self.assertEqual(err, b"", "a closed pipe must end the program quietly")
        self.assertLess(elapsed, 5.0)  # bounded wait: "promptly", not a benchmark

    def test_yes_into_head_with_map_and_line_buffered(self):
        first, status, err, elapsed = self.run_into_head(
            ["--line-buffered", "--map", "{b: .a}", ".a"], ["yes", '{"a":1}'])
        self.assertEqual(first, b'{"b":1}\n')
        self.assertEqual((status, err), (0, b""))
        self.assertLess(elapsed, 5.0)  # bounded wait: "promptly", not a benchmark

    def test_large_file_into_head(self):
        big = self.path("big.ndjson")
        with open(big, "wb") as f:
            line = b'{"x":1,"pad":"' + b"p" * 200 + b'"}\n'
            for _ in range(100):
                f.write(line * 1000)  # ~21 MB
        first, status, err, elapsed = self.run_into_head([".x", big])
        self.assertEqual(first, line)
        self.assertEqual((status, err), (0, b""))
        self.assertLess(elapsed, 5.0)  # bounded wait: "promptly", not a benchmark


class Signals(LiveTest):
    """SIGINT/SIGTERM: exit status 130, matches so far are on stdout."""

    LINES = b'{"a":1}\n{"a":2}\n{"a":3}\n'
    KEPT = b'{"a":2}\n{"a":3}\n'

    def start_reading_open_pipe(self):
        sf = self.spawn([SF, ".a > 1"], stdin=PIPE, stdout=PIPE, stderr=PIPE)
        sf.stdin.write(self.LINES)
        sf.stdin.flush()
        return sf

    def check_interrupt_while_waiting(self, sig):
        sf = self.start_reading_open_pipe()
        # Do not read stdout before the signal: the matches must be there after it.
        time.sleep(0.5)
        self.assertIsNone(sf.poll(), "stream-filter exited although stdin is open")
        sf.send_signal(sig)
        status = self.wait_exit(sf, 5, "stream-filter after %s" % signal.Signals(sig).name)
        self.assertEqual(status, 130)
        self.assertEqual(sf.stdout.read(), self.KEPT)

    def test_sigint_while_waiting_for_input(self):
        self.check_interrupt_while_waiting(signal.SIGINT)

    def test_sigterm_while_waiting_for_input(self):
        self.check_interrupt_while_waiting(signal.SIGTERM)

    def test_sigint_then_end_of_input_still_exits_130(self):
        # Ctrl-C in `producer | stream-filter`: the whole process group gets
        # SIGINT and the producer's exit closes the pipe right after.  The
        # signal arrived first, so the status must say "interrupted".
        # (A race by nature: repeated so that a program that lets the end of
        # input win over a pending interrupt fails reliably.  A correct one
        # passes every time, since the signal is always sent first.)
        statuses = []
        for _ in range(20):
            sf = self.start_reading_open_pipe()
            data, t = self.read_until(sf.stdout.fileno(), self.KEPT, 3.0)
            self.assertIsNotNone(t, "matches not passed on while waiting; got %r" % data)
            time.sleep(0.02)  # let it settle into its blocking read
            sf.send_signal(signal.SIGINT)
            sf.stdin.close()
            statuses.append(self.wait_exit(sf, 5, "stream-filter after SIGINT and EOF"))
            self.assertEqual(sf.stdout.read(), b"")
        self.assertEqual(statuses, [130] * 20)

    def test_sigterm_while_output_is_blocked(self):
        # The reader of stdout is stuck (never reads): stream-filter blocks in
        # write.  SIGTERM must still end it promptly with status 130.
        big = self.path("big.ndjson")
        with open(big, "wb") as f:
            f.write(b"".join(b'{"x":%d,"pad":"%s"}\n' % (i, b"q" * 40) for i in range(200000)))
        sf = self.spawn([SF, "true", big], stdin=DEVNULL, stdout=PIPE, stderr=PIPE)
        time.sleep(0.5)  # fills the pipe, then blocks in write
        self.assertIsNone(sf.poll(), "expected stream-filter to be blocked writing")
        sf.send_signal(signal.SIGTERM)
        self.assertEqual(self.wait_exit(sf, 3, "stream-filter (blocked on output) after SIGTERM"),
                         130)


class HugeLine(LiveTest):
    """A 50 MB line with --max-line-bytes 1M is skipped in bounded memory."""

    def make_huge(self):
        path = self.path("huge.ndjson")
        with open(path, "wb") as f:
            f.write(b'{"a":1}\n{"a":"')
            chunk = b"x" * MB
            for _ in range(50):
                f.write(chunk)
            f.write(b'"}\n{"a":2}\n')
        return path

    def check(self, sf, rss_file, source):
        try:
            out, err = sf.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            self.fail("stream-filter still running after 60 s")
        self.assertEqual(sf.returncode, 1)
        self.assertEqual(out, b'{"a":1}\n{"a":2}\n')
        self.assertIn(b"stream-filter: %s:2: " % source, err)
        rss_kib = self.read_rss_kib(rss_file)
        self.assertLess(rss_kib, 40 * 1024, "peak RSS %d KiB for a 50 MB line" % rss_kib)

    def test_huge_line_in_file(self):
        path = self.make_huge()
        sf, rss = self.spawn_measured([SF, "--max-line-bytes", "1M", ".a", path],
                                      stdin=DEVNULL, stdout=PIPE, stderr=PIPE)
        self.check(sf, rss, path.encode())

    def test_huge_line_on_stdin(self):
        path = self.make_huge()
        cat = self.spawn(["cat", path], stdout=PIPE)
        sf, rss = self.spawn_measured([SF, "--max-line-bytes", "1M", ".a"],
                                      stdin=cat.stdout, stdout=PIPE, stderr=PIPE)
        cat.stdout.close()
        self.check(sf, rss, b"<stdin>")
        self.wait_exit(cat, 5, "cat")


class AgreesWithJq(LiveTest):
    """200k generated records: the same matches as jq, byte for byte."""

    N = 200000
    EXPR = ".x % 7 == 0"

    @classmethod
    def setUpClass(cls):
        cls.data_dir = tempfile.mkdtemp(prefix="govstream-live-data-")
        cls.data = os.path.join(cls.data_dir, "gen.ndjson")
        rnd = random.Random(20240607)
        words = ["alpha", "beta", "caf\u00e9", "\u20ac5", 'quo"te', "back\\slash", "tab\there", ""]
        with open(cls.data, "w", encoding="utf-8") as f:
            for i in range(cls.N):
                rec = {"id": i, "x": rnd.randint(-1000000, 1000000),
                       "host": "web%d" % rnd.randint(1, 20),
                       "word": rnd.choice(words),
                       "ok": rnd.choice([True, False, None]),
                       "tags": rnd.sample(words, rnd.randint(0, 3))}
                if rnd.random() < 0.3:
                    rec["nested"] = {"n": rnd.randint(0, 9), "z": [1, {"q": None}]}
                # jq -c's own spelling, so kept original lines equal jq's output.
                f.write(json.dumps(rec, ensure_ascii=False, separators=(",", ":")) + "\n")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.data_dir, ignore_errors=True)

    def run_tool(self, args, stdin=DEVNULL, timeout=120):
        p = self.spawn(args, stdin=stdin, stdout=PIPE, stderr=PIPE)
        try:
            out, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.fail("%s timed out" % args[0])
        return p.returncode, out, err

    def jq_select(self, expr, post=""):
        code, out, err = self.run_tool(["jq", "-c", "select(%s)%s" % (expr, post), self.data])
        self.assertEqual((code, err), (0, b""), "jq failed")
        return out

    def test_filter_file_matches_jq(self):
        expected = self.jq_select(self.EXPR)
        self.assertGreater(expected.count(b"\n"), self.N // 10)
        code, out, err = self.run_tool([SF, self.EXPR, self.data])
        self.assertEqual((code, err), (0, b""))
        self.assertTrue(out == expected, "stream-filter and jq differ (%d vs %d lines)"
                        % (out.count(b"\n"), expected.count(b"\n")))

    def test_filter_stdin_matches_jq(self):
        expected = self.jq_select(self.EXPR)
        cat = self.spawn(["cat", self.data], stdout=PIPE)
        code, out, err = self.run_tool([SF, self.EXPR], stdin=cat.stdout)
        cat.stdout.close()
        self.assertEqual((code, err), (0, b""))
        self.assertTrue(out == expected, "stream-filter (stdin) and jq differ (%d vs %d lines)"
                        % (out.count(b"\n"), expected.count(b"\n")))

    def test_invert_count_and_map_match_jq(self):
        expected_inv = self.jq_select("(%s) | not" % self.EXPR)
        code, out, err = self.run_tool([SF, "-v", self.EXPR, self.data])
        self.assertEqual((code, err), (0, b""))
        self.assertTrue(out == expected_inv, "-v differs from jq")

        kept = self.N - expected_inv.count(b"\n")
        code, out, err = self.run_tool([SF, "-c", self.EXPR, self.data])
        self.assertEqual((code, out, err), (0, b"%d\n" % kept, b""))

        expected_map = self.jq_select(self.EXPR, " | {id, host, w: .word}")
        code, out, err = self.run_tool([SF, "--map", "{id, host, w: .word}", self.EXPR, self.data])
        self.assertEqual((code, err), (0, b""))
        self.assertTrue(out == expected_map, "--map differs from jq")


class Progress(LiveTest):
    """--progress draws a progress line when stderr is a terminal."""

    def test_progress_on_a_terminal(self):
        big = self.path("big.ndjson")
        with open(big, "wb") as f:
            f.write(b'{"a":1}\n' * 2000000)  # 16 MB
        master, slave = pty.openpty()
        try:
            sf = self.spawn([SF, "--progress", "-c", ".a", big],
                            stdin=DEVNULL, stdout=PIPE, stderr=slave)
            os.close(slave)
            slave = None
            err = b""
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                ready, _, _ = select.select([master], [], [], 0.2)
                if ready:
                    try:
                        chunk = os.read(master, 65536)
                    except OSError:  # EIO: the other side is closed
                        break
                    if not chunk:
                        break
                    err += chunk
                elif sf.poll() is not None:
                    break
            self.assertEqual(self.wait_exit(sf, 5), 0)
            self.assertEqual(sf.stdout.read(), b"2000000\n")
            self.assertRegex(err, rb"\d+(\.\d+)?%", "no progress line on the terminal: %r" % err)
        finally:
            if slave is not None:
                os.close(slave)
            os.close(master)


if __name__ == "__main__":
    sys.exit(run_main(SF, __name__))
