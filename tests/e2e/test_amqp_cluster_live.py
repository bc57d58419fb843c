#!/usr/bin/python3
"""Live end-to-end test past one machine: mq-pub into a quorum queue on a
three-node RabbitMQ cluster (tests/e2e/rabbitmq.py RabbitCluster: three node
names, AMQP and distribution ports on 127.0.0.1, one private epmd and cookie)
while the queue's leader node is killed with kill -9 mid-publish.

  - mq-pub connected to the leader loses its connection: exit status 5, and
    its summary and --stats count the lines not confirmed;
  - mq-pub connected to a follower keeps its connection while the queue
    elects a new leader: exit status 0, every line confirmed;
  - either way every confirmed line is consumed (mq-sub) from a surviving
    node, and nothing is consumed that was not read by mq-pub. mq-pub
    confirms batches in order (lib/mq/publish.cc: a confirmation must be for
    the oldest batch in flight), so the `confirmed` lines are the first
    `confirmed` ids.

The cluster is started once (setUpModule) and the killed node is restarted
(same name, ports and database) before the next test.

usage: GOVSTREAM_BIN=build/bin /usr/bin/python3 tests/e2e/test_amqp_cluster_live.py [-v] [Class.test_name ...]
Prints "N passed, M failed" last.
"""

import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from livetest import DEVNULL, run_main
from test_mq_live import EXIT_OK, EXIT_TIMEOUT, PUB, MqTest

import rabbitmq

try:
    import pika
except ImportError:  # reported by every test
    pika = None

EXIT_CONNECTION = 5
SANITIZED = os.environ.get("GOVSTREAM_SANITIZED", "").upper() in ("1", "ON", "TRUE")
LINES = 50000 if SANITIZED else 200000
KILL_AT = LINES // 5  # messages in the queue when the leader is killed
CLUSTER = None
CLUSTER_ERROR = None
COUNTS = re.compile(r"(\d+) of (\d+) lines confirmed, (\d+) refused, (\d+) not confirmed")


def setUpModule():
    global CLUSTER, CLUSTER_ERROR
    if not rabbitmq.installed():
        CLUSTER_ERROR = "rabbitmq-server is not installed (scripts/install-deps)"
        return
    try:
        CLUSTER = rabbitmq.RabbitCluster(3)
        CLUSTER.start()
        print("rabbitmq cluster of %s started in %.1f s"
              % (", ".join(nd.nodename for nd in CLUSTER.nodes), CLUSTER.start_seconds), file=sys.stderr)
    except Exception as e:  # every test then fails with this reason
        CLUSTER_ERROR = "the RabbitMQ cluster did not start: %s" % e
        CLUSTER = None


def tearDownModule():
    if CLUSTER is not None:
        CLUSTER.stop()
        left = CLUSTER.pids()
        assert not left, "RabbitMQ processes outlived stop(): %s" % left


class ClusterTest(MqTest):
    def setUp(self):
        super().setUp()
        if CLUSTER is None:
            self.fail(CLUSTER_ERROR)
        if pika is None:
            self.fail("python3-pika is not installed (scripts/install-deps; run with /usr/bin/python3)")
        # A node killed by the test before: back, on its database, before this one.
        down = [nd for nd in CLUSTER.nodes if nd.beam_pid() is None]
        for nd in down:
            nd.restart()
        if down:
            CLUSTER.wait_running(CLUSTER.names, 60)
        self.ep = CLUSTER.nodes[0].url
        self.tag = self.id().rsplit(".", 1)[-1][5:35]

    def counter(self, node, queue):
        """A function giving the queue's message count, through one pika connection to `node`."""
        conn = pika.BlockingConnection(pika.URLParameters(node.url))
        self.addCleanup(lambda: conn.is_open and conn.close())
        ch = conn.channel()
        return lambda: ch.queue_declare(queue, passive=True).method.message_count

    def wait_leader(self, queue, survivors, timeout=60):
        """The queue's leader once it is one of `survivors` (names), as a survivor reports it."""
        via = CLUSTER.node(survivors[0])
        deadline = time.monotonic() + timeout
        info = None
        while time.monotonic() < deadline:
            try:
                info = CLUSTER.queue_info(queue, via=via)
            except rabbitmq.RabbitMQError as e:
                info = str(e)
            if isinstance(info, dict) and info.get("leader") in survivors:
                return info
            time.sleep(0.5)
        self.fail("queue %s has no leader among %s after %d s: %s" % (queue, survivors, timeout, info))

    def kill_leader_mid_publish(self, pub_on_leader):
        """Declares a quorum queue on all three nodes, publishes LINES lines
        through the leader's or a follower's node, kills the leader with
        kill -9 once KILL_AT of them are queued, consumes the queue from a
        survivor. Returns (status, stderr, stats, consumed ids, leader, pub node)."""
        q, topic = "%s.q" % self.tag, "cluster.%s" % self.tag
        # mq-sub --declare on node 1: the queue gets a member on every node of the cluster.
        d = self.sub(["--queue", q, "--topic", topic, "--declare", "--queue-type", "quorum"], stdout=DEVNULL)
        self.assertEqual(self.wait_exit(d, 30, "mq-sub --declare --queue-type quorum"), EXIT_OK, self.err(d))
        info = CLUSTER.queue_info(q)
        self.assertEqual(info["type"], "quorum", info)
        self.assertEqual(sorted(info["members"]), sorted(CLUSTER.names), info)
        leader = CLUSTER.node(info["leader"])
        followers = [nd for nd in CLUSTER.nodes if nd is not leader]
        pub_node = leader if pub_on_leader else followers[0]
        watch_node = followers[-1]  # neither killed nor (for the follower test) the publisher's

        data = b"".join(b'{"id":%d}\n' % i for i in range(LINES))
        t0 = time.monotonic()
        pub = self.start_pub(["-b", pub_node.url, "--topic", topic, "--stats"], data=data, broker=False)
        count = self.counter(watch_node, q)
        deadline = time.monotonic() + 120
        queued = 0
        while queued < KILL_AT:
            self.assertIsNone(pub.poll(), "mq-pub exited (%s) before the kill, with %d of %d lines queued:\n%s"
                              % (pub.returncode, queued, LINES, self.err(pub)))
            self.assertLess(time.monotonic(), deadline, "only %d lines queued after 120 s" % queued)
            time.sleep(0.05)
            queued = count()
        self.assertIsNone(pub.poll(), "mq-pub ended before the kill")
        CLUSTER.kill9(leader)
        t_kill = time.monotonic() - t0
        status = self.wait_exit(pub, 120, "mq-pub after the leader was killed")
        t_pub = time.monotonic() - t0
        err = self.err(pub)
        st = json.loads(err.strip().splitlines()[-1])

        survivors = [nd.nodename for nd in followers]
        after = self.wait_leader(q, survivors)
        self.assertEqual(sorted(after["members"]), sorted(CLUSTER.names), after)
        consumer_node = CLUSTER.node(after["leader"]) if pub_on_leader else watch_node
        p = self.sub(["-b", consumer_node.url, "--queue", q, "--topic", topic, "-W", "3s"], broker=False)
        out, _ = p.communicate(timeout=300)
        self.assertEqual(p.returncode, EXIT_TIMEOUT, self.err(p))  # -W 3s: the queue was drained
        ids = [json.loads(line)["id"] for line in out.splitlines()]
        consumed = set(ids)
        print("\n%s: mq-pub on %s (%s), leader %s killed at %.1f s with %d lines queued; mq-pub exited %d "
              "at %.1f s: read %d, sent %d, confirmed %d, unconfirmed %d, refused %d; new leader %s; "
              "consumed %d (%d distinct, %d duplicates) from %s"
              % (self.tag, pub_node.nodename, "the leader" if pub_on_leader else "a follower", leader.nodename,
                 t_kill, queued, status, t_pub, st["read"], st["sent"], st["confirmed"], st["unconfirmed"],
                 st["refused"], after["leader"], len(ids), len(consumed), len(ids) - len(consumed),
                 consumer_node.nodename), file=sys.stderr)

        # The summary line and --stats agree, and account for every line read.
        if status == EXIT_OK:
            self.assertEqual(st["read"], LINES, err)
        self.assertEqual(st["refused"], 0, err)
        if status != EXIT_OK:
            m = COUNTS.search(err)
            self.assertIsNotNone(m, "no 'N of M lines confirmed' line in: %r" % err)
            confirmed, lines, refused, unconfirmed = (int(x) for x in m.groups())
            self.assertEqual((confirmed, refused, unconfirmed), (st["confirmed"], st["refused"], st["unconfirmed"]))
            self.assertEqual(confirmed + refused + unconfirmed, lines)
        self.assertEqual(st["confirmed"] + st["unconfirmed"] + st["refused"] + st["skipped"], st["read"])
        self.assertLessEqual(st["confirmed"], st["sent"])
        # Every confirmed line is there (the first `confirmed` ids), and
        # nothing that mq-pub did not read.
        missing = set(range(st["confirmed"])) - consumed
        self.assertEqual(missing, set(), "%d confirmed lines lost, e.g. %s" % (len(missing), sorted(missing)[:10]))
        extra = consumed - set(range(st["read"]))
        self.assertEqual(extra, set(), "consumed ids that mq-pub never read: %s" % sorted(extra)[:10])
        return status, err, st, consumed, leader, pub_node


class LeaderKilled(ClusterTest):
    def test_1_publisher_on_the_leader_loses_it_exit_5_and_confirmed_lines_survive(self):
        status, err, st, consumed, leader, _ = self.kill_leader_mid_publish(pub_on_leader=True)
        # Its connection died with the node: status 5, with the endpoint, and
        # the lines not confirmed counted.
        self.assertEqual(status, EXIT_CONNECTION, err)
        self.assertIn("127.0.0.1:%d" % leader.port, err)
        self.assertGreater(st["unconfirmed"], 0, err)
        self.assertLess(st["confirmed"], LINES)
        self.assertIn("the rest of the input was not read", err)

    def test_2_publisher_on_a_follower_goes_on_exit_0_and_every_line_is_consumed(self):
        status, err, st, consumed, _, _ = self.kill_leader_mid_publish(pub_on_leader=False)
        # Its node survived and the queue elected a new leader: every line
        # was confirmed, and the consumed set is exactly the published set.
        self.assertEqual(status, EXIT_OK, err)
        self.assertEqual((st["confirmed"], st["unconfirmed"], st["refused"]), (LINES, 0, 0), err)
        self.assertEqual(consumed, set(range(LINES)))


if __name__ == "__main__":
    sys.exit(run_main(PUB, __name__))
