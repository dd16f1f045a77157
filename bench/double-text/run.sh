#!/usr/bin/env bash
# bench/double-text/run.sh [capture.json ...] — checks that NumberText.double writes exactly what
# Double.description writes: the doubles of the given `rstdoctor capture --format json` outputs (and
# their negatives), then N (default 200 million) generated values: timestamps, their differences,
# short decimals, neighbours of decimals, random bit patterns, integers, a log-uniform spread.
set -euo pipefail
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
swiftc -O Sources/RSTDCapture/NumberText.swift bench/double-text/main.swift -o "$tmp/dt"
for f in "$@"; do
  grep -oE '"(time|rel_time|delay|idle_before)":[-0-9.e+]+' "$f" | cut -d: -f2 | sort -u >> "$tmp/real.txt"
done
touch "$tmp/real.txt"
N=${N:-200000000} "$tmp/dt" "$tmp/real.txt"
