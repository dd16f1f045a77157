#!/usr/bin/env python3
"""A steady, bounded stream of RSTs: non-blocking connects to a closed port at RATE per second for
SECONDS; prints the number of connects made. Run inside the client namespace."""
import errno, socket, sys, time

addr, rate, seconds = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
fam = socket.AF_INET6 if ':' in addr else socket.AF_INET
made, start, pending = 0, time.time(), []
batch = max(1, int(rate / 100))
while time.time() - start < seconds:
    for _ in range(batch):
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.setblocking(False)
        e = s.connect_ex((addr, 9))
        if e in (0, errno.EINPROGRESS, errno.ECONNREFUSED):
            made += 1
        pending.append(s)
    if len(pending) > 2000:
        for s in pending[:1000]:
            s.close()
        del pending[:1000]
    delay = start + made / rate - time.time()
    if delay > 0:
        time.sleep(delay)
time.sleep(0.2)
for s in pending:
    s.close()
print(made)
