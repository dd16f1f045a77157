#!/usr/bin/env python3
"""Fills an rstdoctor journal (created by `rstdoctor record`) with N resets spread over the last 24 h,
with a spread of causes, ports, peers and tasks, plus a counter snapshot every 10 s."""
import random, sqlite3, sys, time

path, n = sys.argv[1], int(sys.argv[2])
db = sqlite3.connect(path)
now = int(time.time() * 1e6)
day = 86400 * 1_000_000
causes = [("no-listener", "NO_SOCKET", "UNKNOWN"), ("application-abort", "TCP_ABORT_ON_LINGER", "TCP_CLOSE"),
          ("unread-data-close", "TCP_ABORT_ON_CLOSE", "TCP_CLOSE"), (None, "NOT_SPECIFIED", "TCP_ESTABLISHED")]
rnd = random.Random(1)


hourly = {}


def rows():
    for i in range(n):
        c, r, st = causes[rnd.randrange(len(causes))]
        t = now - day + (i * day) // n
        peer = "198.18.%d.%d" % (rnd.randrange(200), rnd.randrange(1, 250))
        port, task = rnd.choice([8080, 8443, 9, 5432]), rnd.choice(["nginx", "python3", "java"])
        k = (t // 3_600_000_000, "host", c or "", "sent", port, task)
        v = hourly.get(k)
        hourly[k] = (v[0] + 1, min(v[1], t), max(v[2], t)) if v else (1, t, t)
        yield (t, "sent", "host", "198.18.200.2", port, peer, rnd.randrange(32768, 60999),
               r, st, 0, None, task, rnd.randrange(100, 9999), c, "trace", None, None, None)


db.executemany("INSERT INTO rst_event (time_us, direction, netns, saddr, sport, daddr, dport, reason, state, listener,"
               " drop_reason, task, pid, cause, source, ttl, payload, flags) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows())
db.executemany("INSERT INTO rst_hourly (hour, netns, cause, direction, lport, task, n, first_us, last_us) VALUES (?,?,?,?,?,?,?,?,?)"
               " ON CONFLICT(hour, netns, cause, direction, lport, task) DO UPDATE SET n = n + excluded.n,"
               " first_us = min(first_us, excluded.first_us), last_us = max(last_us, excluded.last_us)",
               [k + v for k, v in hourly.items()])
snap = [(now - day + k * 10_000_000, "host", "interval", "TcpOutRsts %d\nTcpExtTCPAbortOnLinger %d" % (k * 10, k)) for k in range(8640)]
db.executemany("INSERT INTO counter_snapshot (time_us, netns, trigger, counters) VALUES (?,?,?,?)", snap)
db.commit()
print(db.execute("SELECT count(*) FROM rst_event").fetchone()[0])
