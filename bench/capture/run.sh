#!/bin/bash
# Capture benchmark: rstdoctor capture vs tcpdump and tshark on one synthetic capture, measured in
# the same run. Usage (from anywhere):
#   bench/capture/run.sh [--flows N] [--size-mb M] [--no-tshark] [--keep]
# Defaults: 20000 connections, 100 MiB (quick). The issue's large run: --flows 200000 --size-mb 1024.
# Prints throughput ratios (rstdoctor time vs tcpdump's / tshark's on the same file) and peak memory.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
flows=20000 size=100 tshark=1 keep=0
while [ $# -gt 0 ]; do
  case $1 in
    --flows) flows=$2; shift 2 ;;
    --size-mb) size=$2; shift 2 ;;
    --no-tshark) tshark=0; shift ;;
    --keep) keep=1; shift ;;
    *) echo "usage: $0 [--flows N] [--size-mb M] [--no-tshark] [--keep]" >&2; exit 2 ;;
  esac
done
for t in tcpdump python3 /usr/bin/time; do command -v $t >/dev/null || { echo "needs $t" >&2; exit 3; }; done
[ $tshark = 1 ] && ! command -v tshark >/dev/null && { echo "tshark missing: rerun with --no-tshark" >&2; exit 3; }

out="$root/bench/out"
mkdir -p "$out"
pcap="$out/capture-$flows-$size.pcap"
[ $keep = 1 ] || trap 'rm -f "$pcap"' EXIT

echo "== building rstdoctor (release)"
(cd "$root" && swift build -c release --product rstdoctor >/dev/null)
bin="$root/.build/release/rstdoctor"

echo "== generating $pcap ($flows connections, ~$size MiB)"
gen=$(python3 "$here/gen.py" "$pcap" --flows "$flows" --size-mb "$size")
echo "$gen"
bytes=$(stat -c %s "$pcap")
want_rsts=$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['rsts'])" "$gen")

# measure NAME CMD...: best of 3 wall times (the file is in the page cache after the first), peak RSS.
measure() {
  local name=$1; shift
  local best="" rss=0
  for _ in 1 2 3; do
    # Wall time from a nanosecond clock (/usr/bin/time's %e has 10 ms steps); peak RSS from /usr/bin/time.
    local t0 t1
    t0=$(date +%s%N)
    /usr/bin/time -f "%M" -o "$out/time.txt" "$@" >"$out/$name.stdout" 2>/dev/null || true
    t1=$(date +%s%N)
    secs=$(python3 -c "import sys; print((int(sys.argv[2]) - int(sys.argv[1])) / 1e9)" "$t0" "$t1")
    kb=$(tail -n 1 "$out/time.txt")
    if [ -z "$best" ] || python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) < float(sys.argv[2]) else 1)" "$secs" "$best"; then best=$secs; fi
    [ "$kb" -gt "$rss" ] && rss=$kb
  done
  eval "${name}_secs=$best ${name}_kb=$rss"
}

cat /dev/null "$pcap" >/dev/null  # warm the page cache
echo "== measuring"
measure tcpdump tcpdump -r "$pcap" -w /dev/null 'tcp[tcpflags] & tcp-rst != 0'
measure rstdoctor "$bin" capture --format json --max-resets 0 "$pcap"
if [ $tshark = 1 ]; then measure tshark tshark -n -r "$pcap" -Y 'tcp.flags.reset==1'; fi

got_rsts=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['rst_count'])" "$out/rstdoctor.stdout")
python3 - "$bytes" "$tcpdump_secs" "$rstdoctor_secs" "$rstdoctor_kb" "${tshark_secs:-0}" "$want_rsts" "$got_rsts" <<'PY'
import sys
size, td, rd, rkb, ts, want, got = sys.argv[1:]
size, td, rd, rkb, ts = int(size), float(td), float(rd), int(rkb), float(ts)
mb = size / 2**20
fmt = lambda s: f"{s:.3f}s ({mb / s:.0f} MiB/s)" if s > 0 else "n/a"
print(f"file            {mb:.0f} MiB")
print(f"tcpdump         {fmt(td)}")
print(f"rstdoctor       {fmt(rd)}, peak RSS {rkb / 1024:.1f} MiB")
if ts: print(f"tshark          {fmt(ts)}")
ratio = td / rd if rd else 0
print(f"throughput vs tcpdump: {ratio:.2f}x  (must be >= 0.5x, aim >= 1x)  {'PASS' if ratio >= 0.5 else 'FAIL'}")
if ts: print(f"throughput vs tshark:  {ts / rd:.2f}x")
print(f"peak memory: {rkb / 1024:.1f} MiB  (must be <= 64 MiB)  {'PASS' if rkb <= 64 * 1024 else 'FAIL'}")
print(f"RSTs: generator wrote {want}, rstdoctor found {got}  {'PASS' if want == got else 'FAIL'}")
PY
