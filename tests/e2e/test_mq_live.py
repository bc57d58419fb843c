#!/usr/bin/python3
"""Live end-to-end tests of mq-broker, mq-pub and mq-sub on loopback.

Real processes, real sockets: delivery through queues with slow and killed
consumers, a broker killed mid-publish, full queues, plain ZeroMQ clients
(python3-zmq) in both directions, malformed frames and garbage, and the
command-line contract (exit statuses, usage errors, $SYS, | head, --direct).

usage: GOVSTREAM_BIN=build/bin /usr/bin/python3 tests/e2e/test_mq_live.py [-v] [Class.test_name ...]

Needs Debian's python3-zmq (`import zmq`), hence /usr/bin/python3, and `yes`
and `head`.  Every broker binds its endpoints on 127.0.0.1 port '*' and the
tests read the ports from its "listening:" line, so runs never collide.
Every wait is bounded; no test asserts a duration except through such bounds.
Every process a test starts is killed (by its process group) in tearDown,
every socket closed.  Prints the unittest report and, last, exactly one line
"N passed, M failed"; exits 1 if a test failed.
"""

import json
import os
import re
import select
import signal
import socket
import struct
import subprocess
import sys
import time
import unittest

from livetest import BIN_DIR, DEVNULL, PIPE, ProcessTest, run_main

try:
    import zmq
except ImportError:  # reported by the tests that need it, as a failure
    zmq = None

BROKER = os.path.join(BIN_DIR, "mq-broker")
PUB = os.path.join(BIN_DIR, "mq-pub")
SUB = os.path.join(BIN_DIR, "mq-sub")
PYTHON = sys.executable or "/usr/bin/python3"

# Exit statuses (mq-pub/mq-sub --help).
EXIT_OK, EXIT_SKIPPED, EXIT_USAGE, EXIT_CONNECTION, EXIT_REFUSED, EXIT_TIMEOUT, EXIT_INTERRUPTED = 0, 1, 2, 5, 6, 7, 130

# The govstream wire protocol, version 1 (lib/mq/protocol.h): just enough
# of it to play a misbehaving client.
HELLO, WELCOME, PUBLISH, CONFIRM, SUBSCRIBE, SUBSCRIBED, DELIVER, ACK, HEARTBEAT, BYE, ERROR = range(1, 12)
ROLE_PUBLISHER, ROLE_SUBSCRIBER = 1, 2


def header(command, magic=b"GQ", version=1):
    return magic + bytes([version, command])


def hello_body(name, role=ROLE_PUBLISHER):
    name = name.encode()
    return bytes([role, len(name)]) + name


def publish_body(first_seq, messages, count=None, flags=0):
    """first seq u64, timestamp u64, flags u8, count u32, then per message
    topic (u16 length) and payload (u32 length)."""
    out = struct.pack("<QQBI", first_seq, int(time.time() * 1e6), flags,
                      len(messages) if count is None else count)
    for topic, payload in messages:
        out += struct.pack("<H", len(topic)) + topic + struct.pack("<I", len(payload)) + payload
    return out


def subscribe_body(patterns, queue=b"", prefetch=10):
    out = struct.pack("<I", prefetch) + bytes([len(queue)]) + queue + bytes([len(patterns)])
    for p in patterns:
        out += bytes([len(p)]) + p
    return out


def decode_reason(body):
    (n,) = struct.unpack_from("<H", body)
    return body[2:2 + n].decode("utf-8", "replace")


def decode_confirm(body):
    first_seq, count, nref = struct.unpack_from("<QII", body)
    refused = list(struct.unpack_from("<%dI" % nref, body, 16))
    return first_seq, count, refused, decode_reason(body[16 + 4 * nref:])


def lines_of(data):
    return [l for l in data.split(b"\n") if l]


def records(data):
    return [json.loads(l) for l in lines_of(data)]


def free_port():
    """A loopback port that was free a moment ago (for the tests that must
    know a port before anything listens on it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LineReader:
    """Reads lines from a pipe with bounded waits, keeping what is left over."""

    def __init__(self, f):
        self.f = f
        self.fd = f.fileno()
        self.buf = b""
        self.eof = False

    def _fill(self, deadline):
        if self.eof:
            return False
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        ready, _, _ = select.select([self.fd], [], [], left)
        if not ready:
            return False
        chunk = os.read(self.fd, 1 << 16)
        if not chunk:
            self.eof = True
            return False
        self.buf += chunk
        return True

    def line(self, timeout):
        """The next whole line (without newline), or None at timeout / EOF."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            if not self._fill(deadline) and (self.eof or time.monotonic() >= deadline):
                return None
        line, self.buf = self.buf.split(b"\n", 1)
        return line

    def lines(self, n, timeout):
        """Up to n lines, fewer if the timeout or EOF comes first."""
        deadline = time.monotonic() + timeout
        out = []
        while len(out) < n:
            l = self.line(max(0.0, deadline - time.monotonic()))
            if l is None:
                break
            out.append(l)
        return out

    def until(self, pred, timeout):
        """Parses lines as JSON until pred(record) is true: returns that
        record, or None at timeout / EOF."""
        deadline = time.monotonic() + timeout
        while True:
            l = self.line(max(0.0, deadline - time.monotonic()))
            if l is None:
                return None
            rec = json.loads(l)
            if pred(rec):
                return rec

    def rest(self, timeout):
        """Everything up to EOF (or the timeout)."""
        deadline = time.monotonic() + timeout
        while not self.eof and time.monotonic() < deadline:
            self._fill(deadline)
        data, self.buf = self.buf, b""
        return data


class MqTest(ProcessTest):
    """ProcessTest plus a broker on '*' ports and helpers for the clients."""

    def setUp(self):
        super().setUp()
        self.zsockets = []
        self.nfiles = 0
        self.broker = None
        self.eps = {}

    def tearDown(self):
        for s in self.zsockets:
            try:
                s.close(linger=0)
            except Exception:
                pass
        super().tearDown()

    # -- broker -----------------------------------------------------------

    def start_broker(self, *extra, stats="200ms", listen="tcp://127.0.0.1:*", plain=True):
        """Starts mq-broker -v on fresh ports; returns its endpoints by role
        (clients, plain-sub, plain-pub, plain-push)."""
        self.broker_err = self.path("broker.err")
        args = [BROKER, "-v", "--listen", listen, "--stats-interval", stats]
        for opt in ("--sub-listen", "--pub-listen", "--push-listen"):
            args += [opt, "tcp://127.0.0.1:*" if plain else "none"]
        with open(self.broker_err, "wb") as err:
            self.broker = self.spawn(args + list(extra), stdin=DEVNULL, stdout=DEVNULL, stderr=err)
        line = self.wait_log(r"listening: (.*)\n", 10, "the broker's 'listening:' line")
        self.eps = dict(part.split(" ", 1) for part in line.group(1).split(", "))
        self.ep = self.eps["clients"]
        return self.eps

    def log(self):
        with open(self.broker_err, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def wait_log(self, regex, timeout, what):
        deadline = time.monotonic() + timeout
        while True:
            m = re.search(regex, self.log())
            if m:
                return m
            if self.broker.poll() is not None:
                self.fail("mq-broker exited (%s) before %s; stderr:\n%s" % (self.broker.returncode, what, self.log()))
            if time.monotonic() > deadline:
                self.fail("no %s within %.0f s; broker stderr:\n%s" % (what, timeout, self.log()))
            time.sleep(0.02)

    def declare(self, queue, *patterns):
        """mq-sub --declare: the queue exists (and keeps messages) from now on."""
        d = self.sub(["--queue", queue, "--declare"] + [a for p in patterns for a in ("--topic", p)],
                     stdout=DEVNULL)
        self.assertEqual(self.wait_exit(d, 15, "mq-sub --declare"), EXIT_OK, self.err(d))

    def wait_queue(self, name, timeout=10):
        self.wait_log(r"queue '%s' declared" % re.escape(name), timeout, "declaration of queue %s" % name)

    # -- clients ----------------------------------------------------------

    def errfile(self, what):
        self.nfiles += 1
        return self.path("%s-%d.err" % (what, self.nfiles))

    def sub(self, args, stdout=PIPE, broker=True, **kw):
        """Starts mq-sub ARGS (against this broker); stderr goes to a file
        (p.errpath), stdout to a pipe unless told otherwise."""
        path = self.errfile("sub")
        argv = [SUB] + (["-b", self.ep] if broker else []) + list(args)
        with open(path, "wb") as err:
            p = self.spawn(argv, stdin=DEVNULL, stdout=stdout, stderr=err, **kw)
        if hasattr(stdout, "close"):  # a file opened for it: the child has it now
            stdout.close()
        p.errpath = path
        return p

    def start_pub(self, args, data=None, stdin=None, broker=True, **kw):
        """Starts mq-pub ARGS reading `data` (bytes, through a file) or stdin."""
        if data is not None:
            src = self.path("input-%d.ndjson" % (self.nfiles + 1))
            with open(src, "wb") as f:
                f.write(data)
            stdin = open(src, "rb")
        path = self.errfile("pub")
        argv = [PUB] + (["-b", self.ep] if broker else []) + list(args)
        try:
            with open(path, "wb") as err:
                p = self.spawn(argv, stdin=DEVNULL if stdin is None else stdin, stdout=DEVNULL, stderr=err, **kw)
        finally:
            if data is not None:
                stdin.close()
        p.errpath = path
        return p

    def pub(self, args, data=b"", timeout=60, **kw):
        """Runs mq-pub ARGS on `data` to its end; returns (status, stderr)."""
        p = self.start_pub(args, data=data, **kw)
        status = self.wait_exit(p, timeout, "mq-pub " + " ".join(args))
        return status, self.err(p)

    @staticmethod
    def err(p):
        with open(p.errpath, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stats_watcher(self):
        """An mq-sub on $SYS.broker.stats, read through a LineReader."""
        p = self.sub(["--topic", "$SYS.broker.stats"])
        return LineReader(p.stdout)

    def wait_stats(self, watcher, pred, timeout=15, what="stats"):
        rec = watcher.until(pred, timeout)
        if rec is None:
            self.fail("no $SYS.broker.stats record with %s within %.0f s; broker stderr:\n%s"
                      % (what, timeout, self.log()))
        return rec

    def wait_subscribers(self, watcher, n, timeout=15):
        """Waits until the broker counts n fan-out subscribers (the watcher
        itself is one of them)."""
        return self.wait_stats(watcher, lambda r: r["subscribers"] >= n, timeout, "%d subscribers" % n)

    def round_trip(self, tag):
        """A normal mq-pub -> queue -> mq-sub round trip on this broker."""
        q = "rt" + tag
        self.declare(q, "rt.%s" % tag)
        data = b"".join(b'{"rt":"%s","i":%d}\n' % (tag.encode(), i) for i in range(5))
        status, err = self.pub(["--topic", "rt.%s" % tag], data)
        self.assertEqual(status, EXIT_OK, err)
        drain = self.sub(["--queue", q, "--topic", "rt.%s" % tag, "-c", "5"])
        out, _ = drain.communicate(timeout=15)
        self.assertEqual(drain.returncode, EXIT_OK, self.err(drain))
        self.assertEqual(out, data)

    def slow_read(self, p, n, stall_after, stall_s, limit_s=180, tick=None):
        """Reads p's stdout slowly (small reads, pauses) until EOF, with one
        stall of stall_s after stall_after lines; returns the data. Calls
        tick() after each read."""
        fd = p.stdout.fileno()
        chunks, got, stalled = [], 0, False
        deadline = time.monotonic() + limit_s
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 1.0)
            if not ready:
                continue
            chunk = os.read(fd, 16384)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
            got += chunk.count(b"\n")
            if tick:
                tick()
            if not stalled and got >= stall_after:
                stalled = True
                time.sleep(stall_s)
            else:
                time.sleep(0.001)
        self.fail("the subscriber wrote %d of %d lines within %.0f s" % (got, n, limit_s))

    # -- zmq --------------------------------------------------------------

    def zsocket(self, kind):
        if zmq is None:
            self.fail("python3-zmq is not installed (apt install python3-zmq; run with /usr/bin/python3)")
        s = zmq.Context.instance().socket(kind)
        s.setsockopt(zmq.LINGER, 0)
        self.zsockets.append(s)
        return s

    def zrecv(self, s, timeout):
        if s.poll(int(timeout * 1000)) == 0:
            return None
        return s.recv_multipart()

    # -- data -------------------------------------------------------------

    @staticmethod
    def numbered(n, start=0, pad=b""):
        return b"".join(b'{"id":%d%s}\n' % (i, pad) for i in range(start, start + n))


def envelopes(data):
    """Parses --envelope lines; ignores a trailing partial line (a consumer
    killed in the middle of a write)."""
    data = data[:data.rfind(b"\n") + 1]
    return records(data)


class QueueDelivery(MqTest):
    """Queues: everything delivered, in order; nothing lost when a consumer dies."""

    def test_200000_lines_to_a_slow_consumer(self):
        n = 200000
        self.start_broker()
        consumer = self.sub(["--queue", "bulk", "--topic", "bulk.#", "--envelope", "--prefetch", "100",
                             "-c", str(n)])
        self.wait_queue("bulk")
        pub = self.start_pub(["--topic", "bulk.lines", "--id", "bulk-pub"], data=self.numbered(n))
        # The slow consumer is this process: small reads with pauses, and one
        # stall longer than three heartbeats (the broker must not give up on a
        # consumer whose output is blocked).
        out = self.slow_read(consumer, n, n // 4, 4)
        self.assertEqual(self.wait_exit(pub, 60, "mq-pub"), EXIT_OK, self.err(pub))
        self.assertEqual(self.wait_exit(consumer, 30, "mq-sub -c"), EXIT_OK, self.err(consumer))
        envs = records(out)
        self.assertEqual(len(envs), n)
        self.assertEqual([e["payload"]["id"] for e in envs], list(range(n)))
        self.assertEqual([e["seq"] for e in envs], list(range(1, n + 1)))
        self.assertEqual({e["publisher"] for e in envs}, {"bulk-pub"})
        self.assertEqual({e["topic"] for e in envs}, {"bulk.lines"})
        self.assertFalse(any(e["redelivered"] for e in envs), "redeliveries without a consumer failing")
        self.assertRegex(envs[0]["ts"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
        self.assertEqual(self.err(pub), "")

    def test_two_publishers_interleaved_stay_in_order_per_publisher(self):
        n = 20000
        self.start_broker()
        consumer = self.sub(["--queue", "two", "--topic", "two.*", "--envelope", "-c", str(2 * n)])
        self.wait_queue("two")
        a = self.start_pub(["--topic", "two.a", "--id", "pa", "--batch", "100"], data=self.numbered(n))
        b = self.start_pub(["--topic", "two.b", "--id", "pb", "--batch", "100"], data=self.numbered(n))
        out, _ = consumer.communicate(timeout=120)
        self.assertEqual(consumer.returncode, EXIT_OK, self.err(consumer))
        self.assertEqual(self.wait_exit(a, 30), EXIT_OK, self.err(a))
        self.assertEqual(self.wait_exit(b, 30), EXIT_OK, self.err(b))
        envs = records(out)
        for name, topic in (("pa", "two.a"), ("pb", "two.b")):
            mine = [e for e in envs if e["publisher"] == name]
            self.assertEqual([e["seq"] for e in mine], list(range(1, n + 1)), name)
            self.assertEqual([e["payload"]["id"] for e in mine], list(range(n)), name)
            self.assertEqual({e["topic"] for e in mine}, {topic})

    def test_kill_9_consumer_second_consumer_gets_the_rest(self):
        n = 50000
        pad = b',"pad":"' + b"x" * 100 + b'"'
        self.start_broker()
        first = self.sub(["--queue", "work", "--topic", "work.#", "--envelope", "--prefetch", "200",
                          "--name", "first"])
        self.wait_queue("work")
        status, err = self.pub(["--topic", "work.item", "--id", "w"], self.numbered(n, pad=pad))
        self.assertEqual(status, EXIT_OK, err)
        # Read part of its output, then stop reading: it blocks mid-stream
        # (the rest does not fit in the pipe), and dies there.
        reader = LineReader(first.stdout)
        head = reader.lines(2000, 30)
        self.assertEqual(len(head), 2000, "the first consumer wrote %d lines" % len(head))
        time.sleep(0.5)
        self.assertIsNone(first.poll(), "the first consumer finished (it should block on its output)")
        first.kill()
        self.wait_exit(first, 10, "killed consumer")
        out_first = b"\n".join(head) + b"\n" + reader.rest(30)
        env_first = envelopes(out_first)
        self.assertLess(len(env_first), n)
        self.assertFalse(any(e["redelivered"] for e in env_first))

        # The broker notices the death by the missing heartbeats (3 s); the
        # second consumer may by then have taken the rest, so what comes back
        # comes after it (order is per delivery, not across a redelivery).
        second = self.sub(["--queue", "work", "--topic", "work.#", "--envelope", "-W", "5s", "--name", "second"])
        out_second, _ = second.communicate(timeout=120)
        self.assertEqual(second.returncode, EXIT_TIMEOUT, self.err(second))
        env_second = envelopes(out_second)
        ids_first = [e["payload"]["id"] for e in env_first]
        ids_second = [e["payload"]["id"] for e in env_second]
        self.assertEqual(ids_first, list(range(len(ids_first))), "first consumer out of order")
        self.assertEqual(len(ids_second), len(set(ids_second)), "the second consumer got duplicates")
        self.assertEqual(set(ids_first) | set(ids_second), set(range(n)), "messages lost")
        dups = set(ids_first) & set(ids_second)
        redelivered = [e["payload"]["id"] for e in env_second if e["redelivered"]]
        fresh = [e["payload"]["id"] for e in env_second if not e["redelivered"]]
        self.assertTrue(dups <= set(redelivered), "duplicates not marked redelivered: %s"
                        % sorted(dups - set(redelivered))[:10])
        self.assertGreater(len(redelivered), 0, "nothing was redelivered")
        self.assertLessEqual(len(redelivered), 200, "more redelivered than the prefetch allows")
        self.assertEqual(redelivered, sorted(redelivered))
        self.assertEqual(fresh, sorted(fresh))
        self.assertFalse(set(fresh) & set(ids_first), "a message both consumers got is not marked redelivered")

    def test_count_on_a_queue_takes_exactly_n(self):
        # -c 3 with a prefetch of 100: the messages delivered beyond the third
        # are not acknowledged, so they go back to the queue; none is lost.
        self.start_broker()
        self.declare("cnt", "cnt")
        status, err = self.pub(["--topic", "cnt"], self.numbered(10))
        self.assertEqual(status, EXIT_OK, err)
        first = self.sub(["--queue", "cnt", "--topic", "cnt", "-c", "3", "--prefetch", "100"])
        out, _ = first.communicate(timeout=30)
        self.assertEqual(first.returncode, EXIT_OK, self.err(first))
        self.assertEqual(out, self.numbered(3))
        second = self.sub(["--queue", "cnt", "--topic", "cnt", "-W", "1s"])
        out, _ = second.communicate(timeout=30)
        self.assertEqual(second.returncode, EXIT_TIMEOUT, self.err(second))
        self.assertEqual(out, self.numbered(7, start=3))

    def test_overlapping_bindings_store_a_message_once(self):
        self.start_broker()
        self.declare("ov", "a.#", "#.b", "a.b")
        status, err = self.pub(["--topic-from", ".t"], b'{"t":"a.b"}\n{"t":"a.c"}\n{"t":"c.b"}\n{"t":"c.c"}\n')
        self.assertEqual(status, EXIT_OK, err)
        d = self.sub(["--queue", "ov", "--topic", "a.#", "-W", "1s"])
        out, _ = d.communicate(timeout=30)
        self.assertEqual(out, b'{"t":"a.b"}\n{"t":"a.c"}\n{"t":"c.b"}\n')

    def test_consumers_share_a_queue(self):
        n = 10000
        self.start_broker()
        a = self.sub(["--queue", "shared", "--topic", "jobs.#", "--envelope", "--prefetch", "10", "-W", "5s"])
        self.wait_queue("shared")
        b = self.sub(["--queue", "shared", "--topic", "jobs.#", "--envelope", "--prefetch", "10", "-W", "5s"])
        watcher = self.stats_watcher()
        self.wait_stats(watcher, lambda r: r["consumers"] >= 2, what="2 consumers")
        status, err = self.pub(["--topic", "jobs.x"], self.numbered(n))
        self.assertEqual(status, EXIT_OK, err)
        out_a, _ = a.communicate(timeout=60)
        out_b, _ = b.communicate(timeout=60)
        self.assertEqual(a.returncode, EXIT_TIMEOUT, self.err(a))
        self.assertEqual(b.returncode, EXIT_TIMEOUT, self.err(b))
        ids_a = [e["payload"]["id"] for e in records(out_a)]
        ids_b = [e["payload"]["id"] for e in records(out_b)]
        self.assertEqual(sorted(ids_a + ids_b), list(range(n)), "each message to exactly one consumer")
        self.assertGreater(len(ids_a), 0)
        self.assertGreater(len(ids_b), 0)
        self.assertEqual(ids_a, sorted(ids_a))
        self.assertEqual(ids_b, sorted(ids_b))

    def test_consumers_with_the_default_prefetch_take_turns(self):
        # Work-queue semantics: with room for far more than is waiting, a
        # batch is split between the consumers, and single messages alternate.
        self.start_broker()
        a = self.sub(["--queue", "turns", "--topic", "turns", "--envelope", "-W", "3s"])
        self.wait_queue("turns")
        b = self.sub(["--queue", "turns", "--topic", "turns", "--envelope", "-W", "3s"])
        watcher = self.stats_watcher()
        self.wait_stats(watcher, lambda r: r["consumers"] >= 2, what="2 consumers")
        status, err = self.pub(["--topic", "turns"], self.numbered(40))
        self.assertEqual(status, EXIT_OK, err)
        for i in range(40, 50):
            status, err = self.pub(["--topic", "turns"], self.numbered(1, start=i))
            self.assertEqual(status, EXIT_OK, err)
        out_a, _ = a.communicate(timeout=60)
        out_b, _ = b.communicate(timeout=60)
        ids_a = [e["payload"]["id"] for e in records(out_a)]
        ids_b = [e["payload"]["id"] for e in records(out_b)]
        self.assertEqual(sorted(ids_a + ids_b), list(range(50)), "each message to exactly one consumer")
        for ids, who in ((ids_a, "first"), (ids_b, "second")):
            self.assertGreater(len([i for i in ids if i < 40]), 0, "the %s consumer got none of the batch" % who)
            self.assertGreater(len([i for i in ids if i >= 40]), 0,
                               "the %s consumer got none of the single messages" % who)

    def test_sigterm_ends_a_consumer_blocked_on_its_output(self):
        self.start_broker()
        self.declare("blk", "blk")
        status, err = self.pub(["--topic", "blk"], self.numbered(20000, pad=b',"p":"' + b"k" * 200 + b'"'))
        self.assertEqual(status, EXIT_OK, err)
        c = self.sub(["--queue", "blk", "--topic", "blk"])  # nobody reads: it blocks
        watcher = self.stats_watcher()
        self.wait_stats(watcher, lambda r: r["queues"]["blk"]["out"] > 0 and r["consumers"] == 1,
                        what="deliveries to the consumer")
        time.sleep(0.5)
        c.send_signal(signal.SIGTERM)
        self.assertEqual(self.wait_exit(c, 10, "a blocked mq-sub after SIGTERM"), EXIT_INTERRUPTED, self.err(c))
        # Its unacknowledged messages are back in the queue.
        st = self.wait_stats(watcher, lambda r: r["consumers"] == 0 and r["queues"]["blk"]["unacked"] == 0,
                             what="the consumer gone")
        self.assertGreater(st["queues"]["blk"]["depth"], 0)
        self.assertEqual(st["queues"]["blk"]["depth"] + st["queues"]["blk"]["acked"], 20000)

    def test_each_line_is_delivered_at_once(self):
        # A live pipeline: mq-pub's input stays open, and each line reaches
        # mq-sub's output (a pipe) without waiting for more.
        self.start_broker()
        watcher = self.stats_watcher()
        s = self.sub(["--topic", "live.#"])
        reader = LineReader(s.stdout)
        self.wait_subscribers(watcher, 2)
        pub = self.start_pub(["--topic", "live.x"], stdin=PIPE)
        for i in range(3):
            pub.stdin.write(b'{"n":%d}\n' % i)
            pub.stdin.flush()
            self.assertEqual(reader.line(10), b'{"n":%d}' % i, "line %d did not come through while input stays open" % i)
        pub.stdin.close()
        self.assertEqual(self.wait_exit(pub, 10), EXIT_OK, self.err(pub))

    def test_interrupted_consumer_returns_its_messages(self):
        n = 5000
        self.start_broker()
        first = self.sub(["--queue", "intr", "--topic", "intr", "--envelope", "--prefetch", "50"])
        self.wait_queue("intr")
        status, err = self.pub(["--topic", "intr"], self.numbered(n, pad=b',"pad":"' + b"y" * 400 + b'"'))
        self.assertEqual(status, EXIT_OK, err)
        reader = LineReader(first.stdout)
        self.assertEqual(len(reader.lines(100, 30)), 100)
        first.send_signal(signal.SIGINT)
        rest = reader.rest(30)  # it may be blocked writing: keep reading
        self.assertEqual(self.wait_exit(first, 10, "mq-sub after SIGINT"), EXIT_INTERRUPTED, self.err(first))
        second = self.sub(["--queue", "intr", "--topic", "intr", "--envelope", "-W", "2s"])
        out, _ = second.communicate(timeout=60)
        self.assertEqual(second.returncode, EXIT_TIMEOUT, self.err(second))
        n_first = 100 + len(envelopes(rest))
        ids_second = [e["payload"]["id"] for e in envelopes(out)]
        self.assertEqual(set(range(n_first)) | set(ids_second), set(range(n)))


class BrokerFailure(MqTest):
    """The broker dies, stops or refuses: mq-pub says so in its status."""

    COUNTS = re.compile(r"(\d+) of (\d+) lines confirmed, (\d+) refused, (\d+) not confirmed")

    def counts(self, err):
        m = self.COUNTS.search(err)
        self.assertIsNotNone(m, "no 'N of M lines confirmed' line in: %r" % err)
        return tuple(int(x) for x in m.groups())

    def test_broker_killed_mid_publish(self):
        # A fan-out subscriber that reads nothing holds the publisher back
        # (flow control), so the kill comes while batches are unconfirmed.
        n = 1000000
        self.start_broker("--subscriber-buffer", "256K", "--stall-timeout", "120s")
        watcher = self.stats_watcher()
        stuck = self.sub(["--topic", "big.#"])  # its stdout pipe is never read
        self.wait_subscribers(watcher, 2)
        pub = self.start_pub(["--topic", "big.data", "--stats"],
                             data=self.numbered(n, pad=b',"pad":"' + b"z" * 60 + b'"'))
        self.wait_stats(watcher, lambda r: r["held_batches"] > 0, 30, "held_batches > 0")
        os.kill(self.broker.pid, signal.SIGKILL)
        self.wait_exit(self.broker, 10, "killed broker")
        status = self.wait_exit(pub, 30, "mq-pub after the broker was killed")
        err = self.err(pub)
        self.assertEqual(status, EXIT_CONNECTION, err)
        confirmed, lines, refused, unconfirmed = self.counts(err)
        self.assertEqual(refused, 0)
        self.assertGreater(unconfirmed, 0)
        self.assertEqual(confirmed + unconfirmed, lines)
        self.assertLess(confirmed, n)
        self.assertIn(self.ep, err)
        self.assertIn("the rest of the input was not read", err)
        st = json.loads(err.strip().splitlines()[-1])
        self.assertEqual((st["confirmed"], st["unconfirmed"], st["refused"]), (confirmed, unconfirmed, refused))
        self.assertEqual(st["read"], st["confirmed"] + st["unconfirmed"] + st["refused"] + st["skipped"])
        self.assertLessEqual(st["confirmed"], st["sent"])
        self.assertLessEqual(st["sent"], st["read"])
        # The subscriber, blocked on its full output, loses the broker too.
        self.assertEqual(self.wait_exit(stuck, 30, "the stuck subscriber after the broker died"), EXIT_CONNECTION,
                         self.err(stuck))
        self.assertIn("lost the broker", self.err(stuck))

    def test_broker_killed_while_publisher_waits_for_input(self):
        self.start_broker()
        pub = self.start_pub(["--topic", "live.feed"], stdin=PIPE)
        watcher = self.stats_watcher()
        pub.stdin.write(self.numbered(10))
        pub.stdin.flush()
        self.wait_stats(watcher, lambda r: r["messages_in"] >= 10, what="messages_in >= 10")
        os.kill(self.broker.pid, signal.SIGKILL)
        self.wait_exit(self.broker, 10, "killed broker")
        try:
            pub.stdin.write(self.numbered(5, start=10))
            pub.stdin.close()
        except BrokenPipeError:
            pass
        status = self.wait_exit(pub, 30, "mq-pub after the broker was killed")
        err = self.err(pub)
        self.assertEqual(status, EXIT_CONNECTION, err)
        confirmed, lines, refused, unconfirmed = self.counts(err)
        self.assertEqual((confirmed, refused), (10, 0))
        self.assertEqual(confirmed + unconfirmed, lines)
        self.assertEqual(lines, 15)

    def test_broker_sigterm_exits_0_and_subscriber_exits_5_with_reason(self):
        self.start_broker()
        watcher = self.stats_watcher()
        s = self.sub(["--topic", "any.#"])
        self.wait_subscribers(watcher, 2)
        self.broker.send_signal(signal.SIGTERM)
        self.assertEqual(self.wait_exit(self.broker, 10, "mq-broker after SIGTERM"), EXIT_OK, self.log())
        self.assertEqual(self.wait_exit(s, 10, "mq-sub after the broker stopped"), EXIT_CONNECTION)
        err = self.err(s)
        self.assertIn("broker shutting down", err)
        self.assertTrue(err.startswith("mq-sub: "), err)

    def test_broker_stopped_while_its_clients_die_then_sigterm_exits_0(self):
        # After SIGSTOP every client looks expired, and the dead ones cannot
        # be told goodbye: closing them must not free a client twice.
        self.start_broker("--heartbeat", "200ms")
        watcher = self.stats_watcher()
        subs = [self.sub(["--topic", "gone.%d" % i], stdout=DEVNULL) for i in range(4)]
        subs.append(self.sub(["--queue", "goneq", "--topic", "goneq"], stdout=DEVNULL))
        self.wait_stats(watcher, lambda r: r["subscribers"] >= 5 and r["consumers"] >= 1,
                        what="5 subscribers and a consumer")
        os.kill(self.broker.pid, signal.SIGSTOP)
        try:
            for p in subs:
                p.kill()
                p.wait(timeout=10)
            time.sleep(1.0)  # more than 3 heartbeats
        finally:
            os.kill(self.broker.pid, signal.SIGCONT)
        self.wait_log(r"left: (no heartbeat|connection lost)", 10, "the dead clients closed")
        self.round_trip("after")
        self.broker.send_signal(signal.SIGTERM)
        self.assertEqual(self.wait_exit(self.broker, 10, "mq-broker after SIGTERM"), EXIT_OK, self.log())

    def test_broker_sigterm_mid_publish_publisher_exits_5_with_reason(self):
        self.start_broker()
        watcher = self.stats_watcher()
        pub = self.start_pub(["--topic", "t.x"], stdin=PIPE)
        pub.stdin.write(self.numbered(3))
        pub.stdin.flush()
        self.wait_stats(watcher, lambda r: r["messages_in"] >= 3, what="messages_in >= 3")
        self.broker.send_signal(signal.SIGTERM)
        self.assertEqual(self.wait_exit(self.broker, 10), EXIT_OK, self.log())
        try:
            pub.stdin.write(self.numbered(2, start=3))
            pub.stdin.close()
        except BrokenPipeError:
            pass
        status = self.wait_exit(pub, 30, "mq-pub after the broker stopped")
        err = self.err(pub)
        self.assertEqual(status, EXIT_CONNECTION, err)
        self.assertIn("broker shutting down", err)
        confirmed, lines, refused, unconfirmed = self.counts(err)
        self.assertEqual((confirmed, refused, confirmed + unconfirmed), (3, 0, lines))

    def test_broker_stopped_while_input_continues_says_the_rest_was_not_read(self):
        self.start_broker()
        watcher = self.stats_watcher()
        pub = self.start_pub(["--topic", "t.y", "--stats"], stdin=PIPE)
        pub.stdin.write(self.numbered(15))
        pub.stdin.flush()
        self.wait_stats(watcher, lambda r: r["messages_in"] >= 15, what="messages_in >= 15")
        self.broker.send_signal(signal.SIGTERM)
        self.assertEqual(self.wait_exit(self.broker, 10), EXIT_OK, self.log())
        status = self.wait_exit(pub, 30, "mq-pub after the broker stopped")  # its input is still open
        err = self.err(pub)
        self.assertEqual(status, EXIT_CONNECTION, err)
        self.assertEqual(self.counts(err), (15, 15, 0, 0))
        self.assertIn("the rest of the input was not read", err)
        st = json.loads(err.strip().splitlines()[-1])
        self.assertEqual((st["read"], st["sent"], st["confirmed"], st["unconfirmed"]), (15, 15, 15, 0))

    def test_publisher_sigint_waits_for_confirmations(self):
        self.start_broker()
        self.declare("intq", "i")
        pub = self.start_pub(["--topic", "i"], stdin=PIPE)
        pub.stdin.write(self.numbered(1000))
        pub.stdin.flush()
        watcher = self.stats_watcher()
        self.wait_stats(watcher, lambda r: r["messages_in"] >= 1000, what="messages_in >= 1000")
        pub.send_signal(signal.SIGINT)
        status = self.wait_exit(pub, 30, "mq-pub after SIGINT")
        err = self.err(pub)
        self.assertEqual(status, EXIT_INTERRUPTED, err)
        self.assertEqual(self.counts(err), (1000, 1000, 0, 0))
        self.assertIn("interrupted", err)
        self.assertIn("the rest of the input was not read", err)
        d = self.sub(["--queue", "intq", "--topic", "i", "-W", "1s"])
        out, _ = d.communicate(timeout=30)
        self.assertEqual(out, self.numbered(1000))

    def test_broker_sigterm_with_a_held_publisher_and_a_stuck_subscriber(self):
        # Stopping must not wait for a subscriber that reads nothing; the
        # publisher it held back learns why and what was not confirmed.
        self.start_broker("--subscriber-buffer", "256K", "--stall-timeout", "120s")
        watcher = self.stats_watcher()
        stuck = self.sub(["--topic", "held.#"])  # its stdout pipe is never read
        self.wait_subscribers(watcher, 2)
        pub = self.start_pub(["--topic", "held.x"], data=self.numbered(300000, pad=b',"p":"' + b"h" * 60 + b'"'))
        self.wait_stats(watcher, lambda r: r["held_batches"] > 0, 30, "held_batches > 0")
        self.broker.send_signal(signal.SIGTERM)
        self.assertEqual(self.wait_exit(self.broker, 10, "mq-broker after SIGTERM"), EXIT_OK, self.log())
        status = self.wait_exit(pub, 30, "the held mq-pub after the broker stopped")
        err = self.err(pub)
        self.assertEqual(status, EXIT_CONNECTION, err)
        self.assertIn("broker shutting down", err)
        confirmed, lines, refused, unconfirmed = self.counts(err)
        self.assertGreater(unconfirmed, 0)
        self.assertEqual(confirmed + refused + unconfirmed, lines)
        stuck.send_signal(signal.SIGTERM)
        self.assertIn(self.wait_exit(stuck, 10, "the stuck subscriber after SIGTERM"),
                      (EXIT_INTERRUPTED, EXIT_CONNECTION))

    def test_broker_sigint_exits_0(self):
        self.start_broker()
        self.broker.send_signal(signal.SIGINT)
        self.assertEqual(self.wait_exit(self.broker, 10, "mq-broker after SIGINT"), EXIT_OK, self.log())

    def test_broker_sigterm_reports_queued_messages(self):
        self.start_broker()
        self.declare("kept", "kept")
        status, err = self.pub(["--topic", "kept"], self.numbered(7))
        self.assertEqual(status, EXIT_OK, err)
        self.broker.send_signal(signal.SIGTERM)
        self.assertEqual(self.wait_exit(self.broker, 10), EXIT_OK)
        self.assertIn("7 messages in 1 queue (7 waiting for a consumer, 0 delivered but not acknowledged)",
                      self.log())

    def test_confirmations_late_exit_7(self):
        # The broker is stopped (SIGSTOP) after the publisher connected: its
        # confirmations stop, and -W (1 s) ends the run before the heartbeat
        # (3 s) would call the broker lost.
        self.start_broker()
        watcher = self.stats_watcher()
        pub = self.start_pub(["--topic", "late", "-W", "1s"], stdin=PIPE)
        pub.stdin.write(self.numbered(2))
        pub.stdin.flush()
        self.wait_stats(watcher, lambda r: r["messages_in"] >= 2, what="messages_in >= 2")
        os.kill(self.broker.pid, signal.SIGSTOP)
        try:
            pub.stdin.write(self.numbered(3, start=2))
            pub.stdin.close()
            status = self.wait_exit(pub, 20, "mq-pub waiting for confirmations")
        finally:
            os.kill(self.broker.pid, signal.SIGCONT)
        err = self.err(pub)
        self.assertEqual(status, EXIT_TIMEOUT, err)
        self.assertIn("2 of 5 lines confirmed, 0 refused, 3 not confirmed", err)

    def test_queue_at_its_limit_refuses_and_keeps_what_it_accepted(self):
        limit, n = 100, 250
        self.start_broker("--max-queue-messages", str(limit))
        self.declare("small", "small.#")
        status, err = self.pub(["--topic", "small.jobs", "--batch", "10"], self.numbered(n))
        self.assertEqual(status, EXIT_REFUSED, err)
        self.assertEqual(self.counts(err), (limit, n, n - limit, 0))
        self.assertIn("refused", err)
        self.assertIn("--max-queue-messages", err)
        watcher = self.stats_watcher()
        st = self.wait_stats(watcher, lambda r: "small" in r["queues"], what="queue small")
        self.assertEqual(st["queues"]["small"]["depth"], limit)
        self.assertEqual(st["queues"]["small"]["refusals"], n - limit)
        drain = self.sub(["--queue", "small", "--topic", "small.#", "--envelope", "-W", "1s"])
        out, _ = drain.communicate(timeout=30)
        self.assertEqual(drain.returncode, EXIT_TIMEOUT, self.err(drain))
        envs = records(out)
        self.assertEqual([e["payload"]["id"] for e in envs], list(range(limit)))
        self.assertEqual([e["seq"] for e in envs], list(range(1, limit + 1)))
        # Drained: the queue takes messages again.
        status, err = self.pub(["--topic", "small.jobs"], self.numbered(3))
        self.assertEqual(status, EXIT_OK, err)

    def test_queue_byte_limit_refuses(self):
        self.start_broker("--max-queue-bytes", "2K")
        self.declare("bytes", "b")
        data = b"".join(b'{"id":%d,"pad":"%s"}\n' % (i, b"p" * 80) for i in range(100))
        status, err = self.pub(["--topic", "b"], data)
        self.assertEqual(status, EXIT_REFUSED, err)
        confirmed, lines, refused, unconfirmed = self.counts(err)
        self.assertEqual((lines, unconfirmed), (100, 0))
        self.assertGreater(confirmed, 0)
        self.assertGreater(refused, 0)
        self.assertIn("--max-queue-bytes", err)
        drain = self.sub(["--queue", "bytes", "--topic", "b", "-W", "1s"])
        out, _ = drain.communicate(timeout=30)
        self.assertEqual([r["id"] for r in records(out)], list(range(confirmed)))


class FanOut(MqTest):
    """Fan-out subscriptions, patterns, $SYS and the mq-sub/mq-pub contract."""

    def test_two_subscribers_both_get_everything(self):
        n = 20000
        self.start_broker()
        watcher = self.stats_watcher()
        a = self.sub(["--topic", "news.#", "-c", str(n)])
        b = self.sub(["--topic", "news.*.eu", "--topic", "news.sport.#", "-c", str(n)])
        self.wait_subscribers(watcher, 3)
        data = self.numbered(n)
        status, err = self.pub(["--topic", "news.sport.eu"], data)
        self.assertEqual(status, EXIT_OK, err)
        out_a, _ = a.communicate(timeout=60)
        out_b, _ = b.communicate(timeout=60)
        self.assertEqual((a.returncode, b.returncode), (EXIT_OK, EXIT_OK), self.err(a) + self.err(b))
        self.assertEqual(out_a, data)
        self.assertEqual(out_b, data)

    def test_200000_lines_to_a_slow_fanout_subscriber(self):
        # What mosquitto QoS 1 loses: here the publisher is held back to the
        # slow subscriber's pace, and nothing is dropped.
        n = 200000
        self.start_broker("--subscriber-buffer", "1M")
        watcher = self.stats_watcher()
        s = self.sub(["--topic", "fan.#", "-c", str(n)])
        self.wait_subscribers(watcher, 2)
        data = self.numbered(n)
        pub = self.start_pub(["--topic", "fan.out"], data=data)
        out = self.slow_read(s, n, n // 4, 4)
        self.assertEqual(self.wait_exit(pub, 60, "mq-pub"), EXIT_OK, self.err(pub))
        self.assertEqual(self.wait_exit(s, 30, "mq-sub -c"), EXIT_OK, self.err(s))
        self.assertTrue(out == data, "the subscriber got %d of %d lines, or out of order"
                        % (out.count(b"\n"), n))
        self.assertEqual(self.err(pub), "")

    @staticmethod
    def rss_kib(pid):
        try:
            with open("/proc/%d/status" % pid) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1])
        except OSError:
            pass
        return 0

    def test_broker_memory_stays_bounded_with_a_slow_subscriber(self):
        # 100 MB published to a subscriber that pauses: the broker holds the
        # publisher back instead of buffering it all.
        # GOVSTREAM_SANITIZED is set by tests/mq/tests.cmake; run by hand,
        # the binary itself tells.
        with open(BROKER, "rb") as f:
            if os.environ.get("GOVSTREAM_SANITIZED") == "1" or b"__asan_init" in f.read():
                self.skipTest("a sanitizer build: its RSS says nothing about the broker's buffers")
        n = 400000
        self.start_broker("--subscriber-buffer", "4M")
        watcher = self.stats_watcher()
        s = self.sub(["--topic", "mem.#", "-c", str(n)])
        self.wait_subscribers(watcher, 2)
        data = self.numbered(n, pad=b',"pad":"' + b"m" * 230 + b'"')
        pub = self.start_pub(["--topic", "mem.x"], data=data)
        peak = [0]

        def sample():
            peak[0] = max(peak[0], self.rss_kib(self.broker.pid))
        out = self.slow_read(s, n, n // 10, 3, tick=sample)
        self.assertEqual(self.wait_exit(pub, 60, "mq-pub"), EXIT_OK, self.err(pub))
        self.assertEqual(self.wait_exit(s, 30, "mq-sub -c"), EXIT_OK, self.err(s))
        self.assertTrue(out == data, "the subscriber did not get everything in order")
        self.assertGreater(peak[0], 0, "could not read the broker's VmRSS")
        if os.environ.get("GOVSTREAM_SANITIZED") == "1":
            return  # ASan's shadow memory and quarantine make RSS meaningless here
        self.assertLess(peak[0], 80 * 1024, "the broker's RSS reached %d KiB for %d MB of data"
                        % (peak[0], len(data) >> 20))

    def test_stalled_fanout_subscriber_is_cut_off_others_get_everything(self):
        n = 100000
        self.start_broker("--subscriber-buffer", "256K", "--stall-timeout", "2s")
        watcher = self.stats_watcher()
        stuck = self.sub(["--topic", "st.#"])  # not read until the end
        good = self.sub(["--topic", "st.#", "-c", str(n)], stdout=open(self.path("good.out"), "wb"))
        self.wait_subscribers(watcher, 3)
        data = self.numbered(n, pad=b',"pad":"' + b"s" * 50 + b'"')
        status, err = self.pub(["--topic", "st.x"], data, timeout=120)
        self.assertEqual(status, EXIT_OK, err)
        self.assertEqual(self.wait_exit(good, 60, "the good subscriber"), EXIT_OK, self.err(good))
        with open(self.path("good.out"), "rb") as f:
            self.assertTrue(f.read() == data, "the good subscriber did not get everything in order")
        st = self.wait_stats(watcher, lambda r: r["slow_subscribers_disconnected"] >= 1,
                             what="a slow subscriber disconnected")
        self.assertEqual(st["slow_subscribers_disconnected"], 1)
        self.assertIn("fell behind", self.log())
        # Read by now, the stuck one learns it was cut off: status 5, the
        # reason, and what it wrote is a gapless prefix.
        out = LineReader(stuck.stdout).rest(60)
        self.assertEqual(self.wait_exit(stuck, 30, "the cut-off subscriber"), EXIT_CONNECTION, self.err(stuck))
        self.assertIn("fell behind", self.err(stuck))
        self.assertTrue(data.startswith(out), "the cut-off subscriber's output is not a prefix of the input")
        self.assertLess(len(out), len(data))

    def test_ipc_endpoints(self):
        ep = "ipc://" + self.path("broker.sock")
        self.start_broker(listen=ep, plain=False)
        self.assertEqual(self.ep, ep)
        self.assertEqual(set(self.eps), {"clients"})
        self.round_trip("ipc")

    def test_patterns_route_per_subscriber(self):
        self.start_broker()
        watcher = self.stats_watcher()
        subs = {pat: self.sub(["--topic", pat, "-W", "5s", "--envelope"])
                for pat in ("http.*", "http.#", "http.*.api", "#", "*.500")}
        self.wait_subscribers(watcher, 1 + len(subs))
        data = b"".join(b'{"t":"%s"}\n' % t for t in (b"http.200", b"http.500", b"http.500.api", b"http.404.web.x"))
        status, err = self.pub(["--topic-from", ".t"], data)
        self.assertEqual(status, EXIT_OK, err)
        want = {"http.*": ["http.200", "http.500"],
                "http.#": ["http.200", "http.500", "http.500.api", "http.404.web.x"],
                "http.*.api": ["http.500.api"],
                "#": ["http.200", "http.500", "http.500.api", "http.404.web.x"],
                "*.500": ["http.500"]}
        for pat, p in subs.items():
            out, _ = p.communicate(timeout=30)
            self.assertEqual(p.returncode, EXIT_TIMEOUT, self.err(p))
            self.assertEqual([e["topic"] for e in records(out)], want[pat], pat)

    def test_topic_from_routes_per_record(self):
        self.start_broker()
        self.declare("http", "http.#")
        data = b'{"status":200}\n{"status":500}\n{"status":404}\n{"status":500,"x":1}\n'
        status, err = self.pub(["--topic-from", '"http." + (.status|tostring)'], data)
        self.assertEqual(status, EXIT_OK, err)
        drain = self.sub(["--queue", "http", "--topic", "http.#", "--envelope", "-c", "4"])
        out, _ = drain.communicate(timeout=30)
        self.assertEqual(drain.returncode, EXIT_OK, self.err(drain))
        self.assertEqual([(e["topic"], e["payload"]) for e in records(out)],
                         [("http.200", {"status": 200}), ("http.500", {"status": 500}),
                          ("http.404", {"status": 404}), ("http.500", {"status": 500, "x": 1})])

    def test_topic_from_without_a_string_skips_the_record(self):
        self.start_broker()
        self.declare("tf", "#")
        data = b'{"t":"ok.one"}\n{"t":5}\n{"u":1}\n{"t":"bad..topic"}\n{"t":"ok.two"}\n'
        status, err = self.pub(["--topic-from", ".t"], data)
        self.assertEqual(status, EXIT_SKIPPED, err)
        for line in (":2:", ":3:", ":4:"):
            self.assertIn("<stdin>" + line, err)
        drain = self.sub(["--queue", "tf", "--topic", "#", "--envelope", "-W", "1s"])
        out, _ = drain.communicate(timeout=30)
        self.assertEqual([e["topic"] for e in records(out)], ["ok.one", "ok.two"])

    def test_sys_stats_only_for_sys_patterns(self):
        self.start_broker()
        everything = self.sub(["--topic", "#", "-W", "1500ms"])
        star = self.sub(["--topic", "*.broker.stats", "-W", "1500ms"])
        sys_sub = self.sub(["--topic", "$SYS.#", "-c", "2"])
        out, _ = sys_sub.communicate(timeout=30)
        self.assertEqual(sys_sub.returncode, EXIT_OK, self.err(sys_sub))
        recs = records(out)
        self.assertEqual(len(recs), 2)
        for key in ("ts", "publishers", "subscribers", "consumers", "messages_in", "delivered", "refused",
                    "latency_ms", "malformed", "oversized", "foreign_in", "foreign_rejected", "queues"):
            self.assertIn(key, recs[0])
        for p, what in ((everything, "#"), (star, "*.broker.stats")):
            out, _ = p.communicate(timeout=30)
            self.assertEqual(p.returncode, EXIT_TIMEOUT, "%s: %s" % (what, self.err(p)))
            self.assertEqual(out, b"", "%s saw $SYS messages" % what)

    def test_sys_stats_per_queue(self):
        self.start_broker()
        self.declare("metrics", "m")
        status, err = self.pub(["--topic", "m"], self.numbered(42))
        self.assertEqual(status, EXIT_OK, err)
        watcher = self.stats_watcher()
        st = self.wait_stats(watcher, lambda r: r["queues"].get("metrics", {}).get("in") == 42, what="42 in")
        q = st["queues"]["metrics"]
        for key in ("depth", "unacked", "consumers", "in_per_sec", "out_per_sec", "redeliveries", "refusals"):
            self.assertIn(key, q)
        self.assertEqual((q["depth"], q["unacked"], q["consumers"]), (42, 0, 0))
        self.assertGreaterEqual(st["messages_in"], 42)

    def test_count_exits_0(self):
        self.start_broker()
        watcher = self.stats_watcher()
        s = self.sub(["--topic", "c.#", "-c", "3"])
        self.wait_subscribers(watcher, 2)
        status, err = self.pub(["--topic", "c.x"], self.numbered(10))
        self.assertEqual(status, EXIT_OK, err)
        out, _ = s.communicate(timeout=30)
        self.assertEqual(s.returncode, EXIT_OK, self.err(s))
        self.assertEqual(out, self.numbered(3))

    def test_idle_timeout_exits_7(self):
        self.start_broker()
        s = self.sub(["--topic", "quiet.#", "-W", "500ms"])
        out, _ = s.communicate(timeout=30)
        self.assertEqual(s.returncode, EXIT_TIMEOUT, self.err(s))
        self.assertEqual(out, b"")
        self.assertIn("mq-sub: ", self.err(s))

    def test_sub_into_head_exits_promptly(self):
        self.start_broker()
        watcher = self.stats_watcher()
        s = self.sub(["--topic", "h.#"])
        head = self.spawn(["head", "-1"], stdin=s.stdout, stdout=PIPE)
        s.stdout.close()
        self.wait_subscribers(watcher, 2)
        yes = self.spawn(["yes", '{"h":1}'], stdout=PIPE, stderr=DEVNULL)
        pub = self.start_pub(["--topic", "h.x"], stdin=yes.stdout)
        yes.stdout.close()
        try:
            first, _ = head.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            self.fail("head -1 got no line within 20 s")
        self.assertEqual(first, b'{"h":1}\n')
        self.assertEqual(self.wait_exit(s, 5, "mq-sub after head exited"), EXIT_OK, self.err(s))
        self.assertEqual(self.err(s), "")
        self.assertIsNone(pub.poll(), "mq-pub stopped: %s" % self.err(pub))

    def into_head(self, sub):
        """Connects sub's stdout to `head -1`; returns head."""
        head = self.spawn(["head", "-1"], stdin=sub.stdout, stdout=PIPE)
        sub.stdout.close()
        return head

    def head_line(self, head):
        try:
            first, _ = head.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            self.fail("head -1 got no line within 20 s")
        return first

    def test_idle_sub_into_head_exits_without_another_message(self):
        # One message, then silence: mq-sub notices that head exited while
        # it waits for the broker, not only at its next write.
        self.start_broker()
        watcher = self.stats_watcher()
        s = self.sub(["--topic", "idle.#"])
        head = self.into_head(s)
        self.wait_subscribers(watcher, 2)
        status, err = self.pub(["--topic", "idle.x"], b'{"once":1}\n')
        self.assertEqual(status, EXIT_OK, err)
        self.assertEqual(self.head_line(head), b'{"once":1}\n')
        self.assertEqual(self.wait_exit(s, 10, "idle mq-sub after head exited"), EXIT_OK, self.err(s))
        self.assertEqual(self.err(s), "")

    def test_idle_queue_consumer_into_head_exits(self):
        self.start_broker()
        self.declare("hq", "hq")
        status, err = self.pub(["--topic", "hq"], self.numbered(3))
        self.assertEqual(status, EXIT_OK, err)
        s = self.sub(["--queue", "hq", "--topic", "hq"])
        head = self.into_head(s)
        self.assertEqual(self.head_line(head), self.numbered(1))
        self.assertEqual(self.wait_exit(s, 10, "idle queue consumer after head exited"), EXIT_OK, self.err(s))
        self.assertEqual(self.err(s), "")
        # What head never read was acknowledged all the same (mq-sub wrote
        # it); -c N is how to take exactly N from a queue: the rest stays.
        self.declare("hc", "hc")
        status, err = self.pub(["--topic", "hc"], self.numbered(5))
        self.assertEqual(status, EXIT_OK, err)
        s = self.sub(["--queue", "hc", "--topic", "hc", "-c", "2"])
        head = self.into_head(s)
        self.assertEqual(self.head_line(head), self.numbered(1))
        self.assertEqual(self.wait_exit(s, 10, "mq-sub -c 2 into head"), EXIT_OK, self.err(s))
        d = self.sub(["--queue", "hc", "--topic", "hc", "-W", "1s"])
        out, _ = d.communicate(timeout=30)
        self.assertEqual(out, self.numbered(3, start=2))

    def test_idle_direct_sub_into_head_exits(self):
        ep = "tcp://127.0.0.1:%d" % free_port()
        s = self.sub(["--direct", ep, "--topic", "d.#"], broker=False)
        head = self.into_head(s)
        pub = self.start_pub(["--listen", ep, "--topic", "d.x", "--connect-timeout", "20s"], stdin=PIPE,
                             broker=False)
        # At most once: repeat the line until head has it (a publisher that
        # sends before the subscription is in place loses it).
        deadline = time.monotonic() + 20
        while head.poll() is None and time.monotonic() < deadline:
            try:
                pub.stdin.write(b'{"d":1}\n')
                pub.stdin.flush()
            except BrokenPipeError:
                break
            time.sleep(0.1)
        self.assertEqual(self.head_line(head), b'{"d":1}\n')
        self.assertEqual(self.wait_exit(s, 10, "idle mq-sub --direct after head exited"), EXIT_OK, self.err(s))
        self.assertEqual(self.err(s), "")
        pub.stdin.close()
        self.assertEqual(self.wait_exit(pub, 30, "mq-pub --listen"), EXIT_OK, self.err(pub))

    def listen_file(self, n):
        src = self.path("app.ndjson")
        data = self.numbered(n, pad=b',"app":"x"')
        with open(src, "wb") as f:
            f.write(data)
        return src, data

    def test_listen_sends_a_whole_file_to_a_running_subscriber(self):
        # The README's no-broker example: the subscriber is already running
        # when a publisher with a finite file starts; every line arrives.
        n = 2000
        ep = "tcp://127.0.0.1:%d" % free_port()
        src, data = self.listen_file(n)
        s = self.sub(["--direct", ep, "--topic", "logs.#"], broker=False)
        status, err = self.pub(["--listen", ep, "--topic", "logs.app", "-i", src, "--stats"], broker=False,
                               timeout=30)
        self.assertEqual(status, EXIT_OK, err)
        got = LineReader(s.stdout).lines(n, 30)
        self.assertEqual(b"".join(l + b"\n" for l in got), data, "mq-sub --direct got %d of %d lines" % (len(got), n))
        s.send_signal(signal.SIGINT)
        self.assertEqual(self.wait_exit(s, 10, "mq-sub --direct after SIGINT"), EXIT_INTERRUPTED, self.err(s))
        st = json.loads(err.strip().splitlines()[-1])
        self.assertEqual((st["read"], st["sent"], st["confirmed"], st["refused"], st["skipped"]), (n, n, 0, 0, 0))
        self.assertEqual(st["read"], st["confirmed"] + st["unconfirmed"] + st["refused"] + st["skipped"])
        self.assertEqual(st["bytes_in"], len(data))

    def test_listen_publisher_started_first_waits_for_its_subscriber(self):
        n = 500
        ep = "tcp://127.0.0.1:%d" % free_port()
        src, data = self.listen_file(n)
        pub = self.start_pub(["--listen", ep, "--topic", "logs.app", "-i", src, "--connect-timeout", "30s"],
                             broker=False)
        s = self.sub(["--direct", ep, "--topic", "logs.#", "-c", str(n)], broker=False)
        out, _ = s.communicate(timeout=30)
        self.assertEqual((s.returncode, out), (EXIT_OK, data), self.err(s))
        self.assertEqual(self.wait_exit(pub, 30, "mq-pub --listen"), EXIT_OK, self.err(pub))

    def test_listen_without_a_subscriber_exits_5(self):
        ep = "tcp://127.0.0.1:%d" % free_port()
        src, _ = self.listen_file(10)
        status, err = self.pub(["--listen", ep, "--topic", "logs.app", "-i", src, "--connect-timeout", "300ms"],
                               broker=False, timeout=30)
        self.assertEqual(status, EXIT_CONNECTION, err)
        self.assertIn("no subscriber", err)
        self.assertIn(ep, err)
        self.assertIn("nothing was published", err)

    def test_direct_mode_round_trip(self):
        port = free_port()
        ep = "tcp://127.0.0.1:%d" % port
        s = self.sub(["--direct", ep, "--topic", "d.#"], broker=False)
        pub = self.start_pub(["--listen", ep, "--topic-from", ".t"], stdin=PIPE, broker=False)
        reader = LineReader(s.stdout)
        # At most once, and the subscriber joins late: probe until it hears us.
        deadline = time.monotonic() + 20
        while True:
            pub.stdin.write(b'{"t":"d.probe"}\n')
            pub.stdin.flush()
            line = reader.line(0.2)
            if line is not None:
                break
            if time.monotonic() > deadline:
                self.fail("mq-sub --direct heard nothing within 20 s: %s %s" % (self.err(s), self.err(pub)))
        pub.stdin.write(b"".join(b'{"t":"d.real","i":%d}\n' % i for i in range(5)) + b'{"t":"other","i":9}\n')
        pub.stdin.flush()
        got = []
        deadline = time.monotonic() + 20
        while len(got) < 5 and time.monotonic() < deadline:
            line = reader.line(1)
            if line is not None and b"d.real" in line:
                got.append(json.loads(line)["i"])
        self.assertEqual(got, list(range(5)))
        pub.stdin.close()
        self.assertEqual(self.wait_exit(pub, 10, "mq-pub --listen"), EXIT_OK, self.err(pub))
        s.send_signal(signal.SIGINT)
        self.assertEqual(self.wait_exit(s, 10, "mq-sub --direct after SIGINT"), EXIT_INTERRUPTED)
        self.assertNotIn(b'"other"', reader.rest(5))


class PublisherContract(MqTest):
    """mq-pub: input edge cases, the broker's absence, usage errors."""

    def queue_with(self, name, pattern="#"):
        self.declare(name, pattern)

    def drain(self, name, pattern="#", wait="1s"):
        d = self.sub(["--queue", name, "--topic", pattern, "-W", wait])
        out, _ = d.communicate(timeout=30)
        self.assertEqual(d.returncode, EXIT_TIMEOUT, self.err(d))
        return out

    def test_empty_input_exits_0(self):
        self.start_broker()
        self.queue_with("e")
        status, err = self.pub(["--topic", "e"], b"")
        self.assertEqual((status, err), (EXIT_OK, ""))
        self.assertEqual(self.drain("e"), b"")

    def test_last_line_without_newline_is_published(self):
        self.start_broker()
        self.queue_with("nl")
        status, err = self.pub(["--topic", "nl"], b'{"a":1}\n{"a":2}')
        self.assertEqual((status, err), (EXIT_OK, ""))
        self.assertEqual(self.drain("nl"), b'{"a":1}\n{"a":2}\n')

    def test_invalid_lines_are_skipped_and_not_published(self):
        self.start_broker()
        self.queue_with("bad")
        data = b'{"a":1}\nnot json\n{"a":2}\n{"a":\n[1,2]\n'
        status, err = self.pub(["--topic", "bad"], data)
        self.assertEqual(status, EXIT_SKIPPED, err)
        self.assertIn("<stdin>:2:", err)
        self.assertIn("<stdin>:4:", err)
        self.assertEqual(self.drain("bad"), b'{"a":1}\n{"a":2}\n[1,2]\n')

    def test_strict_stops_at_the_first_bad_line(self):
        self.start_broker()
        self.queue_with("strict")
        status, err = self.pub(["--topic", "strict", "--strict"], b'{"a":1}\nnope\n{"a":2}\n')
        self.assertEqual(status, 3, err)
        self.assertNotIn(b'{"a":2}', self.drain("strict"))

    def test_mandatory_refuses_unroutable_lines(self):
        self.start_broker()
        status, err = self.pub(["--topic", "nobody.listens", "--mandatory"], self.numbered(4))
        self.assertEqual(status, EXIT_REFUSED, err)
        self.assertIn("0 of 4 lines confirmed, 4 refused", err)
        # Without --mandatory an unroutable line is confirmed (and counted).
        status, err = self.pub(["--topic", "nobody.listens"], self.numbered(2))
        self.assertEqual((status, err), (EXIT_OK, ""))
        self.queue_with("mand", "somebody.#")
        status, err = self.pub(["--topic", "somebody.listens", "--mandatory"], self.numbered(3))
        self.assertEqual((status, err), (EXIT_OK, ""))
        self.assertEqual(self.drain("mand", "somebody.#"), self.numbered(3))
        watcher = self.stats_watcher()
        self.wait_stats(watcher, lambda r: r["unroutable"] >= 4, what="unroutable >= 4")

    def test_declare_then_queue_keeps_messages(self):
        self.start_broker()
        self.declare("later", "later.#")
        status, err = self.pub(["--topic", "later.x"], self.numbered(10))
        self.assertEqual(status, EXIT_OK, err)
        self.assertEqual(self.drain("later", "later.#"), self.numbered(10))
        # Declaring again is idempotent and keeps what is stored.
        status, err = self.pub(["--topic", "later.y"], self.numbered(2))
        self.assertEqual(status, EXIT_OK, err)
        self.declare("later", "later.#")
        self.assertEqual(self.drain("later", "later.#"), self.numbered(2))

    def test_stats_summary(self):
        self.start_broker()
        data = self.numbered(10)
        status, err = self.pub(["--topic", "s", "--stats"], data)
        self.assertEqual(status, EXIT_OK, err)
        summary = json.loads(err.strip().splitlines()[-1])
        self.assertEqual((summary["confirmed"], summary["unconfirmed"], summary["refused"]), (10, 0, 0))
        self.assertEqual((summary["read"], summary["sent"], summary["skipped"]), (10, 10, 0))
        self.assertEqual(summary["bytes_in"], len(data))
        # From -i FILE, with a bad line and a blank one.
        src = self.path("stats.ndjson")
        with open(src, "wb") as f:
            f.write(data + b"not json\n\n" + data)
        status, err = self.pub(["--topic", "s", "--stats", "-i", src])
        self.assertEqual(status, EXIT_SKIPPED, err)
        summary = json.loads(err.strip().splitlines()[-1])
        self.assertEqual(summary["bytes_in"], 2 * len(data) + len(b"not json\n\n"))
        self.assertEqual((summary["read"], summary["sent"], summary["confirmed"], summary["skipped"],
                          summary["unconfirmed"], summary["bad_lines"]), (21, 20, 20, 1, 0, 1))

    def test_broker_not_running_exits_5(self):
        ep = "tcp://127.0.0.1:%d" % free_port()
        status, err = self.pub(["--topic", "t", "-b", ep, "--connect-timeout", "1s"], self.numbered(3),
                               timeout=20, broker=False)
        self.assertEqual(status, EXIT_CONNECTION, err)
        self.assertIn(ep, err)
        self.assertIn("mq-broker", err)
        self.assertIn("nothing was published (the input was not read)", err)

    def test_sub_broker_not_running_exits_5(self):
        ep = "tcp://127.0.0.1:%d" % free_port()
        s = self.sub(["--topic", "t", "-b", ep, "--connect-timeout", "1s"], broker=False)
        self.assertEqual(self.wait_exit(s, 20), EXIT_CONNECTION)
        self.assertIn(ep, self.err(s))

    def test_publisher_started_before_the_broker(self):
        port = free_port()
        ep = "tcp://127.0.0.1:%d" % port
        pub = self.start_pub(["--topic", "early", "-b", ep, "--connect-timeout", "20s"], data=self.numbered(100),
                             broker=False)
        time.sleep(1)
        self.assertIsNone(pub.poll(), "mq-pub gave up before its --connect-timeout: %s" % self.err(pub))
        self.start_broker(listen=ep)
        self.assertEqual(self.ep, ep)
        self.assertEqual(self.wait_exit(pub, 30, "mq-pub after the broker came up"), EXIT_OK, self.err(pub))
        watcher = self.stats_watcher()
        self.wait_stats(watcher, lambda r: r["messages_in"] == 100, what="messages_in == 100")

    def test_5mb_line_round_trip(self):
        self.start_broker()
        self.queue_with("huge")
        line = b'{"big":"' + b"b" * (5 << 20) + b'"}\n'
        data = b'{"a":1}\n' + line + b'{"a":2}\n'
        status, err = self.pub(["--topic", "huge"], data)
        self.assertEqual((status, err), (EXIT_OK, ""))
        d = self.sub(["--queue", "huge", "--topic", "#", "-c", "3"])
        out, _ = d.communicate(timeout=60)
        self.assertEqual(d.returncode, EXIT_OK, self.err(d))
        self.assertTrue(out == data, "the 5 MiB line did not come through intact")

    def test_oversized_line_is_refused_by_the_publisher(self):
        self.start_broker("--max-message-bytes", "1K")
        self.queue_with("ov")
        data = b'{"a":1}\n{"big":"' + b"x" * 2000 + b'"}\n{"a":2}\n'
        status, err = self.pub(["--topic", "ov"], data)
        self.assertEqual(status, EXIT_REFUSED, err)
        self.assertEqual(self.drain("ov"), b'{"a":1}\n{"a":2}\n')

    def test_usage_errors_exit_2(self):
        cases = [
            [SUB, "--topic", "a.b*"],
            [SUB, "--topic", "a..b"],
            [SUB],
            [SUB, "--topic", "a", "--prefetch", "0"],
            [SUB, "--topic", "a", "-c", "0"],
            [SUB, "--topic", "a", "-b", "http://127.0.0.1:1"],
            [SUB, "--topic", "a", "--queue", "bad name"],
            [SUB, "--topic", "a", "--direct", "tcp://127.0.0.1:1", "--queue", "q"],
            [SUB, "--topic", "a", "--no-such-option"],
            [PUB],
            [PUB, "--topic", "a", "--topic-from", ".t"],
            [PUB, "--topic", "a.*"],
            [PUB, "--topic", "a", "-b", "bogus"],
            [PUB, "--topic-from", ".a |"],
            [PUB, "--topic", "a", "--batch", "0"],
            [BROKER, "--listen", "bogus://x"],
            [BROKER, "--sub-listen", "tcp://"],
            [BROKER, "--heartbeat", "0s"],
        ]
        for argv in cases:
            with self.subTest(argv=argv[1:]):
                p = self.spawn(argv, stdin=DEVNULL, stdout=PIPE, stderr=PIPE)
                try:
                    out, err = p.communicate(timeout=10)
                except subprocess.TimeoutExpired:
                    self.fail("still running after 10 s")
                self.assertEqual(p.returncode, EXIT_USAGE, err)
                self.assertEqual(out, b"")
                self.assertTrue(err.startswith(os.path.basename(argv[0]).encode() + b": "), err)

    def test_broker_port_in_use_exits_5(self):
        self.start_broker()
        p = self.spawn([BROKER, "--listen", self.ep, "--sub-listen", "none", "--pub-listen", "none",
                        "--push-listen", "none"], stdin=DEVNULL, stdout=DEVNULL, stderr=PIPE)
        _, err = p.communicate(timeout=10)
        self.assertEqual(p.returncode, EXIT_CONNECTION, err)


class PlainZeroMQ(MqTest):
    """Interop with python3-zmq clients, both directions."""

    def test_the_brokers_own_stats_are_not_counted_as_traffic(self):
        # Read $SYS.broker.stats on the plain XPUB endpoint, so that no
        # govstream subscriber matches them: the broker's own messages must
        # count neither as messages_in nor as unroutable.
        self.start_broker(stats="100ms")
        zsub = self.zsocket(zmq.SUB if zmq else None)
        zsub.setsockopt(zmq.SUBSCRIBE, b"$SYS.broker.stats")
        zsub.connect(self.eps["plain-sub"])
        seen = []
        deadline = time.monotonic() + 15
        while len(seen) < 5 and time.monotonic() < deadline:
            m = self.zrecv(zsub, 2)
            if m is not None:
                seen.append(json.loads(m[1]))
        self.assertEqual(len(seen), 5, "5 stats records within 15 s; broker stderr:\n" + self.log())
        for rec in seen:
            self.assertEqual((rec["messages_in"], rec["in_per_sec"], rec["unroutable"]), (0, 0, 0), rec)
        self.assertGreaterEqual(seen[-1]["xpub_forwarded"], 1)

    def test_plain_sub_receives_from_mq_pub(self):
        self.start_broker()
        watcher = self.stats_watcher()
        zsub = self.zsocket(zmq.SUB if zmq else None)
        zsub.setsockopt(zmq.SUBSCRIBE, b"alerts.")
        zsub.connect(self.eps["plain-sub"])
        self.wait_stats(watcher, lambda r: r["xpub_subscriptions"] >= 1, what="an XPUB subscription")
        data = self.numbered(100)
        status, err = self.pub(["--topic-from", '"alerts." + .k'],
                               b"".join(b'{"k":"%s","id":%d}\n' % (b"db" if i % 2 else b"web", i)
                                        for i in range(100)))
        self.assertEqual(status, EXIT_OK, err)
        status, err = self.pub(["--topic", "other.x"], data)
        self.assertEqual(status, EXIT_OK, err)
        got = []
        while len(got) < 100:
            m = self.zrecv(zsub, 10)
            if m is None:
                break
            got.append(m)
        self.assertEqual(len(got), 100)
        for i, frames in enumerate(got):
            self.assertEqual(len(frames), 2, frames)
            topic, payload = frames
            want = b"db" if i % 2 else b"web"
            self.assertEqual(topic, b"alerts." + want)
            self.assertEqual(json.loads(payload), {"k": want.decode(), "id": i})
        self.assertIsNone(self.zrecv(zsub, 0.5), "a message outside the prefix subscription arrived")

    def test_plain_sub_that_does_not_read_holds_nobody_back(self):
        # Plain SUB is at most once: what it cannot take is dropped and
        # counted, while publishers and mq-sub subscribers carry on.
        n = 300000
        self.start_broker()
        watcher = self.stats_watcher()
        zsub = self.zsocket(zmq.SUB if zmq else None)
        zsub.setsockopt(zmq.RCVHWM, 100)
        zsub.setsockopt(zmq.RCVBUF, 65536)
        zsub.setsockopt(zmq.SUBSCRIBE, b"flood")
        zsub.connect(self.eps["plain-sub"])
        good = self.sub(["--topic", "flood", "-c", str(n)], stdout=open(self.path("good.out"), "wb"))
        self.wait_stats(watcher, lambda r: r["xpub_subscriptions"] >= 1 and r["subscribers"] >= 2,
                        what="the plain and the mq-sub subscriber")
        data = self.numbered(n, pad=b',"pad":"' + b"f" * 200 + b'"')
        status, err = self.pub(["--topic", "flood"], data, timeout=120)
        self.assertEqual(status, EXIT_OK, err)
        self.assertEqual(self.wait_exit(good, 60, "mq-sub"), EXIT_OK, self.err(good))
        with open(self.path("good.out"), "rb") as f:
            self.assertTrue(f.read() == data, "the mq-sub subscriber did not get everything in order")
        st = self.wait_stats(watcher, lambda r: r["messages_in"] >= n, what="messages_in >= %d" % n)
        self.assertEqual(st["xpub_forwarded"] + st["xpub_dropped"], n)
        self.assertGreater(st["xpub_dropped"], 0)
        self.assertIn("xpub_dropped", self.log())

    def test_plain_pub_and_push_reach_mq_sub(self):
        self.start_broker()
        watcher = self.stats_watcher()
        s = self.sub(["--topic", "ext.#", "--envelope"])
        reader = LineReader(s.stdout)
        self.wait_subscribers(watcher, 2)
        # PUSH queues until connected: nothing is lost.
        push = self.zsocket(zmq.PUSH if zmq else None)
        push.connect(self.eps["plain-push"])
        for i in range(50):
            push.send_multipart([b"ext.push", b'{"via":"push","i":%d}' % i])
        envs = [json.loads(l) for l in reader.lines(50, 20)]
        self.assertEqual([(e["topic"], e["payload"]["i"]) for e in envs], [("ext.push", i) for i in range(50)])
        self.assertEqual({e["publisher"] for e in envs}, {"zmq-push"})
        # PUB drops until connected (slow joiner): probe until one arrives.
        zpub = self.zsocket(zmq.PUB if zmq else None)
        zpub.connect(self.eps["plain-pub"])
        deadline = time.monotonic() + 20
        while True:
            zpub.send_multipart([b"ext.probe", b'{"probe":true}'])
            line = reader.line(0.2)
            if line is not None:
                break
            if time.monotonic() > deadline:
                self.fail("nothing from a plain PUB arrived within 20 s")
        for i in range(50):
            zpub.send_multipart([b"ext.pub", b'{"via":"pub","i":%d}' % i])
        got = []
        deadline = time.monotonic() + 20
        while len(got) < 50 and time.monotonic() < deadline:
            line = reader.line(1)
            if line is None:
                continue
            e = json.loads(line)
            if e["topic"] == "ext.pub":
                got.append(e)
        self.assertEqual([e["payload"]["i"] for e in got], list(range(50)))
        self.assertEqual({e["publisher"] for e in got}, {"zmq-pub"})
        self.assertEqual([e["seq"] for e in got], sorted(e["seq"] for e in got))

    def test_invalid_foreign_payloads_are_rejected_and_counted(self):
        self.start_broker("--max-message-bytes", "1K")
        watcher = self.stats_watcher()
        s = self.sub(["--topic", "ext.#"])
        reader = LineReader(s.stdout)
        self.wait_subscribers(watcher, 2)
        push = self.zsocket(zmq.PUSH if zmq else None)
        push.connect(self.eps["plain-push"])
        bad = [
            [b"ext.bad", b"not json"],
            [b"ext.bad", b'{"a":1}\n{"b":2}'],
            [b"ext.bad", b'{"a":1}', b'{"b":2}'],
            [b"ext.bad"],
            [b"bad..topic", b'{"a":1}'],
            [b"ext.bad", b""],
            [b"ext.bad", b'{"a":'],
            [b"ext.bad", b'{"x":"' + b"x" * 2000 + b'"}'],
        ]
        for i, frames in enumerate(bad):
            push.send_multipart([b"ext.ok", b'{"ok":%d}' % i])
            push.send_multipart(frames)
        push.send_multipart([b"ext.ok", b'{"ok":%d}' % len(bad)])
        lines = reader.lines(len(bad) + 1, 20)
        self.assertEqual([json.loads(l) for l in lines], [{"ok": i} for i in range(len(bad) + 1)])
        self.assertIsNone(reader.line(0.5), "a rejected message was delivered")
        st = self.wait_stats(watcher, lambda r: r["foreign_in"] >= 2 * len(bad) + 1, what="every foreign message")
        self.assertEqual(st["foreign_in"], 2 * len(bad) + 1)
        self.assertEqual(st["foreign_rejected"], len(bad))
        self.assertEqual(st["oversized"], 1)
        # One from a plain PUB too (once it is connected).
        zpub = self.zsocket(zmq.PUB if zmq else None)
        zpub.connect(self.eps["plain-pub"])
        deadline = time.monotonic() + 20
        while reader.line(0.2) is None:
            zpub.send_multipart([b"ext.probe", b"{}"])
            if time.monotonic() > deadline:
                self.fail("nothing from a plain PUB arrived within 20 s")
        zpub.send_multipart([b"ext.bad", b"garbage"])
        self.wait_stats(watcher, lambda r: r["foreign_rejected"] == len(bad) + 1, what="the PUB rejection")
        self.assertIn("rejected a message from a plain ZeroMQ", self.log())
        self.round_trip("foreign")


class Garbage(MqTest):
    """Malformed frames, oversized messages and garbage: the broker keeps serving."""

    def dealer(self, name="evil"):
        d = self.zsocket(zmq.DEALER if zmq else None)
        d.connect(self.ep)
        return d

    def hello(self, d, name="evil"):
        d.send_multipart([header(HELLO), hello_body(name)])
        reply = self.zrecv(d, 10)
        self.assertIsNotNone(reply, "no WELCOME")
        self.assertEqual(reply[0], header(WELCOME))

    def expect(self, d, command, timeout=10):
        """Returns the body of the next non-heartbeat reply, checking its command."""
        deadline = time.monotonic() + timeout
        while True:
            reply = self.zrecv(d, max(0.0, deadline - time.monotonic()))
            self.assertIsNotNone(reply, "no reply within %.0f s" % timeout)
            if reply[0] != header(HEARTBEAT):
                break
        self.assertEqual(reply[0], header(command), reply)
        return reply[1] if len(reply) > 1 else b""

    def test_raw_tcp_garbage(self):
        self.start_broker()
        host, port = self.ep[len("tcp://"):].rsplit(":", 1)
        junk = [b"GET / HTTP/1.0\r\n\r\n", os.urandom(4096), b"\xff" + b"\x00" * 8 + b"\x7f" + os.urandom(200),
                b"\xff\x00\x00\x00\x00\x00\x00\x00\x01\x7f\x03\x00NULL" + b"\x00" * 44 + b"\x04\xff\xff\xff\xff"]
        for data in junk:
            with socket.create_connection((host, int(port)), timeout=5) as c:
                try:
                    c.sendall(data)
                    c.settimeout(1)
                    c.recv(4096)
                except OSError:
                    pass
        self.assertIsNone(self.broker.poll(), "the broker died: " + self.log())
        self.round_trip("tcp")
        watcher = self.stats_watcher()
        self.wait_stats(watcher, lambda r: r["handshake_failures"] >= 1, what="a failed handshake counted")

    def test_bad_commands_get_error_and_are_counted(self):
        self.start_broker("--max-message-bytes", "64K")
        watcher = self.stats_watcher()
        d = self.dealer()
        # Before HELLO: refused (state), answered with ERROR.
        d.send_multipart([header(PUBLISH), publish_body(1, [(b"t", b"{}")])])
        self.assertIn("not allowed", decode_reason(self.expect(d, ERROR)))
        self.hello(d)
        malformed = [
            [header(PUBLISH, magic=b"XQ"), b""],
            [header(PUBLISH, version=2), publish_body(1, [(b"t", b"{}")])],
            [header(0x63)],
            [b"GQ\x01"],
            [header(WELCOME), b"\x00" * 12],
            [header(PUBLISH), b"\x01\x02\x03\x04\x05"],
            [header(PUBLISH), publish_body(1, [(b"t", b"{}")], count=1000)],
            [header(PUBLISH), publish_body(1, [(b"t", b"{}")])[:-1]],
            [header(PUBLISH), publish_body(1, [(b"t", b"{}")]) + b"x"],
            [header(PUBLISH), publish_body(1, [(b"a..b", b"{}")])],
            [header(PUBLISH), publish_body(1, [])],
            [header(PUBLISH), publish_body(1, [(b"t", b"{}")], flags=0x80)],
            [header(HELLO), b"\x03\x01x"],
            [header(HELLO), b"\x01\x00"],
            [header(HELLO), b"\x01\x05ab"],
            [header(HEARTBEAT), b"x"],
            [header(SUBSCRIBE), subscribe_body([b"a.b*"])],
            [header(SUBSCRIBE), subscribe_body([b"a"], prefetch=0)],
            [header(SUBSCRIBE), subscribe_body([])],
            [header(ACK), b"\x01\x00\x00\x00\xff\xff\xff\xff"],
            [header(BYE), b"\x10\x00short"],
        ]
        for frames in malformed:
            with self.subTest(frames=frames[0]):
                d.send_multipart(frames)
                reason = decode_reason(self.expect(d, ERROR))
                self.assertNotEqual(reason, "")
        # Out of place (well-formed): refused, not malformed.
        d.send_multipart([header(HELLO), hello_body("again")])
        self.assertIn("not allowed", decode_reason(self.expect(d, ERROR)))
        d.send_multipart([header(ACK), struct.pack("<II", 1, 0)])
        self.assertIn("not allowed", decode_reason(self.expect(d, ERROR)))
        # Too many frames: counted (no ERROR: not a command at all).
        d.send_multipart([header(PUBLISH), b"a", b"b"])
        # The same session still publishes.
        d.send_multipart([header(PUBLISH), publish_body(1, [(b"ok", b'{"fine":1}')])])
        first_seq, count, refused, _ = decode_confirm(self.expect(d, CONFIRM))
        self.assertEqual((first_seq, count, refused), (1, 1, []))
        # An oversized message inside a batch: refused by index, counted.
        d.send_multipart([header(PUBLISH), publish_body(2, [(b"ok", b'{"a":1}'),
                                                            (b"ok", b'{"x":"' + b"x" * 70000 + b'"}'),
                                                            (b"ok", b'{"a":3}')])])
        first_seq, count, refused, reason = decode_confirm(self.expect(d, CONFIRM))
        self.assertEqual((first_seq, count, refused), (2, 3, [1]))
        self.assertIn("--max-message-bytes", reason)
        n_malformed = len(malformed) + 1
        st = self.wait_stats(watcher, lambda r: r["malformed"] >= n_malformed and r["oversized"] >= 1,
                             what="%d malformed" % n_malformed)
        self.assertEqual(st["malformed"], n_malformed)
        self.assertEqual(st["oversized"], 1)
        self.assertGreaterEqual(st["refused_commands"], 3)
        self.assertIsNone(self.broker.poll())
        self.round_trip("cmds")

    def test_raw_client_payloads_that_are_not_json(self):
        self.check_raw_payloads([b"not json", b'{"a":'])

    def test_raw_client_payloads_that_are_not_one_line(self):
        self.check_raw_payloads([b'{"a":1}\n{"b":2}', b""])

    def test_count_counts_written_messages(self):
        # -c N: "--count messages were written"; a skipped payload is not one.
        self.start_broker()
        self.declare("rawc", "raw")
        d = self.dealer()
        self.hello(d, "rawc")
        msgs = [b'{"ok":1}', b'{"a":1}\n{"b":2}', b'{"ok":2}', b'{"ok":3}']
        d.send_multipart([header(PUBLISH), publish_body(1, [(b"raw", m) for m in msgs])])
        self.expect(d, CONFIRM)
        s = self.sub(["--queue", "rawc", "--topic", "raw", "-c", "2"])
        out, _ = s.communicate(timeout=30)
        self.assertEqual(s.returncode, EXIT_SKIPPED, self.err(s))
        self.assertEqual(out, b'{"ok":1}\n{"ok":2}\n')

    def check_raw_payloads(self, bad):
        # mq-pub only sends valid lines; a raw client can send anything. What
        # is not one NDJSON line never reaches a subscriber's output silently.
        self.start_broker()
        self.declare("raw", "raw")
        d = self.dealer()
        self.hello(d, "raw")
        msgs = [b'{"ok":1}'] + bad + [b'{"ok":2}']
        d.send_multipart([header(PUBLISH), publish_body(1, [(b"raw", m) for m in msgs])])
        first_seq, count, refused, reason = decode_confirm(self.expect(d, CONFIRM))
        self.assertEqual((first_seq, count), (1, len(msgs)))
        s = self.sub(["--queue", "raw", "--topic", "raw", "-W", "1s"])
        out, _ = s.communicate(timeout=30)
        err = self.err(s)
        self.assertEqual(s.returncode, EXIT_TIMEOUT, err)
        self.assertEqual(out, b'{"ok":1}\n{"ok":2}\n')
        if refused:  # the broker refused them: fine, it said so
            self.assertEqual(refused, list(range(1, len(bad) + 1)), reason)
        else:  # mq-sub skipped and reported each
            self.assertEqual(err.count("skipped"), len(bad), err)

    def test_unknown_peer_with_a_bad_header_is_counted(self):
        self.start_broker()
        watcher = self.stats_watcher()
        d = self.dealer()
        d.send_multipart([b"hello?"])
        d.send_multipart([b"\x00" * 4, b"x" * 100])
        self.wait_stats(watcher, lambda r: r["malformed"] >= 2, what="2 malformed")
        self.round_trip("anon")

    def test_frame_larger_than_the_limit_drops_the_connection_only(self):
        self.start_broker("--max-message-bytes", "64K")
        d = self.dealer()
        self.hello(d)
        # Larger than any frame the broker accepts (ZMQ_MAXMSGSIZE): the
        # connection is dropped, the broker goes on.
        watcher = self.stats_watcher()
        d.send_multipart([header(PUBLISH), publish_body(1, [(b"big", b"x" * (3 << 20))])])
        self.wait_stats(watcher, lambda r: r["disconnections"] >= 1, what="the connection dropped")
        self.assertIsNone(self.broker.poll(), "the broker died: " + self.log())
        self.round_trip("big")
        # A well-behaved client sending just under the limit still works.
        self.declare("edge", "edge")
        line = b'{"x":"' + b"y" * (64 * 1024 - 10) + b'"}\n'
        status, err = self.pub(["--topic", "edge"], line)
        self.assertEqual(status, EXIT_OK, err)
        drain = self.sub(["--queue", "edge", "--topic", "edge", "-c", "1"])
        out, _ = drain.communicate(timeout=30)
        self.assertEqual(out, line)

    def test_frame_larger_than_the_limit_is_counted(self):
        # A frame over ZMQ_MAXMSGSIZE: ZeroMQ closes that connection; the
        # broker notices (monitor + probe), counts the client as dropped and
        # says so on stderr, and keeps serving others.
        self.start_broker("--max-message-bytes", "64K")
        watcher = self.stats_watcher()
        d = self.dealer()
        self.hello(d, "too-big")
        d.send_multipart([header(PUBLISH), publish_body(1, [(b"big", b"x" * (3 << 20))])])
        st = self.wait_stats(watcher, lambda r: r["dropped_connections"] >= 1, what="the client counted as dropped")
        self.assertEqual(st["dropped_connections"], 1, st)
        self.assertIn("too-big", self.log())
        self.round_trip("after-big")

    def test_silent_peer_is_expired(self):
        self.start_broker("--heartbeat", "500ms")
        watcher = self.stats_watcher()
        d = self.dealer()
        self.hello(d, "silent")
        d.send_multipart([header(SUBSCRIBE), subscribe_body([b"q"], queue=b"silentq", prefetch=5)])
        self.expect(d, SUBSCRIBED)
        # Never answers heartbeats: gone after 3 intervals, told with BYE.
        reason = decode_reason(self.expect(d, BYE, timeout=15))
        self.assertIn("heartbeat", reason)
        self.wait_stats(watcher, lambda r: r["expired_peers"] >= 1, what="an expired peer")

    def test_stopped_consumer_is_expired_and_its_messages_redelivered(self):
        self.start_broker("--heartbeat", "500ms")
        first = self.sub(["--queue", "stop", "--topic", "stop", "--envelope", "--prefetch", "5"],
                         stdout=DEVNULL)
        self.wait_queue("stop")
        os.kill(first.pid, signal.SIGSTOP)
        status, err = self.pub(["--topic", "stop"], self.numbered(20))
        self.assertEqual(status, EXIT_OK, err)
        second = self.sub(["--queue", "stop", "--topic", "stop", "--envelope", "-W", "3s"])
        out, _ = second.communicate(timeout=60)
        os.kill(first.pid, signal.SIGCONT)
        envs = records(out)
        self.assertEqual(sorted(e["payload"]["id"] for e in envs), list(range(20)))
        self.assertTrue(any(e["redelivered"] for e in envs), "the stopped consumer's messages were not redelivered")
        self.assertEqual(self.wait_exit(first, 15, "the stopped consumer after SIGCONT"), EXIT_CONNECTION)


if __name__ == "__main__":
    sys.exit(run_main(BROKER, __name__))
