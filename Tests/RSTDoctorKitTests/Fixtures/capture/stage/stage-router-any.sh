#!/bin/bash
# Stages RSTs through a router and captures them ON THE ROUTER with `tcpdump -i any` (Linux cooked
# headers: each packet is marked incoming or outgoing), to tell RSTs the router builds from RSTs it forwards.
#   client rstd-a-cli 198.18.60.1 -- 198.18.60.2 router rstd-a-rtr 198.18.61.1 -- 198.18.61.2 server rstd-a-srv
# Writes OUT/router-built-any.pcap (LINUX_SLL2) and OUT/router-forwarded-any.pcap (LINUX_SLL, no interface index).
# Needs root, iproute2, nft, tcpdump, python3. Everything it creates is removed on exit, even on failure.
set -euo pipefail
out=${1:?usage: stage-router-any.sh OUT_DIR}
mkdir -p "$out"
source "$(dirname "$0")/topology.sh"
topology rstd-a 198.18.60 198.18.61

# capture NAME [tcpdump options]: tcpdump -i any inside the router (stopcap, in topology.sh, stops it).
capture() {
  local name=$1; shift
  ip netns exec $R tcpdump --immediate-mode -i any "$@" -U -s 256 -w "$out/$name.pcap" tcp 2>"$tmp/tcpdump.log" &
  cap=$!; pids+=("$cap")
  for _ in $(seq 50); do grep -q listening "$tmp/tcpdump.log" && break; sleep 0.1; done
}

# 1. The router only forwards: the server's own RSTs (no listener on 9; SO_LINGER {1,0} close on 8081).
capture router-forwarded-any -y LINUX_SLL
ip netns exec $C $agent connect 198.18.61.2 9
server 8081 linger0
ip netns exec $C $agent connect 198.18.61.2 8081
wait "$srv" || true
stopcap

# 2. The router builds them: echo on 8080, one exchange, then `reject with tcp reset` in the router's
#    forward hook; the client sends again (RST to the data), then connects anew (RST/ACK to the SYN).
server 8080 echo
capture router-built-any -y LINUX_SLL2
go="$tmp/go"
ip netns exec $C $agent hold 198.18.61.2 8080 "$go" >"$tmp/hold.log" 2>&1 &
hold=$!; pids+=("$hold")
for _ in $(seq 50); do grep -q echo "$tmp/hold.log" && break; sleep 0.1; done
ip netns exec $R nft -f - <<'NFT'
table ip rstd_a {
  chain forward_rst {
    type filter hook forward priority 0;
    tcp dport 8080 reject with tcp reset
  }
}
NFT
touch "$go"
wait "$hold" || true
ip netns exec $C $agent connect 198.18.61.2 8080
stopcap
cat "$tmp/hold.log"
echo "captures written to $out"
