#!/usr/bin/env bash
# bench/record — the flight recorder's costs (issue 14), measured in the same run:
#  1. a steady, bounded stream of RATE RSTs/s (default 2000) for DURATION seconds (default 20) between
#     two lab namespaces (rstd-bench-PID-c → rstd-bench-PID-s, 198.18.200.0/24), `rstdoctor record
#     --netns` on the server side: recorder CPU % of one core, peak RSS, RSTs lost (sent by the stack vs
#     in the journal), journal bytes per RST. Targets: CPU ≤ 5 %, RSS ≤ 64 MiB, lost 0.
#  2. `check --since 24h` on a journal of N (default 1,000,000) resets: wall time (target < 1 s), the
#     journal part alone (--only counters) and the full default command (every check).
# Needs root (namespaces, tracefs). Everything it creates is removed on exit.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${RSTDOCTOR_BIN:-.build/release/rstdoctor}
RATE=${RATE:-2000}; DURATION=${DURATION:-20}; N=${N:-1000000}
[ -x "$BIN" ] || { echo "build first: swift build -c release" >&2; exit 3; }
[ "$(id -u)" = 0 ] || { echo "bench/record needs root (network namespaces, tracefs)" >&2; exit 3; }
C=rstd-bench-$$-c; S=rstd-bench-$$-s
TMP=$(mktemp -d /tmp/rstd-bench-record.XXXXXX)
REC=""
cleanup() {
  if [ -n "$REC" ]; then kill -INT "$REC" 2>/dev/null || true; wait "$REC" 2>/dev/null || true; fi
  ip netns del "$C" 2>/dev/null || true; ip netns del "$S" 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT INT TERM
count() { python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()[0])" "$@"; }

ip netns add "$C"; ip netns add "$S"
ip -n "$C" link set lo up; ip -n "$S" link set lo up
ip -n "$C" link add eth0 type veth peer name eth0 netns "$S"
ip -n "$C" addr add 198.18.200.1/24 dev eth0; ip -n "$S" addr add 198.18.200.2/24 dev eth0
ip -n "$C" link set eth0 up; ip -n "$S" link set eth0 up
ip netns exec "$C" sysctl -q -w net.ipv4.ip_local_port_range="10000 60999"
sleep 0.5

"$BIN" record --netns "$S" --journal "$TMP/j.db" 2>"$TMP/rec.err" & REC=$!
for _ in $(seq 100); do grep -q "ready:" "$TMP/rec.err" && break; sleep 0.1; done
ticks() { awk '{print $14 + $15}' "/proc/$REC/stat"; }
rsts() { ip netns exec "$S" nstat -asz TcpOutRsts | awk '/TcpOutRsts/ {print $2}'; }
out0=$(rsts); t0=$(date +%s.%N); c0=$(ticks)
made=$(ip netns exec "$C" python3 bench/record/load.py 198.18.200.2 "$RATE" "$DURATION")
t1=$(date +%s.%N); c1=$(ticks)
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$REC/status")
out1=$(rsts)
sleep 1.5
kill -INT "$REC"; wait "$REC" || true; REC=""
hz=$(getconf CLK_TCK)
cpu=$(echo "($c1 - $c0) / $hz / ($t1 - $t0) * 100" | bc -l)
sent=$((out1 - out0))
stored=$(count "$TMP/j.db" "SELECT count(*) FROM rst_event WHERE direction='sent' AND sport=9")
rows=$(count "$TMP/j.db" "SELECT count(*) FROM rst_event")
bytes=$(( $(stat -c %s "$TMP/j.db") + $(stat -c %s "$TMP/j.db-wal" 2>/dev/null || echo 0) ))
printf 'record: %d connects in %.1f s, %.0f RSTs/s sent by the stack (TcpOutRsts +%d)\n' "$made" "$(echo "$t1 - $t0" | bc -l)" "$(echo "$sent / ($t1 - $t0)" | bc -l)" "$sent"
printf 'record: recorder CPU %.1f %% of one core (target <= 5 %%), peak RSS %d KiB (target <= 65536)\n' "$cpu" "$hwm"
printf 'record: the journal has %d of %d sent RSTs (lost %d; %d rows with the receiving side), %.0f bytes per sent RST\n' \
  "$stored" "$sent" "$((sent - stored))" "$rows" "$(echo "$bytes / ($stored + 1)" | bc -l)"
grep -E "stopped;" "$TMP/rec.err" | tail -1 | sed 's/^/record: /'

# 2. check --since 24h on a journal of N resets.
"$BIN" record --journal "$TMP/big.db" --no-capture 2>/dev/null & REC=$!
sleep 2; kill -INT "$REC"; wait "$REC" || true; REC=""
python3 bench/record/fill.py "$TMP/big.db" "$N" >/dev/null
best=""
for _ in 1 2 3; do
  s=$(date +%s.%N)
  "$BIN" check --since 24h --journal "$TMP/big.db" --only counters --format json >"$TMP/big.json" 2>/dev/null || true
  d=$(echo "$(date +%s.%N) - $s" | bc -l)
  if [ -z "$best" ] || [ "$(echo "$d < $best" | bc -l)" = 1 ]; then best=$d; fi
done
summarised=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['journal']['resets'])" "$TMP/big.json")
printf 'check --since 24h on %d resets (%d MiB journal): best of 3 %.2f s wall (target < 1 s), %s resets summarised\n' \
  "$N" "$(( $(stat -c %s "$TMP/big.db") / 1048576 ))" "$best" "$summarised"
# The same with every check of the host (its present state), as a user runs it (the issue's target is
# this command): the checks run concurrently, so the wall time is the journal read plus the slowest
# live check — the duplicate-address probe (0.45 s per address when nobody answers, all addresses in
# parallel); counter checks the journal cannot fill read once (no live 1 s sample for a past period).
best=""
for _ in 1 2 3; do
  s=$(date +%s.%N)
  "$BIN" check --since 24h --journal "$TMP/big.db" --format json >"$TMP/full.json" 2>/dev/null || true
  d=$(echo "$(date +%s.%N) - $s" | bc -l)
  if [ -z "$best" ] || [ "$(echo "$d < $best" | bc -l)" = 1 ]; then best=$d; fi
done
slowest=$(python3 -c "import json,sys; c=json.load(open(sys.argv[1]))['checks']; c.sort(key=lambda x: -(x.get('duration_ms') or 0)); print(', '.join('%s %d ms' % (x['id'], x.get('duration_ms') or 0) for x in c[:3]))" "$TMP/full.json")
printf 'check --since 24h --journal J --format json (every check) on %d resets: best of 3 %.2f s wall (target < 1 s); slowest checks: %s\n' "$N" "$best" "$slowest"
