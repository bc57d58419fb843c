#!/usr/bin/env python3
"""Live tests of `stream-agg --state FILE` (resumable cron runs): the groups
and every aggregate's state persist in FILE beside the input offsets. The
contract is docs/run-state.md, lib/stream/resume.h and lib/stream/aggregate.h.

The oracle is stream-agg itself without --state over all the data (byte for
byte, sketches included: their states are saved exactly), and Python for
counts, sums, distinct values, first/last/min/max.

Every file is made in a temporary directory; every process is started by
ProcessTest (and killed in its tearDown); every wait is bounded.

usage: GOVSTREAM_BIN=build/bin python3 tests/e2e/test_state_agg_live.py [-v] [Class.test_name ...]
"""

import collections
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

AGG = os.path.join(BIN_DIR, "stream-agg")
EXIT_OK, EXIT_SKIPPED, EXIT_STATE, EXIT_BUSY = 0, 1, 9, 12
BY = ["--by", ".host"]
AGGS = ["count", "sum(.bytes)", "avg(.bytes)", "p99(.lat)", "approx_distinct(.user)", "top(.path,3)",
        "distinct(.user)", "first(.bytes)", "last(.bytes)", "min(.lat)", "max(.lat)", "stddev(.lat)"]
HOSTS = ["web-1", "web-2", "api", "db-é", "cache"]
USERS = 4000  # per host well over 1000 distinct: the HyperLogLog is dense (exact only below 512)


def record(i):
    """One NDJSON line, pseudo-random but a function of i; some carry
    multi-byte UTF-8, so that random cuts fall inside characters too."""
    h = (i * 2654435761 + 0x9E3779B9) & 0xFFFFFFFF
    h ^= h >> 15
    h = (h * 2246822519) & 0xFFFFFFFF
    h ^= h >> 13
    k = (h >> 20) % 100
    path = "/p/%d" % (0 if k < 40 else 1 if k < 65 else 2 if k < 80 else 3 + k % 10)
    lat = ((h >> 3) % 400000) / 1000.0 * (1 + (h >> 28) % 4)
    return ('{"i":%d,"host":"%s","bytes":%d,"lat":%.3f,"user":"u%d","path":"%s","msg":"%s"}\n' % (
        i, HOSTS[(h >> 7) % len(HOSTS)], (h >> 9) % 100000, lat, (h >> 11) % USERS, path,
        "é" * (i % 3) + "✓" * (i % 2))).encode()


def records(n0, n1):
    return b"".join(record(i) for i in range(n0, n1))


def complete(data):
    """The complete lines of data (what a run consumes of a current file)."""
    data = bytes(data)
    return data[:data.rfind(b"\n") + 1]


def fnv1a64(data):
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def oracle(data):
    """Per host, what Python computes over the lines of data."""
    out = collections.OrderedDict()
    for line in bytes(data).splitlines():
        r = json.loads(line)
        g = out.setdefault(r["host"], {"count": 0, "sum_bytes": 0, "users": set(), "first_bytes": r["bytes"],
                                       "min_lat": r["lat"], "max_lat": r["lat"]})
        g["count"] += 1
        g["sum_bytes"] += r["bytes"]
        g["users"].add(r["user"])
        g["last_bytes"] = r["bytes"]
        g["min_lat"] = min(g["min_lat"], r["lat"])
        g["max_lat"] = max(g["max_lat"], r["lat"])
    return out


def groups(out):
    return [json.loads(x) for x in bytes(out).splitlines()]


class AggStateTest(ProcessTest):
    def setUp(self):
        super().setUp()
        self.log = self.path("access.json")
        self.state = self.path("agg.state")
        self.n = 0
        self.data = bytearray()  # everything written, in the order written

    def add(self, count, path=None):
        data = records(self.n, self.n + count)
        self.n += count
        self.append(path or self.log, data)
        self.data += data
        return data

    def agg(self, *extra, inputs=None, stdin=None, status=EXIT_OK, by=BY, aggs=AGGS, state=None):
        ins = [self.log] if inputs is None else inputs
        argv = [AGG, "--state", state or self.state, *extra, *by] + [a for x in ins for a in ("-i", x)] + aggs
        r = subprocess.run(argv, input=stdin, capture_output=True, timeout=120,
                           stdin=None if stdin is not None else subprocess.DEVNULL)
        if status is not None:
            self.assertEqual(r.returncode, status, "%s: %s" % (argv, r.stderr.decode()))
        return r

    def one_run(self, data, *extra, by=BY, aggs=AGGS):
        """stream-agg without --state over data: what one run gives."""
        r = subprocess.run([AGG, *extra, *by] + aggs, input=bytes(data), capture_output=True, timeout=120)
        self.assertIn(r.returncode, (EXIT_OK, EXIT_SKIPPED), r.stderr)
        return r.stdout

    def read_state(self, path=None):
        with open(path or self.state, "rb") as f:
            return f.read()

    def entries(self, path=None):
        return [json.loads(x) for x in self.read_state(path).splitlines()]

    def offset(self):
        """The offset recorded for self.log (0 without a state); checks it is
        at a line end and that `lines` counts the lines before it."""
        if not os.path.exists(self.state):
            return 0
        es = [e for e in self.entries() if e.get("input") == self.log]
        self.assertEqual(len(es), 1)
        off = es[0]["offset"]
        self.assertTrue(off == 0 or self.data[off - 1:off] == b"\n", "offset %d not at a line end" % off)
        self.assertEqual(es[0]["lines"], self.data.count(b"\n", 0, off))
        return off


class Growing(AggStateTest):
    def pieces(self, seed):
        rng = random.Random(seed)
        data = records(0, 8000)
        self.n = 8000
        cuts = sorted(rng.sample(range(1, len(data)), 19))
        for k in (4, 12):  # two cuts just after a newline; the rest anywhere (mostly inside lines)
            cuts[k] = data.rindex(b"\n", cuts[k - 1] + 1, cuts[k + 1]) + 1
        pieces = [data[a:b] for a, b in zip([0] + cuts, cuts + [len(data)])]
        self.assertEqual(len(pieces), 20)
        self.assertGreater(sum(1 for p in pieces if not p.endswith(b"\n")), 10)
        return pieces

    def test_twenty_appends_cut_anywhere_running_totals(self):
        outputs = []
        for k, piece in enumerate(self.pieces(20)):
            self.append(self.log, piece)
            self.data += piece
            r = self.agg()
            self.assertEqual(r.stderr, b"", "run %d" % k)  # a held partial line is not an error
            # Every run prints the totals over every complete line so far.
            self.assertEqual(r.stdout, self.one_run(complete(self.data)), "run %d" % k)
            self.assertEqual(self.offset(), len(complete(self.data)), "run %d" % k)
            outputs.append(r.stdout)
        self.assertEqual(outputs[-1], self.one_run(self.data))
        want = oracle(self.data)
        got = groups(outputs[-1])
        self.assertEqual([g["host"] for g in got], list(want))
        for g in got:
            w = want[g["host"]]
            self.assertGreater(len(w["users"]), 1000)
            self.assertEqual((g["count"], g["sum_bytes"], g["distinct_user"], g["first_bytes"], g["last_bytes"],
                              g["min_lat"], g["max_lat"]),
                             (w["count"], w["sum_bytes"], len(w["users"]), w["first_bytes"], w["last_bytes"],
                              w["min_lat"], w["max_lat"]), g["host"])
            self.assertLess(abs(g["approx_distinct_user"] - len(w["users"])), 0.05 * len(w["users"]))
        self.assertEqual(self.agg().stdout, outputs[-1])  # nothing new: the same totals again

    def test_twenty_appends_with_reset_print_deltas(self):
        done = 0  # bytes of complete lines consumed by the runs so far
        total = collections.Counter()
        sums = collections.Counter()
        for k, piece in enumerate(self.pieces(21)):
            self.append(self.log, piece)
            self.data += piece
            r = self.agg("--reset")
            new = complete(self.data)[done:]
            done += len(new)
            self.assertEqual(r.stdout, self.one_run(new), "run %d" % k)
            want = {h: g["count"] for h, g in oracle(new).items()}
            got = {g["host"]: g["count"] for g in groups(r.stdout)}
            self.assertEqual(got, want, "run %d: counts of its new complete lines" % k)
            total.update(got)
            sums.update({g["host"]: g["sum_bytes"] for g in groups(r.stdout)})
        one = groups(self.one_run(self.data))
        self.assertEqual(dict(total), {g["host"]: g["count"] for g in one})
        self.assertEqual(dict(sums), {g["host"]: g["sum_bytes"] for g in one})
        self.assertEqual(self.agg("--reset").stdout, b"")  # nothing new: no group has a record

    def test_empty_first_run_and_runs_without_new_lines(self):
        open(self.log, "wb").close()
        for _ in range(2):
            self.assertEqual(self.agg(by=[], aggs=["count"]).stdout, b'{"count":0}\n')
        self.add(7)
        self.assertEqual(self.agg(by=[], aggs=["count"]).stdout, b'{"count":7}\n')
        for _ in range(2):
            self.assertEqual(self.agg(by=[], aggs=["count"]).stdout, b'{"count":7}\n')
        line = record(self.n)
        self.append(self.log, line[:20])  # a partial line is held
        self.assertEqual(self.agg(by=[], aggs=["count"]).stdout, b'{"count":7}\n')
        self.append(self.log, line[20:])
        self.assertEqual(self.agg(by=[], aggs=["count"]).stdout, b'{"count":8}\n')

    def test_bad_lines_are_reported_with_their_line_in_the_file(self):
        self.add(10)
        self.agg(by=[], aggs=["count"])
        self.add(3)
        self.append(self.log, b'{"host": oops\n')
        self.add(2)
        r = self.agg(by=[], aggs=["count"], status=EXIT_SKIPPED)
        self.assertIn("%s:14: invalid JSON" % self.log, r.stderr.decode())
        self.assertEqual(r.stdout, b'{"count":15}\n')
        r = self.agg(by=[], aggs=["count"])  # the bad line is behind: not reported again
        self.assertEqual((r.stdout, r.stderr), (b'{"count":15}\n', b""))

    def test_several_inputs_keep_an_offset_each(self):
        other = self.path("other.json")
        rng = random.Random(4)
        for k in range(6):
            self.add(rng.randint(0, 300))
            self.add(rng.randint(0, 300), path=other)
            r = self.agg(inputs=[self.log, other])
            with open(self.log, "rb") as a, open(other, "rb") as b:
                # Read order: all of one input, then the other, run after run;
                # sums and counts do not depend on it.
                want = groups(self.one_run(a.read() + b.read()))
            key = lambda g: g["host"]
            got = sorted(groups(r.stdout), key=key)
            self.assertEqual([(g["host"], g["count"], g["sum_bytes"], g["distinct_user"]) for g in got],
                             [(g["host"], g["count"], g["sum_bytes"], g["distinct_user"])
                              for g in sorted(want, key=key)], "run %d" % k)
        self.assertEqual(sorted(e["input"] for e in self.entries() if "input" in e), sorted([self.log, other]))

    def test_stats_report_the_state(self):
        self.add(500)
        r = self.agg("--stats")
        stats = json.loads(r.stderr.decode().strip().splitlines()[-1])
        self.assertGreater(stats["state_bytes"], 0)
        self.assertEqual(stats["state_bytes"], os.path.getsize(self.state))
        self.assertEqual(stats["state_commits"], 1)  # a short run: the final commit only
        self.assertEqual(stats["records_in"], 500)
        self.add(5)
        stats = json.loads(self.agg("--stats").stderr.decode().strip().splitlines()[-1])
        self.assertEqual(stats["records_in"], 5)  # only the new lines were read
        self.assertEqual(stats["state_bytes"], os.path.getsize(self.state))


class Stdin(AggStateTest):
    def test_groups_persist_across_runs_on_standard_input(self):
        a, b = records(0, 1500), records(1500, 2600)
        self.assertEqual(self.agg(inputs=[], stdin=a).stdout, self.one_run(a))
        self.assertFalse(any("input" in e for e in self.entries()))
        self.assertTrue(any("op" in e for e in self.entries()))
        self.assertEqual(self.agg(inputs=[], stdin=b).stdout, self.one_run(a + b))
        self.assertEqual(self.agg(inputs=["-"], stdin=b"").stdout, self.one_run(a + b))

    def test_reset_on_standard_input_prints_each_run_alone(self):
        a, b = records(0, 700), records(700, 1000)
        self.assertEqual(self.agg("--reset", inputs=[], stdin=a).stdout, self.one_run(a))
        self.assertEqual(self.agg("--reset", inputs=[], stdin=b).stdout, self.one_run(b))

    def test_standard_input_beside_a_file(self):
        piped = records(10 ** 6, 10 ** 6 + 400)
        logged = self.add(600)
        self.assertEqual(self.agg(inputs=["-", self.log], stdin=piped).stdout, self.one_run(piped + logged))
        # Standard input is read whole again, the file only from its offset.
        self.assertEqual(self.agg(inputs=["-", self.log], stdin=piped).stdout,
                         self.one_run(piped + logged + piped))


class Rotation(AggStateTest):
    """After every run, the totals equal one run over everything written."""

    def run_and_check(self, note=None, status=EXIT_OK):
        r = self.agg(status=status)
        if note:
            self.assertIn(note, r.stderr.decode())
        self.assertEqual(r.stdout, self.one_run(self.data))
        return r

    @staticmethod
    def gzip_like_logrotate(src, dst):
        st = os.stat(src)
        with open(src, "rb") as f, gzip.open(dst, "wb") as z:
            z.write(f.read())
        os.utime(dst, ns=(st.st_atime_ns, st.st_mtime_ns))
        os.unlink(src)

    def test_rename_and_create(self):
        self.add(2000)
        self.run_and_check()
        self.add(300)
        os.rename(self.log, self.log + ".1")
        self.add(400)
        self.run_and_check(note="rotated")
        self.add(50)
        self.run_and_check()

    def test_copytruncate(self):
        self.add(2000)
        self.run_and_check()
        self.add(250)
        shutil.copy(self.log, self.log + ".1")
        with open(self.log, "r+b") as f:
            f.truncate(0)
        self.add(300)
        self.run_and_check(note="truncated")
        self.add(40)
        self.run_and_check()

    def test_two_rotations_between_runs(self):
        self.add(1500)
        self.run_and_check()
        self.add(200)  # unfinished, in what becomes .2
        os.rename(self.log, self.log + ".1")
        time.sleep(0.02)  # the generations' mtimes tell their order
        self.add(300)
        os.rename(self.log + ".1", self.log + ".2")
        os.rename(self.log, self.log + ".1")
        time.sleep(0.02)
        self.add(100)
        self.run_and_check(note="rotated")
        self.add(30)
        self.run_and_check()

    def test_rotated_and_compressed(self):
        # logrotate's compress without delaycompress: the generation just
        # rotated is compressed at once, unfinished, and read from the offset.
        self.add(1500)
        self.run_and_check()
        for gen in range(2):
            self.add(200)
            if os.path.exists(self.log + ".1.gz"):
                os.rename(self.log + ".1.gz", self.log + ".2.gz")
            os.rename(self.log, self.log + ".1")
            open(self.log, "wb").close()
            self.gzip_like_logrotate(self.log + ".1", self.log + ".1.gz")
            time.sleep(0.02)
            self.add(150)
            # .2.gz (finished) is not read: the totals would count it twice.
            r = self.run_and_check(note="rotated")
            self.assertIn("finishing %s.1.gz" % self.log, r.stderr.decode(), "generation %d" % gen)

    def test_rotation_with_appends_to_the_old_file_and_the_new(self):
        self.add(1200)
        self.run_and_check()
        fd = os.open(self.log, os.O_WRONLY | os.O_APPEND)
        try:  # the writer goes on through its descriptor, before and after the rename
            for count in (100, 7):
                data = records(self.n, self.n + count)
                self.n += count
                os.write(fd, data)
                self.data += data
                if count == 100:
                    os.rename(self.log, self.log + ".1")
        finally:
            os.close(fd)
        self.add(200)
        self.run_and_check(note="rotated")
        for _ in range(3):
            self.add(60)
            self.run_and_check()


class Kill(AggStateTest):
    """Runs killed with SIGKILL at random moments, slowed down by SIGSTOP and
    SIGCONT (running about a fortieth of the time) so that a run lasts long
    enough to commit while it reads (at most once a second); between them
    runs left alone (at full speed) that complete. Without
    --reset, a run outputs only at its end, and the committed groups and
    offsets belong together: the final totals are exact."""

    RUN, PAUSE = 0.001, 0.039

    def ino(self):
        try:
            return os.stat(self.state).st_ino
        except FileNotFoundError:
            return None

    def throttled(self, argv, kill_at=None, after_commit=None, slow=True):
        """Runs argv slowed down (unless not slow); kills it kill_at s after
        its start, or after_commit s after a commit is seen (or at 3 s
        without one) if it still runs. Returns (rc, stdout, stderr, elapsed)."""
        p = self.spawn(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        t0 = time.monotonic()
        ino, seen = self.ino(), None
        try:
            while slow and p.poll() is None:
                t = time.monotonic() - t0
                if seen is None and self.ino() != ino:
                    seen = t
                if (kill_at is not None and t >= kill_at) or (after_commit is not None and (
                        t >= 3 or (seen is not None and t >= seen + after_commit))):
                    p.kill()
                    break
                os.kill(p.pid, signal.SIGCONT)
                time.sleep(self.RUN)
                os.kill(p.pid, signal.SIGSTOP)
                time.sleep(self.PAUSE)
        except ProcessLookupError:
            pass
        finally:
            if p.returncode is None and p.poll() is None:
                try:
                    os.kill(p.pid, signal.SIGCONT)
                except ProcessLookupError:
                    pass
        out, err = p.communicate(timeout=30)
        return p.returncode, out, err, time.monotonic() - t0

    def test_sigkill_at_random_points_then_a_clean_run(self):
        seed = int(os.environ.get("GOVSTREAM_STATE_SEED", "17"))
        rng = random.Random(seed)
        # With --threads (the default) a commit falls between chunks: small
        # ones, so that a throttled run commits while it reads, as one
        # thread does between any two records.
        argv = [AGG, "--state", self.state, "--stats", "--chunk-bytes", "65536", *BY, "-i", self.log] + AGGS
        self.add(100000)
        killed, completed, mid = 0, 0, []  # mid: (state bytes, offset) committed by killed runs
        budget = time.monotonic() + 45
        for run in range(20):
            if run and time.monotonic() > budget:
                break
            mode = "commit" if run == 0 else rng.choice(["alone", "time", "commit"])
            if run:  # a run to be killed after a commit needs more than a second
                self.add(40000 if mode == "commit" else rng.randint(5000, 30000))
            before = self.offset()
            rc, out, err, elapsed = self.throttled(
                argv, kill_at=rng.uniform(0, 1.0) if mode == "time" else None,
                after_commit=rng.uniform(0, 0.3) if mode == "commit" else None, slow=mode != "alone")
            what = "run %d (%s, seed %d)" % (run, mode, seed)
            after = self.offset()
            self.assertGreaterEqual(after, before, what)
            if rc == EXIT_OK:
                completed += 1
                self.assertEqual(after, len(self.data), what)
                self.assertEqual(out, self.one_run(self.data), what)
                stats = json.loads(err.decode().strip().splitlines()[-1])
                self.assertLessEqual(stats["state_commits"], int(elapsed) + 1, what)
                self.assertEqual(stats["records_in"], self.data.count(b"\n", before), what)
            else:
                self.assertEqual(rc, -signal.SIGKILL, "%s: %s" % (what, err.decode()))
                killed += 1
                if out:  # it had finished reading: its totals, maybe cut
                    self.assertTrue(self.one_run(self.data).startswith(out), what)
                if before < after < len(self.data):
                    mid.append((self.read_state(), after))
        # One last run, left alone: the totals over all the data, exactly.
        r = self.agg()
        self.assertEqual(r.stdout, self.one_run(self.data), "the final totals (seed %d)" % seed)
        self.assertEqual(self.offset(), len(self.data))
        self.assertGreaterEqual(killed, 5)
        self.assertTrue(mid, "no killed run had committed while it read: the point was not exercised")
        # The groups committed with an offset are exactly those of the data
        # before it: a file holding only that data, at the path, resumed
        # from that state, prints them.
        os.rename(self.log, self.path("full.json"))
        for k, (state, off) in enumerate(mid[:1] + mid[-1:]):
            copy = self.path("mid%d.state" % k)
            with open(copy, "wb") as f:
                f.write(state)
            with open(self.log, "wb") as f:
                f.write(self.data[:off])
            r = self.agg(state=copy)
            self.assertEqual(r.stdout, self.one_run(self.data[:off]), "state committed at offset %d" % off)
            os.unlink(self.log)
        print("\n  %d runs, %d killed (%d after a commit while reading), %d completed"
              % (killed + completed + 1, killed, len(mid), completed), file=sys.stderr)


class BadState(AggStateTest):
    def setUp(self):
        super().setUp()
        self.add(600)
        self.agg()

    def refused(self, *extra, status=EXIT_STATE, **kw):
        before = self.read_state()
        r = self.agg(*extra, status=status, **kw)
        self.assertEqual(r.stdout, b"")
        self.assertEqual(self.read_state(), before, "the state file was changed")
        return r.stderr.decode()

    def edit(self, f):
        data = self.read_state()
        with open(self.state, "wb") as s:
            s.write(f(data))

    @staticmethod
    def resealed(body):
        """A well-formed file around body (the lines before the trailer)."""
        entries = len(body.splitlines()) - 1
        return body + b'{"end":true,"entries":%d,"checksum":"%016x"}\n' % (entries, fnv1a64(body))

    @staticmethod
    def body(d):
        return d[:d.rindex(b"\n", 0, len(d) - 1) + 1]

    def reset_starts_afresh(self):
        self.add(20)
        r = self.agg("--state-reset")
        self.assertEqual(r.stdout, self.one_run(self.data))
        self.assertEqual(self.agg().stdout, self.one_run(self.data))

    def test_checksum_as_documented(self):
        data = self.read_state()
        self.assertEqual(self.resealed(self.body(data)), data)

    def test_other_options_are_refused(self):
        for extra, by, aggs in (((), ["--by", ".path"], AGGS), ((), BY + ["--by", ".path"], AGGS),
                                ((), BY, AGGS[:-1]), ((), BY, AGGS + ["max(.bytes)"]),
                                ((), BY, ["p90(.lat)" if a == "p99(.lat)" else a for a in AGGS]),
                                (("--reset",), BY, AGGS), (("--exact",), BY, AGGS),
                                (("--max-groups", "2"), BY, AGGS)):
            err = self.refused(*extra, by=by, aggs=aggs)
            self.assertIn("made with other options", err, (extra, by, aggs))
            self.assertIn("--state-reset", err)

    def test_reset_toggled_the_other_way(self):
        state2 = self.path("reset.state")
        self.agg("--reset", state=state2)
        before = self.read_state(state2)
        r = self.agg(state=state2, status=EXIT_STATE)
        self.assertEqual(r.stdout, b"")
        self.assertIn("made with other options", r.stderr.decode())
        self.assertEqual(self.read_state(state2), before)

    def test_state_reset_starts_afresh_with_the_new_options(self):
        by = ["--by", ".path"]
        r = self.agg("--state-reset", by=by)
        self.assertEqual(r.stdout, self.one_run(self.data, by=by))
        self.add(30)
        self.assertEqual(self.agg(by=by).stdout, self.one_run(self.data, by=by))
        self.assertIn("made with other options", self.refused())

    def test_output_options_do_not_belong_to_the_state(self):
        self.add(40)
        r = self.agg("--sort", "count", "--top", "2")
        self.assertEqual(r.stdout, self.one_run(self.data, "--sort", "count", "--top", "2"))
        self.assertEqual(len(groups(r.stdout)), 2)
        self.assertEqual(self.agg().stdout, self.one_run(self.data))

    def test_garbage(self):
        self.edit(lambda d: b"garbage\n")
        self.assertIn("is corrupt", self.refused())
        self.reset_starts_afresh()

    def test_empty(self):
        self.edit(lambda d: b"")
        self.assertIn("is corrupt", self.refused())

    def test_truncated(self):
        self.edit(self.body)  # without its end line
        self.assertIn("truncated", self.refused())
        self.edit(lambda d: d[:len(d) // 2])  # cut inside an op line
        self.refused()
        self.reset_starts_afresh()

    def test_bit_flip_in_the_groups(self):
        def flip(d):
            at = d.index(b'"op":')
            at = d.index(b'"states":[', at) + len(b'"states":[')
            at = d.index(b",", at) - 1  # the last digit of the count
            self.assertTrue(d[at:at + 1].isdigit())
            return d[:at] + bytes([d[at] ^ 1]) + d[at + 1:]
        self.edit(flip)
        err = self.refused()
        self.assertIn("checksum mismatch", err)
        self.reset_starts_afresh()

    def test_bit_flip_in_the_offset(self):
        def flip(d):
            at = d.index(b'"offset":') + len(b'"offset":')
            return d[:at] + bytes([d[at] ^ 1]) + d[at + 1:]
        self.edit(flip)
        self.assertIn("checksum mismatch", self.refused())

    def test_resealed_groups_of_the_wrong_shape(self):
        # Checksum and count right, but the operator state is not one of
        # these aggregates': the file is corrupt, not to be trusted.
        for bad in (b'{"op":"nonsense"}', b'{"op":{"key":["\\"api\\""],"c":"[\\"api\\"]","states":[]}}',
                    b'{"op":{"key":["\\"api\\""],"c":"[\\"api\\"]","states":["x",1,2,3,4,5,6,7,8,9,10,11]}}'):
            def swap(d):
                lines = self.body(d).splitlines(True)
                k = next(i for i, x in enumerate(lines) if x.startswith(b'{"op":'))
                return self.resealed(b"".join(lines[:k] + [bad + b"\n"] + lines[k + 1:]))
            good = self.read_state()
            self.edit(swap)
            self.assertIn("of the saved state", self.refused(), bad)  # not refused for its checksum
            self.edit(lambda d: good)

    def test_lock_conflict(self):
        with open(self.state + ".lock", "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            t0 = time.monotonic()
            err = self.refused("--state-wait", "300ms", status=EXIT_BUSY)
            self.assertGreaterEqual(time.monotonic() - t0, 0.25)  # it waited
        self.assertIn("in use by another run", err)
        self.add(3)
        self.assertEqual(self.agg().stdout, self.one_run(self.data))  # free again

    def test_a_run_waits_for_the_lock(self):
        self.add(9)
        with open(self.state + ".lock", "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            p = self.spawn([AGG, "--state", self.state, "--state-wait", "60s", *BY, "-i", self.log] + AGGS,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            time.sleep(0.3)
            self.assertIsNone(p.poll(), "it did not wait")
        out, err = p.communicate(timeout=30)
        self.assertEqual(p.returncode, EXIT_OK, err)
        self.assertEqual(out, self.one_run(self.data))


if __name__ == "__main__":
    sys.exit(run_main(AGG, __name__))
