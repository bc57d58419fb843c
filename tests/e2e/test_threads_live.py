#!/usr/bin/env python3
"""Differential tests of --threads in stream-filter, stream-agg and
stream-window (issue 14): at 1, 2 and 4
threads, and with chunks small enough that every boundary case happens,
standard output, standard error (diagnostics, --stats counts) and the exit
status are identical. Also: a live pipe is not held back waiting for a full
chunk, and `| head` ends the program at once and quietly.

Every process is started by ProcessTest (killed in its tearDown); every wait
is bounded.

usage: GOVSTREAM_BIN=build/bin python3 tests/e2e/test_threads_live.py [-v]
"""

import json
import os
import random
import select
import subprocess
import sys
import time

from livetest import BIN_DIR, ProcessTest, run_main

FILTER = os.path.join(BIN_DIR, "stream-filter")
AGG = os.path.join(BIN_DIR, "stream-agg")
WINDOW = os.path.join(BIN_DIR, "stream-window")
THREADS = (1, 2, 4)
CHUNKS = (64, 1000, 1 << 20)
# --stats members that depend on time, not on what was read.
TIMING = ("seconds", "records_per_sec", "mb_per_sec")


def mixed_lines(rng, n):
    """NDJSON with every kind of line: records, bad JSON, invalid UTF-8,
    blank lines, records on which the expression fails, long ones."""
    out = []
    for i in range(n):
        k = rng.randrange(100)
        if k < 70:
            out.append(json.dumps({"i": i, "status": rng.choice([200, 404, 500, 503]),
                                   "host": "h%d" % rng.randrange(5), "msg": "é" * rng.randrange(4)}).encode())
        elif k < 76:
            out.append(b'{"i": %d, "status": ' % i)  # cut
        elif k < 80:
            out.append(b'{"i":%d,"status":500,"bad":"\xff\xfe"}' % i)  # invalid UTF-8
        elif k < 84:
            out.append(b"   ")
        elif k < 90:
            out.append(b'{"i":%d,"status":"five hundred"}' % i)  # .status >= 500 is true for a string
        elif k < 95:
            out.append(b'[%d, "not an object"]' % i)  # .status on an array: an evaluation error
        else:
            out.append(json.dumps({"i": i, "status": 500, "pad": "x" * rng.randrange(200, 3000)}).encode())
    return b"\n".join(out) + b"\n"


def timed_lines(rng, n):
    """Access-log-like records in event-time order with disorder, records
    later than any lateness, bad or missing times, and the lines of
    mixed_lines between them."""
    out = []
    t = 1_700_000_000
    other = mixed_lines(rng, n // 10).splitlines()
    for i in range(n):
        t += rng.choice((0, 1, 1, 2, 5))
        k = rng.randrange(100)
        ts = t - rng.randrange(0, 900) if k < 4 else t - rng.randrange(0, 4) if k < 30 else t
        rec = {"ts": ts, "host": "h%d" % rng.randrange(6), "lat": rng.randrange(1, 5000) / 7,
               "user": "u%d" % rng.randrange(300)}
        if k == 4:
            rec["ts"] = "yesterday"
        elif k == 5:
            del rec["ts"]
        elif k == 6:
            rec["ts"] = "2023-11-14T22:13:%02dZ" % rng.randrange(60)
        elif k == 7:
            rec["host"] = {"nested": [1, "a\"b"]}
        elif k == 8:
            rec["host"] = 'quo"te'
        elif k == 9:
            rec["lat"] = "slow"
        out.append(json.dumps(rec).encode())
        if k == 10:
            out.append(other[rng.randrange(len(other))])
    return b"\n".join(out) + b"\n"


def normalised(stderr):
    """stderr with the --stats line's timing members removed."""
    lines = []
    for line in stderr.decode("utf-8", "replace").splitlines():
        if line.startswith("{") and '"program"' in line:
            s = json.loads(line)
            for k in TIMING:
                s.pop(k, None)
            line = json.dumps(s, sort_keys=True)
        lines.append(line)
    return lines


class Differential(ProcessTest):
    def run_all(self, args, stdin=None, drop=(), program=FILTER):
        """Runs stream-filter ARGS at every thread count and chunk size;
        asserts they all agree with --threads 1; returns that result."""
        results = {}
        for t in THREADS:
            for c in CHUNKS:
                argv = [program, "--threads", str(t), "--chunk-bytes", str(c), "--stats"] + args
                r = subprocess.run(argv, input=stdin, capture_output=True, timeout=60,
                                   stdin=None if stdin is not None else subprocess.DEVNULL)
                err = normalised(r.stderr)
                for k in drop:
                    err = [json.dumps({m: v for m, v in json.loads(x).items() if m != k}, sort_keys=True)
                           if x.startswith("{") else x for x in err]
                results[(t, c)] = (r.returncode, r.stdout, err)
        base = results[(1, CHUNKS[-1])]
        for key, got in results.items():
            self.assertEqual(got[0], base[0], "exit status at threads, chunk = %s" % (key,))
            self.assertEqual(got[1], base[1], "stdout at threads, chunk = %s" % (key,))
            self.assertEqual(got[2], base[2], "stderr at threads, chunk = %s" % (key,))
        return base

    def test_every_kind_of_line_at_every_boundary(self):
        data = mixed_lines(random.Random(14), 3000)
        path = self.path("mixed.json")
        with open(path, "wb") as f:
            f.write(data)
        code, out, err = self.run_all([".status >= 500", path])
        self.assertEqual(code, 1)  # bad lines and evaluation errors were reported
        self.assertGreater(len(out.splitlines()), 500)
        self.assertTrue(any("mixed.json:" in x and "invalid JSON" in x for x in err), err[:3])
        stats = json.loads(err[-1])
        self.assertGreater(stats["bad_lines"], 100)
        self.assertGreater(stats["eval_errors"], 50)
        # With --map and with -c as well.
        self.run_all(["--map", "{i, s: (.status + 1)}", ".status >= 500", path])
        # --trust-input: the prefilter, the fields read On-Demand, and kept
        # records validated -- in the workers, with the same outcome.
        for args in (["--trust-input", ".status >= 500"], ["--trust-input", ".host == \"h1\""],
                     ["--trust-input", "--map", "{i, h: .host}", ".status >= 500"]):
            code, out, err = self.run_all(args + [path])
            self.assertGreater(len(out.splitlines()), 100, args)
        code, out, _ = self.run_all(["-c", ".host == \"h1\"", path])
        self.assertEqual(int(out), sum(1 for x in data.splitlines()
                                       if x.startswith(b'{"i"') and b'"host": "h1"' in x))

    def test_stream_agg_every_aggregate_and_snapshots(self):
        # The records are fed in input order whatever the threads: every
        # result (floating-point sums, sketches, first/last, top, group
        # order), every diagnostic and every --every snapshot is the same.
        data = mixed_lines(random.Random(21), 4000)
        path = self.path("mixed.json")
        with open(path, "wb") as f:
            f.write(data)
        aggs = ["count", "sum(.status)", "avg(.i)", "p99(.i)", "approx_distinct(.msg)", "distinct(.status)",
                "top(.host, 2)", "first(.status)", "last(.msg)", "min(.i)", "max(.i)", "stddev(.i)", "var(.i)",
                "count(.pad)", "p50(.i)"]
        code, out, err = self.run_all(["--by", ".host", "-i", path] + aggs, program=AGG)
        self.assertEqual(code, 1)
        self.assertEqual(len(out.splitlines()), 6)  # 5 hosts and the null group
        self.assertGreater(json.loads(err[-1])["eval_errors"], 50)
        code, out, _ = self.run_all(["--every", "777", "--by", ".status", "-i", path, "--exact", "p90(.i)", "count"],
                                    program=AGG)
        self.assertGreater(len(out.splitlines()), 20)
        code, out, err = self.run_all(["--strict", "-i", path, "count"], program=AGG)
        self.assertEqual(code, 3)

    def test_stream_window_every_kind_lateness_and_late_output(self):
        # Times, keys and arguments are evaluated by the workers; windows are
        # assigned in input order: results, watermark, late records (and
        # the --late-output file), diagnostics and --stats are the same.
        path = self.path("timed.json")
        with open(path, "wb") as f:
            f.write(timed_lines(random.Random(31), 6000))
        aggs = ["count", "avg(.lat)", "p99(.lat)", "approx_distinct(.user)", "first(.user)", "last(.lat)", "sum(.lat)"]
        delay = ["--max-delay", "5s"]
        kinds = [["--tumbling", "1m"] + delay, ["--tumbling", "5m", "--emit", "changes", "--every", "1m"] + delay,
                 ["--sliding", "10m", "--slide", "1m", "--allowed-lateness", "2m"] + delay,
                 ["--session", "20s", "--allowed-lateness", "30s"] + delay, ["--count", "50"]]
        for kind in kinds:
            code, out, err = self.run_window(kind + ["--time", ".ts", "--by", ".host", "-i", path] + aggs,
                                             late=kind[0] != "--count")
            self.assertEqual(code, 1, kind)  # bad lines and times were reported
            self.assertGreater(len(out.splitlines()), 10, kind)
            stats = json.loads(err[-1])
            self.assertGreater(stats["eval_errors"], 50, kind)
            if kind[0] in ("--tumbling", "--sliding"):
                self.assertGreater(stats["late_dropped"], 10, kind)
        # Without keys, with two keys, and --strict.
        self.run_window(["--tumbling", "30s", "--time", ".ts", "-i", path, "count"])
        self.run_window(["--tumbling", "30s", "--time", ".ts", "--by", ".host", "--by", ".user", "-i", path,
                         "count"])
        code, _, _ = self.run_window(["--strict", "--tumbling", "30s", "--time", ".ts", "-i", path, "count"])
        self.assertEqual(code, 3)

    def run_window(self, args, late=False):
        """run_all for stream-window; with `late`, each run writes
        --late-output late.json in a directory of its own, and the files'
        contents must agree too."""
        results = {}
        for t in THREADS:
            for c in CHUNKS:
                cwd = self.path("run-%d-%d" % (t, c))
                os.makedirs(cwd, exist_ok=True)
                extra = ["--late-output", "late.json"] if late else []
                r = subprocess.run([WINDOW, "--threads", str(t), "--chunk-bytes", str(c), "--stats"] + extra + args,
                                   capture_output=True, timeout=60, stdin=subprocess.DEVNULL, cwd=cwd)
                written = b""
                if late:
                    with open(os.path.join(cwd, "late.json"), "rb") as f:
                        written = f.read()
                results[(t, c)] = (r.returncode, r.stdout, normalised(r.stderr), written)
        base = results[(1, CHUNKS[-1])]
        for key, got in results.items():
            self.assertEqual(got[0], base[0], "exit status at threads, chunk = %s" % (key,))
            self.assertEqual(got[1], base[1], "stdout at threads, chunk = %s" % (key,))
            self.assertEqual(got[2], base[2], "stderr at threads, chunk = %s" % (key,))
            self.assertEqual(got[3], base[3], "--late-output at threads, chunk = %s" % (key,))
        if late:
            self.assertGreater(len(base[3].splitlines()), 0, "no late record was written: %s" % args)
        return base[:3]

    def test_state_runs_over_appends_agree_at_every_thread_count(self):
        # --state with workers: each cron-like run over what was appended
        # since the last one prints, reports and commits what it does with
        # one thread (the commit records the lines applied, not those the
        # reader got ahead to).
        data = timed_lines(random.Random(44), 5000).splitlines(keepends=True)
        cuts = [0, 700, 701, 2300, 2300, 4100, len(data)]
        programs = {
            "filter": [FILTER, ".status >= 500 or .lat > 500"],
            "agg": [AGG, "--by", ".host", "count", "sum(.lat)", "p99(.lat)"],
            "agg-reset": [AGG, "--reset", "--by", ".host", "count", "approx_distinct(.user)"],
            "window": [WINDOW, "--tumbling", "1m", "--time", ".ts", "--max-delay", "5s", "--by", ".host", "count"],
        }
        for name, argv in programs.items():
            runs = {}
            for t in THREADS:
                for c in CHUNKS:
                    log, state = self.path("%s-%d-%d.json" % (name, t, c)), self.path("%s-%d-%d.state" % (name, t, c))
                    got = []
                    for a, b in zip(cuts, cuts[1:]):
                        with open(log, "ab") as f:
                            f.write(b"".join(data[a:b]))
                        args = argv[:1] + ["--threads", str(t), "--chunk-bytes", str(c), "--state", state,
                                           "--stats"] + argv[1:]
                        args += [log] if argv[0] == FILTER else ["-i", log]
                        r = subprocess.run(args, capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
                        err = [x.replace(log, "LOG") for x in normalised(r.stderr)]
                        # state_bytes: the file names differ in length; the rest must agree.
                        err = [json.dumps({k: v for k, v in json.loads(x).items() if k != "state_bytes"},
                                          sort_keys=True) if x.startswith("{") else x for x in err]
                        got.append((r.returncode, r.stdout, err))
                    runs[(t, c)] = got
            base = runs[(1, CHUNKS[-1])]
            self.assertTrue(any(out for _, out, _ in base[1:]), name)
            for key, got in runs.items():
                for k, (g, b) in enumerate(zip(got, base)):
                    self.assertEqual(g, b, "%s, run %d, threads, chunk = %s" % (name, k, key))

    def test_strict_stops_at_the_first_bad_line_in_input_order(self):
        data = mixed_lines(random.Random(3), 2000)
        path = self.path("mixed.json")
        with open(path, "wb") as f:
            f.write(data)
        code, out, err = self.run_all(["--strict", ".status >= 500", path])
        self.assertEqual(code, 3)
        first_bad = next(n for n, x in enumerate(data.splitlines(), 1)
                         if x.startswith(b'{"i": ') and not x.endswith(b"}"))
        self.assertIn("mixed.json:%d:" % first_bad, "\n".join(err))

    def test_limit_stops_in_the_middle_of_a_chunk(self):
        path = self.path("plain.json")
        with open(path, "wb") as f:
            f.write(b"".join(b'{"i":%d,"status":%d}\n' % (i, 500 + i % 2) for i in range(20000)))
        for n in ("0", "1", "7", "333"):
            # bytes_in: the workers read ahead of where -n stopped.
            code, out, _ = self.run_all(["-n", n, ".status == 501", path], drop=("bytes_in",))
            self.assertEqual(code, 0)
            self.assertEqual(len(out.splitlines()), int(n))

    def test_long_lines_no_final_newline_many_files_and_stdin(self):
        files = []
        rng = random.Random(5)
        for k in range(40):
            p = self.path("f%02d.json" % k)
            body = b"".join(b'{"k":%d,"i":%d,"status":500}\n' % (k, i) for i in range(rng.randrange(0, 30)))
            if k % 7 == 3:
                body += b'{"k":%d,"last":true,"status":503}' % k  # no final newline
            if k % 9 == 4:
                body += b'{"k":%d,"pad":"%s","status":500}\n' % (k, b"y" * 5000)  # longer than a chunk
            if k % 11 == 6:
                body += b'{"k":%d,"pad":"%s"}\n' % (k, b"z" * 3000)  # over --max-line-bytes
            with open(p, "wb") as f:
                f.write(body)
            files.append(p)
        files.insert(17, "-")
        files.insert(30, self.path("missing.json"))
        stdin = b'{"from":"stdin","status":500}\nnot json\n{"status":501}'
        code, out, err = self.run_all(["--max-line-bytes", "2048", ".status >= 500"] + files, stdin=stdin)
        self.assertEqual(code, 4)  # a source could not be opened
        self.assertIn(b'"from":"stdin"', out)
        self.assertTrue(any("missing.json" in x for x in err))
        self.assertTrue(any("<stdin>:2:" in x for x in err))
        self.assertTrue(any("longer than --max-line-bytes" in x for x in err))


def read_line(f, timeout):
    """One line from a pipe, waiting at most `timeout` seconds for it."""
    fd, buf, deadline = f.fileno(), b"", time.monotonic() + timeout
    while not buf.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise AssertionError("no line within %g s (got %r)" % (timeout, buf))
        chunk = os.read(fd, 1)
        if not chunk:
            raise AssertionError("end of output (got %r)" % buf)
        buf += chunk
    return buf


class Live(ProcessTest):
    def test_a_line_is_passed_on_when_input_pauses(self):
        # The chunk being filled is handed on before the program waits for
        # more input: a line shows downstream although no chunk is full.
        p = self.spawn([FILTER, "--threads", "2", ".status >= 500"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        for i in range(3):
            p.stdin.write(b'{"i":%d,"status":503}\n{"i":%d,"status":200}\n' % (i, i))
            p.stdin.flush()
            line = read_line(p.stdout, timeout=10)
            self.assertEqual(json.loads(line)["i"], i)
        p.stdin.close()
        self.assertEqual(self.wait_exit(p, 10), 0)

    def test_a_window_fires_when_its_last_record_arrives_and_input_pauses(self):
        # stream-window with workers: the record that moves the watermark
        # past a window's end fires it at once, although no chunk is full.
        p = self.spawn([WINDOW, "--threads", "2", "--tumbling", "1m", "--time", ".ts", "count"],
                       stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        for minute in range(3):
            p.stdin.write(b'{"ts":%d}\n{"ts":%d}\n' % (1_700_000_000 + 60 * minute, 1_700_000_010 + 60 * minute))
            p.stdin.flush()
            if minute > 0:
                line = json.loads(read_line(p.stdout, timeout=10))
                self.assertEqual((line["count"], line["mark"]), (2, "final"))
        p.stdin.close()
        self.assertEqual(json.loads(read_line(p.stdout, timeout=10))["count"], 2)  # end of input fires the last
        self.assertEqual(self.wait_exit(p, 10), 0)

    def test_interval_snapshots_merge_every_threads_groups(self):
        # stream-agg --interval with workers and groups split by key: each
        # snapshot, also one taken while input is idle, holds every record
        # read before it, once (--reset: the periods add up to the input).
        p = self.spawn([AGG, "--threads", "4", "--interval", "300ms", "--reset", "--by", ".host", "count"],
                       stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        for burst in range(3):
            sent = {}
            for i in range(500):
                host = "h%d" % ((i * 7 + burst) % 11)
                sent[host] = sent.get(host, 0) + 1
                p.stdin.write(b'{"host":"%s"}\n' % host.encode())
            p.stdin.flush()
            # Input stays open and idle: the period's snapshot comes anyway.
            got = {}
            while sum(got.values()) < 500:
                row = json.loads(read_line(p.stdout, timeout=10))
                got[row["host"]] = got.get(row["host"], 0) + row["count"]
            self.assertEqual(got, sent, "burst %d" % burst)
        p.stdin.close()
        self.assertEqual(self.wait_exit(p, 10), 0)

    def test_limit_reached_while_input_pauses_ends_the_program(self):
        # -n 1 on a live pipe: the program exits after the first match,
        # without waiting for another line (or the end of input).
        p = self.spawn([FILTER, "--threads", "2", "-n", "1", ".status >= 500"], stdin=subprocess.PIPE,
                       stdout=subprocess.PIPE)
        p.stdin.write(b'{"status":200}\n{"i":1,"status":503}\n')
        p.stdin.flush()
        self.assertEqual(json.loads(read_line(p.stdout, timeout=10))["i"], 1)
        self.assertEqual(self.wait_exit(p, 10), 0)
        p.stdin.close()

    def test_head_ends_it_at_once_and_quietly(self):
        path = self.path("big.json")
        with open(path, "wb") as f:
            f.write(b'{"status":500,"pad":"%s"}\n' % (b"p" * 100) * 200000)
        r = subprocess.run("%s --threads 4 '.status >= 500' %s | head -n 1" % (FILTER, path), shell=True,
                           capture_output=True, timeout=60)
        self.assertEqual(r.returncode, 0)
        self.assertEqual(len(r.stdout.splitlines()), 1)
        self.assertEqual(r.stderr, b"")


if __name__ == "__main__":
    sys.exit(run_main(FILTER, __name__))
