#!/usr/bin/python3
"""Live end-to-end tests of mq-broker's security: CURVE, --authorized-keys,
--acl, reloads, plain ZeroMQ clients with CURVE, bad key files.

Real processes on loopback. The encryption check records every byte through
a TCP proxy written here and looks for a marker: absent with CURVE, present
without (so the check can fail). Keys come from `mq-broker --gen-key`; the
pyzmq clients read them with zmq.auth.load_certificate (CZMQ's format).

usage: GOVSTREAM_BIN=build/bin /usr/bin/python3 tests/e2e/test_curve_live.py [-v] [Class.test_name ...]
"""

import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import threading
import time

from livetest import DEVNULL, PIPE, run_main
from test_mq_live import BROKER, EXIT_OK, EXIT_REFUSED, LineReader, MqTest

try:
    import zmq
    import zmq.auth
except ImportError:
    zmq = None

EXIT_USAGE, EXIT_IO, EXIT_ACCESS = 2, 4, 10


class Proxy:
    """A plain TCP proxy on 127.0.0.1 that records the bytes both ways."""

    def __init__(self, target_port):
        self.target = target_port
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.port = self.listener.getsockname()[1]
        self.recorded = bytearray()
        self.lock = threading.Lock()
        self.stop = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        pairs = []
        self.listener.settimeout(0.05)
        while not self.stop:
            try:
                c, _ = self.listener.accept()
                u = socket.create_connection(("127.0.0.1", self.target))
                pairs += [(c, u), (u, c)]
            except socket.timeout:
                pass
            socks = [a for a, _ in pairs]
            if not socks:
                continue
            ready, _, _ = select.select(socks, [], [], 0.05)
            for a, b in list(pairs):
                if a in ready:
                    try:
                        data = a.recv(65536)
                    except OSError:
                        data = b""
                    if not data:
                        for x in (a, b):
                            x.close()
                        pairs = [p for p in pairs if a not in p and b not in p]
                        break
                    with self.lock:
                        self.recorded += data
                    b.sendall(data)
        for a, _ in pairs:
            a.close()
        self.listener.close()

    def close(self):
        self.stop = True
        self.thread.join(5)


class CurveTest(MqTest):
    def setUp(self):
        super().setUp()
        self.keys = self.path("keys")
        os.makedirs(self.path("keys/clients"))
        for name in ("broker", "alice", "bob", "carol"):
            self.gen(name)
        for name in ("alice", "bob"):
            os.link(self.key(name) + ".pub", self.path("keys/clients/%s.pub" % name))
        self.proxies = []

    def tearDown(self):
        for p in self.proxies:
            p.close()
        super().tearDown()

    def gen(self, name):
        r = self.run_tool([BROKER, "--gen-key", self.key(name)])
        self.assertEqual(r.returncode, EXIT_OK, r.stderr)

    def key(self, name):
        return self.path("keys/%s.key" % name)

    def run_tool(self, argv, data=b"", timeout=20):
        return subprocess.run(argv, input=data, capture_output=True, timeout=timeout)

    def secure_broker(self, *extra, acl=None):
        args = ["--curve-key", self.key("broker"), "--authorized-keys", self.path("keys/clients")]
        if acl is not None:
            with open(self.path("acl"), "w") as f:
                f.write(acl)
            args += ["--acl", self.path("acl")]
        return self.start_broker(*(args + list(extra)))

    def as_(self, name):
        return ["--curve-key", self.key(name), "--server-key", self.key("broker") + ".pub"]

    def port(self, role="clients"):
        return int(self.eps[role].rsplit(":", 1)[1])

    def lines(self, n, start=0, topic=None):
        return b"".join(b'{"i":%d%s}\n' % (i, (b',"t":"%s"' % topic[i].encode()) if topic else b"")
                        for i in range(start, start + n))

    def read_all(self, p, n, timeout=15):
        got = LineReader(p.stdout).lines(n, timeout)
        return got


class Admission(CurveTest):
    def test_only_authorised_keys_connect(self):
        self.secure_broker()
        s = self.sub(self.as_("alice") + ["--topic", "t.#", "-c", "3"])
        time.sleep(0.3)
        status, err = self.pub(self.as_("bob") + ["--topic", "t.x"], self.lines(3))
        self.assertEqual(status, EXIT_OK, err)
        self.assertEqual(self.wait_exit(s, 15, "mq-sub"), EXIT_OK, self.err(s))
        self.assertEqual(s.stdout.read().count(b'"i":'), 3)

        status, err = self.pub(self.as_("carol") + ["--topic", "t.x"], self.lines(1))
        self.assertEqual(status, EXIT_ACCESS, err)
        self.assertIn("refused this client's key", err)
        self.assertIn("not in the broker's --authorized-keys", err)
        self.wait_log(r"refused a client from 127\.0\.0\.1: its public key \S+ is not in --authorized-keys", 5,
                      "the refusal in the broker's log")

    def test_plain_client_at_a_curve_broker_and_the_reverse(self):
        self.secure_broker()
        status, err = self.pub(["--topic", "t.x"], self.lines(1))
        self.assertEqual(status, EXIT_ACCESS, err)
        self.assertRegex(err, r"requires CURVE|does it require CURVE")
        # A CURVE client at a plain broker.
        plain = self.start_broker()
        status, err = self.pub(self.as_("alice") + ["-b", plain["clients"], "--topic", "t.x"], self.lines(1),
                               broker=False)
        self.assertEqual(status, EXIT_ACCESS, err)
        # Usually ZeroMQ reports the mechanism mismatch; on a slow machine
        # (the sanitizers) the broker may hang up first every time, and the
        # message then names both causes.
        self.assertRegex(err, r"is plain text, but --curve-key asks for CURVE|does the broker use CURVE at all")

    def test_a_wrong_server_key_is_said(self):
        self.secure_broker()
        args = ["--curve-key", self.key("alice"), "--server-key", self.key("bob") + ".pub", "--topic", "t.x"]
        status, err = self.pub(args, self.lines(1))
        self.assertEqual(status, EXIT_ACCESS, err)
        self.assertIn("is --server-key the broker's public key", err)

    def test_stats_count_refusals(self):
        self.secure_broker()
        self.pub(self.as_("carol") + ["--topic", "t.x"], self.lines(1))
        p = self.sub(self.as_("alice") + ["--topic", "$SYS.broker.stats", "-c", "1"])
        self.assertEqual(self.wait_exit(p, 15, "stats"), EXIT_OK, self.err(p))
        sec = json.loads(p.stdout.read())["security"]
        self.assertEqual(sec["curve"], True)
        self.assertEqual(sec["authorized_keys"], 2)
        self.assertGreaterEqual(sec["auth_refused"], 1)

    def test_non_loopback_without_curve_warns(self):
        self.start_broker(listen="tcp://0.0.0.0:*")
        self.wait_log(r"warning: --listen tcp://0\.0\.0\.0:\S+ accepts connections from other machines without "
                      r"CURVE", 5, "the warning")


class Encryption(CurveTest):
    MARKER = b"zebra-marker-7f3a9c"

    def through_proxy(self, client_args):
        proxy = Proxy(self.port())
        self.proxies.append(proxy)
        ep = "tcp://127.0.0.1:%d" % proxy.port
        s = self.sub(client_args + ["--topic", "secret.#", "-c", "1"])
        time.sleep(0.3)
        status, err = self.pub(client_args + ["-b", ep, "--topic", "secret.x"],
                               b'{"note":"%s"}\n' % self.MARKER, broker=False)
        self.assertEqual(status, EXIT_OK, err)
        self.assertEqual(self.wait_exit(s, 15, "mq-sub"), EXIT_OK, self.err(s))
        self.assertIn(self.MARKER, s.stdout.read())  # delivered, decrypted
        time.sleep(0.2)
        with proxy.lock:
            return bytes(proxy.recorded)

    def test_curve_traffic_does_not_carry_the_payload_in_clear(self):
        self.secure_broker()
        seen = self.through_proxy(self.as_("alice"))
        self.assertGreater(len(seen), 200)
        self.assertIn(b"CURVE", seen[:64])  # the ZMTP greeting names the mechanism
        self.assertNotIn(self.MARKER, seen)
        self.assertNotIn(b"secret.x", seen)  # topics too

    def test_plain_traffic_does_carry_it(self):  # so the check above can fail
        self.start_broker()
        seen = self.through_proxy([])
        self.assertIn(self.MARKER, seen)


ACL = """# test rules
key alice
topic write http.#
topic read http.5xx.*
queue all alerts-*
key bob
topic read #
topic write audit.*
queue consume audit
"""


class Acls(CurveTest):
    def test_denied_publish_in_the_middle_of_a_batch(self):
        self.secure_broker(acl=ACL)
        topics = ["http.5xx.api"] * 10
        topics[3] = topics[6] = "pay.card"
        data = self.lines(10, topic=topics)
        s = self.sub(self.as_("bob") + ["--topic", "#", "-c", "8"])
        time.sleep(0.3)
        status, err = self.pub(self.as_("alice") + ["--topic-from", ".t"], data)
        self.assertEqual(status, EXIT_REFUSED, err)
        self.assertIn("key 'alice' may not publish to topic 'pay.card'", err)
        self.assertIn("'topic write'", err)
        self.assertIn("8 of 10 lines confirmed, 2 refused", err)
        self.assertEqual(self.wait_exit(s, 15, "mq-sub"), EXIT_OK, self.err(s))
        got = [json.loads(x)["i"] for x in s.stdout.read().splitlines()]
        self.assertEqual(got, [0, 1, 2, 4, 5, 7, 8, 9])
        self.wait_log(r"refused: key 'alice' may not publish to topic 'pay\.card'", 5, "the refusal logged")

    def test_subscribe_allowed_within_the_grant_and_denied_beyond(self):
        self.secure_broker(acl=ACL)
        ok = self.sub(self.as_("alice") + ["--topic", "http.5xx.api", "-c", "1", "-W", "1s"])
        wide = self.sub(self.as_("alice") + ["--topic", "http.#"])
        self.assertEqual(self.wait_exit(wide, 10, "mq-sub http.#"), EXIT_ACCESS, self.err(wide))
        self.assertIn("key 'alice' may not subscribe to pattern 'http.#'", self.err(wide))
        self.assertEqual(self.wait_exit(ok, 10, "mq-sub"), 7, self.err(ok))  # subscribed; -W timed out

    def test_sys_needs_a_rule_naming_it(self):
        self.secure_broker(acl=ACL + "key carol\ntopic read $SYS.#\n")
        os.link(self.key("carol") + ".pub", self.path("keys/clients/carol.pub"))
        time.sleep(1.2)  # the directory is watched
        denied = self.sub(self.as_("bob") + ["--topic", "$SYS.#"])  # bob has '#', which does not reach $SYS
        self.assertEqual(self.wait_exit(denied, 10, "bob $SYS"), EXIT_ACCESS, self.err(denied))
        allowed = self.sub(self.as_("carol") + ["--topic", "$SYS.broker.stats", "-c", "1"])
        self.assertEqual(self.wait_exit(allowed, 15, "carol $SYS"), EXIT_OK, self.err(allowed))
        rec = json.loads(allowed.stdout.read())
        self.assertGreaterEqual(rec["security"]["acl_refused"], 1)

    def test_queue_consume_declare_bind(self):
        self.secure_broker(acl=ACL)
        # alice may declare alerts-*; binding needs read on the pattern too.
        d = self.sub(self.as_("alice") + ["--queue", "alerts-prod", "--topic", "http.5xx.*", "--declare"],
                     stdout=DEVNULL)
        self.assertEqual(self.wait_exit(d, 10, "declare"), EXIT_OK, self.err(d))
        b = self.sub(self.as_("alice") + ["--queue", "alerts-prod", "--topic", "http.#", "--declare"], stdout=DEVNULL)
        self.assertEqual(self.wait_exit(b, 10, "bind"), EXIT_ACCESS, self.err(b))
        self.assertIn("may not subscribe to pattern 'http.#'", self.err(b))
        other = self.sub(self.as_("alice") + ["--queue", "payments", "--topic", "http.5xx.*", "--declare"],
                         stdout=DEVNULL)
        self.assertEqual(self.wait_exit(other, 10, "declare payments"), EXIT_ACCESS, self.err(other))
        self.assertIn("may not declare queue 'payments'", self.err(other))
        # bob may consume audit but not declare it; once declared (by nobody allowed), he may not create it.
        c = self.sub(self.as_("bob") + ["--queue", "audit", "--topic", "audit.*"], stdout=DEVNULL)
        self.assertEqual(self.wait_exit(c, 10, "bob consume audit"), EXIT_ACCESS, self.err(c))
        self.assertIn("may not declare queue 'audit'", self.err(c))
        c = self.sub(self.as_("bob") + ["--queue", "alerts-prod", "--topic", "http.5xx.*"], stdout=DEVNULL)
        self.assertEqual(self.wait_exit(c, 10, "bob consume alerts"), EXIT_ACCESS, self.err(c))
        self.assertIn("may not consume from queue 'alerts-prod'", self.err(c))
        # What alice's queue got is hers to consume.
        status, err = self.pub(self.as_("alice") + ["--topic", "http.5xx.api"], self.lines(4))
        self.assertEqual(status, EXIT_OK, err)
        q = self.sub(self.as_("alice") + ["--queue", "alerts-prod", "--topic", "http.5xx.*", "-c", "4"])
        self.assertEqual(self.wait_exit(q, 15, "alice consume"), EXIT_OK, self.err(q))
        self.assertEqual(len(q.stdout.read().splitlines()), 4)


class Reload(CurveTest):
    def wait_reload(self, n, what):
        self.wait_log(r"(reloaded --authorized-keys [^\n]*\n[\s\S]*){%d}" % n, 10, what)

    def check_reload(self, trigger):
        self.secure_broker()
        bob = self.sub(self.as_("bob") + ["--topic", "t.#"])
        alice = self.sub(self.as_("alice") + ["--topic", "t.#"])
        time.sleep(0.4)
        status, err = self.pub(self.as_("alice") + ["--topic", "t.x"], self.lines(1))
        self.assertEqual(status, EXIT_OK, err)
        r_alice = LineReader(alice.stdout)
        self.assertEqual(len(r_alice.lines(1, 10)), 1)
        # Remove bob, add carol.
        os.unlink(self.path("keys/clients/bob.pub"))
        os.link(self.key("carol") + ".pub", self.path("keys/clients/carol.pub"))
        trigger()
        self.wait_log(r"reloaded --authorized-keys \S+: 2 keys \(1 added, 1 removed\)", 10, "the reload")
        self.assertEqual(self.wait_exit(bob, 10, "bob's mq-sub"), EXIT_ACCESS, self.err(bob))
        self.assertIn("this client's key ('bob') was removed", self.err(bob))
        # alice was not dropped; carol can now publish, and alice gets it.
        status, err = self.pub(self.as_("carol") + ["--topic", "t.y"], self.lines(1, start=5))
        self.assertEqual(status, EXIT_OK, err)
        got = r_alice.lines(1, 10)
        self.assertEqual(len(got), 1)
        self.assertEqual(alice.poll(), None)
        status, err = self.pub(self.as_("bob") + ["--topic", "t.y"], self.lines(1))
        self.assertEqual(status, EXIT_ACCESS, err)

    def test_sighup_reload_adds_and_removes_keys_with_live_clients(self):
        self.check_reload(lambda: self.broker.send_signal(signal.SIGHUP))

    def test_a_changed_directory_is_reloaded_by_itself(self):
        self.check_reload(lambda: None)

    def test_a_broken_file_keeps_the_old_keys(self):
        keys = self.path("keys/list")
        with open(self.key("alice") + ".pub") as f:
            alice = re.search(r'public-key = "(.{40})"', f.read()).group(1)
        with open(keys, "w") as f:
            f.write("alice %s\n" % alice)
        self.start_broker("--curve-key", self.key("broker"), "--authorized-keys", keys)
        with open(keys, "w") as f:
            f.write("alice not-a-key\n")
        self.broker.send_signal(signal.SIGHUP)
        self.wait_log(r"reloading --authorized-keys failed, the previous keys stay in force", 10, "the failure")
        status, err = self.pub(self.as_("alice") + ["--topic", "t.x"], self.lines(1))
        self.assertEqual(status, EXIT_OK, err)


class PlainZeroMQ(CurveTest):
    def zcurve(self, kind, name):
        self.assertIsNotNone(zmq, "python3-zmq is needed")
        pub, sec = zmq.auth.load_certificate(self.key(name))
        server, _ = zmq.auth.load_certificate(self.key("broker") + ".pub")
        s = zmq.Context.instance().socket(kind)
        s.curve_publickey, s.curve_secretkey, s.curve_serverkey = pub, sec, server
        s.linger = 0
        self.zsockets.append(s)
        return s

    def test_pyzmq_reads_gen_key_files(self):
        pub, sec = zmq.auth.load_certificate(self.key("alice"))
        self.assertEqual(len(pub), 40)
        self.assertEqual(len(sec), 40)
        self.assertEqual(zmq.curve_public(sec), pub)

    def test_curve_sub_receives_and_curve_push_sends(self):
        self.secure_broker()
        sub = self.zcurve(zmq.SUB, "alice")
        sub.setsockopt(zmq.SUBSCRIBE, b"z.")
        sub.connect(self.eps["plain-sub"])
        time.sleep(0.5)
        status, err = self.pub(self.as_("bob") + ["--topic", "z.a"], self.lines(3))
        self.assertEqual(status, EXIT_OK, err)
        got = []
        while len(got) < 3 and sub.poll(5000):
            got.append(sub.recv_multipart())
        self.assertEqual([g[0] for g in got], [b"z.a"] * 3)

        s = self.sub(self.as_("alice") + ["--topic", "p.#", "-c", "2"])
        time.sleep(0.4)
        push = self.zcurve(zmq.PUSH, "bob")
        push.connect(self.eps["plain-push"])
        for i in range(2):
            push.send_multipart([b"p.x", b'{"pushed":%d}' % i])
        self.assertEqual(self.wait_exit(s, 15, "mq-sub"), EXIT_OK, self.err(s))
        self.assertEqual(s.stdout.read().count(b"pushed"), 2)

    def test_an_unauthorised_pyzmq_client_gets_nothing(self):
        self.secure_broker()
        sub = self.zcurve(zmq.SUB, "carol")
        sub.setsockopt(zmq.SUBSCRIBE, b"")
        sub.connect(self.eps["plain-sub"])
        time.sleep(0.5)
        status, err = self.pub(self.as_("bob") + ["--topic", "z.a"], self.lines(3))
        self.assertEqual(status, EXIT_OK, err)
        self.assertEqual(sub.poll(1000), 0)
        self.wait_log(r"refused a client from 127\.0\.0\.1", 5, "the refusal")

    def test_acl_limits_plain_sub_prefixes(self):
        # A prefix reaches every topic under it: "http.5xx." needs a grant
        # covering http.5xx.# ("http.5xx.*" would not do: too narrow).
        self.secure_broker(acl="key alice\ntopic write http.#\ntopic read http.5xx.#\n")
        ok = self.zcurve(zmq.SUB, "alice")
        ok.setsockopt(zmq.SUBSCRIBE, b"http.5xx.")
        ok.connect(self.eps["plain-sub"])
        wide = self.zcurve(zmq.SUB, "alice")
        wide.setsockopt(zmq.SUBSCRIBE, b"http.")
        wide.connect(self.eps["plain-sub"])
        time.sleep(0.5)
        status, err = self.pub(self.as_("alice") + ["--topic", "http.5xx.api"], self.lines(2))
        self.assertEqual(status, EXIT_OK, err)
        self.assertTrue(ok.poll(5000))
        self.assertEqual(wide.poll(500), 0)
        self.wait_log(r"key 'alice' may not subscribe to pattern 'http\.#'[^\n]*plain ZeroMQ SUB prefix 'http\.'", 5,
                      "the refused prefix")


class BadKeys(CurveTest):
    def broker_with(self, key):
        return self.run_tool([BROKER, "--listen", "tcp://127.0.0.1:0", "--sub-listen", "none", "--pub-listen",
                              "none", "--push-listen", "none", "--curve-key", key], timeout=10)

    def check_both(self, key, status, message):
        r = self.broker_with(key)
        self.assertEqual(r.returncode, status, r.stderr)
        self.assertIn(message, r.stderr.decode())
        self.start_broker() if self.broker is None else None
        status_c, err = self.pub(["--curve-key", key, "--server-key", self.key("broker") + ".pub", "--topic", "t.x"],
                                 self.lines(1))
        self.assertIn(status_c, (EXIT_USAGE, EXIT_IO), err)
        self.assertIn(message, err)

    def test_missing_file(self):
        self.check_both(self.path("keys/nope.key"), EXIT_IO, "cannot read key file")

    def test_world_readable_secret_key(self):
        os.chmod(self.key("alice"), 0o644)
        self.check_both(self.key("alice"), EXIT_USAGE, "readable by others")

    def test_garbage(self):
        path = self.path("keys/garbage")
        with open(path, "w") as f:
            f.write("hello\n")
        os.chmod(path, 0o600)
        self.check_both(path, EXIT_USAGE, "is not a CURVE certificate")

    def test_public_key_given_as_secret(self):
        self.check_both(self.key("alice") + ".pub", EXIT_USAGE, "holds only a public key")

    def test_gen_key_never_overwrites(self):
        r = self.run_tool([BROKER, "--gen-key", self.key("alice")])
        self.assertEqual(r.returncode, EXIT_IO, r.stderr)
        self.assertIn("never overwritten", r.stderr.decode())

    def test_options_that_need_others(self):
        r = self.run_tool([BROKER, "--authorized-keys", self.path("keys/clients")])
        self.assertEqual(r.returncode, EXIT_USAGE, r.stderr)
        self.assertIn("--authorized-keys needs --curve-key", r.stderr.decode())
        self.start_broker()
        status, err = self.pub(["--curve-key", self.key("alice"), "--topic", "t.x"], self.lines(1))
        self.assertEqual(status, EXIT_USAGE, err)
        self.assertIn("--curve-key and --server-key go together", err)


if __name__ == "__main__":
    sys.exit(run_main(BROKER, __name__))
