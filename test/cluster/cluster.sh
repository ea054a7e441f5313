#!/usr/bin/env bash
# A multi-node Docker Swarm on one machine, for BoatLoad's cluster tests (shared/notes/multinode.md).
#
#   cluster.sh up N        N engines, each in its own network namespace, a Swarm (node 1 manager,
#                          the others workers, dispatcher heartbeat 1 s), images loaded everywhere
#   cluster.sh add K       start node K, load the images and join it to the Swarm as a worker
#   cluster.sh crash K     SIGKILL every process of node K (namespace and cgroup subtree); the node stays dead
#   cluster.sh stop K      stop node K's dockerd as a service manager would (SIGTERM, wait for it to exit);
#                          `stop K kill`: SIGKILL dockerd alone (its containers and their shims keep running)
#   cluster.sh start K     start node K's dockerd again, same data root, namespace and address
#   cluster.sh cut K       take node K's link down (it keeps running, unreachable)
#   cluster.sh restore K   bring node K's link up again
#   cluster.sh down        tear everything down, including leftovers of an earlier crashed or
#                          interrupted run (all is found by the name prefix, never by process name)
#   cluster.sh status      what exists
#
# Layout (test address ranges only): a "switch" namespace PREFIX-sw with the bridge br0; node K in
# namespace PREFIX-nK, address 198.18.0.(10+K)/24, joined to the switch by a veth pair; the host reaches
# every node through PREFIX-h0 (198.18.0.1). Each node's dockerd: socket /run/PREFIX-nK.sock, hostname
# PREFIX-nK, data root /var/lib/PREFIX/nK/docker, exec root /run/PREFIX/nK, cgroup parent /PREFIX-nK,
# docker0 198.19.255.1/24, local pools 198.19.0.0/17, Swarm pool 198.18.128.0/17.
#
# Environment: BLC_PREFIX (default blc), BLC_IMAGES (images loaded on every node, default
# "boatload/base:latest boatload/satellite:latest boatload/api:latest"; images missing on the host are skipped).
set -euo pipefail
PREFIX="${BLC_PREFIX:-blc}"
IMAGES="${BLC_IMAGES:-boatload/base:latest boatload/satellite:latest boatload/api:latest}"
STATE="/var/lib/$PREFIX"
RUNROOT="/run/$PREFIX"
SW="$PREFIX-sw"
SUBNET=198.18.0
HOST_IP="$SUBNET.1"
SWARM_POOL=198.18.128.0/17

log() { printf '[cluster] %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }
node_ns() { echo "$PREFIX-n$1"; }
node_ip() { echo "$SUBNET.$((10 + $1))"; }
node_sock() { echo "/run/$PREFIX-n$1.sock"; }
node_docker() { local k="$1"; shift; docker -H "unix://$(node_sock "$k")" "$@"; }
check_node_number() { [[ "$1" =~ ^[0-9]+$ ]] && [ "$1" -ge 1 ] && [ "$1" -le 40 ] || die "node number must be 1..40, got '$1'"; }
# A node number that is valid and whose namespace exists.
require_node() {
  check_node_number "$1"
  ip netns list | awk '{print $1}' | grep -qx "$(node_ns "$1")" || die "node $1 does not exist"
}
ms() { date +%s%3N; }

require_tools() {
  [ "$(id -u)" = 0 ] || die "must run as root"
  for tool in ip unshare dockerd docker mount; do command -v "$tool" >/dev/null || die "$tool is missing (apt-get install -y iproute2 docker.io)"; done
}

# The switch namespace with its bridge, and the host's leg into it.
ensure_switch() {
  if ! ip netns list | awk '{print $1}' | grep -qx "$SW"; then
    if ip -o route show | grep -q "^$SUBNET\."; then die "$SUBNET.0/24 is already routed on this host: another cluster is up?"; fi
    ip netns add "$SW"
    ip -n "$SW" link set lo up
    ip -n "$SW" link add br0 type bridge
    ip -n "$SW" link set br0 up
    ip link add "$PREFIX-h0" type veth peer name "$PREFIX-h1"
    ip link set "$PREFIX-h1" netns "$SW"
    ip -n "$SW" link set "$PREFIX-h1" master br0 up
    ip addr add "$HOST_IP/24" dev "$PREFIX-h0"
    ip link set "$PREFIX-h0" up
  fi
  mkdir -p "$STATE" "$RUNROOT"
  # The nodes' data roots live in memory: image loads and tear-down are then quick (~300 MiB a node).
  if ! mountpoint -q "$STATE"; then mount -t tmpfs -o mode=755,size=16g "$PREFIX-data" "$STATE"; fi
}

# The mount commands that recreate the host's cgroup v1 (and v2) hierarchies: `ip netns exec` mounts a
# fresh /sys, which hides them, and dockerd needs them.
cgroup_mounts() {
  echo "mount -t tmpfs -o mode=755 cgroup_root /sys/fs/cgroup"
  awk '$2 ~ /^\/sys\/fs\/cgroup\// && ($3 == "cgroup" || $3 == "cgroup2") {
    n = split($4, opts, ","); keep = "";
    for (i = 1; i <= n; i++) if (opts[i] !~ /^(rw|ro|relatime|noatime|nosuid|nodev|noexec)$/) keep = keep (keep == "" ? "" : ",") opts[i];
    if ($3 == "cgroup" && keep == "") next;
    printf "mkdir -p %s && mount -t %s%s %s %s\n", $2, $3, (keep == "" ? "" : " -o " keep), $3, $2 }' /proc/self/mounts
}

start_engine() {
  local k="$1" ns ip dir exe sock
  ns="$(node_ns "$k")"; ip="$(node_ip "$k")"; dir="$STATE/n$k"; exe="$RUNROOT/n$k"; sock="$(node_sock "$k")"
  if ip netns list | awk '{print $1}' | grep -qx "$ns"; then die "node $k already exists (cluster.sh down first)"; fi
  mkdir -p "$dir/docker" "$exe"
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  ip link add "$PREFIX-n${k}a" type veth peer name "$PREFIX-n${k}b"
  ip link set "$PREFIX-n${k}b" netns "$SW"
  ip -n "$SW" link set "$PREFIX-n${k}b" master br0 up
  ip link set "$PREFIX-n${k}a" netns "$ns"
  ip -n "$ns" link set "$PREFIX-n${k}a" name eth0
  ip -n "$ns" addr add "$ip/24" dev eth0
  ip -n "$ns" link set eth0 up
  # No default route: a registry lookup (Swarm tries to pull before every task) then fails at once
  # instead of waiting for a DNS timeout.
  # deprecated-key-path: each engine its own key, hence its own Engine ID.
  printf '{"deprecated-key-path": "%s/key.json"}\n' "$dir" >"$dir/daemon.json"
  {
    echo '#!/bin/bash'
    echo 'set -e'
    cgroup_mounts
    echo "hostname $ns"
    echo "exec dockerd -H unix://$sock --data-root $dir/docker --exec-root $exe --pidfile $exe/dockerd.pid \\"
    echo "  --cgroup-parent /$ns --bip 198.19.255.1/24 --default-address-pool base=198.19.0.0/17,size=24 \\"
    echo "  --config-file $dir/daemon.json --userland-proxy=false --log-level warn"
  } >"$dir/start.sh"
  launch_dockerd "$k"
}

# Runs node K's start.sh (written by start_engine) and waits until the engine answers.
launch_dockerd() {
  local k="$1" ns dir sock
  ns="$(node_ns "$k")"; dir="$STATE/n$k"; sock="$(node_sock "$k")"
  rm -f "$sock"
  # setsid + nohup: the engine outlives this script; it is found again by namespace and cgroup.
  setsid nohup ip netns exec "$ns" unshare --uts -- bash "$dir/start.sh" >>"$dir/dockerd.log" 2>&1 </dev/null &
  local deadline=$(( $(ms) + 30000 ))
  until docker -H "unix://$sock" version >/dev/null 2>&1; do
    if [ "$(ms)" -gt "$deadline" ]; then tail -20 "$dir/dockerd.log" >&2; die "node $k: dockerd did not answer within 30 s"; fi
    sleep 0.1
  done
}

# Every image once from the host's engine into a tar, then into each node in parallel.
load_images() {
  local present=() image
  for image in $IMAGES; do
    if docker image inspect "$image" >/dev/null 2>&1; then present+=("$image"); else log "image $image is not on the host: skipped"; fi
  done
  [ "${#present[@]}" -gt 0 ] || return 0
  local tar="$STATE/images.tar" sum
  sum="$(docker image inspect -f '{{.Id}}' "${present[@]}" | sha256sum | cut -c1-16)"
  if [ "$(cat "$tar.sum" 2>/dev/null)" != "$sum" ]; then
    docker save "${present[@]}" -o "$tar.tmp" && mv "$tar.tmp" "$tar" && echo "$sum" >"$tar.sum"
  fi
  local pids=() k
  for k in "$@"; do node_docker "$k" load -q -i "$tar" >/dev/null & pids+=("$!"); done
  for pid in "${pids[@]}"; do wait "$pid" || die "image load failed"; done
}

join_node() {
  local k="$1" token manager
  token="$(cat "$RUNROOT/worker-token")"; manager="$(node_ip 1):2377"
  node_docker "$k" swarm join --token "$token" --advertise-addr "$(node_ip "$k")" --listen-addr "$(node_ip "$k"):2377" "$manager" >/dev/null
}

cmd_up() {
  local n="${1:-3}" start k
  check_node_number "$n"
  require_tools
  start="$(ms)"
  cmd_down quiet
  log "previous run cleaned after $(( $(ms) - start )) ms"
  ensure_switch
  local pids=()
  for k in $(seq 1 "$n"); do start_engine "$k" & pids+=("$!"); done
  for pid in "${pids[@]}"; do wait "$pid" || die "an engine failed to start"; done
  log "engines up after $(( $(ms) - start )) ms"
  node_docker 1 swarm init --advertise-addr "$(node_ip 1)" --listen-addr "$(node_ip 1):2377" \
    --default-addr-pool "$SWARM_POOL" --dispatcher-heartbeat 1s >/dev/null
  node_docker 1 swarm join-token -q worker >"$RUNROOT/worker-token"
  pids=()
  for k in $(seq 2 "$n"); do join_node "$k" & pids+=("$!"); done
  for pid in "${pids[@]}"; do wait "$pid" || die "a node failed to join"; done
  log "swarm formed after $(( $(ms) - start )) ms"
  load_images $(seq 1 "$n")
  log "$n nodes ready in $(( $(ms) - start )) ms (manager: unix://$(node_sock 1))"
}

cmd_add() {
  local k="$1"
  check_node_number "$k"
  require_tools
  [ -f "$RUNROOT/worker-token" ] || die "no cluster is up"
  start_engine "$k"
  # Images first: Swarm places global tasks on a node as soon as it joins.
  load_images "$k"
  join_node "$k"
  log "node $k joined"
}

# Every process of node K: those in its network namespace (dockerd, containerd, shims, host-network
# containers) and those in its cgroup subtree (containers with their own namespaces).
node_pids() {
  local k="$1" ns
  ns="$(node_ns "$k")"
  { ip netns pids "$ns" 2>/dev/null || true
    cat /sys/fs/cgroup/*/"$ns"/tasks /sys/fs/cgroup/*/"$ns"/*/tasks /sys/fs/cgroup/*/"$ns"/*/*/tasks 2>/dev/null || true
  } | sort -un
}

# A SIGKILLed shim leaves its socket under /run/containerd/s/: each task bundle names it in `address`.
remove_shim_sockets() {
  local k="$1" file addr
  for file in "$RUNROOT/n$k"/containerd/daemon/io.containerd.runtime.v2.task/*/*/address "$RUNROOT/n$k"/containerd/io.containerd.runtime.v2.task/*/*/address; do
    [ -f "$file" ] || continue
    addr="$(cat "$file")"; addr="${addr#unix://}"
    case "$addr" in /run/containerd/s/*) rm -f "$addr" ;; esac
  done
}

kill_node() {
  local k="$1" pids round
  for round in 1 2 3 4 5; do
    pids="$(node_pids "$k")"
    [ -n "$pids" ] || break
    # shellcheck disable=SC2086
    kill -9 $pids 2>/dev/null || true
    sleep 0.2
  done
  remove_shim_sockets "$k"
}

cmd_crash() {
  local k="$1"
  require_node "$k"
  kill_node "$k"
  log "node $k crashed"
}

# dockerd's own shutdown: it stops the containers (each within its stop timeout, then SIGKILL) and
# its containerd, and exits. With `kill`, dockerd dies at once and leaves its containers running.
# The pid comes from the node's pidfile, never from a process name.
cmd_stop() {
  local k="$1" how="${2:-term}" pidfile pid deadline signal
  check_node_number "$k"
  case "$how" in term) signal=TERM ;; kill) signal=KILL ;; *) die "stop K [kill], got '$how'" ;; esac
  pidfile="$RUNROOT/n$k/dockerd.pid"
  [ -s "$pidfile" ] || die "node $k has no running dockerd ($pidfile)"
  pid="$(cat "$pidfile")"
  kill -"$signal" "$pid" 2>/dev/null || die "node $k: dockerd $pid is not running"
  deadline=$(( $(ms) + 120000 ))
  while kill -0 "$pid" 2>/dev/null; do
    [ "$(ms)" -lt "$deadline" ] || die "node $k: dockerd $pid did not exit within 120 s"
    sleep 0.1
  done
  log "node $k: dockerd stopped (SIG$signal)"
}

cmd_start() {
  local k="$1"
  require_node "$k"
  [ -f "$STATE/n$k/start.sh" ] || die "node $k was never started"
  if [ -s "$RUNROOT/n$k/dockerd.pid" ] && kill -0 "$(cat "$RUNROOT/n$k/dockerd.pid")" 2>/dev/null; then die "node $k: dockerd is running"; fi
  launch_dockerd "$k"
  log "node $k: dockerd started again"
}

cmd_cut() { check_node_number "$1"; ip -n "$SW" link set "$PREFIX-n${1}b" down; log "node $1 cut off"; }
cmd_restore() { check_node_number "$1"; ip -n "$SW" link set "$PREFIX-n${1}b" up; log "node $1 reconnected"; }

remove_cgroups() {
  local ns="$1" dir
  for dir in /sys/fs/cgroup/*/"$ns"; do
    [ -d "$dir" ] || continue
    find "$dir" -depth -type d -exec rmdir {} + 2>/dev/null || true
  done
}

cmd_down() {
  local quiet="${1:-}" ns k
  for ns in $(ip netns list | awk '{print $1}' | grep -E "^$PREFIX-n[0-9]+$" || true); do
    k="${ns#"$PREFIX"-n}"
    kill_node "$k"
    ip netns del "$ns" 2>/dev/null || true
  done
  # Nodes whose namespace is already gone may still have processes in their cgroups.
  for dir in /sys/fs/cgroup/pids/"$PREFIX"-n*; do
    [ -d "$dir" ] || continue
    k="${dir##*/"$PREFIX"-n}"
    [[ "$k" =~ ^[0-9]+$ ]] && kill_node "$k"
  done
  for dir in /sys/fs/cgroup/*/"$PREFIX"-n*; do [ -d "$dir" ] && remove_cgroups "${dir##*/}"; done
  ip netns list | awk '{print $1}' | grep -qx "$SW" && ip netns del "$SW"
  ip link del "$PREFIX-h0" 2>/dev/null || true
  rm -f /run/"$PREFIX"-n*.sock
  # Data roots: a tmpfs; nothing else is mounted there (the engines' mounts lived in the nodes'
  # mount namespaces, gone with their processes).
  if mountpoint -q "$STATE"; then umount "$STATE" || umount -l "$STATE"; fi
  rm -rf "$STATE" "$RUNROOT"
  [ -n "$quiet" ] || log "torn down"
}

cmd_status() {
  echo "namespaces: $(ip netns list | awk '{print $1}' | grep -E "^$PREFIX-" | tr '\n' ' ')"
  for sock in /run/"$PREFIX"-n*.sock; do
    [ -S "$sock" ] || continue
    echo "$sock: $(docker -H "unix://$sock" info -f '{{.Name}} swarm={{.Swarm.LocalNodeState}} containers={{.Containers}}' 2>&1 | head -1)"
  done
}

case "${1:-}" in
  up) cmd_up "${2:-3}" ;;
  add) cmd_add "${2:?node number}" ;;
  crash) cmd_crash "${2:?node number}" ;;
  stop) cmd_stop "${2:?node number}" "${3:-term}" ;;
  start) cmd_start "${2:?node number}" ;;
  cut) cmd_cut "${2:?node number}" ;;
  restore) cmd_restore "${2:?node number}" ;;
  down) cmd_down ;;
  status) cmd_status ;;
  *) sed -n '2,22p' "$0" >&2; exit 2 ;;
esac
