#!/usr/bin/env python3
"""The benchmark harness, tested so that it cannot rot: bench/run --quick runs
every case of the filter and agg suites on tiny data and each produces results
of the documented schema; a deliberately wrong peer is caught by the output
check before anything is timed; a peer that is not installed is shown as such
(also RabbitMQ in the durable suite, whose mq-broker rows still run, and in the amqp suite, whose rows
all need it);
--render rewrites only the text between a doc's generated markers.

usage: python3 tests/bench/test_bench_run.py BUILD_DIR

The quick run's duration is printed, never asserted (the machine is shared
and noisy; --quick is meant to take under 60 s on it).
Standard library only. Needs jq and mlr (scripts/install-deps); gojq and
hyperfine are used when installed and must otherwise show as "not installed".
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import xml.dom.minidom

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
RUN = os.path.join(ROOT, "bench", "run")
BUILD = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else os.path.join(ROOT, "build")
SCHEMA = {"suite": str, "case": str, "tool": str, "command": str, "runs": int, "min_s": float,
          "median_s": float, "max_s": float}


def read(path):
    with open(path) as f:
        return f.read()


def bench(*args, timeout=600, env=None):
    return subprocess.run([RUN, "--quick", "--build-dir", BUILD, *args], capture_output=True, text=True,
                          timeout=timeout, env=dict(os.environ, **(env or {})))


class BenchRunTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="govstream-bench-test.")
        cls.json = os.path.join(cls.tmp, "results.json")
        t0 = time.monotonic()
        cls.run_ = bench("--no-doc", "--json", cls.json, "filter", "agg")
        cls.seconds = time.monotonic() - t0
        cls.rows = json.loads(read(cls.json)) if os.path.exists(cls.json) else []
        listing = bench("--list", "filter", "agg").stdout
        cls.listed = re.findall(r"^(\w+)/([\w-]+): ", listing, re.M)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_quick_run_succeeds(self):
        self.assertEqual(self.run_.returncode, 0, self.run_.stderr[-3000:])
        print(f"bench/run --quick filter agg took {self.seconds:.1f} s", file=sys.stderr)

    def test_every_listed_case_has_results(self):
        self.assertGreaterEqual(len(self.listed), 10)
        self.assertEqual({s for s, _ in self.listed}, {"filter", "agg"})
        for suite, case in self.listed:
            rows = [r for r in self.rows if r["suite"] == suite and r["case"] == case]
            self.assertGreater(len(rows), 1, f"{suite}/{case} has no peer rows")
            self.assertEqual(rows[0]["tool"], "govstream")
            hyperfine = shutil.which("hyperfine")
            self.assertEqual(rows[0]["status"], "ok" if hyperfine or "startup" not in case else "not installed",
                             f"{suite}/{case}")

    def test_schema(self):
        for r in self.rows:
            with self.subTest(case=r["case"], tool=r["tool"]):
                self.assertIn(r["status"], ("ok", "not installed"))
                if r["status"] == "not installed":
                    self.assertEqual(r["runs"], 0)
                    continue
                for key, kind in SCHEMA.items():
                    self.assertIsInstance(r[key], (int, float) if kind is float else kind, key)
                self.assertGreaterEqual(r["runs"], 3)
                self.assertTrue(0 < r["min_s"] <= r["median_s"] <= r["max_s"])
                if "startup" not in r["case"]:
                    self.assertIsInstance(r["max_rss_mb"], (int, float))
                    self.assertGreater(r["max_rss_mb"], 0.5)
                if r["tool"] != "govstream":
                    self.assertEqual(r["ratio_vs"], r["tool"])
                    self.assertGreater(r["ratio"], 0)
                else:
                    self.assertIn(r["ratio_vs"], r["ratios"])

    def test_peers_are_checked(self):
        for r in self.rows:
            if r["status"] == "ok" and r["tool"] != "govstream" and "startup" not in r["case"]:
                self.assertTrue(r["check_value"].startswith("agrees: "), (r["case"], r["tool"]))

    def test_a_wrong_peer_fails_its_case(self):
        out = os.path.join(self.tmp, "wrong.json")
        p = bench("--no-doc", "--json", out, "--cases", os.path.join(HERE, "cases.py"),
                  "filter/wrong-peer", "filter/missing-peer")
        self.assertEqual(p.returncode, 1, p.stderr[-3000:])
        self.assertIn("MISMATCH", p.stderr)
        self.assertIn("1 case(s) failed: filter/wrong-peer", p.stderr)
        rows = {(r["case"], r["tool"]): r for r in json.loads(read(out))}
        self.assertEqual(rows["wrong-peer", "govstream"]["status"], "mismatch")
        self.assertEqual(rows["wrong-peer", "jq, wrong on purpose"]["status"], "mismatch")
        self.assertNotIn("median_s", rows["wrong-peer", "govstream"])
        self.assertEqual(rows["missing-peer", "no such tool"]["status"], "not installed")
        self.assertEqual(rows["missing-peer", "govstream"]["status"], "ok")
        self.assertIn("ratio", rows["missing-peer", "jq"])

    def test_durable_without_rabbitmq(self):
        # Where rabbitmq-server is missing, the durable suite still measures mq-broker and shows
        # the RabbitMQ rows as not installed (the fixture's server path is pointed elsewhere).
        out = os.path.join(self.tmp, "durable.json")
        p = bench("--no-doc", "--json", out, "durable/throughput",
                  env={"GOVSTREAM_RABBITMQ_SERVER": "/nonexistent/rabbitmq-server"})
        self.assertEqual(p.returncode, 0, p.stderr[-3000:])
        rows = {r["tool"]: r for r in json.loads(read(out))}
        self.assertEqual([t for t, r in rows.items() if r["status"] == "not installed"],
                         ["RabbitMQ quorum queue", "RabbitMQ classic durable queue"])
        for t in ("govstream", "in-memory queue (no --data-dir)", "mq-broker --data-dir --fsync always"):
            self.assertEqual(rows[t]["status"], "ok", t)
            self.assertEqual(rows[t]["received_worst"], rows[t]["sent"], t)
            self.assertGreater(rows[t]["rate"], 0, t)
        self.assertGreater(rows["govstream"]["vs_memory"], 0)

    def test_amqp_without_rabbitmq(self):
        # Without rabbitmq-server the amqp suite runs nothing and passes, every row "not installed".
        out = os.path.join(self.tmp, "amqp.json")
        p = bench("--no-doc", "--json", out, "amqp/publish-quorum", "amqp/consume-quorum",
                  env={"GOVSTREAM_RABBITMQ_SERVER": "/nonexistent/rabbitmq-server"})
        self.assertEqual(p.returncode, 0, p.stderr[-3000:])
        rows = json.loads(read(out))
        self.assertEqual(len(rows), 6)
        self.assertEqual({r["status"] for r in rows}, {"not installed"})

    def test_render_writes_only_between_the_markers(self):
        doc = os.path.join(self.tmp, "benchmarks.md")
        outside = "# Benchmarks\n\nProse before.\n\n<!-- bench:filter:begin -->\nold\n<!-- bench:filter:end -->\n\n" \
                  "## Dated analysis\n\nProse after.\n"
        with open(doc, "w") as f:
            f.write(outside)
        p = bench("--render", "--doc", doc, "filter", "agg")
        self.assertEqual(p.returncode, 0, p.stderr[-3000:])
        text = read(doc)
        self.assertTrue(text.startswith("# Benchmarks\n\nProse before.\n\n<!-- bench:filter:begin -->\n## "))
        self.assertIn("<!-- bench:filter:end -->\n\n## Dated analysis\n\nProse after.\n", text)
        self.assertNotIn("\nold\n", text)
        self.assertIn("<!-- bench:agg:begin -->", text)  # no markers yet: appended
        for suite in ("filter", "agg"):
            self.assertIn(f"](bench-{suite}.svg)", text)
            svg = xml.dom.minidom.parse(os.path.join(self.tmp, f"bench-{suite}.svg"))
            self.assertGreater(len(svg.getElementsByTagName("rect")), 3)
        self.assertIn("### Targets", text)


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
