#!/usr/bin/python3
"""Live end-to-end tests of mq-pub and mq-sub against RabbitMQ (amqp://,
amqps://): the same pipelines, envelope and exit statuses as with mq-broker.

One private rabbitmq-server node (tests/e2e/rabbitmq.py: its own epmd, ports
on 127.0.0.1, temporary directory) serves the whole file; it is started in
setUpModule and stopped in tearDownModule, and every test uses queues of its
own. python3-pika is the foreign AMQP client (a publisher and a consumer
that are not govstream) and the oracle for queue types.

usage: GOVSTREAM_BIN=build/bin /usr/bin/python3 tests/e2e/test_amqp_live.py [-v] [Class.test_name ...]
Prints "N passed, M failed" last.
"""

import json
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from livetest import DEVNULL, PIPE, run_main
from test_mq_live import BROKER, EXIT_OK, LineReader, EXIT_REFUSED, EXIT_TIMEOUT, PUB, SUB, MqTest, envelopes, free_port

import rabbitmq

try:
    import pika
except ImportError:  # reported by every test
    pika = None

EXIT_SKIPPED, EXIT_USAGE, EXIT_CONNECTION, EXIT_INTERRUPTED = 1, 2, 5, 130
EXIT_ACCESS, EXIT_REJECTED = 10, 11
NODE = None
NODE_ERROR = None


def setUpModule():
    global NODE, NODE_ERROR
    if not rabbitmq.installed():
        NODE_ERROR = "rabbitmq-server is not installed (scripts/install-deps)"
        return
    try:
        NODE = rabbitmq.RabbitMQ(tls=True)
        NODE.start()
        print("rabbitmq-server node %s started in %.1f s" % (NODE.nodename, NODE.start_seconds), file=sys.stderr)
    except Exception as e:  # every test then fails with this reason
        NODE_ERROR = "the RabbitMQ node did not start: %s" % e
        NODE = None


def tearDownModule():
    if NODE is not None:
        NODE.stop()
        left = NODE.pids()
        assert not left, "RabbitMQ processes outlived stop(): %s" % left


class AmqpTest(MqTest):
    def setUp(self):
        super().setUp()
        if NODE is None:
            self.fail(NODE_ERROR)
        if pika is None:
            self.fail("python3-pika is not installed (scripts/install-deps; run with /usr/bin/python3)")
        self.ep = NODE.url
        self.node = NODE
        self.tag = self.id().rsplit(".", 1)[-1][5:35]

    def q(self, name):
        """A queue name private to this test."""
        return "%s.%s" % (self.tag, name)

    def channel(self):
        conn = pika.BlockingConnection(pika.URLParameters(self.node.url))
        self.addCleanup(lambda: conn.is_open and conn.close())
        return conn.channel()

    def queue_count(self, queue):
        """The ready messages of `queue` (a passive declare on a new connection)."""
        conn = pika.BlockingConnection(pika.URLParameters(self.node.url))
        try:
            return conn.channel().queue_declare(queue, passive=True).method.message_count
        finally:
            conn.close()

    def wait_count(self, queue, pred, timeout=15, what="messages"):
        """Waits (bounded) until pred(ready messages of queue); returns the count."""
        deadline = time.monotonic() + timeout
        while True:
            n = self.queue_count(queue)
            if pred(n):
                return n
            if time.monotonic() > deadline:
                self.fail("queue %s: %d ready messages, not %s, after %.0f s" % (queue, n, what, timeout))
            time.sleep(0.05)

    def feed_until_exit(self, p, line, every=0.1, timeout=20):
        """Writes `line` to p's stdin every `every` s until p exits (bounded); returns its status."""
        deadline = time.monotonic() + timeout
        while p.poll() is None and time.monotonic() < deadline:
            try:
                p.stdin.write(line)
                p.stdin.flush()
            except (BrokenPipeError, ValueError):
                break
            time.sleep(every)
        try:
            p.stdin.close()
        except BrokenPipeError:
            pass
        return self.wait_exit(p, max(1.0, deadline - time.monotonic()), "mq-pub")

    @staticmethod
    def summary(err):
        """(confirmed, lines, refused, not confirmed) from mq-pub's summary line."""
        m = re.search(r"(\d+) of (\d+) lines confirmed, (\d+) refused, (\d+) not confirmed", err)
        assert m, "no summary in:\n" + err
        return tuple(int(g) for g in m.groups())

    def connection_pid(self, name, timeout=15):
        """The pid (as rabbitmqctl close_connection takes it) of the connection named `name`."""
        deadline = time.monotonic() + timeout
        while True:
            out = self.node.ctl("list_connections", "-q", "--no-table-headers", "pid", "client_properties")
            pids = [l.split("\t")[0] for l in out.splitlines() if '"%s"' % name in l]
            if pids:
                return pids[0]
            if time.monotonic() > deadline:
                self.fail("no connection named %r after %.0f s:\n%s" % (name, timeout, out))
            time.sleep(0.1)

    @staticmethod
    def lines(n, start=0, pad=b""):
        return b"".join(b'{"id":%d%s}\n' % (i, pad) for i in range(start, start + n))

    def consume(self, queue, patterns, *extra, timeout=60):
        """mq-sub --queue to its end; returns (status, stdout, stderr)."""
        args = ["--queue", queue] + [a for p in patterns for a in ("--topic", p)] + list(extra)
        p = self.sub(args)
        out, _ = p.communicate(timeout=timeout)
        return p.returncode, out, self.err(p)


class RoundTrip(AmqpTest):
    def test_declare_publish_consume_a_quorum_queue(self):
        q = self.q("jobs")
        self.declare(q, "jobs.#")
        # The queue is a quorum queue: redeclaring it as classic is refused.
        ch = self.channel()
        ch.queue_declare(q, durable=True, arguments={"x-queue-type": "quorum"})
        with self.assertRaises(pika.exceptions.ChannelClosedByBroker):
            ch.queue_declare(q, durable=True, arguments={"x-queue-type": "classic"})
        data = self.lines(5000)
        status, err = self.pub(["--topic", "jobs.nightly"], data)
        self.assertEqual(status, EXIT_OK, err)
        status, out, err = self.consume(q, ["jobs.#"], "-c", "5000")
        self.assertEqual(status, EXIT_OK, err)
        self.assertEqual(out, data)
        # Acknowledged: nothing is left.
        status, out, err = self.consume(q, ["jobs.#"], "-W", "1s")
        self.assertEqual((status, out), (EXIT_TIMEOUT, b""), err)

    def test_classic_queue_type_and_a_mismatch_is_status_11(self):
        q = self.q("classic")
        self.declare(q, "c.#")
        d = self.sub(["--queue", self.q("cl2"), "--topic", "c.#", "--declare", "--queue-type", "classic"], stdout=DEVNULL)
        self.assertEqual(self.wait_exit(d, 15, "--declare classic"), EXIT_OK, self.err(d))
        self.channel().queue_declare(self.q("cl2"), durable=True, arguments={"x-queue-type": "classic"})
        # q exists as quorum: --queue-type classic is refused, with the reason.
        status, _, err = self.consume(q, ["c.#"], "--declare", "--queue-type", "classic")
        self.assertEqual(status, EXIT_REJECTED, err)
        self.assertIn("PRECONDITION_FAILED", err)
        self.assertIn("x-queue-type", err)

    def test_stream_queue_type_is_read_from_its_first_message(self):
        q = self.q("stream")
        d = self.sub(["--queue", q, "--topic", "s.#", "--declare", "--queue-type", "stream"], stdout=DEVNULL)
        self.assertEqual(self.wait_exit(d, 15, "--declare stream"), EXIT_OK, self.err(d))
        data = self.lines(100)
        status, err = self.pub(["--topic", "s.x"], data)
        self.assertEqual(status, EXIT_OK, err)
        status, out, err = self.consume(q, ["s.#"], "-c", "100", "--queue-type", "stream")
        self.assertEqual(status, EXIT_OK, err)
        self.assertEqual(out, data)

    def test_topic_from_routes_by_record_as_with_mq_broker(self):
        q5, q2 = self.q("e5"), self.q("e2")
        self.declare(q5, "http.500", "http.503")
        self.declare(q2, "http.200", "http.201")
        recs = [{"status": s, "i": i} for i, s in enumerate([200, 500, 503, 201, 500])]
        data = b"".join(json.dumps(r, separators=(",", ":")).encode() + b"\n" for r in recs)
        status, err = self.pub(["--topic-from", '"http." + (.status|tostring)'], data)
        self.assertEqual(status, EXIT_OK, err)
        status, out, err = self.consume(q5, ["http.500", "http.503"], "-c", "3")
        self.assertEqual(status, EXIT_OK, err)
        self.assertEqual([json.loads(l)["i"] for l in out.splitlines()], [1, 2, 4])
        status, out, err = self.consume(q2, ["http.200", "http.201"], "-c", "2")
        self.assertEqual([json.loads(l)["i"] for l in out.splitlines()], [0, 3])

    def test_envelope_from_amqp_properties(self):
        q = self.q("env")
        self.declare(q, "env.*")
        before = time.time()
        status, err = self.pub(["--topic", "env.a", "--id", "pub-A"], self.lines(3))
        self.assertEqual(status, EXIT_OK, err)
        status, out, err = self.consume(q, ["env.*"], "-c", "3", "--envelope")
        self.assertEqual(status, EXIT_OK, err)
        envs = envelopes(out)
        self.assertEqual([e["topic"] for e in envs], ["env.a"] * 3)
        self.assertEqual([e["seq"] for e in envs], [1, 2, 3])
        self.assertEqual({e["publisher"] for e in envs}, {"pub-A"})
        self.assertEqual([e["redelivered"] for e in envs], [False] * 3)
        self.assertEqual([e["payload"]["id"] for e in envs], [0, 1, 2])
        from datetime import datetime
        for e in envs:
            ts = datetime.strptime(e["ts"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=__import__("datetime").timezone.utc)
            self.assertLess(abs(ts.timestamp() - before), 30)

    def test_fan_out_subscription_is_an_exclusive_auto_delete_queue(self):
        sub = self.sub(["--topic", "fan.#", "-c", "4"])
        # Until it is subscribed, messages go nowhere: publish until it has some.
        deadline = time.monotonic() + 20
        got = b""
        while time.monotonic() < deadline and sub.poll() is None:
            self.pub(["--topic", "fan.x"], b'{"fan":1}\n')
            time.sleep(0.2)
        out, _ = sub.communicate(timeout=20)
        self.assertEqual(sub.returncode, EXIT_OK, self.err(sub))
        self.assertEqual(out.count(b'{"fan":1}\n'), 4)
        # Its queue went with it: nothing is bound to fan.# any more.
        status, err = self.pub(["--topic", "fan.x", "--mandatory"], b'{"fan":2}\n')
        self.assertEqual(status, EXIT_REFUSED, err)

    def test_stats_lines(self):
        q = self.q("stats")
        self.declare(q, "st")
        status, err = self.pub(["--topic", "st", "--stats"], self.lines(10))
        self.assertEqual(status, EXIT_OK, err)
        st = json.loads([l for l in err.splitlines() if l.startswith("{")][-1])
        self.assertEqual((st["confirmed"], st["refused"], st["unconfirmed"]), (10, 0, 0))
        status, out, err = self.consume(q, ["st"], "-c", "10", "--stats")
        self.assertEqual(status, EXIT_OK, err)
        st = json.loads([l for l in err.splitlines() if l.startswith("{")][-1])
        self.assertEqual((st["messages"], st["written"]), (10, 10))


class Acks(AmqpTest):
    def test_count_takes_exactly_n_and_the_prefetched_rest_comes_back_redelivered(self):
        q = self.q("count")
        self.declare(q, "cnt")
        status, err = self.pub(["--topic", "cnt"], self.lines(50))
        self.assertEqual(status, EXIT_OK, err)
        status, out, err = self.consume(q, ["cnt"], "-c", "7", "--prefetch", "50")
        self.assertEqual(status, EXIT_OK, err)
        self.assertEqual([json.loads(l)["id"] for l in out.splitlines()], list(range(7)))
        status, out, err = self.consume(q, ["cnt"], "-c", "43", "--envelope")
        self.assertEqual(status, EXIT_OK, err)
        envs = envelopes(out)
        self.assertEqual(sorted(e["payload"]["id"] for e in envs), list(range(7, 50)))
        # Those the first consumer held unacknowledged are marked redelivered.
        self.assertTrue(any(e["redelivered"] for e in envs))
        status, out, err = self.consume(q, ["cnt"], "-W", "1s")
        self.assertEqual((status, out), (EXIT_TIMEOUT, b""), err)

    def test_sigint_gives_130_and_unwritten_messages_go_back(self):
        q = self.q("int")
        self.declare(q, "int")
        status, err = self.pub(["--topic", "int"], self.lines(2000))
        self.assertEqual(status, EXIT_OK, err)
        # A consumer whose output nobody reads: it blocks after a pipe-full.
        sub = self.sub(["--queue", q, "--topic", "int", "--prefetch", "500"])
        time.sleep(1.5)
        sub.send_signal(signal.SIGINT)
        out, _ = sub.communicate(timeout=20)
        self.assertEqual(sub.returncode, EXIT_INTERRUPTED, self.err(sub))
        first = [json.loads(l)["id"] for l in out.splitlines()]
        status, out, err = self.consume(q, ["int"], "-W", "2s")
        rest = [json.loads(l)["id"] for l in out.splitlines()]
        # Nothing lost; a line written before the ack may come twice only if
        # the signal came between its write and its ack.
        self.assertEqual(sorted(set(first) | set(rest)), list(range(2000)))
        self.assertLessEqual(len(first) + len(rest) - 2000, 500)

    def test_head_closes_the_pipe_and_the_rest_stays_queued(self):
        q = self.q("head")
        self.declare(q, "hd")
        status, err = self.pub(["--topic", "hd"], self.lines(1000))
        self.assertEqual(status, EXIT_OK, err)
        p = subprocess.run("%s -b '%s' --queue %s --topic hd | head -n 3" % (SUB, NODE.url, q), shell=True,
                           capture_output=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(len(p.stdout.splitlines()), 3)
        self.assertEqual(p.stderr, b"")
        status, out, err = self.consume(q, ["hd"], "-W", "2s")
        ids = [json.loads(l)["id"] for l in out.splitlines()]
        self.assertEqual(ids, sorted(ids))
        self.assertGreaterEqual(len(ids), 1)  # what was not written to the pipe was not acknowledged
        self.assertEqual(ids[-1], 999)


class Refusals(AmqpTest):
    def test_mandatory_unroutable_is_refused_with_status_6(self):
        status, err = self.pub(["--topic", "nobody.listens", "--mandatory"], self.lines(3))
        self.assertEqual(status, EXIT_REFUSED, err)
        self.assertIn("0 of 3 lines confirmed, 3 refused, 0 not confirmed", err)
        self.assertIn("NO_ROUTE", err)
        # Without --mandatory it is confirmed and goes nowhere, as with mq-broker.
        status, err = self.pub(["--topic", "nobody.listens"], self.lines(3))
        self.assertEqual(status, EXIT_OK, err)

    def test_mandatory_mixed_batch_counts_only_the_returned(self):
        q = self.q("mix")
        self.declare(q, "mix.ok")
        data = b"".join(b'{"t":"mix.%s","i":%d}\n' % (b"ok" if i % 3 else b"no", i) for i in range(30))
        status, err = self.pub(["--topic-from", ".t", "--mandatory"], data)
        self.assertEqual(status, EXIT_REFUSED, err)
        self.assertIn("20 of 30 lines confirmed, 10 refused", err)
        status, out, err = self.consume(q, ["mix.ok"], "-c", "20")
        self.assertEqual([json.loads(l)["i"] for l in out.splitlines()], [i for i in range(30) if i % 3])

    def test_queue_length_limit_with_reject_publish_nacks_lines(self):
        q = self.q("full")
        ch = self.channel()
        # A classic queue applies the limit exactly (a quorum queue's check is
        # asynchronous and may let a few more in).
        ch.queue_declare(q, durable=True, arguments={"x-queue-type": "classic", "x-max-length": 5,
                                                     "x-overflow": "reject-publish"})
        ch.queue_bind(q, "amq.topic", routing_key="full")
        status, err = self.pub(["--topic", "full", "--batch", "1"], self.lines(8))
        self.assertEqual(status, EXIT_REFUSED, err)
        self.assertIn("5 of 8 lines confirmed, 3 refused", err)
        self.assertIn("nacked", err)

    def test_wrong_password_is_status_10_and_the_password_is_never_printed(self):
        url = NODE.url.replace("guest:guest", "guest:s3cret-wrong")
        status, err = self.pub(["-b", url, "--topic", "x"], b'{"a":1}\n', broker=False)
        self.assertEqual(status, EXIT_ACCESS, err)
        self.assertIn("ACCESS_REFUSED", err)
        self.assertIn("nothing was published", err)
        self.assertNotIn("s3cret-wrong", err)
        sub = self.sub(["-b", url, "--topic", "x"], broker=False)
        sub.communicate(timeout=30)
        self.assertEqual(sub.returncode, EXIT_ACCESS, self.err(sub))
        self.assertNotIn("s3cret-wrong", self.err(sub))

    def test_credentials_from_a_file_or_the_environment(self):
        bare = "amqp://127.0.0.1:%d/%%2F" % NODE.port
        q = self.q("cred")
        self.declare(q, "cred")
        good, bad = self.path("good.cred"), self.path("bad.cred")
        with open(good, "w") as f:
            f.write("guest:guest\n")
        with open(bad, "w") as f:
            f.write("guest:nope\n")
        status, err = self.pub(["-b", bare, "--credentials", good, "--topic", "cred"], b'{"c":1}\n', broker=False)
        self.assertEqual(status, EXIT_OK, err)
        status, err = self.pub(["-b", bare, "--credentials", bad, "--topic", "cred"], b'{"c":2}\n', broker=False)
        self.assertEqual(status, EXIT_ACCESS, err)
        env = dict(os.environ, GOVSTREAM_AMQP_CREDENTIALS="guest:nope")
        status, err = self.pub(["-b", bare, "--topic", "cred"], b'{"c":3}\n', broker=False, env=env)
        self.assertEqual(status, EXIT_ACCESS, err)
        env["GOVSTREAM_AMQP_CREDENTIALS"] = "guest:guest"
        status, err = self.pub(["-b", bare, "--topic", "cred"], b'{"c":4}\n', broker=False, env=env)
        self.assertEqual(status, EXIT_OK, err)
        status, err = self.pub(["-b", bare, "--credentials", self.path("missing"), "--topic", "cred"], b'{"c":5}\n',
                               broker=False)
        self.assertEqual(status, 4, err)
        self.assertIn("cannot read --credentials", err)
        status, out, err = self.consume(q, ["cred"], "-c", "2")
        self.assertEqual(out, b'{"c":1}\n{"c":4}\n')

    def test_missing_exchange_is_status_11(self):
        status, err = self.pub(["--topic", "x", "--exchange", "no-such-exchange"], b'{"a":1}\n')
        self.assertEqual(status, EXIT_REJECTED, err)
        self.assertIn("NOT_FOUND", err)
        status, _, err = self.consume(self.q("x"), ["x"], "--exchange", "no-such-exchange")
        self.assertEqual(status, EXIT_REJECTED, err)

    def test_other_exchange(self):
        self.channel().exchange_declare("govstream.test", "topic")
        q = self.q("ex")
        d = self.sub(["--queue", q, "--topic", "e.#", "--declare", "--exchange", "govstream.test"], stdout=DEVNULL)
        self.assertEqual(self.wait_exit(d, 15, "--declare"), EXIT_OK, self.err(d))
        status, err = self.pub(["--topic", "e.1", "--exchange", "govstream.test"], b'{"e":1}\n')
        self.assertEqual(status, EXIT_OK, err)
        status, err = self.pub(["--topic", "e.2"], b'{"e":2}\n')  # amq.topic: not bound
        self.assertEqual(status, EXIT_OK, err)
        status, out, err = self.consume(q, ["e.#"], "-W", "1s", "--exchange", "govstream.test")
        self.assertEqual(out, b'{"e":1}\n')

    def test_unreachable_is_status_5_within_the_connect_timeout(self):
        url = "amqp://guest:guest@127.0.0.1:%d/" % free_port()
        t0 = time.monotonic()
        status, err = self.pub(["-b", url, "--topic", "x", "--connect-timeout", "1s"], b'{"a":1}\n', broker=False)
        self.assertEqual(status, EXIT_CONNECTION, err)
        self.assertIn("no AMQP broker answered", err)
        self.assertLess(time.monotonic() - t0, 15)

    def test_amqp_options_need_an_amqp_broker_and_bad_urls_are_usage_errors(self):
        for args in (["--exchange", "x"], ["--credentials", "/dev/null"], ["--tls-ca", "/dev/null"]):
            status, err = self.pub(["-b", "tcp://127.0.0.1:7750", "--topic", "x"] + args, b"", broker=False)
            self.assertEqual(status, EXIT_USAGE, err)
        status, err = self.pub(["-b", NODE.url, "--topic", "x", "--tls-ca", "/dev/null"], b"", broker=False)
        self.assertEqual(status, EXIT_USAGE, err)
        self.assertIn("amqps://", err)
        for url in ("amqp://", "amqp://host:port/", "amqps://"):
            status, err = self.pub(["-b", url, "--topic", "x"], b"", broker=False)
            self.assertEqual(status, EXIT_USAGE, err)
        sub = self.sub(["-b", "tcp://127.0.0.1:7750", "--topic", "x", "--queue", "q", "--queue-type", "quorum"],
                       broker=False)
        sub.communicate(timeout=10)
        self.assertEqual(sub.returncode, EXIT_USAGE, self.err(sub))

    def test_bad_lines_are_skipped_and_reported_as_with_mq_broker(self):
        q = self.q("bad")
        self.declare(q, "bad")
        status, err = self.pub(["--topic", "bad"], b'{"a":1}\nnot json\n{"a":2}\n')
        self.assertEqual(status, EXIT_SKIPPED, err)
        self.assertIn("<stdin>:2: invalid JSON", err)
        status, out, err = self.consume(q, ["bad"], "-c", "2")
        self.assertEqual(out, b'{"a":1}\n{"a":2}\n')

    def test_a_foreign_payload_that_is_not_json_is_reported_and_skipped(self):
        q = self.q("foreign-bad")
        self.declare(q, "fb")
        ch = self.channel()
        ch.basic_publish("amq.topic", "fb", b"not json")
        ch.basic_publish("amq.topic", "fb", b'{"ok":1}')
        status, out, err = self.consume(q, ["fb"], "-c", "1")
        self.assertEqual(status, EXIT_SKIPPED, err)
        self.assertEqual(out, b'{"ok":1}\n')
        self.assertIn("is not JSON", err)


class Foreign(AmqpTest):
    def test_pika_publishes_and_mq_sub_consumes(self):
        q = self.q("pika-in")
        self.declare(q, "ext.#")
        ch = self.channel()
        for i in range(20):
            ch.basic_publish("amq.topic", "ext.%d" % (i % 2), b'{"pika":%d}' % i)
        status, out, err = self.consume(q, ["ext.#"], "-c", "20", "--envelope")
        self.assertEqual(status, EXIT_OK, err)
        envs = envelopes(out)
        self.assertEqual([e["payload"]["pika"] for e in envs], list(range(20)))
        self.assertEqual([e["topic"] for e in envs], ["ext.%d" % (i % 2) for i in range(20)])
        self.assertEqual({e["publisher"] for e in envs}, {""})

    def test_mq_pub_publishes_and_pika_consumes(self):
        ch = self.channel()
        q = self.q("pika-out")
        ch.queue_declare(q, durable=True, arguments={"x-queue-type": "classic"})
        ch.queue_bind(q, "amq.topic", routing_key="out.*")
        data = self.lines(10)
        status, err = self.pub(["--topic", "out.x", "--id", "me"], data)
        self.assertEqual(status, EXIT_OK, err)
        got = []
        for _ in range(10):
            method, props, body = ch.basic_get(q, auto_ack=True)
            self.assertIsNotNone(method)
            got.append(body + b"\n")
            self.assertEqual(props.app_id, "me")
            self.assertEqual(props.delivery_mode, 2)
            self.assertEqual(props.content_type, "application/json")
        self.assertEqual(b"".join(got), data)


    def test_amqp_tools_both_ways_with_identical_bytes(self):
        q = self.q("tools-in")
        self.declare(q, "tools.in")
        data = b"".join(b'{"tool":%d,"s":"\\u00e9 caf\xc3\xa9"}\n' % i for i in range(10))
        p = subprocess.run(["amqp-publish", "-u", NODE.url, "-e", "amq.topic", "-r", "tools.in", "-l"], input=data,
                           capture_output=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        status, out, err = self.consume(q, ["tools.in"], "-c", "10")
        self.assertEqual(status, EXIT_OK, err)
        self.assertEqual(out, data)
        # mq-pub -> amqp-consume (one command per message, body on stdin).
        ch = self.channel()
        q2 = self.q("tools-out")
        ch.queue_declare(q2, durable=True, arguments={"x-queue-type": "quorum"})
        ch.queue_bind(q2, "amq.topic", routing_key="tools.out")
        status, err = self.pub(["--topic", "tools.out"], data)
        self.assertEqual(status, EXIT_OK, err)
        p = subprocess.run(["amqp-consume", "-u", NODE.url, "-q", q2, "-c", "10", "--", "sh", "-c", "cat; echo"],
                           capture_output=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, data)


class Failures(AmqpTest):
    def test_missing_vhost_is_status_10(self):
        url = "amqp://guest:guest@127.0.0.1:%d/no-such-vhost" % NODE.port
        status, err = self.pub(["-b", url, "--topic", "x"], b'{"a":1}\n', broker=False)
        self.assertEqual(status, EXIT_ACCESS, err)
        self.assertIn("no-such-vhost", err)

    def test_queue_deleted_under_a_consumer_is_status_5(self):
        q = self.q("gone")
        self.declare(q, "gone")
        sub = self.sub(["--queue", q, "--topic", "gone"])
        time.sleep(1.0)
        self.channel().queue_delete(q)
        out, _ = sub.communicate(timeout=30)
        self.assertEqual(sub.returncode, EXIT_CONNECTION, self.err(sub))
        self.assertIn("cancelled the consumer", self.err(sub))

    def test_an_exchange_of_another_type_is_status_11(self):
        for kind in ("fanout", "direct"):
            x = self.q("x-" + kind)
            self.channel().exchange_declare(x, exchange_type=kind, durable=True)
            status, err = self.pub(["--exchange", x, "--topic", "a.b"], self.lines(1))
            self.assertEqual(status, EXIT_REJECTED, err)
            self.assertIn("is a %s exchange, not a topic exchange" % kind, err)
            p = self.sub(["--exchange", x, "--topic", "a.#"])
            p.communicate(timeout=30)
            self.assertEqual(p.returncode, EXIT_REJECTED, self.err(p))
            self.assertIn("not a topic exchange", self.err(p))

    def test_a_line_over_max_message_size_is_refused_and_counted(self):
        # RabbitMQ's limit is a broker setting that AMQP does not announce:
        # lower it for this test (channels opened from now on read it).
        NODE.ctl("eval", "application:set_env(rabbit, max_message_size, 4096).")
        self.addCleanup(lambda: NODE.ctl("eval", "application:set_env(rabbit, max_message_size, 134217728)."))
        q = self.q("big")
        self.declare(q, "big")
        data = self.lines(5) + b'{"id":5,"pad":"%s"}\n' % (b"x" * 8000) + self.lines(3, start=6)
        status, err = self.pub(["--topic", "big", "--batch", "1"], data)
        self.assertEqual(status, EXIT_REFUSED, err)
        self.assertIn("larger than RabbitMQ's max_message_size", err)
        self.assertIn("sequence number 6 (8017 bytes)", err)
        # An honest summary: the lines before the big one are confirmed,
        # unless RabbitMQ closed the channel before their confirms went out
        # (then they are counted not confirmed, never delivered-and-lost).
        m = re.search(r"(\d+) of 9 lines confirmed, (\d+) refused, (\d+) not confirmed", err)
        self.assertIsNotNone(m, err)
        confirmed, refused, unconfirmed = map(int, m.groups())
        self.assertEqual(confirmed + refused + unconfirmed, 9, err)
        self.assertLessEqual(confirmed, 5, err)
        code, out, serr = self.consume(q, ["big"], "-W", "3s")
        ids = [json.loads(x)["id"] for x in out.splitlines()]
        self.assertEqual(ids[:confirmed], list(range(confirmed)), serr)
        self.assertNotIn(5, ids)  # the big line never got in

    def test_connection_closed_by_an_operator_mid_stream_is_status_5_and_nothing_acked_is_lost(self):
        q = self.q("forced")
        self.declare(q, "forced")
        status, err = self.pub(["--topic", "forced"], self.lines(50))
        self.assertEqual(status, EXIT_OK, err)
        sub = self.sub(["--queue", q, "--topic", "forced", "--prefetch", "10"], stdout=PIPE)
        reader = LineReader(sub.stdout)
        first = reader.lines(1, 20)
        self.assertEqual(len(first), 1, self.err(sub))
        NODE.ctl("close_all_connections", "maintenance")
        written = b"\n".join(first) + b"\n" + reader.rest(30)
        self.assertEqual(self.wait_exit(sub, 30, "mq-sub"), EXIT_CONNECTION, self.err(sub))
        self.assertIn("closed the connection", self.err(sub))
        self.assertIn("maintenance", self.err(sub))
        got = len(written.splitlines())
        # What mq-sub wrote was acknowledged; every other line is still queued.
        remaining = self.wait_count(q, lambda n: n >= 50 - got, what="at least %d" % (50 - got))
        code, out, serr = self.consume(q, ["forced"], "-W", "3s")
        ids = [json.loads(x)["id"] for x in (written + out).splitlines()]
        self.assertEqual(set(ids), set(range(50)), serr)
        self.assertEqual(len(out.splitlines()), remaining, serr)

    def test_200000_lines_into_a_quorum_queue(self):
        n = 50000 if os.environ.get("GOVSTREAM_SANITIZED", "").upper() in ("1", "ON", "TRUE") else 200000
        q = self.q("many")
        self.declare(q, "many")
        data = self.lines(n, pad=b',"pad":"' + b"p" * 200 + b'"')
        status, err = self.pub(["--topic", "many"], data, timeout=300)
        self.assertEqual(status, EXIT_OK, err)
        status, out, err = self.consume(q, ["many"], "-c", str(n), timeout=300)
        self.assertEqual(status, EXIT_OK, err)
        self.assertEqual(out, data)

    def test_consumer_killed_midway_every_line_at_least_once_duplicates_redelivered(self):
        n = 20000
        q = self.q("kill")
        self.declare(q, "kill")
        status, err = self.pub(["--topic", "kill"], self.lines(n))
        self.assertEqual(status, EXIT_OK, err)
        first = self.sub(["--queue", q, "--topic", "kill", "--envelope", "--prefetch", "500"],
                         stdout=open(self.path("first.out"), "wb"))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and os.path.getsize(self.path("first.out")) < 200000:
            time.sleep(0.01)
        first.kill()
        first.wait(timeout=10)
        with open(self.path("first.out"), "rb") as f:
            got = f.read()
        got = got[:got.rfind(b"\n") + 1]  # a line cut by the kill is not a delivery
        a = envelopes(got)
        status, out, err = self.consume(q, ["kill"], "--envelope", "-W", "2s", timeout=120)
        b = envelopes(out)
        ids_a = [e["payload"]["id"] for e in a]
        ids_b = [e["payload"]["id"] for e in b]
        self.assertGreater(len(ids_a), 0)
        self.assertEqual(sorted(set(ids_a) | set(ids_b)), list(range(n)))
        dup = set(ids_a) & set(ids_b)
        self.assertTrue(all(e["redelivered"] for e in b if e["payload"]["id"] in dup))
        print("\nconsumer kill -9: %d lines before the kill, %d after, %d duplicates (all marked redelivered)"
              % (len(ids_a), len(ids_b), len(dup)), file=sys.stderr)


class BadInput(AmqpTest):
    """The rest of the bad input of issue 10: exchange types (also without
    configure permission), max_message_size and frame_max, and RabbitMQ
    closing the channel or the connection mid-stream (a deleted exchange,
    rabbitmqctl close_connection) with exact counts afterwards."""

    def set_env(self, key, value, default):
        """Sets rabbit's `key` (read by connections and channels opened from now on) until the test ends."""
        NODE.ctl("eval", "application:set_env(rabbit, %s, %d)." % (key, value))
        self.addCleanup(lambda: NODE.ctl("eval", "application:set_env(rabbit, %s, %d)." % (key, default)))

    def classic_queue(self, queue, key, exchange="amq.topic"):
        ch = self.channel()
        ch.queue_declare(queue, durable=True, arguments={"x-queue-type": "classic"})
        ch.queue_bind(queue, exchange, routing_key=key)

    def test_headers_exchange_is_11_a_transient_topic_exchange_works_and_standard_types_are_known(self):
        ch = self.channel()
        hx, tx = self.q("x-headers"), self.q("x-transient")
        ch.exchange_declare(hx, exchange_type="headers", durable=True)
        ch.exchange_declare(tx, exchange_type="topic", durable=False)
        status, err = self.pub(["--exchange", hx, "--topic", "a"], self.lines(1))
        self.assertEqual(status, EXIT_REJECTED, err)
        self.assertIn("--exchange %s at" % hx, err)
        self.assertIn("is a headers exchange, not a topic exchange", err)
        self.assertIn("inequivalent arg 'type'", err)
        self.assertIn("nothing was published", err)
        # Not durable, unlike the check's declare: RabbitMQ compares the type
        # first, so its 406 over 'durable' says the type is topic.
        q = self.q("transient")
        d = self.sub(["--queue", q, "--topic", "t.#", "--declare", "--exchange", tx], stdout=DEVNULL)
        self.assertEqual(self.wait_exit(d, 15, "--declare"), EXIT_OK, self.err(d))
        status, err = self.pub(["--exchange", tx, "--topic", "t.1"], b'{"t":1}\n')
        self.assertEqual(status, EXIT_OK, err)
        status, out, err = self.consume(q, ["t.#"], "-c", "1", "--exchange", tx)
        self.assertEqual((status, out), (EXIT_OK, b'{"t":1}\n'), err)
        for name, kind in (("amq.fanout", "fanout"), ("amq.direct", "direct"), ("amq.match", "headers"),
                           ("amq.headers", "headers")):
            status, err = self.pub(["--exchange", name, "--topic", "a"], self.lines(1))
            self.assertEqual(status, EXIT_REJECTED, err)
            self.assertIn("--exchange %s at" % name, err)
            self.assertIn("is a %s exchange" % kind, err)

    def test_without_configure_permission_the_type_goes_unverified_but_nothing_fails(self):
        user = "govstream-limited-%d" % os.getpid()
        NODE.ctl("add_user", user, "pw")
        self.addCleanup(lambda: NODE.ctl("delete_user", user, check=False))
        # configure only on queues named rq.*: the check's exchange.declare is refused (403)
        NODE.ctl("set_permissions", "-p", "/", user, "^rq\\.", ".*", ".*")
        url = "amqp://%s:pw@127.0.0.1:%d/%%2F" % (user, NODE.port)
        tx, fx = self.q("lim-topic"), self.q("lim-fanout")
        ch = self.channel()
        ch.exchange_declare(tx, exchange_type="topic", durable=True)
        ch.exchange_declare(fx, exchange_type="fanout", durable=True)
        q = "rq." + self.q("lim")
        d = self.sub(["-b", url, "--queue", q, "--topic", "l.#", "--declare", "--exchange", tx], broker=False,
                     stdout=DEVNULL)
        self.assertEqual(self.wait_exit(d, 15, "--declare"), EXIT_OK, self.err(d))
        status, err = self.pub(["-b", url, "--exchange", tx, "--topic", "l.1"], b'{"l":1}\n', broker=False)
        self.assertEqual(status, EXIT_OK, err)
        status, err = self.pub(["-b", url, "--topic", "l.2"], b'{"l":2}\n', broker=False)  # amq.topic
        self.assertEqual(status, EXIT_OK, err)
        sub = self.sub(["-b", url, "--queue", q, "--topic", "l.#", "--exchange", tx, "-c", "1"], broker=False)
        out, _ = sub.communicate(timeout=30)
        self.assertEqual((sub.returncode, out), (EXIT_OK, b'{"l":1}\n'), self.err(sub))
        # AMQP's standard exchanges have known types: refused without asking.
        status, err = self.pub(["-b", url, "--exchange", "amq.fanout", "--topic", "x"], b'{"l":3}\n', broker=False)
        self.assertEqual(status, EXIT_REJECTED, err)
        # Documented limit: another type cannot be told apart for this user.
        status, err = self.pub(["-b", url, "--exchange", fx, "--topic", "x"], b'{"l":4}\n', broker=False)
        self.assertEqual(status, EXIT_OK, err)

    def test_a_line_over_max_message_size_after_confirmed_lines_is_counted_exactly(self):
        self.set_env("max_message_size", 65536, 134217728)
        q = self.q("big-exact")
        self.classic_queue(q, "bigx")
        p = self.start_pub(["--topic", "bigx", "--stats"], stdin=PIPE)
        p.stdin.write(self.lines(5))
        p.stdin.flush()
        self.wait_count(q, lambda n: n == 5, what="5")
        time.sleep(0.5)  # their confirmations reach mq-pub
        big = b'{"id":5,"pad":"%s"}\n' % (b"x" * 70000)
        p.stdin.write(big + self.lines(5, start=6))
        p.stdin.close()
        status = self.wait_exit(p, 30, "mq-pub")
        err = self.err(p)
        self.assertEqual(status, EXIT_REFUSED, err)
        self.assertIn("refused the line with sequence number 6 (70017 bytes)", err)
        self.assertIn("max_message_size of 65536 bytes", err)
        self.assertIn("406 PRECONDITION_FAILED - message size 70017 is larger than configured max size 65536", err)
        self.assertEqual(self.summary(err), (5, 11, 1, 5))
        st = json.loads([l for l in err.splitlines() if l.startswith("{")][-1])
        self.assertEqual((st["confirmed"], st["refused"], st["unconfirmed"]), (5, 1, 5))
        # RabbitMQ discarded the lines after the big one: only the 5 confirmed are queued.
        time.sleep(0.3)
        self.assertEqual(self.queue_count(q), 5)

    def test_lines_larger_than_frame_max_are_split_into_frames(self):
        self.set_env("frame_max", 4096, 131072)
        ch = self.channel()  # a connection opened after the change: it was told 4096
        self.assertIn("4096", NODE.ctl("list_connections", "-q", "--no-table-headers", "frame_max"))
        q = self.q("frames")
        self.declare(q, "frames")
        data = b"".join(b'{"id":%d,"pad":"%s"}\n' % (i, b"y" * 60000) for i in range(3))
        status, err = self.pub(["--topic", "frames"], data)
        self.assertEqual(status, EXIT_OK, err)
        status, out, err = self.consume(q, ["frames"], "-c", "3")
        self.assertEqual(status, EXIT_OK, err)
        self.assertEqual(out, data)

    def test_exchange_deleted_while_publishing_is_status_5_and_the_confirmed_lines_are_queued(self):
        x, q = self.q("x-doomed"), self.q("doomed")
        self.channel().exchange_declare(x, exchange_type="topic", durable=True)
        self.classic_queue(q, "d.#", exchange=x)
        p = self.start_pub(["--exchange", x, "--topic", "d.x"], stdin=PIPE)
        p.stdin.write(self.lines(10))
        p.stdin.flush()
        self.wait_count(q, lambda n: n == 10, what="10")
        time.sleep(0.5)
        self.channel().exchange_delete(x)
        status = self.feed_until_exit(p, b'{"late":1}\n')
        err = self.err(p)
        self.assertEqual(status, EXIT_CONNECTION, err)
        self.assertIn("closed the channel while publishing to exchange %s: 404 NOT_FOUND - no exchange '%s'" % (x, x),
                      err)
        self.assertIn("(the exchange was deleted)", err)
        confirmed, lines, refused, unconfirmed = self.summary(err)
        self.assertEqual((confirmed, refused), (10, 0), err)
        self.assertGreaterEqual(unconfirmed, 1, err)
        self.assertEqual(self.queue_count(q), 10)

    def test_close_connection_of_a_publisher_mid_stream_is_status_5_with_exact_counts(self):
        q, name = self.q("closed-pub"), "closeme-%d" % os.getpid()
        self.classic_queue(q, "cc.#")
        p = self.start_pub(["--topic", "cc.x", "--id", name], stdin=PIPE)
        p.stdin.write(self.lines(10))
        p.stdin.flush()
        self.wait_count(q, lambda n: n == 10, what="10")
        time.sleep(0.5)
        NODE.ctl("close_connection", self.connection_pid("mq-pub " + name), "govstream test closes it")
        status = self.feed_until_exit(p, b'{"late":1}\n')
        err = self.err(p)
        self.assertEqual(status, EXIT_CONNECTION, err)
        self.assertIn("closed the connection while publishing to exchange amq.topic: "
                      "320 CONNECTION_FORCED - govstream test closes it", err)
        self.assertIn("rabbitmqctl close_connection", err)
        confirmed, lines, refused, unconfirmed = self.summary(err)
        self.assertEqual((confirmed, refused), (10, 0), err)
        self.assertEqual(self.queue_count(q), 10)

    def test_close_connection_while_consuming_is_status_5_and_the_unacked_go_back(self):
        n, q, name = 2000, self.q("held"), "held-%d" % os.getpid()
        d = self.sub(["--queue", q, "--topic", "held", "--declare", "--queue-type", "classic"], stdout=DEVNULL)
        self.assertEqual(self.wait_exit(d, 15, "--declare"), EXIT_OK, self.err(d))
        status, err = self.pub(["--topic", "held"], self.lines(n, pad=b',"pad":"' + b"p" * 1000 + b'"'))
        self.assertEqual(status, EXIT_OK, err)
        # Nobody reads its output: it blocks with deliveries it has not acknowledged.
        sub = self.sub(["--queue", q, "--topic", "held", "--prefetch", "300", "--name", name, "--queue-type",
                        "classic"])
        pid = self.connection_pid("mq-sub " + name)
        deadline = time.monotonic() + 15
        while True:
            rows = NODE.ctl("list_queues", "-q", "--no-table-headers", "name", "messages_unacknowledged")
            unacked = sum(int(l.split("\t")[1]) for l in rows.splitlines() if l.split("\t")[0] == q)
            if unacked > 0 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        self.assertGreater(unacked, 0)
        time.sleep(1.0)
        NODE.ctl("close_connection", pid, "govstream test closes it")
        out, _ = sub.communicate(timeout=30)
        self.assertEqual(sub.returncode, EXIT_CONNECTION, self.err(sub))
        self.assertIn("closed the connection while consuming queue %s: 320 CONNECTION_FORCED - govstream test "
                      "closes it" % q, self.err(sub))
        written = [json.loads(l)["id"] for l in out.splitlines()]
        self.assertLess(len(written), n)
        # Acknowledged only what it wrote: every other message is back in the queue.
        remaining = self.wait_count(q, lambda k: k >= n - len(written), what="at least %d" % (n - len(written)))
        self.assertLessEqual(remaining, n)
        status, rest, err = self.consume(q, ["held"], "--envelope", "-W", "2s", "--queue-type", "classic")
        envs = envelopes(rest)
        self.assertEqual(len(envs), remaining, err)
        self.assertEqual(sorted(set(written) | {e["payload"]["id"] for e in envs}), list(range(n)))
        dup = set(written) & {e["payload"]["id"] for e in envs}
        self.assertTrue(all(e["redelivered"] for e in envs if e["payload"]["id"] in dup))


class Differential(AmqpTest):
    """The same pipeline, unchanged but for --broker, against mq-broker and
    RabbitMQ: the same output and the same exit statuses."""

    def run_pipeline(self, queue):
        data = b"".join(b'{"status":%d,"i":%d}\n' % (s, i) for i, s in enumerate([200, 500, 404, 500, 503] * 40))
        data += b"garbage\n"
        self.declare(queue, "http.500", "http.503")
        status, err = self.pub(["--topic-from", '"http." + (.status|tostring)', "--mandatory"], data)
        pub_status = status
        status, out, err2 = self.consume(queue, ["http.500", "http.503"], "-c", "120")
        return pub_status, status, out, err

    def test_same_pipeline_same_results_on_both_brokers(self):
        amqp = self.run_pipeline(self.q("diff"))
        self.start_broker()
        zmq = self.run_pipeline("diff")
        # mandatory: the 200/404 lines are refused by both (status 6);
        # the consumer gets the same 120 lines.
        self.assertEqual(amqp[0], zmq[0])
        self.assertEqual(amqp[0], EXIT_REFUSED)
        self.assertEqual(amqp[1:3], zmq[1:3])
        self.assertEqual(len(amqp[2].splitlines()), 120)
        summary = lambda err: [l for l in err.splitlines() if "lines confirmed" in l]
        self.assertEqual(summary(amqp[3]), summary(zmq[3]))


class Tls(AmqpTest):
    def url(self):
        return NODE.amqps_url.replace("127.0.0.1", "localhost")

    def test_amqps_round_trip_with_and_without_a_client_certificate(self):
        q = self.q("tls")
        ca = ["--tls-ca", NODE.ca_file]
        cert = ["--tls-cert", NODE.client_cert, "--tls-key", NODE.client_key]
        d = self.sub(["-b", self.url(), "--queue", q, "--topic", "tls", "--declare"] + ca, broker=False, stdout=DEVNULL)
        self.assertEqual(self.wait_exit(d, 15, "--declare over TLS"), EXIT_OK, self.err(d))
        status, err = self.pub(["-b", self.url(), "--topic", "tls"] + ca + cert, b'{"tls":1}\n', broker=False)
        self.assertEqual(status, EXIT_OK, err)
        status, err = self.pub(["-b", self.url(), "--topic", "tls"] + ca, b'{"tls":2}\n', broker=False)
        self.assertEqual(status, EXIT_OK, err)
        sub = self.sub(["-b", self.url(), "--queue", q, "--topic", "tls", "-c", "2"] + ca, broker=False)
        out, _ = sub.communicate(timeout=30)
        self.assertEqual(sub.returncode, EXIT_OK, self.err(sub))
        self.assertEqual(out, b'{"tls":1}\n{"tls":2}\n')

    def test_an_untrusted_certificate_is_refused(self):
        # The system CA store does not hold the node's private CA.
        status, err = self.pub(["-b", self.url(), "--topic", "tls"], b'{"a":1}\n', broker=False)
        self.assertEqual(status, EXIT_CONNECTION, err)
        self.assertIn("TLS with RabbitMQ", err)
        self.assertIn("verif", err)

    def test_plain_client_on_the_tls_port_and_tls_client_on_the_plain_port_say_so(self):
        plain_on_tls = "amqp://guest:guest@127.0.0.1:%d/" % NODE.amqps_port
        status, err = self.pub(["-b", plain_on_tls, "--topic", "x", "--connect-timeout", "2s"], b'{"a":1}\n',
                               broker=False)
        self.assertEqual(status, EXIT_CONNECTION, err)
        self.assertIn("amqps://", err)
        tls_on_plain = "amqps://guest:guest@localhost:%d/" % NODE.port
        status, err = self.pub(["-b", tls_on_plain, "--topic", "x", "--tls-ca", NODE.ca_file, "--connect-timeout",
                                "2s"], b'{"a":1}\n', broker=False)
        self.assertEqual(status, EXIT_CONNECTION, err)
        self.assertIn("TLS", err)


if __name__ == "__main__":
    sys.exit(run_main(PUB, __name__))
