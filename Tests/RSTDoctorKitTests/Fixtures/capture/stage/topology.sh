# Sourced by stage.sh and stage-router-any.sh: the three-namespace topology they share, its cleanup,
# and the helpers to run the server agent and stop a capture.
#   topology PREFIX NET_A NET_B
#     client PREFIX-cli NET_A.1 -- NET_A.2 router PREFIX-rtr NET_B.1 -- NET_B.2 server PREFIX-srv
# Sets C, R, S (namespace names), agent, tmp and pids; everything it creates is removed on exit.
topology() {
  local p=$1 a=$2 b=$3
  here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
  agent="python3 $here/agent.py"
  C=$p-cli R=$p-rtr S=$p-srv
  pids=()
  tmp=$(mktemp -d "/tmp/$p-stage.XXXXXX")
  trap cleanup EXIT
  for n in $C $R $S; do ip netns add $n; ip -n $n link set lo up; done
  ip link add $p-a type veth peer name $p-b
  ip link set $p-a netns $C; ip link set $p-b netns $R
  ip link add $p-c type veth peer name $p-d
  ip link set $p-c netns $R; ip link set $p-d netns $S
  ip -n $C addr add $a.1/24 dev $p-a; ip -n $C link set $p-a up
  ip -n $R addr add $a.2/24 dev $p-b; ip -n $R link set $p-b up
  ip -n $R addr add $b.1/24 dev $p-c; ip -n $R link set $p-c up
  ip -n $S addr add $b.2/24 dev $p-d; ip -n $S link set $p-d up
  ip -n $C route add default via $a.2
  ip -n $S route add default via $b.1
  ip netns exec $R sysctl -qw net.ipv4.ip_forward=1
  sleep 0.5  # let the links come up (no ping on every host)
}

cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  for n in $C $R $S; do ip netns del $n 2>/dev/null || true; done
  rm -rf "$tmp"
}

# stopcap: stop the capture started last (SIGINT, then wait).
stopcap() { sleep 0.3; kill -INT "$cap"; wait "$cap" || true; }

# server PORT MODE: the agent listening in the server namespace.
server() {
  ip netns exec $S $agent serve "$1" "$2" >"$tmp/server.log" 2>&1 &
  srv=$!; pids+=("$srv")
  for _ in $(seq 50); do grep -q listening "$tmp/server.log" && break; sleep 0.1; done
}
