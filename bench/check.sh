#!/usr/bin/env bash
# bench/check.sh — wall time of `rstdoctor check` (default 1 s counter window) on this host,
# against the same evidence read by hand with the usual tools, measured in the same run.
# Target: under 2 s on a 2-core machine.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${RSTDOCTOR_BIN:-.build/release/rstdoctor}
RUNS=${RUNS:-5}
[ -x "$BIN" ] || { echo "build first: swift build -c release" >&2; exit 3; }

now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

checks=(); manual=()
for _ in $(seq "$RUNS"); do
  t0=$(now); "$BIN" check >/dev/null 2>&1 || true; t1=$(now)
  checks+=("$(echo "$t1 - $t0" | bc -l)")
  # By hand, one after the other: the commands a person would type (no counter window).
  t0=$(now)
  { ss -Hltnp; ss -Htanoi; nstat -asz; sysctl -a; ip -j addr; ip -j neigh; nft -j list ruleset; iptables-save; ip6tables-save;
    journalctl -k --since -1h -q --no-pager; cat /proc/net/sockstat; } >/dev/null 2>&1 || true
  t1=$(now)
  manual+=("$(echo "$t1 - $t0" | bc -l)")
done
c=$(printf '%s\n' "${checks[@]}" | median)
m=$(printf '%s\n' "${manual[@]}" | median)
rssfile=$(mktemp); /usr/bin/time -f '%M' -o "$rssfile" "$BIN" check >/dev/null 2>&1 || true; rss=$(tail -1 "$rssfile"); rm -f "$rssfile"
printf 'check: median %.2f s over %d runs (target < 2 s; includes the 1 s counter window)\n' "$c" "$RUNS"
printf 'by hand (ss, nstat, sysctl, ip, nft, iptables-save, journalctl, sequential, no window): median %.2f s\n' "$m"
printf 'check minus its 1 s window vs by hand: %.2fx (the 1 s arping duplicate-address probe overlaps the window)\n' "$(echo "($c - 1) / $m" | bc -l)"
printf 'check peak RSS: %s KiB\n' "$rss"
