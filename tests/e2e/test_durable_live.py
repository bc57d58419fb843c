#!/usr/bin/python3
"""Live end-to-end tests of mq-broker --data-dir: durable queues proven by
kill -9, not by a clean shutdown.

Restarts (SIGTERM and kill -9) deliver exactly what was not acknowledged; a
crash loop of 5 kill -9s during a flow of 1,000,000 lines loses no confirmed
line; torn and corrupt segment files (cut at 20 random offsets, flipped
bytes) recover every intact record; a full disk (a file-size limit, which
needs no privileges) refuses publishes with a non-zero mq-pub exit and keeps
every confirmed line; a second broker on the same directory is refused.

usage: GOVSTREAM_BIN=build/bin /usr/bin/python3 tests/e2e/test_durable_live.py [-v] [Class.test_name ...]

The segment format (docs/storage.md) is parsed here independently of the
broker, as the oracle for what a cut file still holds.  Every broker binds
127.0.0.1 on '*' ports (or a fixed free port where a restarted broker must
be found again by the same clients); every wait is bounded; every process is
killed in tearDown.  Prints "N passed, M failed" last.
"""

import glob
import json
import os
import random
import re
import resource
import shutil
import signal
import struct
import sys
import time

from livetest import DEVNULL, PIPE, run_main
from test_mq_live import BROKER, EXIT_OK, EXIT_REFUSED, EXIT_TIMEOUT, MqTest, envelopes, free_port

EXIT_IO = 4
SANITIZED = os.environ.get("GOVSTREAM_SANITIZED", "").upper() in ("1", "ON", "TRUE", "YES")
MAGIC = b"gsmqlog\x01"
HEADER = 17  # crc32c(4) length(4) type(1) seq(8)
MESSAGE = 2


def parse_segment(data):
    """The message records of a segment, as (end offset, payload bytes), and
    the offset where each record starts. Trusts the file (no CRC check): it
    is only used on files the broker wrote, before they are damaged."""
    assert data[:8] == MAGIC, "not a segment"
    pos, out = 8, []
    while pos + HEADER <= len(data):
        length, rtype = struct.unpack_from("<IB", data, pos + 4)
        end = pos + HEADER + length
        if end > len(data):
            break
        if rtype == MESSAGE:
            body = data[pos + HEADER:end]
            plen, tlen = struct.unpack_from("<HH", body, 20)
            out.append((pos, end, body[24 + plen + tlen:]))
        pos = end
    return out


def ids_of(payloads):
    return [json.loads(p)["id"] for p in payloads]


class DurableTest(MqTest):
    def setUp(self):
        super().setUp()
        self.dir = self.path("data")

    def start_durable(self, *extra, port=None, preexec_fn=None):
        listen = "tcp://127.0.0.1:%s" % (port if port else "*")
        args = ["--data-dir", self.dir, "--heartbeat", "300ms"] + list(extra)
        if preexec_fn is None:
            return self.start_broker(*args, listen=listen, plain=False)
        # start_broker() with a preexec_fn: the same, by hand.
        self.broker_err = self.path("broker.err")
        argv = [BROKER, "-v", "--listen", listen, "--stats-interval", "200ms", "--sub-listen", "none",
                "--pub-listen", "none", "--push-listen", "none"] + args
        with open(self.broker_err, "wb") as err:
            self.broker = self.spawn(argv, stdin=DEVNULL, stdout=DEVNULL, stderr=err, preexec_fn=preexec_fn)
        line = self.wait_log(r"listening: (.*)\n", 10, "the broker's 'listening:' line")
        self.eps = dict(part.split(" ", 1) for part in line.group(1).split(", "))
        self.ep = self.eps["clients"]
        return self.eps

    def kill9(self):
        os.kill(self.broker.pid, signal.SIGKILL)
        self.broker.wait(timeout=10)

    def stop(self):
        self.broker.send_signal(signal.SIGTERM)
        self.assertEqual(self.wait_exit(self.broker, 20, "mq-broker after SIGTERM"), EXIT_OK, self.log())

    def drain(self, queue, topic, idle="1s", timeout=120):
        """Every message the queue still has, as envelopes (mq-sub exits
        after `idle` without a message)."""
        d = self.sub(["--queue", queue, "--topic", topic, "--envelope", "-W", idle])
        out, _ = d.communicate(timeout=timeout)
        self.assertIn(d.returncode, (EXIT_OK, EXIT_TIMEOUT), self.err(d))
        return envelopes(out)

    def segments(self):
        return sorted(glob.glob(os.path.join(self.dir, "*.seg")))

    @staticmethod
    def lines(ids, pad=b""):
        return b"".join(b'{"id":%d%s}\n' % (i, pad) for i in ids)

    @staticmethod
    def pub_stats(err):
        for line in reversed(err.splitlines()):
            if line.startswith("{") and '"confirmed"' in line:
                return json.loads(line)
        return None


class Restart(DurableTest):
    def restart_case(self, mode, n, consumed, stop):
        self.start_durable("--fsync", mode, "--segment-size", "1M")
        self.declare("work", "jobs.#")
        status, err = self.pub(["--topic", "jobs.new"], self.lines(range(n)), timeout=300)
        self.assertEqual(status, EXIT_OK, err)
        first = self.sub(["--queue", "work", "--topic", "jobs.#", "-c", str(consumed), "--envelope"])
        out, _ = first.communicate(timeout=300)
        self.assertEqual(first.returncode, EXIT_OK, self.err(first))
        self.assertEqual([e["payload"]["id"] for e in envelopes(out)], list(range(consumed)))
        # Acknowledged means the broker has the acks (mq-sub may exit with
        # its last ones still on the way).
        self.wait_stats(self.stats_watcher(), lambda r: r["queues"].get("work", {}).get("acked") == consumed, 30,
                        "%d acked" % consumed)
        stop()
        self.start_durable("--fsync", mode, "--segment-size", "1M")
        self.wait_log(r"recovered %d messages in 1 queue" % (n - consumed), 5, "the recovery line")
        rest = self.drain("work", "jobs.#")
        ids = [e["payload"]["id"] for e in rest]
        self.assertEqual(ids, list(range(consumed, n)), "not exactly the unacknowledged messages, in order")
        # Those the first consumer had prefetched but not acknowledged when it
        # left were delivered before: marked so, and only those.
        flagged = [e["payload"]["id"] for e in rest if e["redelivered"]]
        self.assertEqual(flagged, list(range(consumed, consumed + len(flagged))))
        self.assertLessEqual(len(flagged), 1000)
        return rest

    def test_sigterm_restart_delivers_exactly_the_other_60000(self):
        self.restart_case("batch", 100000, 40000, self.stop)
        # Drained: the disk use returns to near zero (every older segment is
        # deleted; what is left is at most about one segment).
        self.stop()
        total = sum(os.path.getsize(p) for p in self.segments())
        print("\n  disk use after draining 100,000 messages: %d bytes in %d segment(s)"
              % (total, len(self.segments())), file=sys.stderr)
        self.assertLess(total, 3 << 20)

    def test_kill9_restart_with_fsync_always_and_never(self):
        for mode in ("always", "never"):
            with self.subTest(mode=mode):
                shutil.rmtree(self.dir, ignore_errors=True)
                self.restart_case(mode, 5000, 2000, self.kill9)
                self.stop()

    def test_declared_queue_and_bindings_survive_a_crash(self):
        self.start_durable()
        self.declare("audit", "auth.*", "sudo.#")
        self.kill9()
        self.start_durable()
        watcher = self.stats_watcher()
        # No consumer anywhere: --mandatory succeeds only if the recovered
        # bindings route the messages into the queue.
        status, err = self.pub(["--topic", "auth.fail", "--mandatory"], self.lines(range(3)))
        self.assertEqual(status, EXIT_OK, err)
        status, err = self.pub(["--topic", "sudo.root.cmd", "--mandatory"], self.lines(range(3, 5)))
        self.assertEqual(status, EXIT_OK, err)
        status, err = self.pub(["--topic", "other", "--mandatory"], self.lines([9]))
        self.assertEqual(status, EXIT_REFUSED, err)
        rec = self.wait_stats(watcher, lambda r: r["queues"].get("audit", {}).get("depth") == 5, what="depth 5")
        self.assertGreater(rec["queues"]["audit"]["disk_bytes"], 0)
        store = rec["store"]
        self.assertEqual(store["fsync"], "batch")
        self.assertGreaterEqual(store["fsyncs"], 1)
        self.assertGreater(store["disk_bytes"], 0)
        for key in ("fsyncs_per_sec", "records_per_fsync", "recovery_ms", "segments", "write_failures"):
            self.assertIn(key, store)
        self.assertEqual([e["payload"]["id"] for e in self.drain("audit", "auth.*")], list(range(5)))


class Backlog(DurableTest):
    def test_backlog_beyond_queue_memory_stays_on_disk_and_comes_back_in_order(self):
        n, pad = 40000, b',"pad":"' + b"b" * 200 + b'"'  # about 9 MB against 64 KiB of memory per queue
        mem = ("--queue-memory", "64K", "--segment-size", "1M")
        self.start_durable(*mem)
        watcher = self.stats_watcher()
        self.declare("big", "big")
        status, err = self.pub(["--topic", "big"], self.lines(range(n), pad), timeout=300)
        self.assertEqual(status, EXIT_OK, err)
        rec = self.wait_stats(watcher, lambda r: r["queues"].get("big", {}).get("depth") == n, what="depth %d" % n)
        q = rec["queues"]["big"]
        # All but what fits in 64 KiB is on disk only.
        self.assertGreater(q["spilled"], n - 400)
        self.assertGreater(q["disk_bytes"], n * 200)
        # Take some (paged back in as they go), then crash, then the rest.
        first = self.sub(["--queue", "big", "--topic", "big", "-c", "15000", "--envelope"])
        out, _ = first.communicate(timeout=300)
        self.assertEqual(first.returncode, EXIT_OK, self.err(first))
        self.assertEqual([e["payload"]["id"] for e in envelopes(out)], list(range(15000)))
        # mq-sub's last acknowledgements may still be unread by the broker when
        # it exits: a kill -9 then redelivers those (at most one prefetch).
        self.kill9()
        self.start_durable(*mem)
        k = int(self.wait_log(r"recovered (\d+) messages in 1 queue", 10, "the recovery line").group(1))
        self.assertTrue(n - 15000 <= k <= n - 15000 + 1000, k)
        first_left = n - k
        # Published while the recovered backlog is on disk: behind it, in order.
        status, err = self.pub(["--topic", "big"], self.lines(range(n, n + 10)))
        self.assertEqual(status, EXIT_OK, err)
        rest = self.drain("big", "big")
        self.assertEqual([e["payload"]["id"] for e in rest], list(range(first_left, n + 10)))
        flagged = [e["payload"]["id"] for e in rest if e["redelivered"]]
        self.assertEqual(flagged, list(range(first_left, first_left + len(flagged))))


    def test_live_flow_through_a_spilled_queue_loses_nothing(self):
        # Publishing, spilling, reading back and consuming all at once: the
        # DELIVERED and ACK records written between the messages must not
        # move the read-back cursor past unread ones.
        n, chunk, pad = 60000, 2000, b',"pad":"' + b"l" * 200 + b'"'
        self.start_durable("--queue-memory", "64K", "--segment-size", "1M")
        watcher = self.stats_watcher()
        self.declare("live", "live")
        consumer = self.sub(["--queue", "live", "--topic", "live", "-c", str(n), "--prefetch", "200"])
        pub = self.start_pub(["--topic", "live"], stdin=PIPE)
        data = [self.lines(range(i, min(n, i + chunk)), pad) for i in range(0, n, chunk)]
        fed = 0

        def feed():
            nonlocal fed
            if fed < len(data):
                pub.stdin.write(data[fed])
                pub.stdin.flush()
                fed += 1
                if fed == len(data):
                    pub.stdin.close()

        for _ in range(5):
            feed()
        # The consumer is not read yet: it blocks and the queue spills.
        self.wait_stats(watcher, lambda r: r["queues"].get("live", {}).get("spilled", 0) > 2000, 30, "spilled > 2000")
        out = self.slow_read(consumer, n, stall_after=n // 2, stall_s=0.5, limit_s=90, tick=feed)
        self.assertEqual(self.wait_exit(consumer, 30, "mq-sub -c"), EXIT_OK, self.err(consumer))
        self.assertEqual(self.wait_exit(pub, 60, "mq-pub"), EXIT_OK, self.err(pub))
        self.assertEqual(fed, len(data))
        self.assertNotIn("could not be read back", self.log())
        got = ids_of(out.splitlines())
        self.assertEqual(len(got), n, "delivered %d of %d" % (len(got), n))
        self.assertEqual(got, list(range(n)))


class CrashLoop(DurableTest):
    def test_five_kill9_during_a_million_lines(self):
        n = 300000 if SANITIZED else 1000000
        pad = b',"pad":"' + b"x" * 220 + b'"'  # about 250-byte lines
        port = free_port()
        rng = random.Random(int(os.environ.get("GOVSTREAM_SEED", "0")) or None)
        remaining = list(range(n))
        confirmed, unconfirmed_at_kill, deliveries = set(), set(), []
        outs = []

        def consumer():
            path = self.path("consumer-%d.out" % len(outs))
            outs.append(path)
            return self.sub(["--queue", "flow", "--topic", "flow", "--envelope", "--prefetch", "500", "-W", "3s"],
                            stdout=open(path, "wb"))

        self.start_durable("--segment-size", "16M", port=port)
        self.declare("flow", "flow")
        for kill in range(6):
            sub = consumer()
            pub = self.start_pub(["--topic", "flow", "--stats", "-W", "5s"], data=self.lines(remaining, pad))
            if kill < 5:
                time.sleep(rng.uniform(0.3, 2.0 if not SANITIZED else 4.0))
                self.kill9()
            status = self.wait_exit(pub, 120, "mq-pub")
            stats = self.pub_stats(self.err(pub))
            self.assertIsNotNone(stats, self.err(pub))
            done = stats["confirmed"]
            self.assertEqual(stats["refused"], 0, self.err(pub))
            if kill == 5:
                self.assertEqual(status, EXIT_OK, self.err(pub))
                self.assertEqual(done, len(remaining))
            # Confirmations come in order: the first `done` lines are stored.
            confirmed.update(remaining[:done])
            if kill < 5:
                unconfirmed_at_kill.update(remaining[done:])
            remaining = remaining[done:]
            if kill < 5:
                self.wait_exit(sub, 30, "mq-sub after the broker was killed")
                self.start_durable("--segment-size", "16M", port=port)
            else:
                self.wait_exit(sub, 300, "the last mq-sub")
        self.stop()
        for path in outs:
            with open(path, "rb") as f:
                deliveries += envelopes(f.read())
        seen, dups_redelivered, dups_republished, bad = {}, 0, 0, []
        for e in deliveries:
            i = e["payload"]["id"]
            if i in seen:
                if e["redelivered"]:
                    dups_redelivered += 1
                elif i in unconfirmed_at_kill:
                    dups_republished += 1  # stored but not yet confirmed at a kill, then published again
                else:
                    bad.append(i)
            seen[i] = True
        print("\n  crash loop: %d lines, 5 x kill -9: %d deliveries, %d distinct, %d duplicates marked redelivered, "
              "%d duplicates of lines published again after a kill (unconfirmed then), %d other duplicates"
              % (n, len(deliveries), len(seen), dups_redelivered, dups_republished, len(bad)), file=sys.stderr)
        missing = confirmed - seen.keys()
        self.assertEqual(len(confirmed), n)
        self.assertFalse(missing, "%d confirmed lines never delivered, e.g. %s" % (len(missing), sorted(missing)[:5]))
        self.assertFalse(bad, "duplicates neither marked redelivered nor republished: %s" % bad[:5])


class DamagedFiles(DurableTest):
    def fill(self, n, segment="64K"):
        """n messages in queue 'd' (no consumer), broker killed: returns the
        segments' bytes."""
        self.start_durable("--segment-size", segment)
        self.declare("d", "d")
        status, err = self.pub(["--topic", "d"], self.lines(range(n), b',"pad":"' + b"y" * 100 + b'"'))
        self.assertEqual(status, EXIT_OK, err)
        self.kill9()
        return {p: open(p, "rb").read() for p in self.segments()}

    def restore(self, files):
        for p in self.segments():
            os.unlink(p)
        for p, data in files.items():
            with open(p, "wb") as f:
                f.write(data)

    def test_newest_segment_cut_at_20_random_offsets(self):
        files = self.fill(3000)
        paths = sorted(files)
        while not parse_segment(files[paths[-1]]):  # a segment just begun, holding only the queue table
            del files[paths.pop()]
        newest = paths[-1]
        older = [i for p in paths[:-1] for i in ids_of(r[2] for r in parse_segment(files[p]))]
        records = parse_segment(files[newest])
        self.assertGreater(len(records), 20, "the newest segment should hold many records")
        rng = random.Random(7)
        cuts = sorted(rng.sample(range(8, len(files[newest])), 20))
        for cut in cuts:
            self.restore(files)
            with open(newest, "r+b") as f:
                f.truncate(cut)
            self.start_durable("--segment-size", "64K")
            want = older + ids_of(r[2] for r in records if r[1] <= cut)
            got = [e["payload"]["id"] for e in self.drain("d", "d", idle="700ms")]
            self.assertEqual(got, want, "cut at %d of %d" % (cut, len(files[newest])))
            if not any(r[1] == cut for r in records) and cut > 8:
                mid = any(r[0] < cut < r[1] for r in records)
                if mid:
                    self.assertRegex(self.log(), r"cut \d+ bytes of an incomplete record")
            self.stop()

    def test_flipped_bytes_in_middle_records_are_reported_and_skipped(self):
        files = self.fill(3000)
        paths = sorted(files)
        self.assertGreaterEqual(len(paths), 3)
        victim_payload = paths[0], parse_segment(files[paths[0]])[10]   # a byte of a payload
        victim_header = paths[1], parse_segment(files[paths[1]])[5]     # a byte of a length field
        damaged = dict(files)
        lost = []
        for (path, (start, end, payload)), at in ((victim_payload, None), (victim_header, "length")):
            data = bytearray(damaged[path])
            offset = start + 5 if at == "length" else end - 3
            data[offset] ^= 0x40
            damaged[path] = bytes(data)
            lost.append(json.loads(payload)["id"])
        self.restore(damaged)
        self.start_durable("--segment-size", "64K")
        self.wait_log(r"recovered 2998 messages", 10, "the recovery line")
        log = self.log()
        for path, (start, _, _) in (victim_payload, victim_header):
            self.assertIn("%s: corrupt record at offset %d" % (path, start), log)
        self.assertIn("2 corrupt records skipped", log)
        got = [e["payload"]["id"] for e in self.drain("d", "d")]
        self.assertEqual(got, [i for i in range(3000) if i not in lost])

    def test_garbage_file_in_the_data_directory_never_crashes(self):
        files = self.fill(500)
        rng = random.Random(3)
        with open(os.path.join(self.dir, "00000000000000000002.seg"), "wb") as f:
            f.write(bytes(rng.randrange(256) for _ in range(5000)))
        self.start_durable("--segment-size", "64K")
        self.assertIn("not a govstream segment", self.log())
        got = [e["payload"]["id"] for e in self.drain("d", "d")]
        self.assertEqual(got, list(range(500)))
        self.assertTrue(files)


class Faults(DurableTest):
    def test_full_disk_refuses_publishes_and_keeps_every_confirmed_line(self):
        limit = 2 << 20  # each segment file may grow to 2 MiB (ulimit -f), and then writes fail with EFBIG

        def limited():
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

        self.start_durable("--segment-size", "64M", preexec_fn=limited)
        self.declare("full", "full")
        n = 20000
        status, err = self.pub(["--topic", "full", "--stats"], self.lines(range(n), b',"pad":"' + b"z" * 200 + b'"'))
        self.assertEqual(status, EXIT_REFUSED, err)
        stats = self.pub_stats(err)
        c = stats["confirmed"]
        self.assertGreater(c, 0)
        self.assertEqual(c + stats["refused"], n)
        self.assertIn("File too large", err)
        self.assertRegex(self.log(), r"File too large; publishes to durable queues are refused")
        # The full broker still serves what it holds.
        early = self.sub(["--queue", "full", "--topic", "full", "-c", "100", "--envelope"])
        out, _ = early.communicate(timeout=30)
        self.assertEqual(early.returncode, EXIT_OK, self.err(early))
        first = [e["payload"]["id"] for e in envelopes(out)]
        self.assertEqual(first, list(range(100)))
        self.kill9()
        self.start_durable("--segment-size", "64M")
        rest = [e["payload"]["id"] for e in self.drain("full", "full")]
        # Every confirmed line is there (acknowledgements the full disk could
        # not record may come again); nothing refused was stored.
        self.assertEqual(sorted(set(first) | set(rest)), list(range(c)))
        self.assertTrue(set(rest) <= set(range(c)))

    def test_queue_limits_hold_for_durable_queues_and_after_a_restart(self):
        self.start_durable("--max-queue-messages", "100")
        self.declare("lim", "lim")
        status, err = self.pub(["--topic", "lim", "--stats"], self.lines(range(150)))
        self.assertEqual(status, EXIT_REFUSED, err)
        self.assertEqual((self.pub_stats(err)["confirmed"], self.pub_stats(err)["refused"]), (100, 50))
        self.assertIn("--max-queue-messages 100", err)
        self.kill9()
        self.start_durable("--max-queue-messages", "100")
        status, err = self.pub(["--topic", "lim"], self.lines([999]))  # still full after the restart
        self.assertEqual(status, EXIT_REFUSED, err)
        self.assertEqual([e["payload"]["id"] for e in self.drain("lim", "lim")], list(range(100)))

    def test_second_broker_on_the_same_directory_is_refused(self):
        self.start_durable()
        first = self.broker
        second = self.spawn([BROKER, "--data-dir", self.dir, "--listen", "tcp://127.0.0.1:*", "--sub-listen", "none",
                             "--pub-listen", "none", "--push-listen", "none"], stdout=DEVNULL, stderr=PIPE)
        _, err = second.communicate(timeout=15)
        self.assertEqual(second.returncode, EXIT_IO)
        self.assertIn("is in use by another mq-broker (pid %d)" % first.pid, err.decode())
        self.assertIsNone(first.poll(), "the first broker must keep running")
        self.round_trip("lock")

    def test_unusable_data_directory(self):
        blocker = self.path("a-file")
        open(blocker, "w").close()
        p = self.spawn([BROKER, "--data-dir", os.path.join(blocker, "data"), "--listen", "tcp://127.0.0.1:*"],
                       stdout=DEVNULL, stderr=PIPE)
        _, err = p.communicate(timeout=15)
        self.assertEqual(p.returncode, EXIT_IO)
        self.assertIn("cannot create the data directory", err.decode())
        self.assertIn("Not a directory", err.decode())
        if os.geteuid() != 0:  # root writes anywhere: only an unprivileged run can test permissions
            ro = self.path("ro")
            os.mkdir(ro, 0o500)
            p = self.spawn([BROKER, "--data-dir", ro, "--listen", "tcp://127.0.0.1:*"], stdout=DEVNULL, stderr=PIPE)
            _, err = p.communicate(timeout=15)
            self.assertEqual(p.returncode, EXIT_IO)
            self.assertIn("cannot write in the data directory", err.decode())

    def test_fsync_without_data_dir_is_a_usage_error(self):
        p = self.spawn([BROKER, "--fsync", "always"], stdout=DEVNULL, stderr=PIPE)
        _, err = p.communicate(timeout=15)
        self.assertEqual(p.returncode, 2)
        self.assertIn("--fsync needs --data-dir", err.decode())


if __name__ == "__main__":
    sys.exit(run_main(BROKER, __name__))
