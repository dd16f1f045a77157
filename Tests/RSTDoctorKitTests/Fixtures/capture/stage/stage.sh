#!/bin/bash
# Stages RSTs for real between throwaway network namespaces and captures them on the client side.
#   client rstd-c-cli 198.18.50.1 -- 198.18.50.2 router rstd-c-rtr 198.18.51.1 -- 198.18.51.2 server rstd-c-srv
# Writes OUT/{no-listener,linger0,unread,router-reject}.pcap. Needs root, iproute2, nft, tcpdump, python3.
# Everything it creates is removed on exit, even on failure.
set -euo pipefail
out=${1:?usage: stage.sh OUT_DIR}
mkdir -p "$out"
here=$(cd "$(dirname "$0")" && pwd)
agent="python3 $here/agent.py"
C=rstd-c-cli R=rstd-c-rtr S=rstd-c-srv
pids=()
tmp=$(mktemp -d /tmp/rstd-c-stage.XXXXXX)

cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  for n in $C $R $S; do ip netns del $n 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

for n in $C $R $S; do ip netns add $n; ip -n $n link set lo up; done
ip link add rstd-c-a type veth peer name rstd-c-b
ip link set rstd-c-a netns $C; ip link set rstd-c-b netns $R
ip link add rstd-c-c type veth peer name rstd-c-d
ip link set rstd-c-c netns $R; ip link set rstd-c-d netns $S
ip -n $C addr add 198.18.50.1/24 dev rstd-c-a; ip -n $C link set rstd-c-a up
ip -n $R addr add 198.18.50.2/24 dev rstd-c-b; ip -n $R link set rstd-c-b up
ip -n $R addr add 198.18.51.1/24 dev rstd-c-c; ip -n $R link set rstd-c-c up
ip -n $S addr add 198.18.51.2/24 dev rstd-c-d; ip -n $S link set rstd-c-d up
ip -n $C route add default via 198.18.50.2
ip -n $S route add default via 198.18.51.1
ip netns exec $R sysctl -qw net.ipv4.ip_forward=1
sleep 0.5  # let the links come up (no ping on every host)

# capture NAME: start tcpdump in the client namespace; stopcap: stop it (SIGINT, then wait).
capture() {
  ip netns exec $C tcpdump --immediate-mode -i rstd-c-a -U -s 256 -w "$out/$1.pcap" tcp 2>"$tmp/tcpdump.log" &
  cap=$!; pids+=("$cap")
  for _ in $(seq 50); do grep -q listening "$tmp/tcpdump.log" && break; sleep 0.1; done
}
stopcap() { sleep 0.3; kill -INT "$cap"; wait "$cap" || true; }
server() {  # server PORT MODE
  ip netns exec $S $agent serve "$1" "$2" >"$tmp/server.log" 2>&1 &
  srv=$!; pids+=("$srv")
  for _ in $(seq 50); do grep -q listening "$tmp/server.log" && break; sleep 0.1; done
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
