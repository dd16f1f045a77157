#!/bin/bash
# Capture benchmark: rstdoctor capture vs tcpdump and tshark on synthetic captures, every figure
# measured in the same run. Usage (from anywhere):
#   bench/capture/run.sh [--flows N] [--size-mb M] [--runs R] [--no-tshark] [--no-million] [--keep]
#                        [--scratch-path DIR]   (SwiftPM build directory; default .build)
# Defaults: 20000 connections, 100 MiB (quick). The issue's large run: --flows 200000 --size-mb 1024.
# Measures, R times each (default 5, interleaved), and prints medians and ratios:
#   tcpdump -r F -w /dev/null 'tcp[tcpflags] & tcp-rst != 0'      (BPF-only pass: the reference)
#   rstdoctor capture --format json F                              (every RST listed)
#   the same with RSTDOCTOR_OUTPUT_THREAD=0 RSTDOCTOR_READER_THREAD=0   (reading and output on the analysis thread)
#   rstdoctor capture F                                            (text: summary and groups)
#   tcpdump -nr F 'tcp[tcpflags] & tcp-rst != 0'                   (text)
#   tshark -n -r F -Y 'tcp.flags.reset==1'
# and the peak memory (GNU time) of the JSON output of F and of a capture with a million RSTs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
flows=20000 size=100 runs=5 tshark=1 million=1 keep=0 scratch=.build
while [ $# -gt 0 ]; do
  case $1 in
    --flows) flows=$2; shift 2 ;;
    --size-mb) size=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --no-tshark) tshark=0; shift ;;
    --no-million) million=0; shift ;;
    --keep) keep=1; shift ;;
    --scratch-path) scratch=$2; shift 2 ;;
    *) echo "usage: $0 [--flows N] [--size-mb M] [--runs R] [--no-tshark] [--no-million] [--keep] [--scratch-path DIR]" >&2; exit 2 ;;
  esac
done
for t in tcpdump python3 /usr/bin/time; do command -v $t >/dev/null || { echo "needs $t" >&2; exit 3; }; done
[ $tshark = 1 ] && ! command -v tshark >/dev/null && { echo "tshark missing: rerun with --no-tshark" >&2; exit 3; }

out="$root/bench/out"
mkdir -p "$out"
pcap="$out/capture-$flows-$size.pcap"
mpcap="$out/capture-million-rsts.pcap"
[ $keep = 1 ] || trap 'rm -f "$pcap" "$mpcap"' EXIT

echo "== building rstdoctor (release)"
(cd "$root" && swift build -c release --scratch-path "$scratch" --product rstdoctor >/dev/null)
bin=$(cd "$root" && cd "$scratch" && pwd)/release/rstdoctor

gen() {  # gen FILE ARGS...: reuses FILE when --keep left it with the same arguments
  local f=$1; shift
  if [ $keep = 1 ] && [ -f "$f" ] && [ -f "$f.json" ] && [ "$(cat "$f.args" 2>/dev/null)" = "$*" ]; then cat "$f.json"; return; fi
  python3 "$here/gen.py" "$f" "$@" | tee "$f.json"
  echo "$*" >"$f.args"
}
echo "== generating $pcap ($flows connections, ~$size MiB)"
want_rsts=$(gen "$pcap" --flows "$flows" --size-mb "$size" | python3 -c "import json,sys; print(json.load(sys.stdin)['rsts'])")
if [ $million = 1 ]; then
  echo "== generating $mpcap (a million refused connections: a million RSTs)"
  gen "$mpcap" --flows 1000000 --size-mb 1 --refused-pct 100 >/dev/null
fi

# run NAME CMD...: one timed run (nanosecond wall clock), peak RSS in KiB from GNU time, appended
# to $out/NAME.times / NAME.kb. Outside the timed part: the previous run's output file is removed
# (truncating 43 MB of JSON, on a filesystem mounted with discard, was timed as the next run's) and
# written back (sync), so no run pays for the writeback of the ones before it on a 2-core machine.
# Writing the command's own output into the page cache stays timed.
run() {
  local name=$1; shift
  local t0 t1
  rm -f "$out/$name.stdout"
  sync
  t0=$(date +%s%N)
  /usr/bin/time -f "%M" -o "$out/time.txt" "$@" >"$out/$name.stdout" 2>/dev/null || true
  t1=$(date +%s%N)
  echo $(( (t1 - t0) / 1000 )) >>"$out/$name.times"
  tail -n 1 "$out/time.txt" >>"$out/$name.kb"
}

names="tcpdump_bpf rstdoctor_json rstdoctor_json_1t rstdoctor_text tcpdump_text"
[ $tshark = 1 ] && names="$names tshark"
for n in $names million_json; do rm -f "$out/$n.times" "$out/$n.kb"; done
cat /dev/null "$pcap" >/dev/null  # warm the page cache
echo "== measuring ($runs runs each, interleaved)"
for _ in $(seq "$runs"); do
  run tcpdump_bpf tcpdump -r "$pcap" -w /dev/null 'tcp[tcpflags] & tcp-rst != 0'
  run rstdoctor_json "$bin" capture --format json "$pcap"
  run rstdoctor_json_1t env RSTDOCTOR_OUTPUT_THREAD=0 RSTDOCTOR_READER_THREAD=0 "$bin" capture --format json "$pcap"
  run rstdoctor_text "$bin" capture "$pcap"
  run tcpdump_text tcpdump -nr "$pcap" 'tcp[tcpflags] & tcp-rst != 0'
  [ $tshark = 1 ] && run tshark tshark -n -r "$pcap" -Y 'tcp.flags.reset==1'
done
[ $million = 1 ] && run million_json "$bin" capture --format json "$mpcap"

python3 - "$out" "$pcap" "$want_rsts" "$names" "$million" "$mpcap" <<'PY'
import json, os, statistics, sys
out, pcap, want, names, million, mpcap = sys.argv[1:]
mb = os.path.getsize(pcap) / 2**20
def med(n):
    ts = [int(x) / 1e6 for x in open(f"{out}/{n}.times").read().split()]
    return statistics.median(ts), ts
def kb(n): return max(int(x) for x in open(f"{out}/{n}.kb").read().split())
print(f"file {pcap}: {mb:.0f} MiB, {want} RSTs")
t = {}
for n in names.split():
    t[n], all_ = med(n)
    print(f"  {n:15} median {t[n]:.3f}s ({mb / t[n]:.0f} MiB/s)  runs {' '.join(f'{x:.3f}' for x in all_)}  peak {kb(n) / 1024:.1f} MiB")
ref = t["tcpdump_bpf"]
def verdict(ok): return "PASS" if ok else "FAIL"
j = json.load(open(f"{out}/rstdoctor_json.stdout"))
listed = len(j["resets"])
print(f"JSON lists {listed} records + {j['resets_not_listed']} not listed = {j['rst_count']} RSTs (generator wrote {want})  "
      f"{verdict(listed + j['resets_not_listed'] == j['rst_count'] == int(want) and listed == int(want))}")
r = ref / t["rstdoctor_json"]
print(f"JSON (every RST) vs tcpdump BPF-only: {r:.2f}x  (target >= 1.5x)  {verdict(r >= 1.5)}")
print(f"JSON, reader and output threads vs one thread: {t['rstdoctor_json_1t'] / t['rstdoctor_json']:.2f}x "
      f"(same bytes: {open(f'{out}/rstdoctor_json.stdout','rb').read() == open(f'{out}/rstdoctor_json_1t.stdout','rb').read()})")
print(f"JSON peak memory: {kb('rstdoctor_json') / 1024:.1f} MiB  (target <= 64 MiB)  {verdict(kb('rstdoctor_json') <= 64 * 1024)}")
r = ref / t["rstdoctor_text"]
print(f"text vs tcpdump BPF-only:            {r:.2f}x  (target >= 1.5x)  {verdict(r >= 1.5)}")
print(f"text vs tcpdump -nr (text):          {t['tcpdump_text'] / t['rstdoctor_text']:.2f}x")
print(f"JSON vs tcpdump -nr (text):          {t['tcpdump_text'] / t['rstdoctor_json']:.2f}x")
if "tshark" in t:
    print(f"JSON vs tshark -Y:                   {t['tshark'] / t['rstdoctor_json']:.2f}x")
    print(f"text vs tshark -Y:                   {t['tshark'] / t['rstdoctor_text']:.2f}x")
if million == "1":
    m = json.load(open(f"{out}/million_json.stdout"))
    k = kb("million_json")
    print(f"million-RST capture ({os.path.getsize(mpcap) / 2**20:.0f} MiB): JSON lists {len(m['resets'])} of {m['rst_count']} RSTs in "
          f"{med('million_json')[0]:.2f}s, peak {k / 1024:.1f} MiB  (target <= 64 MiB)  {verdict(k <= 64 * 1024 and len(m['resets']) == m['rst_count'])}")
PY
