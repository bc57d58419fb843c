#!/usr/bin/env python3
"""Live tests of --state (resumable runs, issue 13) for stream-filter:
cron-like runs over a growing and rotating log, runs killed with SIGKILL,
and bad or busy state files. The contract is lib/stream/resume.h and
docs/run-state.md. jq is the oracle: select() over all the data written.

Every file is made in a temporary directory; every process is started by
ProcessTest (and killed in its tearDown); every wait is bounded.

usage: GOVSTREAM_BIN=build/bin python3 tests/e2e/test_state_live.py [-v] [Class.test_name ...]
"""

import bisect
import collections
import fcntl
import gzip
import json
import os
import random
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import termios
import time

from livetest import BIN_DIR, ProcessTest, run_main

FILTER = os.path.join(BIN_DIR, "stream-filter")
ALERT = os.path.join(BIN_DIR, "stream-alert")
EXPR = ".status >= 500"
EXIT_OK, EXIT_SKIPPED, EXIT_USAGE, EXIT_STATE, EXIT_BUSY = 0, 1, 2, 9, 12


def record(i):
    """One NDJSON line; about a third match EXPR; lengths vary and some carry
    multi-byte UTF-8 (so that random cuts fall inside characters too)."""
    status = 503 if i % 3 == 0 else (404 if i % 5 == 0 else 200)
    msg = "é" * (i % 4) + "x" * (i % 13) + ("✓" if i % 7 == 0 else "")
    return ('{"i":%d,"status":%d,"path":"/p/%d","msg":"%s"}\n' % (i, status, i % 7, msg)).encode()


def records(n0, n1):
    return b"".join(record(i) for i in range(n0, n1))


def fnv1a64(data):
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def jq_select(data):
    """The oracle: the raw lines of `data` that jq's select(EXPR) keeps, in
    order (jq -c re-encodes, so its output is matched back by "i")."""
    r = subprocess.run(["jq", "-c", "select(%s) | .i" % EXPR], input=bytes(data), capture_output=True, timeout=120)
    assert r.returncode == 0, r.stderr
    keep = [int(x) for x in r.stdout.split()]
    lines = {json.loads(x)["i"]: x for x in bytes(data).splitlines() if x.strip()}
    return [lines[i] for i in keep]


def lines_of(out):
    """The complete lines of an output (a killed run's last one may be cut)."""
    return bytes(out).split(b"\n")[:-1]


class StateTest(ProcessTest):
    def setUp(self):
        super().setUp()
        self.log = self.path("access.json")
        self.state = self.path("filter.state")
        self.n = 0

    def next_records(self, count):
        data = records(self.n, self.n + count)
        self.n += count
        return data

    def write(self, path, data):
        self.append(path, data)  # ProcessTest.append: O_APPEND, created if missing

    def run_filter(self, *extra, inputs=None, expr=EXPR, status=EXIT_OK, stdin=None):
        argv = [FILTER, "--state", self.state, *extra, expr] + (inputs if inputs is not None else [self.log])
        r = subprocess.run(argv, input=stdin, capture_output=True, timeout=120,
                           stdin=None if stdin is not None else subprocess.DEVNULL)
        if status is not None:
            self.assertEqual(r.returncode, status, "%s: %s" % (argv, r.stderr.decode()))
        return r

    def one_run(self, data):
        """stream-filter without --state over `data`: what one run gives."""
        r = subprocess.run([FILTER, EXPR], input=bytes(data), capture_output=True, timeout=120)
        self.assertIn(r.returncode, (EXIT_OK, EXIT_SKIPPED), r.stderr)
        return lines_of(r.stdout)

    def assert_union(self, outputs, data):
        """The outputs of the runs, concatenated, are exactly one run over
        `data`, and what jq keeps of it."""
        got = [x for o in outputs for x in lines_of(o)]
        want = jq_select(data)
        self.assertEqual(len(got), len(want), "%d lines output, one run gives %d" % (len(got), len(want)))
        self.assertEqual(got, want)
        self.assertEqual(got, self.one_run(data))

    def state_entries(self):
        with open(self.state, "rb") as f:
            return [json.loads(x) for x in f.read().splitlines()]


class Growing(StateTest):
    def test_twenty_appends_cut_anywhere_union_equals_one_run(self):
        rng = random.Random(20)
        data = self.next_records(3000)
        cuts = sorted(rng.sample(range(1, len(data)), 19))
        # Some cuts fall just after a newline, most inside a line (and inside
        # multi-byte characters): those lines are read whole by the next run.
        for k in (3, 11):
            cuts[k] = data.rindex(b"\n", cuts[k - 1] + 1, cuts[k + 1]) + 1
        pieces = [data[a:b] for a, b in zip([0] + cuts, cuts + [len(data)])]
        self.assertEqual(len(pieces), 20)
        self.assertGreater(sum(1 for p in pieces if not p.endswith(b"\n")), 10)
        outputs = []
        for piece in pieces:
            self.write(self.log, piece)
            r = self.run_filter()
            self.assertEqual(r.stderr, b"")  # a held partial line is not an error
            outputs.append(r.stdout)
        self.assert_union(outputs, data)
        self.assertEqual(self.run_filter().stdout, b"")  # nothing left over

    def test_a_partial_last_line_waits_for_the_next_run(self):
        self.write(self.log, record(0) + record(3)[:10])
        self.assertEqual(self.run_filter().stdout, record(0))
        self.assertEqual(self.run_filter().stdout, b"")  # still partial: still held
        self.write(self.log, record(3)[10:])
        self.assertEqual(self.run_filter().stdout, record(3))

    def test_a_writer_appending_while_runs_read(self):
        # A writer appends in chunks cut anywhere while runs go one after the
        # other: a run that meets a line being written holds it whole.
        rng = random.Random(5)
        data = self.next_records(40000)
        writer = self.spawn([sys.executable, "-c", (
            "import os, random, sys, time\n"
            "data = sys.stdin.buffer.read(); rng = random.Random(6); pos = 0\n"
            "fd = os.open(sys.argv[1], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)\n"
            "while pos < len(data):\n"
            "    n = rng.randint(1, 20000); os.write(fd, data[pos:pos + n]); pos += n\n"
            "    time.sleep(rng.uniform(0, 0.004))\n"), self.log], stdin=subprocess.PIPE)
        writer.stdin.write(data)
        writer.stdin.close()
        created = time.monotonic() + 10  # the writer creates the log (bounded wait)
        while not os.path.exists(self.log) and time.monotonic() < created:
            time.sleep(0.005)
        self.assertTrue(os.path.exists(self.log), "the writer did not create the log")
        outputs, runs = [], 0
        deadline = time.monotonic() + 60
        while writer.poll() is None and time.monotonic() < deadline:
            outputs.append(self.run_filter().stdout)
            runs += 1
            time.sleep(rng.uniform(0, 0.01))
        self.assertEqual(self.wait_exit(writer, 10, "writer"), 0)
        outputs.append(self.run_filter().stdout)
        self.assertGreater(runs, 3)
        self.assert_union(outputs, data)

    def test_limit_resumes_after_the_last_kept_record(self):
        data = self.next_records(100)
        self.write(self.log, data)
        outputs = []
        for _ in range(20):
            r = self.run_filter("-n", "3")
            self.assertLessEqual(len(lines_of(r.stdout)), 3)
            outputs.append(r.stdout)
        self.assert_union(outputs, data)

    def test_several_inputs_keep_an_offset_each(self):
        other = self.path("other.json")
        seen = {self.log: bytearray(), other: bytearray()}
        rng = random.Random(3)
        for k in range(8):
            new = {}
            for path in (self.log, other):
                new[path] = self.next_records(rng.randint(0, 30))
                self.write(path, new[path])
                seen[path] += new[path]
            r = self.run_filter(inputs=[self.log, other])
            self.assertEqual(lines_of(r.stdout), jq_select(new[self.log]) + jq_select(new[other]), "run %d" % k)
        inputs = sorted(e["input"] for e in self.state_entries() if "input" in e)
        self.assertEqual(inputs, sorted([self.log, other]))

    def test_standard_input_has_no_offsets(self):
        data = self.next_records(30)
        for _ in range(3):  # every run reads what it is given
            r = self.run_filter(inputs=[], stdin=data)
            self.assertEqual(lines_of(r.stdout), jq_select(data))
        self.assertTrue(os.path.exists(self.state))
        self.assertFalse(any("input" in e for e in self.state_entries()))
        # Standard input beside a file: the file resumes, stdin is read whole.
        logged = self.next_records(12)
        self.write(self.log, logged)
        piped = self.next_records(9)
        for k in range(2):
            r = self.run_filter(inputs=["-", self.log], stdin=piped)
            self.assertEqual(lines_of(r.stdout), jq_select(piped) + (jq_select(logged) if k == 0 else []))

    def test_stats_report_the_state(self):
        self.write(self.log, self.next_records(10))
        r = self.run_filter("--stats")
        stats = json.loads(r.stderr.decode().strip().splitlines()[-1])
        self.assertIn("state_bytes", stats)
        self.assertIn("state_commits", stats)
        self.assertEqual(stats["state_commits"], 1)  # a short run: the final commit only
        self.assertEqual(stats["state_bytes"], os.path.getsize(self.state))


class Rotation(StateTest):
    """Each test writes through `gen`, which keeps every generation's data in
    the order written, and checks the union of the outputs against one run
    over all of it."""

    def setUp(self):
        super().setUp()
        self.data = bytearray()  # everything written, generation by generation
        self.outputs = []

    def add(self, count, path=None):
        data = self.next_records(count)
        self.write(path or self.log, data)
        self.data += data
        return data

    def run_and_keep(self, *extra, note=None, status=EXIT_OK):
        r = self.run_filter(*extra, status=status)
        if note:
            self.assertIn(note, r.stderr.decode())
        self.outputs.append(r.stdout)
        return r

    @staticmethod
    def gzip_like_logrotate(src, dst):
        """Compresses src to dst and removes src, keeping its times, as
        gzip(1) and logrotate's compress do."""
        st = os.stat(src)
        with open(src, "rb") as f, gzip.open(dst, "wb") as z:
            z.write(f.read())
        os.utime(dst, ns=(st.st_atime_ns, st.st_mtime_ns))
        os.unlink(src)

    def rotate_and_compress(self):
        """logrotate with compress, without delaycompress: rename to .1,
        create the new file, then compress .1 to .1.gz; the program writes
        to the new file."""
        os.rename(self.log, self.log + ".1")
        open(self.log, "wb").close()
        self.gzip_like_logrotate(self.log + ".1", self.log + ".1.gz")
        time.sleep(0.02)
        self.add(4)

    def test_rename_and_create(self):
        self.add(30)
        self.run_and_keep()
        os.rename(self.log, self.log + ".1")
        self.add(12)
        self.run_and_keep(note="rotated")
        self.add(5)
        self.run_and_keep()
        self.assert_union(self.outputs, self.data)

    def test_copytruncate(self):
        self.add(30)
        self.run_and_keep()
        self.add(9)
        shutil.copy(self.log, self.log + ".1")
        with open(self.log, "r+b") as f:
            f.truncate(0)
        self.add(6)
        self.run_and_keep(note="truncated")
        self.add(4)
        self.run_and_keep()
        self.assert_union(self.outputs, self.data)

    def test_truncated_without_a_copy_is_read_from_the_start(self):
        self.add(30)
        self.run_filter()
        with open(self.log, "r+b") as f:
            f.truncate(0)
        new = self.add(6)
        r = self.run_filter()
        self.assertIn("truncated", r.stderr.decode())
        self.assertEqual(lines_of(r.stdout), jq_select(new))

    def test_rotation_with_appends_to_the_old_file_and_the_new(self):
        self.add(30)
        self.run_and_keep()
        # The program keeps writing through its open descriptor: before the
        # rename, and after it (into what is now .1, until it reopens).
        fd = os.open(self.log, os.O_WRONLY | os.O_APPEND)
        try:
            for _ in range(3):
                data = self.next_records(4)
                os.write(fd, data)
                self.data += data
            os.rename(self.log, self.log + ".1")
            data = self.next_records(7)
            os.write(fd, data)
            self.data += data
        finally:
            os.close(fd)
        self.add(12)
        self.run_and_keep(note="rotated")
        self.add(8)
        self.run_and_keep()
        self.assert_union(self.outputs, self.data)

    def test_two_rotations_between_runs(self):
        self.add(30)
        self.run_and_keep()
        self.add(5)  # unfinished, in what becomes .2
        os.rename(self.log, self.log + ".1")
        time.sleep(0.02)  # the generations' mtimes tell their order
        self.add(7)
        os.rename(self.log + ".1", self.log + ".2")
        os.rename(self.log, self.log + ".1")
        time.sleep(0.02)
        self.add(8)
        self.run_and_keep(note="rotated")
        self.add(3)
        self.run_and_keep()
        self.assert_union(self.outputs, self.data)

    def test_unfinished_old_file_compressed_is_read_and_finished_gz_is_not(self):
        # compress without delaycompress: the generation just rotated is
        # compressed at once, unfinished (.1.gz), and read from where the last
        # run stopped; at the next rotation it is .2.gz, finished: not read.
        self.add(30)
        self.run_and_keep()
        self.add(6)
        self.rotate_and_compress()
        r = self.run_and_keep(note="rotated")
        self.assertIn("access.json.1.gz", r.stderr.decode())
        self.add(5)
        os.rename(self.log + ".1.gz", self.log + ".2.gz")
        self.rotate_and_compress()
        r = self.run_and_keep(note="rotated")
        read, _, skipped = r.stderr.decode().partition("; skipped, as finished before: ")
        self.assertNotIn(".2.gz", read)  # not read ...
        self.assertTrue(skipped.startswith(self.log + ".2.gz"), r.stderr)  # ... and said so
        self.assert_union(self.outputs, self.data)

    def test_finished_generations_compressed_later_are_not_read_again(self):
        # compress with delaycompress: .1 stays plain, and is compressed to
        # .2.gz at the next rotation, when it was long finished.
        self.add(20)
        self.run_and_keep()
        self.add(3)
        os.rename(self.log, self.log + ".1")
        time.sleep(0.02)
        self.add(10)
        self.run_and_keep(note="rotated")  # finishes .1, reads the new one
        for _ in range(2):
            self.add(4)
            if os.path.exists(self.log + ".2.gz"):
                os.rename(self.log + ".2.gz", self.log + ".3.gz")
            self.gzip_like_logrotate(self.log + ".1", self.log + ".2.gz")
            os.rename(self.log, self.log + ".1")
            time.sleep(0.02)
            self.add(6)
            r = self.run_and_keep(note="rotated")
            read, _, skipped = r.stderr.decode().partition("; skipped, as finished before: ")
            self.assertNotIn(".gz", read)
            self.assertTrue(skipped.startswith(self.log + ".2.gz"), r.stderr)
        self.assert_union(self.outputs, self.data)

    def test_dateext_and_rotated_glob(self):
        self.add(20)
        self.run_and_keep()
        self.add(5)
        os.rename(self.log, self.log + "-20261207")
        time.sleep(0.02)
        self.add(5)
        self.run_and_keep(note="access.json-20261207")
        # olddir: the rotated files are elsewhere, found through --rotated.
        os.makedirs(self.path("old"))
        self.add(4)
        os.rename(self.log, self.path("old/access.json.20261208"))
        time.sleep(0.02)
        self.add(3)
        self.run_and_keep("--rotated", self.path("old/access.json.*"), note="old/access.json.20261208")
        self.add(2)
        self.run_and_keep("--rotated", self.path("old/access.json.*"))
        self.assert_union(self.outputs, self.data)

    def test_old_file_not_found_is_said(self):
        self.add(20)
        self.run_filter()
        self.add(3)  # lost with the old file
        # Moved where no one looks (not deleted: a new file could get its
        # inode, which looks like a truncation).
        os.rename(self.log, self.path("elsewhere"))
        new = self.add(4)
        r = self.run_filter()
        self.assertIn("not found", r.stderr.decode())
        self.assertEqual(lines_of(r.stdout), jq_select(new))

    # A rotated file may end in the middle of a line: the program was writing
    # it when the file was renamed (and finishes it through its descriptor
    # later), or copytruncate copied half of it. Each line is still to be
    # output once, and the new file is not to be read again.

    def test_rotated_while_a_line_is_half_written(self):
        # A rotated file is finished as it stands (docs/run-state.md): the
        # line cut by the rotation is reported as a bad line (status 1), the
        # rest of the writer's line is not waited for, and nothing is read
        # twice.
        self.add(10)
        self.run_and_keep()
        line = self.next_records(1)
        fd = os.open(self.log, os.O_WRONLY | os.O_APPEND)
        try:
            os.write(fd, line[:11])
            os.rename(self.log, self.log + ".1")
            self.add(6)
            r = self.run_and_keep(note="rotated", status=1)
            self.assertIn("access.json.1:11: invalid JSON", r.stderr.decode())
            os.write(fd, line[11:])  # the writer finishes the line, then reopens
        finally:
            os.close(fd)
        self.add(3)
        self.run_and_keep()
        self.run_and_keep()
        got = sorted(json.loads(x)["i"] for o in self.outputs for x in lines_of(o))
        want = sorted(json.loads(x)["i"] for x in jq_select(self.data))
        self.assertEqual(got, want)  # every whole line once; the cut one reported, not output

    def test_rotated_file_ending_with_a_line_never_finished(self):
        self.add(10)
        self.run_and_keep()
        self.write(self.log, record(10 ** 6)[:15])  # the writer died mid-line
        os.rename(self.log, self.log + ".1")
        self.add(6)
        r = self.run_and_keep(note="rotated", status=1)
        self.assertIn("invalid JSON", r.stderr.decode())
        for _ in range(2):
            r = self.run_and_keep()
            self.assertEqual(r.stdout, b"", "the new file was read again")
        self.assert_union(self.outputs, self.data)

    def test_copytruncate_in_the_middle_of_a_line(self):
        self.add(10)
        self.run_and_keep()
        self.add(3)
        half = self.next_records(1)
        self.write(self.log, half[:12])
        shutil.copy(self.log, self.log + ".1")
        with open(self.log, "r+b") as f:
            f.truncate(0)
        self.write(self.log, half[12:])  # the rest of the line, now a bad line
        self.add(5)
        r = self.run_filter(status=EXIT_SKIPPED)
        self.assertIn("truncated", r.stderr.decode())
        self.outputs.append(r.stdout)
        for _ in range(2):
            r = self.run_filter(status=None)
            self.assertEqual((r.returncode, r.stdout), (EXIT_OK, b""),
                             "the truncated file was read again: %s" % r.stderr.decode())
        self.assert_union(self.outputs, self.data)


class Kill(StateTest):
    """Runs killed with SIGKILL: at least once, with duplicates only of what
    a killed run output after its last commit."""

    READ_PAUSE = 0.02  # a slow reader: a chunk every 20 ms at most

    def setUp(self):
        super().setUp()
        self.written = bytearray()  # all data, in the order written
        self.base = {}  # inode of each generation of the log -> its offset in self.written

    def new_generation(self):
        open(self.log, "wb").close()
        self.base[os.stat(self.log).st_ino] = len(self.written)

    def grow(self, count):
        data = self.next_records(count)
        self.write(self.log, data)
        self.written += data

    def position(self):
        """Where the state says reading resumes, in self.written (0: none)."""
        if not os.path.exists(self.state):
            return 0
        entries = [e for e in self.state_entries() if e.get("input") == self.log]
        self.assertEqual(len(entries), 1)
        e = entries[0]
        pos = self.base[e["ino"]] + e["offset"]
        self.assertTrue(pos == 0 or self.written[pos - 1:pos] == b"\n", "offset %d not at a line end" % pos)
        self.assertEqual(e["lines"], self.written.count(b"\n", self.base[e["ino"]], pos))
        return pos

    @staticmethod
    def in_pipe(fd):
        buf = fcntl.ioctl(fd, termios.FIONREAD, struct.pack("i", 0))
        return struct.unpack("i", buf)[0]

    def matches(self):
        """(start, end, line) of each line jq keeps, by input position."""
        keep = {json.loads(x)["i"] for x in jq_select(self.written)}
        out, pos = [], 0
        for line in bytes(self.written).split(b"\n")[:-1]:
            if json.loads(line)["i"] in keep:
                out.append((pos, pos + len(line) + 1, line))
            pos += len(line) + 1
        return out

    def slow_read(self, p, until, watch=None, fd=None, chunk=2048):
        """Reads p's output (p.stdout, or fd) slowly until until(elapsed,
        commits seen) or its end; watch(received bytes, fd) is called at each
        state change seen. Returns (output, whether it was stopped by until)."""
        fd = p.stdout.fileno() if fd is None else fd
        out = bytearray()
        start = time.monotonic()
        ino = os.stat(self.state).st_ino if os.path.exists(self.state) else None
        commits = 0
        while time.monotonic() - start < 60:
            now = os.stat(self.state).st_ino if os.path.exists(self.state) else None
            if now != ino:
                ino = now
                commits += 1
                if watch:
                    watch(out, fd)
            if until(time.monotonic() - start, commits):
                return out, True
            ready, _, _ = select.select([fd], [], [], self.READ_PAUSE)
            if ready:
                data = os.read(fd, chunk)
                if not data:
                    return out, False
                out += data
                time.sleep(self.READ_PAUSE)
        self.fail("a run did not end within 60 s")

    def spawn_to_socket(self, argv):
        """Starts argv with its output into a socket with small buffers: the
        programs enlarge a pipe to 1 MiB (and so would rarely be caught while
        writing); a socket read slowly holds them in their output."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        theirs.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8192)
        ours.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
        try:
            p = self.spawn(argv, stdout=theirs.fileno(), stderr=subprocess.PIPE)
        finally:
            theirs.close()
        self.fds.append(ours.detach())
        return p, self.fds[-1]

    @staticmethod
    def read_all(fd):
        out = bytearray()
        while True:
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                return out
            out += chunk

    @staticmethod
    def after_commit(extra):
        """An until() for slow_read: `extra` seconds after the first commit seen."""
        first = []

        def until(t, commits):
            if commits and not first:
                first.append(t)
            return bool(first) and t - first[0] >= extra
        return until

    def test_sigkill_at_random_points_in_50_runs(self):
        seed = int(os.environ.get("GOVSTREAM_STATE_SEED", "13"))
        rng = random.Random(seed)
        self.new_generation()
        runs = []  # (position before, after, end of the data, output, exit status)
        for run in range(50):
            if run % 10 == 5:  # a rename + create rotation now and then
                for k in sorted((int(n.rsplit(".", 1)[1]) for n in os.listdir(self.tmp)
                                 if n.startswith("access.json.")), reverse=True):
                    os.rename("%s.%d" % (self.log, k), "%s.%d" % (self.log, k + 1))
                os.rename(self.log, self.log + ".1")
                self.new_generation()
            # Mostly a few thousand lines; now and then many, for runs long
            # enough to commit before they are killed.
            self.grow(60000 if run == 0 else 15000 if rng.random() < 0.2 else rng.randint(1000, 5000))
            before = self.position()
            t0 = time.monotonic()
            p, fd = self.spawn_to_socket([FILTER, "--state", self.state, "--stats", EXPR, self.log])
            if run > 0 and rng.random() < 0.4:
                out = self.read_all(fd)  # a run left alone
            else:
                # Killed at a random moment; or at a random moment after a
                # commit seen (always so for the first run, which has much to
                # output), unless it ends first.
                if run == 0 or rng.random() < 0.5:
                    cond = self.after_commit(rng.uniform(0, 0.5))
                else:
                    delay = rng.uniform(0, 0.4)
                    cond = lambda t, c: t >= delay
                out, alive = self.slow_read(p, cond, fd=fd)
                if alive:
                    p.kill()
                out += self.read_all(fd)  # what it wrote before it died was output
            self.wait_exit(p, 30)
            err = p.stderr.read()
            os.close(fd)
            self.fds.remove(fd)
            elapsed = time.monotonic() - t0
            if p.returncode == EXIT_OK:
                stats = json.loads(err.decode().strip().splitlines()[-1])
                # The state is written at most every second, and at the end.
                self.assertLessEqual(stats["state_commits"], int(elapsed) + 1, "run %d" % run)
            else:
                self.assertEqual(p.returncode, -signal.SIGKILL, "run %d: %s" % (run, err.decode()))
            runs.append((before, self.position(), len(self.written), bytes(out), p.returncode))
        last = self.run_filter()  # and one last, complete run
        runs.append((runs[-1][1], self.position(), len(self.written), last.stdout, EXIT_OK))

        m = self.matches()
        starts = [s for s, _, _ in m]
        total, dups, honoured = 0, 0, 0
        for run, (before, after, end, out, rc) in enumerate(runs):
            what = "run %d (seed %d, %s)" % (run, seed, "killed" if rc != EXIT_OK else "completed")
            got = lines_of(out)
            k0 = bisect.bisect_left(starts, before)
            # What a run outputs is the matching lines from where it resumed,
            # in order, without a gap.
            self.assertEqual(got, [x for _, _, x in m[k0:k0 + len(got)]], what)
            tail = out[len(out) - len(out.rsplit(b"\n", 1)[-1]):] if not out.endswith(b"\n") else b""
            if tail:
                self.assertTrue(m[k0 + len(got)][2].startswith(tail), what)
            # What it committed it had output (commits follow the flush).
            committed = bisect.bisect_left(starts, after) - k0
            self.assertGreaterEqual(after, before, what)
            self.assertLessEqual(committed, len(got), "%s committed lines it had not output" % what)
            if rc == EXIT_OK:
                self.assertEqual(after, end, what)
                self.assertEqual(committed, len(got), what)
            else:
                dups += len(got) - committed  # output after its last commit: repeated by the next run
                honoured += committed > 0
            total += len(got)
        # Every line at least once; exactly the duplicates above in addition.
        every = collections.Counter(x for _, _, _, o, _ in runs for x in lines_of(o))
        self.assertEqual(set(every), {x for _, _, x in m}, "lines lost")
        self.assertEqual(total, len(m) + dups)
        self.assertEqual(sum(every.values()) - len(every), dups)
        self.assertGreaterEqual(sum(1 for r in runs if r[4] != EXIT_OK), 5)
        self.assertGreater(honoured, 0, "no killed run had committed: the bound was not exercised")
        print("\n  %d runs, %d killed (%d after a commit), %d lines output, %d of them again"
              % (len(runs), sum(1 for r in runs if r[4] != EXIT_OK), honoured, total, dups), file=sys.stderr)

    def test_state_never_ahead_of_the_output(self):
        # A long run read slowly: it commits while it runs, at most once a
        # second, and never past what it has written to its output.
        self.new_generation()
        self.grow(120000)
        m = self.matches()
        ends = [e for _, e, _ in m]
        seen = []

        def watch(out, fd):
            pos = self.position()
            need = sum(len(x) + 1 for _, _, x in m[:bisect.bisect_right(ends, pos)])
            have = len(out) + self.in_pipe(fd)  # read, or in the pipe
            seen.append(pos)
            self.assertLessEqual(need, have, "state at %d before its output was flushed" % pos)

        t0 = time.monotonic()
        p = self.spawn([FILTER, "--state", self.state, "--stats", EXPR, self.log],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out, _ = self.slow_read(p, lambda t, c: False, watch, chunk=16384)
        self.assertEqual(self.wait_exit(p, 30), EXIT_OK)
        elapsed = time.monotonic() - t0
        stats = json.loads(p.stderr.read().decode().strip().splitlines()[-1])
        self.assertEqual(lines_of(out), [x for _, _, x in m])
        mid = [x for x in seen if x < len(self.written)]
        self.assertGreater(len(mid), 0, "no commit seen while it ran (%.1f s)" % elapsed)
        self.assertEqual(seen, sorted(seen))
        self.assertGreaterEqual(stats["state_commits"], len(seen))
        self.assertLessEqual(stats["state_commits"], int(elapsed) + 1)
        self.assertEqual(self.position(), len(self.written))


class BadState(StateTest):
    def setUp(self):
        super().setUp()
        self.data = self.next_records(10)
        self.write(self.log, self.data)
        self.run_filter()

    def refused(self, *extra, expr=EXPR, status=EXIT_STATE):
        with open(self.state, "rb") as f:
            before = f.read()
        r = self.run_filter(*extra, expr=expr, status=status)
        self.assertEqual(r.stdout, b"")
        with open(self.state, "rb") as f:
            self.assertEqual(f.read(), before, "the state file was changed")
        return r.stderr.decode()

    def edit(self, f):
        with open(self.state, "rb") as s:
            data = s.read()
        with open(self.state, "wb") as s:
            s.write(f(data))

    @staticmethod
    def resealed(body):
        """A well-formed file around `body` (the lines before the trailer)."""
        entries = len(body.splitlines()) - 1
        return body + b'{"end":true,"entries":%d,"checksum":"%016x"}\n' % (entries, fnv1a64(body))

    def reset_reads_from_the_start(self):
        r = self.run_filter("--state-reset")
        self.assertEqual(lines_of(r.stdout), jq_select(self.data))
        self.assertEqual(self.run_filter().stdout, b"")

    def test_checksum_as_documented(self):
        with open(self.state, "rb") as f:
            data = f.read()
        body = data[:data.rindex(b"\n", 0, len(data) - 1) + 1]
        self.assertEqual(self.resealed(body), data)

    def test_other_options_are_refused_and_reset_starts_afresh(self):
        for extra, expr in (((), ".status >= 400"), (("-v",), EXPR), (("--map", ".i"), EXPR),
                            (("--fields", "i"), EXPR)):
            err = self.refused(*extra, expr=expr)
            self.assertIn("made with other options", err)
            self.assertIn("--state-reset", err)
        r = self.run_filter("--state-reset", expr=".status >= 400")
        self.assertEqual(len(lines_of(r.stdout)), sum(1 for i in range(10) if i % 3 == 0 or i % 5 == 0))
        self.assertEqual(self.run_filter(expr=".status >= 400").stdout, b"")  # the state is the new one's
        self.assertIn("made with other options", self.refused())

    def test_made_by_another_program(self):
        def other(d):
            body = d[:d.rindex(b"\n", 0, len(d) - 1) + 1]  # without the end line
            return self.resealed(body.replace(b'"program":"stream-filter"', b'"program":"stream-agg"'))
        self.edit(other)
        self.assertIn("stream-agg", self.refused())
        self.reset_reads_from_the_start()

    def test_garbage(self):
        self.edit(lambda d: b"garbage\n")
        self.assertIn("is corrupt", self.refused())
        self.reset_reads_from_the_start()

    def test_empty(self):
        self.edit(lambda d: b"")
        self.assertIn("is corrupt", self.refused())

    def test_truncated(self):
        self.edit(lambda d: b"".join(d.splitlines(True)[:-1]))  # without its end line
        self.assertIn("truncated", self.refused())
        self.edit(lambda d: d + b'{"end":tr')  # and cut in the middle of it
        self.assertIn("is corrupt", self.refused())
        self.reset_reads_from_the_start()

    def test_bit_flip(self):
        def flip(d):
            at = d.index(b'"offset":') + len(b'"offset":')  # a digit: one bit flipped is another digit
            return d[:at] + bytes([d[at] ^ 1]) + d[at + 1:]
        self.edit(flip)
        err = self.refused()
        self.assertIn("checksum mismatch", err)
        self.assertIn("is corrupt", err)
        self.reset_reads_from_the_start()

    def test_wrong_count_of_entries(self):
        self.edit(lambda d: d.replace(b'"entries":1', b'"entries":2'))
        self.assertIn("entries", self.refused())

    def test_future_version(self):
        body = (b'{"format":"govstream-run-state","version":2,"program":"stream-filter",'
                b'"config":"expr=%s map= invert=false","committed_at_ms":1}\n' % EXPR.encode())
        self.edit(lambda d: self.resealed(body))
        self.assertIn("format version 2", self.refused())
        self.reset_reads_from_the_start()

    def test_lock_conflict(self):
        with open(self.state + ".lock", "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            err = self.refused("--state-wait", "300ms", status=EXIT_BUSY)
        self.assertIn("in use by another run", err)
        self.write(self.log, self.next_records(3))
        self.assertEqual(len(lines_of(self.run_filter().stdout)), 1)  # free again

    def test_a_run_waits_for_the_lock(self):
        more = self.next_records(6)
        self.write(self.log, more)
        with open(self.state + ".lock", "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            p = self.spawn([FILTER, "--state", self.state, "--state-wait", "60s", EXPR, self.log],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            time.sleep(0.3)
            self.assertIsNone(p.poll(), "it did not wait")
        out, err = p.communicate(timeout=30)
        self.assertEqual(p.returncode, EXIT_OK, err)
        self.assertEqual(lines_of(out), jq_select(more))

    def test_lock_held_by_another_run(self):
        self.write(self.log, self.next_records(150000))  # more output than a pipe holds
        first = self.spawn([FILTER, "--state", self.state, EXPR, self.log], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
        self.wait_idle(first, timeout=20)  # blocked on its full output pipe, holding the lock
        err = self.refused("--state-wait", "300ms", status=EXIT_BUSY)
        self.assertIn("in use by another run", err)
        self.assertIn("pid %d" % first.pid, err)
        out, _ = first.communicate(timeout=60)
        self.assertEqual(first.returncode, EXIT_OK)
        self.assertEqual(len(lines_of(out)), 50000)
        self.assertEqual(self.run_filter().stdout, b"")

    def test_state_options_need_state(self):
        for extra in (["--rotated", "x*"], ["--state-reset"], ["--state-wait", "1s"]):
            r = subprocess.run([FILTER, *extra, EXPR, self.log], capture_output=True, timeout=10)
            self.assertEqual(r.returncode, EXIT_USAGE, r.stderr)
            self.assertIn("need --state", r.stderr.decode())
            self.assertEqual(r.stdout, b"")

    def test_temporary_left_by_a_killed_commit_is_removed(self):
        # A run killed between writing FILE.tmp.PID and renaming it leaves
        # the temporary behind; the next run (holding the lock) removes it,
        # and only it: other names beside FILE are left alone.
        self.write(self.log, self.next_records(30))
        self.run_filter()
        stale, other = self.state + ".tmp.4194303", self.state + ".tmp.keep"
        for path in (stale, other):
            with open(path, "wb") as f:
                f.write(b"{half a state")
        self.write(self.log, self.next_records(30))
        r = self.run_filter()
        self.assertEqual(len(lines_of(r.stdout)), len(jq_select(records(30, 60))))
        self.assertFalse(os.path.exists(stale))
        self.assertTrue(os.path.exists(other))


class Alert(StateTest):
    """stream-alert --state: the same run-state file, so input files are
    read from where the last run stopped, across rotations, and the alert
    keys persist: the events of cron-like runs are those of one run."""

    RULE = ["--name", "errors", "--when", ".status >= 500", "--for", "20s", "--keep-firing-for", "10s",
            "--by", ".path", "--time", ".t"]

    @staticmethod
    def metric(i):
        # Bursts of errors per path, so that alerts fire and resolve.
        status = 503 if (i // 40) % 3 == 0 else 200
        return ('{"t":%d,"path":"/p/%d","status":%d}\n' % (1796600000 + i, i % 3, status)).encode()

    def alert(self, *extra, inputs, status=None):
        r = subprocess.run([ALERT, *self.RULE, *extra] + [x for i in inputs for x in ("-i", i)], capture_output=True,
                           timeout=60, stdin=subprocess.DEVNULL)
        self.assertIn(r.returncode, (0, 8) if status is None else (status,), r.stderr.decode())
        return r

    def test_appends_and_a_rotation_give_the_events_of_one_run(self):
        data = b"".join(self.metric(i) for i in range(1200))
        rng = random.Random(7)
        cuts = sorted(rng.sample(range(1, len(data)), 11)) + [len(data)]
        b = data.index(b"\n", cuts[5]) + 1  # logrotate renames between whole lines (after cut 5)
        cuts = cuts[:5] + [b] + [c for c in cuts[6:] if c > b]
        events, prev = b"", 0
        for n, c in enumerate(cuts):
            if n == 6:  # logrotate: rename, create
                os.rename(self.log, self.log + ".1")
            self.write(self.log, data[prev:c])
            prev = c
            r = self.alert("--state", self.state, inputs=[self.log])
            events += r.stdout
            if n == 6:
                self.assertIn("rotated", r.stderr.decode())
        one = subprocess.run([ALERT, *self.RULE], input=data, capture_output=True, timeout=60)
        self.assertGreater(one.stdout.count(b'"event":"firing"'), 5)
        self.assertGreater(one.stdout.count(b'"event":"resolved"'), 5)
        self.assertEqual(events, one.stdout)
        # A run with nothing new reads nothing and says nothing new.
        self.assertEqual(self.alert("--state", self.state, inputs=[self.log]).stdout, b"")
        self.assertIn('"program":"stream-alert"', open(self.state).readline())

    def test_state_options_are_refused_without_rules(self):
        r = subprocess.run([ALERT, "--dedupe", "1m", "--state-reset"], capture_output=True, timeout=10,
                           stdin=subprocess.DEVNULL)
        self.assertEqual(r.returncode, EXIT_USAGE)
        self.assertIn("--state-reset applies to alert rules", r.stderr.decode())


if __name__ == "__main__":
    sys.exit(run_main(FILTER, __name__))
