#!/bin/bash
# Stages RSTs for real between throwaway network namespaces and captures them on the client side.
#   client rstd-c-cli 198.18.50.1 -- 198.18.50.2 router rstd-c-rtr 198.18.51.1 -- 198.18.51.2 server rstd-c-srv
# Writes OUT/{no-listener,linger0,unread,router-reject}.pcap. Needs root, iproute2, nft, tcpdump, python3.
# Everything it creates is removed on exit, even on failure.
set -euo pipefail
out=${1:?usage: stage.sh OUT_DIR}
mkdir -p "$out"
source "$(dirname "$0")/topology.sh"
topology rstd-c 198.18.50 198.18.51

# capture NAME: start tcpdump in the client namespace (stopcap, in topology.sh, stops it).
capture() {
  ip netns exec $C tcpdump --immediate-mode -i rstd-c-a -U -s 256 -w "$out/$1.pcap" tcp 2>"$tmp/tcpdump.log" &
  cap=$!; pids+=("$cap")
  for _ in $(seq 50); do grep -q listening "$tmp/tcpdump.log" && break; sleep 0.1; done
}

# 1. No listener: connect to a port nothing listens on.
capture no-listener
ip netns exec $C $agent connect 198.18.51.2 9
stopcap

# 2. SO_LINGER {1,0}: the server answers, then closes with RST.
server 8080 linger0
capture linger0
ip netns exec $C $agent connect 198.18.51.2 8080
stopcap
wait "$srv" || true

# 3. close() with unread data: the server reads 5 bytes of the request, answers and closes.
server 8081 unread
capture unread
ip netns exec $C $agent connect 198.18.51.2 8081
stopcap
wait "$srv" || true

# 4. nft `reject with tcp reset` on the router: mid-stream on 8082 after one echo, then a new SYN to 8082.
server 8082 echo
capture router-reject
go="$tmp/go"
ip netns exec $C $agent hold 198.18.51.2 8082 "$go" >"$tmp/hold.log" 2>&1 &
hold=$!; pids+=("$hold")
for _ in $(seq 50); do grep -q echo "$tmp/hold.log" && break; sleep 0.1; done
ip netns exec $R nft -f - <<'NFT'
table ip rstd_c {
  chain forward_rst {
    type filter hook forward priority 0;
    tcp dport 8082 reject with tcp reset
  }
}
NFT
touch "$go"
wait "$hold" || true
ip netns exec $C $agent connect 198.18.51.2 8082
stopcap
cat "$tmp/hold.log"
echo "captures written to $out"
