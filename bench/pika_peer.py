#!/usr/bin/python3
"""pika_peer: the pika side of bench/run's amqp suite (python3-pika, Debian's, BlockingConnection).

usage: pika_peer.py publish --port P --exchange X --routing-key K --file FILE [--count N] [--timeout SECS]
       pika_peer.py consume --port P --queue Q --count N [--prefetch N] [--ack-every N] [--timeout SECS]
       pika_peer.py delete  --port P --queue Q
       common: [--host 127.0.0.1] (guest/guest, vhost /)

publish: every line of FILE (or its first --count lines; newline stripped, loaded before the
connection) is one persistent message (delivery_mode 2), mandatory, to exchange X with routing
key K, on a channel in confirm mode: channel.confirm_delivery(), then basic_publish per line,
which in pika's blocking API returns once the broker has acked that message (a nack raises
NackError, a return UnroutableError). It is the way pika's documentation publishes with confirms.

consume: basic_qos(prefetch_count=--prefetch, default 1000), consume with manual acks; each
body is written to stdout with a newline (as mq-sub writes each line); every --ack-every
messages (default 250) one basic_ack(multiple=True) acknowledges them all, and the last ones
at the end. Exits after --count messages. It says "pika-peer: consuming Q" on stderr once the
consumer is registered.

delete: deletes Q and prints how many messages it held (queue.delete-ok's message-count).

Each mode prints one JSON line, on stdout (publish, delete) or stderr (consume), e.g.
  {"program":"pika-peer","mode":"publish","sent":N,"confirmed":N,"nacked":0,"returned":0,"seconds":...}
  {"program":"pika-peer","mode":"consume","received":N,"bytes":...,"acks_sent":...,"seconds":...}
  {"program":"pika-peer","mode":"delete","queue":"q","messages":N}
where seconds run from the first publish (the first delivery) to the last confirmation (delivery).

Exit status: 0 every message confirmed (received); 1 input error; 2 usage; 5 connection or
channel failure; 6 some messages nacked or returned; 7 timeout.
"""
import argparse
import json
import sys
import time

import pika
import pika.exceptions as px


def connect(a):
    params = pika.ConnectionParameters(host=a.host, port=a.port, virtual_host="/",
                                       credentials=pika.PlainCredentials("guest", "guest"),
                                       blocked_connection_timeout=a.timeout)
    return pika.BlockingConnection(params)


def publish(a):
    try:
        with open(a.file, "rb") as f:
            lines = [ln.rstrip(b"\n") for ln in f]
    except OSError as e:
        print(f"pika-peer: {e}", file=sys.stderr)
        return 1
    lines = [ln for ln in lines if ln][:a.count or None]
    if not lines:
        print(f"pika-peer: {a.file} has no lines", file=sys.stderr)
        return 1
    conn = connect(a)
    ch = conn.channel()
    ch.confirm_delivery()
    props = pika.BasicProperties(delivery_mode=2)
    sent = confirmed = nacked = returned = 0
    t0 = time.perf_counter()
    for body in lines:
        sent += 1
        try:
            ch.basic_publish(a.exchange, a.routing_key, body, props, mandatory=True)
            confirmed += 1
        except px.UnroutableError:
            returned += 1
        except px.NackError:
            nacked += 1
    secs = time.perf_counter() - t0
    conn.close()
    print(json.dumps(dict(program="pika-peer", mode="publish", sent=sent, confirmed=confirmed, nacked=nacked,
                          returned=returned, seconds=round(secs, 6),
                          msgs_per_sec=round(confirmed / secs) if secs else 0)), flush=True)
    return 6 if nacked or returned else 0


def consume(a):
    conn = connect(a)
    ch = conn.channel()
    ch.basic_qos(prefetch_count=a.prefetch)
    out = sys.stdout.buffer
    got = nbytes = acks = unacked = 0
    last_tag, t0 = None, None
    gen = ch.consume(a.queue, auto_ack=False, inactivity_timeout=a.timeout)
    print(f"pika-peer: consuming {a.queue}", file=sys.stderr, flush=True)
    for method, _props, body in gen:
        if method is None:
            print(f"pika-peer: no message within --timeout ({got} of {a.count} received)", file=sys.stderr)
            return 7
        if t0 is None:
            t0 = time.perf_counter()
        out.write(body)
        out.write(b"\n")
        got += 1
        nbytes += len(body)
        last_tag, unacked = method.delivery_tag, unacked + 1
        if unacked >= a.ack_every or got == a.count:
            out.flush()  # acknowledged only once written, as mq-sub does
            ch.basic_ack(last_tag, multiple=True)
            acks, unacked = acks + 1, 0
        if got == a.count:
            break
    secs = time.perf_counter() - t0
    ch.cancel()
    conn.close()
    print(json.dumps(dict(program="pika-peer", mode="consume", queue=a.queue, received=got, bytes=nbytes,
                          acks_sent=acks, seconds=round(secs, 6), msgs_per_sec=round(got / secs) if secs else 0)),
          file=sys.stderr, flush=True)
    return 0


def delete(a):
    conn = connect(a)
    ok = conn.channel().queue_delete(a.queue)
    conn.close()
    print(json.dumps(dict(program="pika-peer", mode="delete", queue=a.queue, messages=ok.method.message_count)),
          flush=True)
    return 0


def main():
    ap = argparse.ArgumentParser(prog="pika_peer.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("mode", choices=("publish", "consume", "delete"))
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--queue")
    ap.add_argument("--exchange")
    ap.add_argument("--routing-key")
    ap.add_argument("--file")
    ap.add_argument("--count", type=int, default=0)
    ap.add_argument("--prefetch", type=int, default=1000)
    ap.add_argument("--ack-every", type=int, default=250)
    ap.add_argument("--timeout", type=float, default=60)
    a = ap.parse_args()
    need = {"publish": ("exchange", "routing_key", "file"), "consume": ("queue", "count"), "delete": ("queue",)}
    for k in need[a.mode]:
        if not getattr(a, k):
            ap.error(f"{a.mode} needs --{k.replace('_', '-')}")
    try:
        return {"publish": publish, "consume": consume, "delete": delete}[a.mode](a)
    except (px.AMQPError, OSError) as e:
        print(f"pika-peer: {type(e).__name__}: {e}", file=sys.stderr)
        return 5


if __name__ == "__main__":
    sys.exit(main())
