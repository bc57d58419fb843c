# An hour of requests: 5 hosts, 30 a minute each, one in 200 an error
# (never more than 10 a minute), and web-3 failing 20 a minute 12:20-12:29.
import json
import random

rng = random.Random(12)
for minute in range(60):
    for second in range(0, 60, 2):
        for h in range(1, 6):
            host = "web-%d" % h
            error = 1 if rng.random() < 0.005 else 0
            if host == "web-3" and 20 <= minute < 30 and second < 40:
                error = 1
            ts = "2026-03-01T12:%02d:%02dZ" % (minute, second)
            print(json.dumps({"ts": ts, "host": host, "status": 500 if error else 200, "error": error},
                             separators=(",", ":")))
