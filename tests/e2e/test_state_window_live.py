#!/usr/bin/env python3
"""Live tests of `stream-window --state` (resumable cron runs): the windows
still open at the end of a run, the watermark and the keys persist, and fire
in a later run. The contract is lib/stream/window.h, lib/stream/resume.h and
docs/run-state.md.

The oracle is stream-window itself without --state, over the whole data:
the outputs of the --state runs, concatenated, are a prefix of its output,
and the rest of its output is exactly the windows still open (their end is
past the final watermark, computed here from the data; for --count, the
partial windows). With runs killed by SIGKILL, each run repeats at most what
a killed run wrote after its last commit.

Every file is made in a temporary directory; every process is started by
ProcessTest (and killed in its tearDown); every wait is bounded.

usage: GOVSTREAM_BIN=build/bin python3 tests/e2e/test_state_window_live.py [-v] [Class.test_name ...]
"""

import fcntl
import gzip
import json
import os
import random
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import time

from livetest import BIN_DIR, ProcessTest, run_main

SW = os.path.join(BIN_DIR, "stream-window")
EXIT_OK, EXIT_STATE, EXIT_BUSY = 0, 9, 12
BASE = 1767225600  # 2026-01-01T00:00:00Z
AGGS = ["count", "sum(.v)", "p99(.v)", "approx_distinct(.u)", "first(.v)", "last(.v)", "top(.v,2)"]
MAX_DELAY_MS = 10000
EVENT = ["--time", ".ts", "--max-delay", "10s", "--allowed-lateness", "5s", "--by", ".host"]
KINDS = {  # name -> window options (--count takes no --max-delay, lateness or late output)
    "tumbling 1m": ["--tumbling", "1m"] + EVENT,
    "sliding 5m/1m": ["--sliding", "5m", "--slide", "1m"] + EVENT,
    "sliding 90s/1m": ["--sliding", "90s", "--slide", "1m"] + EVENT,
    "session 30s": ["--session", "30s"] + EVENT,
    "count 50": ["--count", "50", "--time", ".ts", "--by", ".host"],
    # and the early-results timer, and keys folded into "(other)"
    "tumbling 5m, early results": ["--tumbling", "5m", "--emit", "changes", "--every", "20s"] + EVENT,
    "tumbling 1m, max 2 groups": ["--tumbling", "1m", "--max-groups", "2"] + EVENT,
}
COUNT_N = 50


def iso(ms):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(BASE + ms // 1000)) + ".%03dZ" % (ms % 1000)


def gen(n, seed):
    """n records over 4 hosts (one with a multi-byte name): event times
    mostly within --max-delay of the newest, some within --allowed-lateness
    after it (updates), some later (late output; 1% later than the 5 min of
    the longest window), now and then a gap of 35-60 s (sessions close).
    Returns (data, largest event time in ms since BASE)."""
    rng = random.Random(seed)
    clock, top, out = 0.0, -10 ** 12, []
    hosts = ["a", "b", "c", "d\u00e9"]
    for i in range(n):
        clock += rng.uniform(35, 60) if rng.random() < 0.01 else rng.uniform(0, 1.0)
        r = rng.random()
        t = clock - (rng.uniform(0, 8) if r < 0.8 else rng.uniform(10.5, 14.5) if r < 0.93
                     else rng.uniform(17, 80) if r < 0.99 else rng.uniform(360, 600))
        ms = int(t * 1000)
        top = max(top, ms)
        out.append('{"i":%d,"ts":"%s","host":"%s","v":%d,"u":"u%d","m":"%s"}\n' % (
            i, iso(ms), rng.choice(hosts), rng.randint(0, 99), rng.randint(0, 300),
            "\u00e9" * (i % 3) + "\u2713" * (i % 2)))
    return "".join(out).encode(), top


def parse_ms(text):
    """RFC 3339 (UTC, optional fraction) -> ms since BASE."""
    m = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,3}))?Z", text)
    assert m, text
    secs = int(time.mktime(time.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S")) - time.mktime(time.gmtime(0)))
    return (secs - BASE) * 1000 + int((m.group(2) or "0").ljust(3, "0"))


def lines_of(out):
    """The complete lines of an output (a killed run's last one may be cut)."""
    return bytes(out).split(b"\n")[:-1]


def cut_points(rng, data, count, at_line_ends=(3, 11)):
    """count sorted random byte offsets into data; those at the indexes
    at_line_ends are moved just past a newline, the others fall mostly inside
    lines (and multi-byte characters)."""
    cuts = sorted(rng.sample(range(1, len(data)), count))
    for k in at_line_ends:
        if k < count:
            lo = cuts[k - 1] + 1 if k else 0
            cuts[k] = data.rindex(b"\n", lo, cuts[k + 1] if k + 1 < count else len(data)) + 1
    return cuts


class WindowStateTest(ProcessTest):
    def setUp(self):
        super().setUp()
        self.log = self.path("access.json")
        self.state = self.path("window.state")
        self.late = self.path("late.json")

    def sw(self, opts, inputs=None, status=EXIT_OK, stdin=None, state=True, extra=()):
        argv = [SW] + (["--state", self.state] if state else []) + list(extra) + list(opts)
        for name in (inputs if inputs is not None else [self.log]):
            argv += ["-i", name]
        r = subprocess.run(argv, input=stdin, capture_output=True, timeout=60,
                           stdin=None if stdin is not None else subprocess.DEVNULL)
        if status is not None:
            self.assertEqual(r.returncode, status, "%s: %s" % (argv, r.stderr.decode()))
        return r

    @staticmethod
    def stats(r):
        return json.loads(r.stderr.decode().strip().splitlines()[-1])

    def one_run(self, opts, data, late=None):
        """stream-window without --state over `data`: (output, its --stats)."""
        whole = self.path("whole.json")
        with open(whole, "wb") as f:
            f.write(data)
        if "--late-output" in opts:  # the runs' late output is not touched
            k = opts.index("--late-output")
            opts = opts[:k] + opts[k + 2:]
        extra = ["--stats"] + (["--late-output", late] if late else [])
        r = self.sw(opts, inputs=[whole], state=False, extra=extra)
        return r.stdout, self.stats(r)

    def assert_open(self, opts, line, watermark):
        """line is a window still open at the end of the data."""
        w = json.loads(line)
        self.assertEqual(w["mark"], "final", line)
        if "--count" in opts:
            self.assertLess(w["count"], COUNT_N, "a full count window left for the end: %s" % line)
        else:
            self.assertGreater(parse_ms(w["window_end"]), watermark, "closed window left for the end: %s" % line)

    def assert_fired(self, opts, line, watermark):
        """line is a result due before the end of the data."""
        w = json.loads(line)
        if w["mark"] == "early":
            return  # of a window open at the time
        if "--count" in opts:
            self.assertEqual(w["count"], COUNT_N, line)
        else:
            self.assertLessEqual(parse_ms(w["window_end"]), watermark, "open window fired: %s" % line)

    def assert_prefix(self, opts, outputs, data, top, what=""):
        """The --state outputs, concatenated, are a prefix of one run over
        data; the rest of that run is the windows still open. Returns (the
        concatenation, the one run's output, its stats)."""
        got = b"".join(outputs)
        one, stats = self.one_run(opts, data, late=self.path("late.one") if "--late-output" in opts else None)
        if not one.startswith(got):
            a, b = lines_of(got), lines_of(one)
            k = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
            self.fail("%s: the runs' output is not a prefix of one run's: line %d of %d (one run: %d lines):\n"
                      "  runs: %r\n  one:  %r" % (what, k + 1, len(a), len(b), a[k:k + 1], b[k:k + 1]))
        watermark = top - MAX_DELAY_MS
        if "--count" not in opts:
            self.assertEqual(parse_ms(stats["watermark"]), watermark, what)
        rest = lines_of(one[len(got):])
        self.assertGreater(len(rest), 0, "%s: no window left open: the test does not test" % what)
        for line in rest:
            self.assert_open(opts, line, watermark)
        for line in lines_of(got):
            self.assert_fired(opts, line, watermark)
        if "--count" in opts:
            hosts = [json.loads(x)["host"] for x in rest]
            self.assertEqual(len(hosts), len(set(hosts)), "%s: two partial windows of a key" % what)
        return got, one, stats


class Growing(WindowStateTest):
    def test_twenty_appends_cut_anywhere_all_window_kinds(self):
        data, top = gen(3000, 7)
        rng = random.Random(20)
        for name, kind in KINDS.items():
            with self.subTest(kind=name):
                for f in (self.log, self.state, self.late):
                    if os.path.exists(f):
                        os.unlink(f)
                opts = kind + (["--late-output", self.late] if "--max-delay" in kind else []) + AGGS
                cuts = cut_points(rng, data, 19)
                pieces = [data[a:b] for a, b in zip([0] + cuts, cuts + [len(data)])]
                self.assertGreater(sum(1 for p in pieces if not p.endswith(b"\n")), 10)
                outputs = []
                for piece in pieces:
                    self.append(self.log, piece)
                    r = self.sw(opts, extra=["--stats"])
                    outputs.append(r.stdout)
                last = self.stats(r)
                self.assertGreater(last["state_commits"], 0)
                self.assertEqual(last["state_bytes"], os.path.getsize(self.state))
                got, one, stats = self.assert_prefix(opts, outputs, data, top, name)
                self.assertEqual(last["open_windows"], stats["open_windows"], name)
                self.assertGreater(sum(1 for o in outputs if o), 10, "%s: output only in a few runs" % name)
                if "--max-delay" in kind:
                    if "--session" not in kind:
                        self.assertIn(b'"mark":"update"', got, "%s: no late update exercised" % name)
                    if "--emit" in kind:
                        self.assertGreater(got.count(b'"mark":"early"'), 100, name)
                    if "--max-groups" in kind:
                        self.assertIn(b'"host":"(other)"', got, name)
                    with open(self.late, "rb") as f, open(self.path("late.one"), "rb") as g:
                        late, late_one = f.read(), g.read()
                    self.assertGreater(len(lines_of(late_one)), 20)
                    self.assertEqual(late, late_one, "%s: late output of the runs != one run's" % name)
                r = self.sw(opts)  # nothing new: nothing output, the open windows stay open
                self.assertEqual(r.stdout, b"", name)
                if "--max-delay" in kind:
                    with open(self.late, "rb") as f:
                        self.assertEqual(f.read(), late_one, name)

    def test_window_spanning_two_runs_fires_once(self):
        opts = ["--tumbling", "1m", "--time", ".ts", "--by", ".host", "count", "sum(.v)"]
        rec = '{"ts":"2026-01-01T00:%s","host":"a","v":%d}\n'
        self.append(self.log, (rec % ("00:10Z", 1) + rec % ("00:50Z", 2)).encode())
        r = self.sw(opts, extra=["--stats"])
        self.assertEqual(r.stdout, b"", "the end of input fired the open window")
        self.assertEqual(self.stats(r)["open_windows"], 1)
        self.assertEqual(self.sw(opts).stdout, b"")  # nothing new, still open
        self.append(self.log, (rec % ("01:30Z", 4)).encode())
        r = self.sw(opts)
        self.assertEqual([json.loads(x) for x in lines_of(r.stdout)], [
            {"window_start": "2026-01-01T00:00:00Z", "window_end": "2026-01-01T00:01:00Z",
             "host": "a", "count": 2, "sum_v": 3, "mark": "final"}])
        self.append(self.log, (rec % ("02:10Z", 8)).encode())
        r = self.sw(opts)
        self.assertEqual([json.loads(x) for x in lines_of(r.stdout)], [
            {"window_start": "2026-01-01T00:01:00Z", "window_end": "2026-01-01T00:02:00Z",
             "host": "a", "count": 1, "sum_v": 4, "mark": "final"}])
        # Without --state the end of input fires every window.
        r = self.sw(opts, state=False)
        self.assertEqual([json.loads(x)["count"] for x in lines_of(r.stdout)], [2, 1, 1])

    def test_late_counters_this_run_and_over_all_runs(self):
        # late_dropped is this run's; late_dropped_total goes on across runs,
        # and the late records themselves are appended to --late-output.
        opts = ["--tumbling", "1m", "--time", ".ts", "--late-output", self.late, "count"]
        rec = '{"ts":"2026-01-01T00:%s"}\n'
        self.append(self.log, (rec % "05:00Z" + rec % "01:00Z").encode())  # the second is late
        r = self.sw(opts, extra=["--stats"])
        self.assertEqual((self.stats(r)["late_dropped"], self.stats(r)["late_dropped_total"]), (1, 1))
        self.append(self.log, (rec % "02:00Z" + rec % "03:00Z" + rec % "06:30Z").encode())
        r = self.sw(opts, extra=["--stats"])
        self.assertEqual((self.stats(r)["late_dropped"], self.stats(r)["late_dropped_total"]), (2, 3))
        r = self.sw(opts, extra=["--stats"])  # nothing new
        self.assertEqual((self.stats(r)["late_dropped"], self.stats(r)["late_dropped_total"]), (0, 3))
        with open(self.late, "rb") as f:
            self.assertEqual(f.read(), (rec % "01:00Z" + rec % "02:00Z" + rec % "03:00Z").encode())


class Rotation(WindowStateTest):
    def rotate(self, gz=False, dateext=None):
        """logrotate: shifts access.json.N[.gz] up, renames the log to .1 (or
        to -DATEEXT) and creates an empty log; with gz, compresses .1 after
        the new log exists (so that it cannot get the old inode)."""
        if dateext:
            os.rename(self.log, "%s-%s" % (self.log, dateext))
        else:
            olds = [n for n in os.listdir(self.tmp) if re.fullmatch(r"access\.json\.\d+(\.gz)?", n)]
            for n in sorted(olds, key=lambda n: -int(n.split(".")[2])):
                k = int(n.split(".")[2])
                os.rename(self.path(n), self.path(n.replace(".%d" % k, ".%d" % (k + 1), 1)))
            os.rename(self.log, self.log + ".1")
        open(self.log, "wb").close()
        if gz:
            with open(self.log + ".1", "rb") as f, gzip.open(self.log + ".1.gz", "wb") as g:
                g.write(f.read())
            os.unlink(self.log + ".1")

    def test_rotations_between_runs(self):
        data, top = gen(3000, 11)
        rng = random.Random(3)
        opts = KINDS["tumbling 1m"] + ["--late-output", self.late] + AGGS
        # Rotations happen at line ends (a writer finishes its line first);
        # the appends between them are cut anywhere.
        line_ends = [i + 1 for i, c in enumerate(data) if c == 10]
        ends = sorted(rng.sample(line_ends[:-400], 8)) + [line_ends[-300], line_ends[-150]]
        pos, outputs, notes = 0, [], []

        def add(upto, cut=True):
            nonlocal pos
            mid = rng.randint(pos, upto) if cut else upto
            self.append(self.log, data[pos:mid])
            outputs.append(self.sw(opts).stdout)
            self.append(self.log, data[mid:upto])
            pos = upto

        def run(note):
            r = self.sw(opts)
            outputs.append(r.stdout)
            if note:
                self.assertIn(note, r.stderr.decode())
            notes.append(r.stderr.decode())

        add(ends[0])
        self.rotate()                                   # rename + create
        self.append(self.log, data[pos:ends[1]]); pos = ends[1]
        run("access.json.1")
        add(ends[2])
        self.rotate(gz=True)                            # rename + create + compress
        self.append(self.log, data[pos:ends[3]]); pos = ends[3]
        run("access.json.1.gz")
        add(ends[4])
        self.rotate(dateext="20260102")                 # dateext
        self.append(self.log, data[pos:ends[5]]); pos = ends[5]
        run("access.json-20260102")
        add(ends[6])
        self.rotate()                                   # two rotations between runs
        self.append(self.log, data[pos:ends[7]]); pos = ends[7]
        self.rotate(gz=True)
        self.append(self.log, data[pos:ends[8]]); pos = ends[8]
        run("access.json.2")
        add(ends[9])
        shutil.copy(self.log, self.log + ".1")          # copytruncate
        with open(self.log, "r+b") as f:
            f.truncate(0)
        self.append(self.log, data[pos:]); pos = len(data)
        run("truncated")
        run(None)
        self.assertEqual(outputs[-1], b"")
        for err in notes:
            self.assertNotIn("invalid JSON", err)
            self.assertNotIn("not found", err)
        self.assert_prefix(opts, outputs, data, top, "rotations")
        with open(self.late, "rb") as f, open(self.path("late.one"), "rb") as g:
            self.assertEqual(f.read(), g.read(), "late output of the runs != one run's")


class Kill(WindowStateTest):
    """Runs killed with SIGKILL at random moments: every result at least
    once, and a result again only where a killed run wrote it after its last
    commit."""

    READ_PAUSE = 0.02  # a slow reader: at most 2 KiB every 20 ms

    def spawn_to_socket(self, argv):
        """argv with its output into a socket with small buffers, read slowly
        by us, so that a run lasts long enough to commit while it reads."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        theirs.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8192)
        ours.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
        try:
            p = self.spawn(argv, stdout=theirs.fileno(), stderr=subprocess.PIPE)
        finally:
            theirs.close()
        self.fds.append(ours.detach())
        return p, self.fds[-1]

    def state_ino(self):
        return os.stat(self.state).st_ino if os.path.exists(self.state) else None

    def read_run(self, p, fd, kill_at):
        """Reads p's output slowly; kill_at(elapsed, commits seen) says when
        to kill it. Returns (output, commits seen while it ran, killed)."""
        out, start, ino, commits = bytearray(), time.monotonic(), self.state_ino(), 0
        while time.monotonic() - start < 60:
            now = self.state_ino()
            if now != ino:
                ino, commits = now, commits + 1
            if kill_at(time.monotonic() - start, commits) and p.poll() is None:
                p.kill()
                return out, commits, True
            ready, _, _ = select.select([fd], [], [], self.READ_PAUSE)
            if ready:
                chunk = os.read(fd, 2048)
                if not chunk:
                    return out, commits, False
                out += chunk
                time.sleep(self.READ_PAUSE)
        self.fail("a run did not end within 60 s")

    @staticmethod
    def after_commit(extra):
        """A kill_at: `extra` seconds after the first commit seen (if the run lasts)."""
        first = []

        def until(t, commits):
            if commits and not first:
                first.append(t)
            return bool(first) and t - first[0] >= extra
        return until

    @staticmethod
    def read_all(fd):
        out = bytearray()
        while chunk := os.read(fd, 1 << 16):
            out += chunk
        return out

    def check_segments(self, want, runs, what):
        """runs: (bytes the run wrote, killed). Each run's complete lines are
        want[q:q+n] for a q from where the last commit may be: exactly where
        the run before ended when it completed, between its start and its end
        when it was killed. A cut last line is the start of want[q+n].
        Returns (lo, hi): where the next run may resume (equal after a
        completed run), lines written again, killed runs seen to have
        committed past their start."""
        lo = hi = 0
        again = progressed = 0
        for k, (out, killed) in enumerate(runs):
            got = lines_of(out)
            tail = bytes(out[len(out) - len(out.rsplit(b"\n", 1)[-1]):]) if not out.endswith(b"\n") else b""
            self.assertFalse(tail and not killed, "%s run %d: a completed run ended mid-line" % (what, k))
            if got:
                qs = [q for q in range(lo, hi + 1) if want[q:q + len(got)] == got]
                self.assertTrue(qs, "%s run %d (%s): its %d lines are not the results from where it could"
                                " resume (%d..%d of %d); first %r" % (what, k, "killed" if killed else "completed",
                                                                   len(got), lo, hi, len(want), got[0]))
                q = qs[0]
                if k and runs[k - 1][1] and q > lo:
                    progressed += 1
                again += min(hi, q + len(got)) - q
                lo, hi = (q, q + len(got)) if killed else (q + len(got),) * 2
            # A run without output fired nothing new: [lo, hi] stays.
            if tail:
                self.assertTrue(hi < len(want) and want[hi].startswith(tail),
                                "%s run %d: cut line %r is not the next result" % (what, k, tail))
        return lo, hi, again, progressed

    def test_sigkill_at_random_moments_in_twenty_runs(self):
        seed = int(os.environ.get("GOVSTREAM_STATE_SEED", "17"))
        rng = random.Random(seed)
        data, top = gen(200000, 5)
        opts = KINDS["tumbling 1m"] + ["--late-output", self.late] + AGGS
        first = len(data) // 5  # a fifth of the data (a long first run), then 19 random cuts
        cuts = [0, first] + sorted(rng.sample(range(first + 1, len(data)), 18)) + [len(data)]
        runs, late_runs, killed_after_commit = [], [], 0
        for k in range(len(cuts) - 1):
            self.append(self.log, data[cuts[k]:cuts[k + 1]])
            late_before = os.path.getsize(self.late) if os.path.exists(self.late) else 0
            p, fd = self.spawn_to_socket([SW, "--state", self.state, "--stats"] + opts + ["-i", self.log])
            last = k == len(cuts) - 2
            mode = "alone" if last else "commit" if k == 0 else rng.choice(["alone", "commit", "commit", "time", "time"])
            if mode == "alone":
                out, commits, killed = self.read_all(fd), 0, False
            else:
                delay = rng.uniform(0, 0.6)
                out, commits, killed = self.read_run(p, fd, self.after_commit(delay) if mode == "commit"
                                                     else lambda t, commits: t >= delay)
                out += self.read_all(fd)  # what it wrote before it died was output
            rc = self.wait_exit(p, 30)
            err = p.stderr.read().decode()
            os.close(fd)
            self.fds.remove(fd)
            if killed:
                self.assertEqual(rc, -signal.SIGKILL, "run %d: %s" % (k, err))
                killed_after_commit += commits > 0
            else:
                self.assertEqual(rc, EXIT_OK, "run %d: %s" % (k, err))
                self.assertIn('"state_commits"', err)
            runs.append((bytes(out), killed))
            with open(self.late, "rb") as f:
                f.seek(late_before)
                late_runs.append((f.read(), killed))
        self.assertFalse(runs[-1][1])
        one, stats = self.one_run(opts, data, late=self.path("late.one"))
        want = lines_of(one)
        self.assertEqual(len(want), len(set(want)), "the oracle has equal lines: the check would be ambiguous")
        lo, hi, again, progressed = self.check_segments(want, runs, "output")
        self.assertEqual(lo, hi)
        watermark = top - MAX_DELAY_MS
        self.assertGreater(len(want) - hi, 0)
        for line in want[hi:]:  # all that is not delivered is still open
            self.assert_open(opts, line, watermark)
        for line in want[:hi]:
            self.assert_fired(opts, line, watermark)
        with open(self.path("late.one"), "rb") as f:
            late_want = lines_of(f.read())
        llo, lhi, lagain, _ = self.check_segments(late_want, late_runs, "late output")
        self.assertEqual((llo, lhi), (len(late_want), len(late_want)), "late records lost")
        with open(self.late, "rb") as f:
            for line in lines_of(f.read()):
                json.loads(line)  # a line cut by a kill is not left in the middle of the file
        nkilled = sum(1 for _, killed in runs if killed)
        self.assertGreaterEqual(nkilled, 5)
        self.assertGreater(killed_after_commit, 0, "no killed run had committed: the bound was not exercised")
        print("\n  %d runs, %d killed (%d after a commit, %d resumed past their start), %d of %d results "
              "written again, %d late records again" % (len(runs), nkilled, killed_after_commit, progressed,
                                                       again, hi, lagain), file=sys.stderr)

    def test_killed_after_writing_a_long_late_record(self):
        # A late record longer than the 256 KiB output buffer: the run is
        # killed while it waits on its output, before its first commit; the
        # next run writes the record again. The late file is still one
        # record a line (the record may be there twice, never cut).
        opts = ["--tumbling", "1s", "--time", ".ts", "--by", ".i", "count", "--late-output", self.late]
        big = b'{"ts":0,"i":-2,"pad":"%s"}\n' % (b"x" * 300000)
        self.append(self.log, b'{"ts":1000,"i":-1}\n' + big +
                    b"".join(b'{"ts":%d,"i":%d}\n' % (1001 + i, i) for i in range(20000)))
        p, fd = self.spawn_to_socket([SW, "--state", self.state] + opts + ["-i", self.log])
        self.wait_idle(p, timeout=20)  # blocked on its full output, its results not all written
        p.kill()
        self.assertEqual(self.wait_exit(p, 10), -signal.SIGKILL)
        os.close(fd)
        self.fds.remove(fd)
        with open(self.late, "rb") as f:
            killed = f.read()
        committed = os.path.exists(self.state)
        r = self.sw(opts)
        n = len(lines_of(r.stdout))  # the windows of i -1 .. 19998; that of 19999 stays open
        self.assertTrue(n < 20000 if committed else n == 20000, n)
        with open(self.late, "rb") as f:
            late = f.read()
        self.assertTrue(late.startswith(killed))  # appended to
        self.assertTrue(late.endswith(b"\n"))
        for line in lines_of(late):
            self.assertTrue(line == big[:-1], "the late file holds a line of %d bytes that is not the record "
                            "(killed run left %d bytes, %s a newline): %r...%r" % (
                                len(line), len(killed), "ending with" if killed.endswith(b"\n") else "without",
                                line[:30], line[300010:300050]))


class BadState(WindowStateTest):
    OPTS = ["--tumbling", "1m", "--time", ".ts", "--by", ".host", "count", "sum(.v)"]

    def setUp(self):
        super().setUp()
        self.data, self.top = gen(500, 3)
        self.append(self.log, self.data)
        self.sw(self.OPTS)

    def refused(self, opts, extra=(), status=EXIT_STATE):
        with open(self.state, "rb") as f:
            before = f.read()
        r = self.sw(opts, extra=extra, status=status)
        self.assertEqual(r.stdout, b"")
        with open(self.state, "rb") as f:
            self.assertEqual(f.read(), before, "the state file was changed")
        return r.stderr.decode()

    def edit(self, f):
        with open(self.state, "rb") as s:
            data = s.read()
        with open(self.state, "wb") as s:
            s.write(f(data))

    def reset_reads_from_the_start(self, opts=OPTS):
        r = self.sw(opts, extra=["--state-reset"])
        one, _ = self.one_run(opts, self.data)
        self.assertTrue(r.stdout and one.startswith(r.stdout) and len(one) > len(r.stdout))
        self.assertEqual(self.sw(opts).stdout, b"")

    def test_other_options_are_refused_and_reset_starts_afresh(self):
        o = self.OPTS
        others = [["--tumbling", "2m"] + o[2:], ["--sliding", "1m", "--slide", "30s"] + o[2:],
                  ["--session", "1m"] + o[2:], o[:4] + ["--by", ".u"] + o[6:], o[:6] + ["count"],
                  o[:6] + ["count", "sum(.i)"], o[:2] + ["--time", ".t"] + o[4:]]
        others += [o + x for x in (["--max-delay", "1s"], ["--allowed-lateness", "1s"], ["--offset", "10s"],
                                   ["--exact"], ["--max-groups", "2"], ["--idle-timeout", "5s"],
                                   ["--time-unit", "ms"], ["--emit", "changes", "--every", "10s"])]
        for opts in others:
            with self.subTest(opts=" ".join(opts)):
                err = self.refused(opts)
                self.assertIn("--state-reset", err)
        r = self.sw(others[0], extra=["--state-reset"])
        one, _ = self.one_run(others[0], self.data)
        self.assertTrue(r.stdout and one.startswith(r.stdout))
        self.assertEqual(self.sw(others[0]).stdout, b"")  # the state is now the new one's
        self.refused(self.OPTS)

    def test_garbage_empty_truncated_bit_flip(self):
        with open(self.state, "rb") as f:
            good = f.read()
        body = good[:good.rindex(b"\n", 0, len(good) - 1) + 1]
        pane = good.index(b'{"op":{"pane":')
        at = good.index(b'"s":[', pane) + 5  # a count: one bit flipped is another digit
        bad = {
            "garbage": b"garbage\n",
            "empty": b"",
            "no trailer": body,
            "cut in the trailer": body + b'{"end":tr',
            "cut in an op line": good[:pane + 20],
            "bit flip in an op line": good[:at] + bytes([good[at] ^ 1]) + good[at + 1:],
            "op line dropped": good[:pane] + good[good.index(b"\n", pane) + 1:],
        }
        for name, content in bad.items():
            with self.subTest(name):
                self.edit(lambda d: content)
                self.assertIn("corrupt" if name != "no trailer" else "truncated", self.refused(self.OPTS))
        self.reset_reads_from_the_start()

    def test_a_sealed_but_meaningless_op_line_is_refused(self):
        def fnv(data):  # FNV-1a 64, as docs/run-state.md says
            h = 0xCBF29CE484222325
            for b in data:
                h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
            return h
        with open(self.state, "rb") as f:
            lines = f.read().splitlines(True)
        k = next(i for i, x in enumerate(lines) if x.startswith(b'{"op":{"pane":'))
        lines[k] = b'{"op":{"pane":"nonsense"}}\n'
        body = b"".join(lines[:-1])
        self.edit(lambda d: body + b'{"end":true,"entries":%d,"checksum":"%016x"}\n' % (len(lines) - 2, fnv(body)))
        self.refused(self.OPTS)

    def test_lock_held_waits_then_12(self):
        with open(self.state + ".lock", "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            t0 = time.monotonic()
            err = self.refused(self.OPTS, extra=["--state-wait", "500ms"], status=EXIT_BUSY)
            waited = time.monotonic() - t0
        self.assertIn("in use by another run", err)
        self.assertGreaterEqual(waited, 0.45, "it did not wait --state-wait")
        self.assertLess(waited, 8)
        self.append(self.log, b'{"ts":"2027-01-01T00:00:00Z","host":"a","v":1}\n')
        self.assertGreater(len(lines_of(self.sw(self.OPTS).stdout)), 0)  # free again

    def test_stats_fields(self):
        self.append(self.log, b'{"ts":"2027-01-01T00:00:00Z","host":"a","v":1}\n')
        r = self.sw(self.OPTS, extra=["--stats"])
        st = self.stats(r)
        self.assertEqual(st["state_bytes"], os.path.getsize(self.state))
        self.assertGreaterEqual(st["state_commits"], 1)
        self.assertEqual(st["open_windows"], 1)  # the 2027 window, not fired
        self.assertEqual(st["records_in"], 1)  # only the new line was read


class StdinAndProcessingTime(WindowStateTest):
    def test_stdin_keeps_the_operator_state(self):
        opts = ["--tumbling", "1m", "--time", ".ts", "--by", ".host", "count", "sum(.v)"]
        rec = '{"ts":"2026-01-01T00:%s","host":"a","v":%d}\n'
        r = self.sw(opts, inputs=[], stdin=(rec % ("00:10Z", 1) + rec % ("00:50Z", 2)).encode())
        self.assertEqual(r.stdout, b"")
        r = self.sw(opts, inputs=["-"], stdin=(rec % ("01:30Z", 4)).encode())
        self.assertEqual([json.loads(x) for x in lines_of(r.stdout)], [
            {"window_start": "2026-01-01T00:00:00Z", "window_end": "2026-01-01T00:01:00Z",
             "host": "a", "count": 2, "sum_v": 3, "mark": "final"}])
        # Standard input has no offsets: all of it is read every time.
        r = self.sw(opts, inputs=[], stdin=(rec % ("02:30Z", 8)).encode())
        self.assertEqual([json.loads(x)["sum_v"] for x in lines_of(r.stdout)], [4])

    def test_processing_time_runs_persists_and_refuses_other_options(self):
        self.append(self.log, b"".join(b'{"host":"a","v":%d}\n' % i for i in range(3)))
        count = ["--count", "5", "--by", ".host", "count", "sum(.v)"]
        self.assertEqual(self.sw(count).stdout, b"")
        self.append(self.log, b"".join(b'{"host":"a","v":%d}\n' % i for i in range(3, 7)))
        out = [json.loads(x) for x in lines_of(self.sw(count).stdout)]
        self.assertEqual([(w["count"], w["sum_v"]) for w in out], [(5, 10)])  # 3 of run 1, 2 of run 2
        r = self.sw(["--count", "6", "--by", ".host", "count", "sum(.v)"], status=EXIT_STATE)
        self.assertEqual(r.stdout, b"")
        # Tumbling windows in processing time: what fires depends on the
        # clock, so only that it runs, keeps its window and refuses others.
        tumbling = ["--tumbling", "1h", "--by", ".host", "count"]
        self.state = self.path("pt.state")
        hour = int(time.time()) // 3600
        r = self.sw(tumbling, extra=["--stats"])
        self.assertEqual(self.stats(r)["records_in"], 7)
        with open(self.state, "rb") as f:
            self.assertIn(b'{"op":{"pane":', f.read())
        r = self.sw(tumbling, extra=["--stats"])
        if int(time.time()) // 3600 == hour:  # not across the end of the hour
            self.assertEqual(r.stdout, b"")
            self.assertEqual(self.stats(r)["open_windows"], 1)
        with open(self.state, "rb") as f:
            before = f.read()
        self.sw(["--tumbling", "2h", "--by", ".host", "count"], status=EXIT_STATE)
        self.sw(tumbling[:2] + ["count"], status=EXIT_STATE)
        with open(self.state, "rb") as f:
            self.assertEqual(f.read(), before)


if __name__ == "__main__":
    sys.exit(run_main(SW, __name__))
