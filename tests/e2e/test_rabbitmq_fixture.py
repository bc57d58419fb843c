#!/usr/bin/python3
"""The private RabbitMQ node of tests/e2e/rabbitmq.py: it starts, takes and
gives a message with pika over amqp:// and over amqps:// (with and without a
client certificate), and stop() leaves no process of the node behind.

usage: /usr/bin/python3 tests/e2e/test_rabbitmq_fixture.py [-v]   (Debian's python3-pika)

Skipped (not failed) when rabbitmq-server or pika is not installed
(scripts/install-deps installs both). Ends with the `N passed, M failed` line.
"""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rabbitmq  # noqa: E402

try:
    import pika
except ImportError:
    pika = None


def cmdlines():
    out = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/cmdline", "rb") as f:
                    out[int(d)] = f.read().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                pass
    return out


class RabbitMQFixtureTest(unittest.TestCase):
    # A missing package fails (scripts/install-deps installs both): a skip
    # would hide a missing install step in CI.
    @classmethod
    def setUpClass(cls):
        assert rabbitmq.installed(), "rabbitmq-server is not installed (scripts/install-deps)"
        assert pika, "python3-pika is not installed (scripts/install-deps; run with /usr/bin/python3)"
        cls.node = rabbitmq.RabbitMQ(tls=True).start()
        print(f"\nrabbitmq: {cls.node.nodename} started in {cls.node.start_seconds:.2f} s "
              f"(amqp {cls.node.port}, amqps {cls.node.amqps_port})", file=sys.stderr)

    @classmethod
    def tearDownClass(cls):
        cls.node.stop()

    def round_trip(self, params, queue):
        conn = pika.BlockingConnection(params)
        try:
            ch = conn.channel()
            ch.confirm_delivery()
            ch.queue_declare(queue, durable=True, arguments={"x-queue-type": "quorum"})
            ch.basic_publish("", queue, b'{"n":1}', pika.BasicProperties(delivery_mode=2), mandatory=True)
            method, _, body = ch.basic_get(queue, auto_ack=False)
            self.assertIsNotNone(method, "no message in the queue")
            ch.basic_ack(method.delivery_tag)
            self.assertEqual(body, b'{"n":1}')
        finally:
            conn.close()

    def tls_params(self, client_cert):
        ctx = self.node.ssl_context(client_cert=client_cert)
        return pika.ConnectionParameters(self.node.host, self.node.amqps_port,
                                         ssl_options=pika.SSLOptions(ctx, "localhost"))

    def test_1_plain(self):
        self.round_trip(pika.URLParameters(self.node.url), "fixture-plain")

    def test_2_tls_client_cert(self):
        self.round_trip(self.tls_params(True), "fixture-tls")

    def test_3_tls_no_client_cert(self):
        self.round_trip(self.tls_params(False), "fixture-tls-anon")

    def test_4_listens_on_loopback_only(self):
        for port in (self.node.port, self.node.amqps_port, self.node.epmd_port, self.node.dist_port):
            with open("/proc/net/tcp") as f:
                rows = [ln.split() for ln in f.readlines()[1:]]
            mine = [r[1] for r in rows if r[3] == "0A" and int(r[1].split(":")[1], 16) == port]
            self.assertEqual(mine, [f"0100007F:{port:04X}"], f"port {port}")

    def test_9_stop_leaves_nothing(self):
        node, pids = self.node, self.node.pids()
        self.assertGreaterEqual(len(pids), 2, "epmd and beam run in the node's group")
        marks = (node.nodename.split("@")[0], f"-port {node.epmd_port}")
        self.assertTrue(any(m in c for c in cmdlines().values() for m in marks))
        directory = node.dir
        node.stop()
        alive = {p: c for p, c in cmdlines().items() if any(m in c for m in marks)}
        self.assertEqual(alive, {}, "processes of the node survived stop()")
        self.assertEqual([p for p in pids if os.path.exists(f"/proc/{p}")], [])
        self.assertFalse(os.path.exists(directory))
        node.stop()  # idempotent


if __name__ == "__main__":
    result = unittest.main(exit=False, verbosity=2 if "-v" in sys.argv else 1).result
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    print(f"{result.testsRun - failed - len(result.skipped)} passed, {failed} failed, "
          f"{len(result.skipped)} skipped")
    sys.exit(1 if failed else 0)
