#!/bin/sh
# Regenerates tshark/<capture>.tsv: the RSTs tshark finds in each corpus capture, one per line:
# frame, src, sport, dst, dport (innermost addresses when tshark decodes a tunnel).
# A file tshark cannot read gets "# tshark: <error>" and the RSTs it listed before the error.
# Usage: make-tshark-fixtures.sh CORPUS_PCAP_DIR OUT_DIR   (tshark 4.x; run once, review, commit)
set -u
corpus=$1; out=$2
for f in "$corpus"/*; do
  name=$(basename "$f")
  tshark -n -r "$f" -Y 'tcp.flags.reset==1' -T fields -E separator=/t \
      -e frame.number -e ip.src -e ipv6.src -e tcp.srcport -e ip.dst -e ipv6.dst -e tcp.dstport \
      >"$out/$name.raw" 2>"$out/$name.err"
  rc=$?
  {
    echo "# tshark -n -r $name -Y tcp.flags.reset==1 (exit $rc)"
    grep -v '^Running as user' "$out/$name.err" | grep -v 'Dissector bug' | grep . | sed "s|$corpus/||; s/^/# /"
    # Last value of each comma-separated list = innermost header.
    awk -F'\t' 'BEGIN{OFS="\t"} function last(s,  a,n){n=split(s,a,",");return a[n]}
      {src=($2!="")?last($2):last($3); dst=($5!="")?last($5):last($6); print $1, src, last($4), dst, last($7)}' "$out/$name.raw"
  } >"$out/$name.tsv"
  rm -f "$out/$name.raw" "$out/$name.err"
done
