#!/usr/bin/env python3
"""Live end-to-end tests of stream-agg: signals, snapshots in wall-clock time.

These need real processes and clocks, so they are not data-driven cases
(see run-cases and tests/cases/stream-agg for those).  Standard library only.

usage: GOVSTREAM_BIN=build/bin python3 tests/e2e/test_agg_live.py [-v] [TestClass.test_name ...]

GOVSTREAM_BIN is the directory that holds the built programs (default:
../../build/bin relative to this file).  `tail`, `yes` and `head` must be
installed.  Every wait is bounded, and every process a test starts is killed
(by its own process group) in tearDown.  Prints the unittest report and,
last, exactly one line "N passed, M failed"; exits 1 if a test failed.

To know that stream-agg has read what was written before signalling it, the
tests watch its read counter (/proc/PID/io rchar) grow by the number of bytes
written, instead of sleeping for a guessed time.
"""

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

from livetest import BIN_DIR, DEVNULL, PIPE, ProcessTest, read_until_match, run_main

SA = os.path.join(BIN_DIR, "stream-agg")


RECORDS = b'{"status":200}\n{"status":500}\n{"status":200}\n{"status":404}\n{"status":200}\n'
COUNTS = [{"status": 200, "count": 3}, {"status": 500, "count": 1}, {"status": 404, "count": 1}]


def records(data):
    return [json.loads(line) for line in data.decode().splitlines() if line.strip()]


class LiveTest(ProcessTest):
    """ProcessTest plus this file's read and wait helpers."""

    @staticmethod
    def read_until(fd, count_lines, timeout, buf=b""):
        """Reads fd until it holds `count_lines` lines or timeout; returns
        (data, monotonic time when they were there, or None)."""
        return read_until_match(fd, lambda b: len(b) if b.count(b"\n") >= count_lines else None,
                                timeout, buf)

    @staticmethod
    def read_until_line(fd, line, timeout):
        """Reads fd until a whole line equal to `line` arrived or timeout;
        returns (data up to and including that line, time or None)."""
        def find(buf):
            at = (b"\n" + buf).find(b"\n" + line)
            return at + len(line) if at >= 0 else None
        return read_until_match(fd, find, timeout)

    @staticmethod
    def read_for(fd, seconds):
        """Reads whatever arrives within `seconds` (0: what is there now)."""
        deadline = time.monotonic() + seconds
        data = b""
        while True:
            ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                return data
            chunk = os.read(fd, 65536)
            if not chunk:
                return data
            data += chunk

    def start_on_pipe(self, args):
        """stream-agg ARGS reading a pipe we keep open; waits until it blocks."""
        sa = self.spawn([SA] + args, stdin=PIPE, stdout=PIPE, stderr=PIPE)
        base = self.wait_idle(sa)
        return sa, base

    def feed(self, sa, base, data):
        sa.stdin.write(data)
        sa.stdin.flush()
        self.wait_read(sa, base, len(data))
        return base + len(data)


class Interrupt(LiveTest):
    """SIGINT/SIGTERM on a live pipe: the current results, then status 130."""

    def check_signal(self, sig):
        sa, base = self.start_on_pipe(["--by", ".status", "count"])
        self.feed(sa, base, RECORDS)
        self.assertIsNone(sa.poll(), "stream-agg exited although its input is open")
        sa.send_signal(sig)
        status = self.wait_exit(sa, 5, "stream-agg after %s" % signal.Signals(sig).name)
        out, err = sa.stdout.read(), sa.stderr.read()
        self.assertEqual(status, 130, "stderr: %r" % err)
        self.assertEqual(records(out), COUNTS)
        self.assertEqual(err, b"")

    def test_sigint_prints_results_and_exits_130(self):
        self.check_signal(signal.SIGINT)

    def test_sigterm_prints_results_and_exits_130(self):
        self.check_signal(signal.SIGTERM)

    def test_sigint_before_any_input(self):
        # Without --by the one group is reported even when empty.
        sa, _ = self.start_on_pipe(["count", "sum(.x)"])
        sa.send_signal(signal.SIGINT)
        self.assertEqual(self.wait_exit(sa, 5), 130)
        self.assertEqual(sa.stdout.read(), b'{"count":0,"sum_x":0}\n')
        # With --by there is no group yet: nothing to print.
        sa, _ = self.start_on_pipe(["--by", ".status", "count"])
        sa.send_signal(signal.SIGINT)
        self.assertEqual(self.wait_exit(sa, 5), 130)
        self.assertEqual(sa.stdout.read(), b"")

    def test_tail_F_pipeline_ended_with_ctrl_c(self):
        # `tail -F file | stream-agg --by .status count`, then Ctrl-C: the
        # terminal sends SIGINT to the whole foreground process group, so tail
        # dies too and stream-agg sees SIGINT and the end of its input together.
        log = self.path("access.ndjson")
        self.append(log, b"")
        r, w = os.pipe()
        self.fds += [r, w]
        # A new process group in this session (setpgid cannot join a group of
        # another session), which stream-agg joins: the "foreground job".
        tail = self.spawn(["tail", "-n", "+1", "-s", "0.05", "-F", log], stdout=w, stderr=DEVNULL,
                          process_group=0)
        sa = self.spawn([SA, "--by", ".status", "count"], stdin=r, stdout=PIPE, stderr=PIPE,
                        process_group=tail.pid)
        for fd in (r, w):
            os.close(fd)
        self.fds = []
        base = self.wait_idle(sa)
        self.append(log, RECORDS)
        self.wait_read(sa, base, len(RECORDS))
        self.assertIsNone(sa.poll(), "stream-agg exited while tail -F was running")
        os.killpg(tail.pid, signal.SIGINT)
        status = self.wait_exit(sa, 5, "stream-agg after Ctrl-C")
        self.wait_exit(tail, 5, "tail after Ctrl-C")
        out, err = sa.stdout.read(), sa.stderr.read()
        self.assertEqual(status, 130, "stderr: %r" % err)
        self.assertEqual(records(out), COUNTS)
        self.assertEqual(err, b"")

    def test_sigint_then_end_of_input_still_prints_and_exits_130(self):
        # The signal comes first, then the producer's exit closes the pipe:
        # status 130 and the results, every time.
        statuses = []
        for _ in range(10):
            sa, base = self.start_on_pipe(["--by", ".status", "count"])
            self.feed(sa, base, RECORDS)
            sa.send_signal(signal.SIGINT)
            sa.stdin.close()
            statuses.append(self.wait_exit(sa, 5, "stream-agg after SIGINT and EOF"))
            self.assertEqual(records(sa.stdout.read()), COUNTS)
        self.assertEqual(statuses, [130] * 10)

    def test_sigterm_while_output_is_blocked(self):
        # Many groups and a reader that never reads: stream-agg blocks writing
        # its results; SIGTERM must still end it promptly with status 130.
        big = self.path("groups.ndjson")
        with open(big, "wb") as f:
            f.write(b"".join(b'{"id":%d,"pad":"%s"}\n' % (i, b"q" * 40) for i in range(200000)))
        sa = self.spawn([SA, "--by", ".id", "--by", ".pad", "count", "-i", big],
                        stdin=DEVNULL, stdout=PIPE, stderr=PIPE)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not self.blocked(sa.pid):
            time.sleep(0.05)
        time.sleep(0.3)
        self.assertIsNone(sa.poll(), "expected stream-agg to be blocked writing")
        sa.send_signal(signal.SIGTERM)
        self.assertEqual(self.wait_exit(sa, 3, "stream-agg (blocked on output) after SIGTERM"), 130)


class Interval(LiveTest):
    """--interval DUR: snapshots in wall-clock time, also while input is idle."""

    def test_snapshots_while_idle(self):
        sa, base = self.start_on_pipe(["--by", ".status", "count", "--interval", "250ms"])
        fd = sa.stdout.fileno()
        base = self.feed(sa, base, RECORDS)
        t0 = time.monotonic()
        # No more input: snapshots must keep coming, each the cumulative counts
        # (with --by, the periods before any input print no group).
        data, t = self.read_until(fd, 3 * len(COUNTS), 10.0)
        self.assertIsNotNone(t, "fewer than 3 snapshots within 10 s of idle input: %r" % data)
        self.assertLess(t - t0, 10.0, "3 snapshots at 250ms took %.2f s" % (t - t0))  # bounded wait
        self.assertEqual(records(data)[:3 * len(COUNTS)], COUNTS * 3)
        # New input shows up in the next snapshots.
        self.feed(sa, base, b'{"status":503}\n')
        self.read_for(fd, 0.5)
        later = records(self.read_for(fd, 2.0))
        want = COUNTS + [{"status": 503, "count": 1}]
        self.assertGreaterEqual(len(later), len(want), "no snapshot in 2 s: %r" % later)
        self.assertEqual(later[-len(want):], want)
        sa.send_signal(signal.SIGTERM)
        self.assertEqual(self.wait_exit(sa, 5), 130)
        self.assertEqual(sa.stderr.read(), b"")

    def test_first_snapshot_within_the_interval(self):
        sa, base = self.start_on_pipe(["count", "--interval", "300ms"])
        fd = sa.stdout.fileno()
        self.read_for(fd, 0.0)
        self.feed(sa, base, RECORDS)
        t0 = time.monotonic()
        data, t = self.read_until_line(fd, b'{"count":5}\n', 10.0)
        self.assertIsNotNone(t, "no snapshot with the 5 records within 10 s: %r" % data)
        self.assertLess(t - t0, 5.0, "first 300ms snapshot after %.2f s" % (t - t0))  # bounded wait
        sa.send_signal(signal.SIGINT)
        self.assertEqual(self.wait_exit(sa, 5), 130)

    def test_sigterm_while_a_snapshot_is_blocked_on_output(self):
        # An --interval snapshot bigger than the pipe, and a reader that never
        # reads: stream-agg blocks writing inside the snapshot; SIGTERM must
        # end it promptly with 130, not leave it waiting for more input.
        # The groups come from a file; then it waits on the open stdin pipe.
        big = self.path("groups.ndjson")
        with open(big, "wb") as f:
            f.write(b"".join(b'{"id":%d}\n' % i for i in range(100000)))
        sa = self.spawn([SA, "--by", ".id", "count", "--interval", "200ms", "-i", big, "-i", "-"],
                        stdin=PIPE, stdout=PIPE, stderr=PIPE)
        deadline = time.monotonic() + 5
        in_write = False
        while time.monotonic() < deadline and not in_write:
            try:
                with open("/proc/%d/syscall" % sa.pid) as f:
                    in_write = f.read().split()[0] == "1"  # write(2) on x86-64
            except (OSError, IndexError):
                self.skipTest("/proc/PID/syscall is not readable here")
            time.sleep(0.05)
        self.assertTrue(in_write, "expected stream-agg to block writing its snapshot")
        sa.send_signal(signal.SIGTERM)
        self.assertEqual(self.wait_exit(sa, 3, "stream-agg (snapshot blocked on output) after SIGTERM"),
                         130)

    def test_closed_downstream_pipe_while_input_is_idle(self):
        # `tail -F log | stream-agg --interval ... | head -1` with no new log
        # lines: once head has exited, the next snapshot meets a closed pipe
        # and stream-agg must end quietly and promptly (status 0), not wait
        # for more input.
        sa = self.spawn([SA, "count", "--interval", "200ms"], stdin=PIPE, stdout=PIPE, stderr=PIPE)
        head = self.spawn(["head", "-1"], stdin=sa.stdout, stdout=PIPE)
        sa.stdout.close()
        try:
            first, _ = head.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            self.fail("head -1 got no snapshot within 5 s")
        self.assertEqual(first, b'{"count":0}\n')
        self.assertEqual(self.wait_exit(sa, 2, "stream-agg 2 s after head exited (input idle)"), 0)
        self.assertEqual(sa.stderr.read(), b"")

    def test_reset_snapshots_per_period(self):
        # --reset: each snapshot covers its own period; an idle period without
        # --by is the one empty group, {"count":0}.
        sa, base = self.start_on_pipe(["count", "--interval", "200ms", "--reset"])
        fd = sa.stdout.fileno()
        self.feed(sa, base, RECORDS)
        data, t = self.read_until_line(fd, b'{"count":5}\n', 10.0)
        self.assertIsNotNone(t, "no snapshot with the 5 records within 10 s: %r" % data)
        got = records(data)
        self.assertTrue(all(r == {"count": 0} for r in got[:-1]), got)
        after = records(self.read_for(fd, 2.0))
        self.assertGreaterEqual(len(after), 2, "idle periods must still be reported: %r" % after)
        self.assertTrue(all(r == {"count": 0} for r in after), after)
        sa.send_signal(signal.SIGINT)
        self.assertEqual(self.wait_exit(sa, 5), 130)

    def test_reset_with_groups_prints_nothing_for_idle_periods(self):
        sa, base = self.start_on_pipe(["--by", ".status", "count", "--interval", "200ms", "--reset"])
        self.feed(sa, base, RECORDS)
        fd = sa.stdout.fileno()
        data, t = self.read_until(fd, len(COUNTS), 10.0)
        self.assertIsNotNone(t, "no snapshot within 10 s")
        self.assertEqual(records(data), COUNTS)
        self.assertEqual(self.read_for(fd, 0.7), b"", "idle periods must print no groups")
        sa.send_signal(signal.SIGINT)
        self.assertEqual(self.wait_exit(sa, 5), 130)
        self.assertEqual(sa.stdout.read(), b"")


class Every(LiveTest):
    """--every N: a snapshot after every N records, written at once."""

    def test_snapshot_reaches_a_live_reader(self):
        sa, base = self.start_on_pipe(["--by", ".status", "count", "--every", "5"])
        fd = sa.stdout.fileno()
        base = self.feed(sa, base, RECORDS)  # exactly 5 records
        data, t = self.read_until(fd, len(COUNTS), 10.0)
        self.assertIsNotNone(t, "--every 5 snapshot held back while input is open: %r" % data)
        self.assertEqual(records(data), COUNTS)
        self.feed(sa, base, RECORDS)
        data, t = self.read_until(fd, len(COUNTS), 10.0)
        self.assertIsNotNone(t, "second snapshot held back: %r" % data)
        self.assertEqual(records(data), [dict(r, count=2 * r["count"]) for r in COUNTS])
        sa.stdin.close()
        self.assertEqual(self.wait_exit(sa, 5), 0)
        # The last snapshot covered everything: no repeated final result.
        self.assertEqual(sa.stdout.read(), b"")
        self.assertEqual(sa.stderr.read(), b"")

    def test_every_then_sigint_prints_the_rest(self):
        sa, base = self.start_on_pipe(["count", "--every", "3"])
        self.feed(sa, base, RECORDS)  # 5 records: one snapshot at 3
        data, t = self.read_until(sa.stdout.fileno(), 1, 10.0)
        self.assertIsNotNone(t)
        self.assertEqual(records(data), [{"count": 3}])
        sa.send_signal(signal.SIGINT)
        self.assertEqual(self.wait_exit(sa, 5), 130)
        self.assertEqual(records(sa.stdout.read()), [{"count": 5}])

    def test_closed_downstream_pipe_ends_quietly(self):
        first, sa = self.pipe_into_head(["yes", '{"status":200}'], [SA, "count", "--every", "1000"])
        self.assertEqual(first, b'{"count":1000}\n')
        self.assertEqual(self.wait_exit(sa, 5, "stream-agg after head exited"), 0)
        self.assertEqual(sa.stderr.read(), b"")


if __name__ == "__main__":
    sys.exit(run_main(SA, __name__))
