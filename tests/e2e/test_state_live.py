#!/usr/bin/env python3
"""Live tests of --state (resumable runs), for stream-filter: cron-like runs
over a growing and rotating log, runs killed with SIGKILL, and bad state
files. jq is the oracle (select() over the whole data written).

usage: GOVSTREAM_BIN=build/bin python3 tests/e2e/test_state_live.py [-v] [Class.test_name ...]
"""

import fcntl
import gzip
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time

from livetest import BIN_DIR, ProcessTest, run_main

FILTER = os.path.join(BIN_DIR, "stream-filter")
EXPR = ".status >= 500"
EXIT_OK, EXIT_USAGE, EXIT_STATE, EXIT_BUSY = 0, 2, 9, 12


def record(i):
    return b'{"i":%d,"status":%d,"path":"/p/%d"}\n' % (i, 503 if i % 3 == 0 else 200, i % 7)


class StateTest(ProcessTest):
    def setUp(self):
        super().setUp()
        self.log = self.path("access.json")
        self.state = self.path("filter.state")
        self.written = bytearray()  # everything ever written to the log, in order
        self.n = 0

    def append(self, count, path=None, cut=False):
        """Appends `count` records; with `cut`, the last one only half."""
        data = b"".join(record(self.n + k) for k in range(count))
        self.n += count
        if cut:
            self.pending = data[len(data) - len(record(self.n - 1)) // 2:]
            data = data[:len(data) - len(self.pending)]
        elif getattr(self, "pending", None):
            data = self.pending + data
            self.pending = None
        with open(path or self.log, "ab") as f:
            f.write(data)
        self.written += data

    def run_filter(self, *extra, inputs=None, expr=EXPR, check=True):
        argv = [FILTER, "--state", self.state, *extra, expr] + (inputs if inputs is not None else [self.log])
        r = subprocess.run(argv, capture_output=True, timeout=60)
        if check:
            self.assertEqual(r.returncode, EXIT_OK, r.stderr.decode())
        return r

    def oracle(self, data=None):
        data = bytes(self.written if data is None else data)
        r = subprocess.run(["jq", "-c", "select(%s)" % EXPR], input=data, capture_output=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        return [json.loads(x) for x in r.stdout.splitlines()]

    @staticmethod
    def records(out):
        return [json.loads(x) for x in out.splitlines()]


class Growing(StateTest):
    def test_twenty_appends_union_equals_one_run(self):
        out = []
        for k in range(20):
            self.append(random.Random(k).randint(0, 40), cut=(k % 4 == 1))
            out += self.records(self.run_filter().stdout)
        self.append(1)  # completes a held line if any
        out += self.records(self.run_filter().stdout)
        self.assertEqual(out, self.oracle())
        one = subprocess.run([FILTER, EXPR, self.log], capture_output=True, timeout=60)
        self.assertEqual(out, self.records(one.stdout))

    def test_a_partial_last_line_waits_for_the_next_run(self):
        with open(self.log, "wb") as f:
            f.write(record(0) + record(3)[:10])
        self.assertEqual(self.records(self.run_filter().stdout), [{"i": 0, "status": 503, "path": "/p/0"}])
        with open(self.log, "ab") as f:
            f.write(record(3)[10:])
        self.assertEqual([r["i"] for r in self.records(self.run_filter().stdout)], [3])

    def test_stats_report_the_state(self):
        self.append(10)
        r = self.run_filter("--stats")
        stats = json.loads(r.stderr.decode().strip().splitlines()[-1])
        self.assertGreater(stats["state_bytes"], 100)
        self.assertEqual(stats["state_commits"], 1)
        self.assertEqual(stats["state_bytes"], os.path.getsize(self.state))

    def test_standard_input_has_no_offsets(self):
        data = b"".join(record(i) for i in range(9))
        for _ in range(2):
            r = subprocess.run([FILTER, "--state", self.state, EXPR], input=data, capture_output=True, timeout=30)
            self.assertEqual(r.returncode, EXIT_OK, r.stderr)
            self.assertEqual(len(r.stdout.splitlines()), 3)


class Rotation(StateTest):
    def check(self, out):
        self.assertEqual(out, self.oracle())

    def test_rename_and_create(self):
        self.append(30)
        out = self.records(self.run_filter().stdout)
        self.append(10)
        os.rename(self.log, self.log + ".1")
        self.append(12)
        r = self.run_filter()
        self.assertIn("rotated", r.stderr.decode())
        out += self.records(r.stdout)
        self.check(out)

    def test_copytruncate(self):
        self.append(30)
        out = self.records(self.run_filter().stdout)
        self.append(9)
        shutil.copy(self.log, self.log + ".1")
        with open(self.log, "r+b") as f:
            f.truncate(0)
        self.append(6)
        r = self.run_filter()
        self.assertIn("truncated", r.stderr.decode())
        out += self.records(r.stdout)
        self.check(out)

    def test_truncated_without_a_copy_is_read_from_the_start(self):
        self.append(30)
        self.run_filter()
        with open(self.log, "r+b") as f:
            f.truncate(0)
        self.written = bytearray()
        self.append(6)
        r = self.run_filter()
        self.assertIn("truncated", r.stderr.decode())
        self.assertEqual(self.records(r.stdout), self.oracle())

    def test_two_rotations_between_runs(self):
        self.append(30)
        out = self.records(self.run_filter().stdout)
        self.append(5)
        os.rename(self.log, self.log + ".1")
        time.sleep(0.02)
        self.append(7)
        os.rename(self.log + ".1", self.log + ".2")
        os.rename(self.log, self.log + ".1")
        time.sleep(0.02)
        self.append(8)
        out += self.records(self.run_filter().stdout)
        self.check(out)

    def test_unfinished_old_file_compressed_is_read_and_older_gz_is_not(self):
        self.append(30)
        out = self.records(self.run_filter().stdout)
        # An older generation, finished long ago, lies there compressed.
        with gzip.open(self.log + ".3.gz", "wb") as z:
            z.write(b"".join(record(1000 + i) for i in range(30)))
        os.utime(self.log + ".3.gz", (1, 1))
        self.append(6)
        with open(self.log, "rb") as f, gzip.open(self.log + ".1.gz", "wb") as z:
            z.write(f.read())
        os.unlink(self.log)
        self.append(4)
        r = self.run_filter()
        self.assertIn("access.json.1.gz", r.stderr.decode())
        out += self.records(r.stdout)
        self.check(out)

    def test_dateext_and_rotated_glob(self):
        self.append(20)
        out = self.records(self.run_filter().stdout)
        self.append(5)
        os.rename(self.log, self.log + "-20261207")
        self.append(5)
        out += self.records(self.run_filter().stdout)
        os.makedirs(self.path("old"))
        self.append(4)
        os.rename(self.log, self.path("old/archived.json"))
        self.append(3)
        out += self.records(self.run_filter("--rotated", self.path("old/*")).stdout)
        self.check(out)


class Kill(StateTest):
    def test_sigkill_at_random_points_loses_nothing(self):
        rng = random.Random(7)
        outputs = []
        killed = 0
        for run in range(50):
            self.append(rng.randint(2000, 20000))
            out_path = self.path("out-%d" % run)
            with open(out_path, "wb") as out:
                p = subprocess.Popen([FILTER, "--state", self.state, EXPR, self.log], stdout=out,
                                     stderr=subprocess.PIPE)
                if run % 2 == 0:
                    time.sleep(rng.uniform(0, 0.03))
                    p.kill()
                    killed += p.wait() == -signal.SIGKILL
                else:
                    self.assertEqual(p.wait(timeout=60), EXIT_OK, p.stderr.read())
                p.stderr.close()
            with open(out_path, "rb") as f:
                outputs.append(f.read())
        self.run_filter()  # and one last, complete run
        got, where = [], {}
        for run, o in enumerate(outputs):
            for x in o.splitlines():
                if x.endswith(b"}"):  # a killed run's last line may be cut
                    i = json.loads(x)["i"]
                    got.append(i)
                    where.setdefault(i, []).append(run)
        want = [r["i"] for r in self.oracle()]
        self.assertEqual(set(got) - set(want), set())  # nothing made up
        self.assertEqual(self.records(self.run_filter().stdout), [])  # nothing left over
        missing = set(want) - set(got)
        self.assertEqual(missing, set(), "lost %d lines" % len(missing))
        # Duplicates only within the bound: a line output twice was output
        # by a killed run (after its last commit) and again by a later one.
        for i, runs in where.items():
            if len(runs) > 1:
                self.assertTrue(all(r % 2 == 0 for r in runs[:-1]),
                                "line %d output by runs %s: a completed run was repeated" % (i, runs))
        self.assertGreater(killed, 0)


class BadState(StateTest):
    def setUp(self):
        super().setUp()
        self.append(10)
        self.run_filter()

    def refused(self, *extra, expr=EXPR, status=EXIT_STATE):
        before = open(self.state, "rb").read()
        r = self.run_filter(*extra, expr=expr, check=False)
        self.assertEqual(r.returncode, status, r.stderr)
        self.assertEqual(r.stdout, b"")
        self.assertEqual(open(self.state, "rb").read(), before)  # left as it is
        return r.stderr.decode()

    def test_other_options_are_refused_and_reset_starts_afresh(self):
        err = self.refused(expr=".status >= 400")
        self.assertIn("made with other options", err)
        self.assertIn("--state-reset", err)
        r = self.run_filter("--state-reset", expr=".status >= 400")
        self.assertEqual(len(r.stdout.splitlines()), 4)

    def edit(self, f):
        with open(self.state, "rb") as s:
            data = s.read()
        with open(self.state, "wb") as s:
            s.write(f(data))

    def test_garbage(self):
        self.edit(lambda d: b"garbage\n")
        self.assertIn("is corrupt", self.refused())

    def test_truncated(self):
        self.edit(lambda d: b"".join(d.splitlines(True)[:-1]))
        self.assertIn("truncated", self.refused())

    def test_bit_flip(self):
        self.edit(lambda d: d.replace(b'"offset":', b'"offset":1', 1))
        self.assertIn("checksum mismatch", self.refused())

    def test_future_version(self):
        self.edit(lambda d: d.replace(b'"version":1', b'"version":2', 1))
        self.assertIn("format version 2", self.refused())

    def test_lock_conflict(self):
        with open(self.state + ".lock", "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            err = self.refused("--state-wait", "300ms", status=EXIT_BUSY)
        self.assertIn("in use by another run", err)
        self.run_filter()  # free again

    def test_state_options_need_state(self):
        r = subprocess.run([FILTER, "--rotated", "x*", EXPR, self.log], capture_output=True, timeout=10)
        self.assertEqual(r.returncode, EXIT_USAGE, r.stderr)
        self.assertIn("need --state", r.stderr.decode())


if __name__ == "__main__":
    sys.exit(run_main(FILTER, __name__))
