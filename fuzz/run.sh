#!/usr/bin/env bash
# usage: fuzz/run.sh [SECONDS] [TARGET...] — `make fuzz FUZZ_SECONDS=N [FUZZ_TARGETS="a b"] [FUZZ_JOBS=2]`.
# Builds rstdoctor-fuzz with libFuzzer and AddressSanitizer, makes the seed corpora (fuzz/seeds.py), runs each target for SECONDS and prints one
# line per target: `TARGET: N execs, K crashes`. Crashes, hangs (>10 s for one input) and allocations
# over 512 MiB are all counted as crashes; their inputs are kept in .build-fuzz/artifacts/TARGET/ —
# copy each into Tests/Fixtures/fuzz/TARGET/ once fixed, so `make test` replays it.
# Leak detection is off: Swift keeps an indirect enum's case tag in the spare bits of the box pointer,
# which LeakSanitizer cannot follow, so it reports live `Expr` trees held by a global as "direct leaks"
# (reproduced with a 3-line indirect enum held in a global: 4 false reports).
# The build is a debug one: swiftc -O with -sanitize=fuzzer emits no coverage counters for Swift code.
# Exit status: 0 when no target crashed, 1 otherwise, 2 when the build failed.
set -uo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
scratch=${FUZZ_SCRATCH:-.build-fuzz}
thirdparty=Tests/Fixtures/corpus

mkdir -p "$scratch"
swift build --scratch-path "$scratch" --sanitize=fuzzer --sanitize=address -Xswiftc -DFUZZING \
  --product rstdoctor-fuzz >"$scratch/build.log" 2>&1 || { tail -30 "$scratch/build.log"; echo "fuzz: the instrumented build failed (log: $scratch/build.log)"; exit 2; }
bin=$(swift build --scratch-path "$scratch" --sanitize=fuzzer --sanitize=address -Xswiftc -DFUZZING --show-bin-path)/rstdoctor-fuzz

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(packet capture-file ss nft-json iptables-save kernel-log trace-line expression knowledge-yaml host-parsers)
fi

seeds="$scratch/seeds"
rm -rf "$seeds"
py=python3
$py -c 'import yaml' 2>/dev/null || py=/usr/bin/python3   # Debian's python3-yaml (make deps installs it)
$py fuzz/seeds.py . "$thirdparty" "$seeds" >/dev/null || { echo "fuzz: could not make the seed corpora from $thirdparty (needs python3 with yaml: apt install python3-yaml)"; exit 2; }

# One target per core at most (FUZZ_JOBS, default 1): each runs for SECONDS of wall time.
jobs=${FUZZ_JOBS:-1}
run_one() {
  local t=$1 corpus="$scratch/corpus/$1" artifacts="$scratch/artifacts/$1"
  mkdir -p "$corpus" "$artifacts" "$seeds/$t"
  local before
  before=$(ls "$artifacts" | wc -l)
  # The Swift runtime's own backtracer would race libFuzzer's crash handler: libFuzzer reports.
  SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=detect_leaks=0 RSTD_FUZZ_TARGET="$t" "$bin" "$corpus" "$seeds/$t" \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=512 -max_len=65536 \
    -detect_leaks=0 -print_final_stats=1 -artifact_prefix="$artifacts/" -close_fd_mask=1 \
    >"$scratch/$t.log" 2>&1
  local execs crashes
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$scratch/$t.log" | grep -o '[0-9]*$' | tail -1)
  crashes=$(( $(ls "$artifacts" | wc -l) - before ))
  echo "$t: ${execs:-0} execs, $crashes crashes"
  if [ "$crashes" -ne 0 ]; then ls -t "$artifacts" | head -"$crashes" | sed "s|^|  $artifacts/|"; return 1; fi
}

status=0
running=0
for t in "${targets[@]}"; do
  if [ "$running" -ge "$jobs" ]; then wait -n || status=1; running=$((running - 1)); fi
  run_one "$t" &
  running=$((running + 1))
done
while [ "$running" -gt 0 ]; do wait -n || status=1; running=$((running - 1)); done
exit $status
