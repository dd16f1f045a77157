#!/usr/bin/env bash
# Captures this fixture: the same trace events read twice from one rstdoctor tracefs instance, as
# text (the non-consuming `trace` file) and as binary ring-buffer pages (per_cpu/cpuN/trace_pipe_raw),
# with the format files that decode them. Run as root, under the lab lock:
#   flock /tmp/rstd-lab.lock bash Tests/Fixtures/KernelTrace/raw-6.18/capture.sh
# Lab namespaces rstd-fx-PID-{c,s} (198.18.201.0/24, fd00:201::/64), removed on exit.
set -euo pipefail
OUT=$(cd "$(dirname "$0")" && pwd)
T=/sys/kernel/tracing; I=$T/instances/rstdoctor-$$
C=rstd-fx-$$-c; S=rstd-fx-$$-s
cleanup() {
  for e in tcp/tcp_send_reset tcp/tcp_receive_reset skb/kfree_skb sock/inet_sock_set_state; do
    echo 0 > "$I/events/$e/enable" 2>/dev/null || true; done
  rmdir "$I" 2>/dev/null || true
  ip netns del "$C" 2>/dev/null || true; ip netns del "$S" 2>/dev/null || true
}
trap cleanup EXIT
ip netns add "$C"; ip netns add "$S"
ip -n "$C" link set lo up; ip -n "$S" link set lo up
ip -n "$C" link add eth0 type veth peer name eth0 netns "$S"
ip -n "$C" addr add 198.18.201.1/24 dev eth0; ip -n "$S" addr add 198.18.201.2/24 dev eth0
ip -n "$C" addr add fd00:201::1/64 dev eth0 nodad; ip -n "$S" addr add fd00:201::2/64 dev eth0 nodad
ip -n "$C" link set eth0 up; ip -n "$S" link set eth0 up
sleep 0.5
mkdir "$I"
echo boot > "$I/trace_clock"
echo 1024 > "$I/buffer_size_kb"
# As TraceSession filters them: kfree_skb for NO_SOCKET (3 on this kernel) over IPv4/IPv6, closes only.
echo '(reason == 3) && (protocol == 2048 || protocol == 34525)' > "$I/events/skb/kfree_skb/filter"
echo 'newstate == 7 && protocol == 6' > "$I/events/sock/inet_sock_set_state/filter"
for e in tcp/tcp_send_reset tcp/tcp_receive_reset skb/kfree_skb sock/inet_sock_set_state; do echo 1 > "$I/events/$e/enable"; done
# Refused connects (v4, v6: NO_SOCKET in a softirq) and a server closing with SO_LINGER {1,0}
# (TCP_ABORT_ON_LINGER in its close(): process context), a few each, on both CPUs.
ip netns exec "$S" python3 - <<'PY' &
import socket, struct
l4 = socket.socket(); l4.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); l4.bind(("198.18.201.2", 8082)); l4.listen(8)
l6 = socket.socket(socket.AF_INET6); l6.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); l6.bind(("fd00:201::2", 8082)); l6.listen(8)
for l in (l4, l6, l4, l6):
    c, _ = l.accept(); c.recv(10)
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)); c.close()
PY
sleep 0.3
ip netns exec "$C" python3 - <<'PY'
import os, socket, time
for i in range(6):
    os.sched_setaffinity(0, {i % os.cpu_count()})
    for fam, addr in ((socket.AF_INET, "198.18.201.2"), (socket.AF_INET6, "fd00:201::2")):
        s = socket.socket(fam)
        try: s.connect((addr, 9))
        except OSError: pass
        s.close()
    time.sleep(0.01)
for addr, fam in (("198.18.201.2", socket.AF_INET), ("fd00:201::2", socket.AF_INET6)) * 2:
    s = socket.socket(fam); s.connect((addr, 8082)); s.send(b"hello"); time.sleep(0.05)
    try: s.recv(10)
    except OSError: pass
    s.close()
PY
wait
sleep 0.2
echo 0 > "$I/tracing_on"
cat "$I/trace" > "$OUT/trace.txt"
for d in "$I"/per_cpu/cpu*; do
  n=${d##*cpu}; : > "$OUT/cpu$n.pages"
  python3 - "$d/trace_pipe_raw" "$OUT/cpu$n.pages" <<'PY'
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_NONBLOCK)
with open(sys.argv[2], "wb") as out:
    while True:
        try: b = os.read(fd, 65536)
        except BlockingIOError: break
        if not b: break
        assert len(b) == 4096, len(b)
        out.write(b)
PY
done
for e in tcp/tcp_send_reset tcp/tcp_receive_reset skb/kfree_skb sock/inet_sock_set_state; do
  cp "$I/events/$e/format" "$OUT/${e#*/}.format"; done
cp "$T/events/header_page" "$OUT/header_page"; cp "$T/events/header_event" "$OUT/header_event"
echo "$(uname -r) $(uname -m); captured $(date -u +%Y-%m-%d) by capture.sh" > "$OUT/KERNEL"
grep -c -v '^#' "$OUT/trace.txt"; ls -la "$OUT"
