#!/usr/bin/env python3
"""Live end-to-end tests of stream-window: wall-clock behaviour and signals.

These need real processes and clocks, so they are not data-driven cases (see
tests/cases/stream-window for those).  Standard library only.

usage: GOVSTREAM_BIN=build/bin python3 tests/e2e/test_window_live.py [-v] [TestClass.test_name ...]

Every wait is bounded and generous (no test asserts how fast something
happens, only that it happens within a bound many times larger than needed),
and every process a test starts is killed (by its process group) in
tearDown.  Prints the unittest report and, last, exactly one line
"N passed, M failed"; exits 1 if a test failed.

To know that stream-window has read what was written, the tests watch its
read counter (/proc/PID/io rchar) instead of sleeping for a guessed time.
"""

import json
import os
import select
import signal
import subprocess
import sys
import time

from livetest import BIN_DIR, DEVNULL, PIPE, ProcessTest, read_until_match, run_main

SW = os.path.join(BIN_DIR, "stream-window")


def records(data):
    return [json.loads(line) for line in data.decode().splitlines() if line.strip()]


def ts(second, ms=0):
    return '{"ts":"2026-03-01T12:00:%02d.%03dZ","k":"a"}\n' % (second, ms)


class LiveTest(ProcessTest):
    @staticmethod
    def read_lines(fd, count, timeout):
        return read_until_match(fd, lambda b: len(b) if b.count(b"\n") >= count else None, timeout)

    @staticmethod
    def read_for(fd, seconds):
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
        sw = self.spawn([SW] + args, stdin=PIPE, stdout=PIPE, stderr=PIPE)
        return sw, self.wait_idle(sw)

    def feed(self, sw, base, data):
        data = data.encode()
        sw.stdin.write(data)
        sw.stdin.flush()
        self.wait_read(sw, base, len(data))
        return base + len(data)


class IdleTimeout(LiveTest):
    """--idle-timeout: a quiet stream's last window fires while input stays open."""

    def test_idle_timeout_advances_the_watermark(self):
        sw, base = self.start_on_pipe(["--tumbling", "1s", "--time", ".ts", "--idle-timeout", "200ms", "count"])
        self.feed(sw, base, ts(0, 100) + ts(0, 500))
        # The watermark is 12:00:00.500; once idle it moves on with the wall
        # clock and reaches the window end (12:00:01) after ~0.5 s more.
        data, t = self.read_lines(sw.stdout.fileno(), 1, 10.0)
        self.assertIsNotNone(t, "no window within 10 s of idle input: %r" % data)
        self.assertEqual(records(data), [{"window_start": "2026-03-01T12:00:00Z",
                                          "window_end": "2026-03-01T12:00:01Z", "count": 2, "mark": "final"}])
        self.assertIsNone(sw.poll(), "stream-window exited although its input is open")
        sw.stdin.close()
        self.assertEqual(self.wait_exit(sw, 5), 0)
        self.assertEqual(sw.stdout.read(), b"")
        self.assertEqual(sw.stderr.read(), b"")

    def test_without_idle_timeout_the_window_waits_for_more_input(self):
        sw, base = self.start_on_pipe(["--tumbling", "1s", "--time", ".ts", "count"])
        self.feed(sw, base, ts(0, 100))
        self.assertEqual(self.read_for(sw.stdout.fileno(), 1.0), b"",
                         "event-time window fired without the watermark passing its end")
        sw.stdin.close()  # end of input fires it
        self.assertEqual(self.wait_exit(sw, 5), 0)
        self.assertEqual([r["count"] for r in records(sw.stdout.read())], [1])


class ProcessingTime(LiveTest):
    """Without --time, windows fire on the wall clock, also while input is idle."""

    def test_windows_fire_while_input_is_idle(self):
        sw, base = self.start_on_pipe(["--tumbling", "300ms", "--by", ".k", "count"])
        self.feed(sw, base, ts(0) * 3)
        # The three records normally share one window; should a window
        # boundary fall between them, they are split over two.
        def total(buf):
            n = sum(r["count"] for r in records(buf[:buf.rfind(b"\n") + 1]))
            return len(buf) if n >= 3 else None
        data, t = read_until_match(sw.stdout.fileno(), total, 10.0)
        self.assertIsNotNone(t, "no processing-time window within 10 s: %r" % data)
        got = records(data)
        self.assertEqual(sum(r["count"] for r in got), 3, got)
        to_ms = lambda s: (int(s[17:19]) * 1000 + (int(s[20:23]) if s[19] == "." else 0))
        for r in got:
            self.assertEqual((r["k"], r["mark"]), ("a", "final"))
            # 300 ms windows aligned to the epoch: the end is 300 ms after the start.
            self.assertEqual((to_ms(r["window_end"]) - to_ms(r["window_start"])) % 60000, 300, r)
        self.assertIsNone(sw.poll())
        sw.send_signal(signal.SIGTERM)
        self.assertEqual(self.wait_exit(sw, 5), 130)
        self.assertEqual(sw.stderr.read(), b"")


class Interrupt(LiveTest):
    """SIGINT/SIGTERM: every open window is written, then status 130."""

    def check_signal(self, sig):
        sw, base = self.start_on_pipe(["--tumbling", "1h", "--time", ".ts", "--by", ".k", "count"])
        self.feed(sw, base, ts(1) + ts(2) + '{"ts":"2026-03-01T13:00:00Z","k":"b"}\n')
        # 13:00 closed the 12:00 window already.
        data, t = self.read_lines(sw.stdout.fileno(), 1, 10.0)
        self.assertIsNotNone(t)
        sw.send_signal(sig)
        status = self.wait_exit(sw, 5, "stream-window after %s" % signal.Signals(sig).name)
        out = data + sw.stdout.read()
        self.assertEqual(status, 130, "stderr: %r" % sw.stderr.read())
        self.assertEqual([(r["window_start"][11:16], r["k"], r["count"], r["mark"]) for r in records(out)],
                         [("12:00", "a", 2, "final"), ("13:00", "b", 1, "final")])

    def test_sigint_emits_open_windows_and_exits_130(self):
        self.check_signal(signal.SIGINT)

    def test_sigterm_emits_open_windows_and_exits_130(self):
        self.check_signal(signal.SIGTERM)


class ClosedPipe(LiveTest):
    """A closed downstream pipe ends stream-window quietly and promptly."""

    def test_head_ends_an_endless_stream(self):
        first, sw = self.pipe_into_head(["yes", '{"ts":"2026-03-01T12:00:00Z","k":1}'],
                                        [SW, "--count", "1", "--time", ".ts", "count"])
        self.assertEqual(records(first)[0]["count"], 1)
        self.assertEqual(self.wait_exit(sw, 5, "stream-window after head exited"), 0)
        self.assertEqual(sw.stderr.read(), b"")

    def test_closed_pipe_while_input_is_idle(self):
        # Processing-time windows on a quiet pipe: the window that fires after
        # head has exited meets the closed pipe; stream-window must end (0).
        sw = self.spawn([SW, "--tumbling", "200ms", "count"], stdin=PIPE, stdout=PIPE, stderr=PIPE)
        head = self.spawn(["head", "-1"], stdin=sw.stdout, stdout=PIPE)
        sw.stdout.close()
        base = self.wait_idle(sw)
        base = self.feed(sw, base, '{"x":1}\n')
        try:
            first, _ = head.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.fail("head -1 got no window within 10 s")
        self.assertEqual(records(first)[0]["count"], 1)
        sw.stdin.write(b'{"x":2}\n')  # another window, written into the closed pipe
        sw.stdin.flush()
        self.assertEqual(self.wait_exit(sw, 5, "stream-window after head exited (input idle)"), 0)
        self.assertEqual(sw.stderr.read(), b"")


if __name__ == "__main__":
    sys.exit(run_main(SW, __name__))
