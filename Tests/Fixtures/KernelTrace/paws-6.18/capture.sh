#!/usr/bin/env bash
# Captures trace.txt: the tracefs text of one run of the lab scenario paws-estab (a data segment with a
# timestamp 100 s old into an ESTABLISHED connection on port 8080, Tests/LabTests/Scenarios/PawsEstab.swift),
# read from one rstdoctor tracefs instance with the events and filters `check --observe --port 8080` sets in
# its two: skb:kfree_skb for the drop reasons of knowledge/trace-reasons.yaml and the RST events (the main
# instance), tcp:tcp_probe of port 8080, which places a segment dropped by PAWS by its skbaddr (the -drops
# instance, which has kfree_skb TCP_RFC7323_PAWS only). Run as root, under the lab lock:
#   flock /tmp/rstd-lab.lock bash Tests/Fixtures/KernelTrace/paws-6.18/capture.sh
set -euo pipefail
OUT=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$OUT/../../../.." && pwd)
T=/sys/kernel/tracing; I=$T/instances/rstdoctor-$$
EVENTS="tcp/tcp_send_reset tcp/tcp_receive_reset tcp/tcp_probe skb/kfree_skb"
cleanup() {
  for e in $EVENTS; do echo 0 > "$I/events/$e/enable" 2>/dev/null || true; done
  rmdir "$I" 2>/dev/null || true
}
trap cleanup EXIT
mkdir "$I"
echo boot > "$I/trace_clock"
echo 2048 > "$I/buffer_size_kb"
fmt=$(cat "$T/events/skb/kfree_skb/format")
codes=""
for r in NO_SOCKET TCP_FLAGS TCP_LISTEN_OVERFLOW TCP_INVALID_SYN TCP_INVALID_ACK_SEQUENCE TCP_INVALID_SEQUENCE \
         TCP_OLD_SEQUENCE TCP_RFC7323_PAWS TCP_RFC7323_TW_PAWS TCP_OLD_ACK TCP_TOO_OLD_ACK TCP_ACK_UNSENT_DATA \
         TCP_ABORT_ON_DATA TCP_RESET TCP_CLOSE NETFILTER_DROP; do
  n=$(grep -o "{ [0-9]*, \"$r\" }" <<<"$fmt" | sed -E 's/\{ ([0-9]+),.*/\1/' || true)
  [ -n "$n" ] && codes="$codes${codes:+ || }reason == $n"
done
echo "($codes) && (protocol == 2048 || protocol == 34525)" > "$I/events/skb/kfree_skb/filter"
echo 'sport == 8080 || dport == 8080' > "$I/events/tcp/tcp_probe/filter"
for e in $EVENTS; do echo 1 > "$I/events/$e/enable"; done
LOG=$(mktemp); (cd "$ROOT" && swift test --skip-build --filter "LabTests.ScenarioTests/testPawsEstab") > "$LOG" 2>&1 || true
echo 0 > "$I/tracing_on"
{ echo "# $(uname -r), $(date -u +%FT%TZ): lab scenario paws-estab; kfree_skb filter: $(cat "$I/events/skb/kfree_skb/filter" | head -1)"
  grep -v '^#' "$I/trace"; } > "$OUT/trace.txt"
cp "$T/events/tcp/tcp_probe/format" "$OUT/tcp_probe.format"
uname -r > "$OUT/KERNEL"
tail -5 "$LOG"; rm -f "$LOG"
