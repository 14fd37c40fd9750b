#!/usr/bin/env bash
# A real 3-node Docker Swarm on this machine, for mcpctl's swarm tests: three network namespaces
# (mcpctl-sw1..3, UTS names sw1..sw3), each with its own dockerd, joined on one bridge that lives in a
# namespace of its own (mcpctl-swbr, br0), three managers (Raft keeps quorum when one is lost), and a
# registry (Debian's docker-registry) on the host's address on that bridge.
#
#   scripts/swarm.sh up              # idempotent; prints shell-sourceable MCPCTL_SWARM_* lines last on stdout
#   scripts/swarm.sh kill-node N     # N in 1..3: SIGKILL its dockerd+containerd, unplug its link; node goes Down
#   scripts/swarm.sh revive-node N   # plug it back, start its dockerd, wait until it is Ready again
#   scripts/swarm.sh status          # the manager's node list, one line per node
#   scripts/swarm.sh down [--purge]  # stop everything; --purge also drops /var/lib/mcpctl-swarm (images)
#
# Addresses: host 10.240.0.1/24 (veth mcpctl-swh), nodes 10.240.0.11..13, registry 10.240.0.1:5000;
# per node --bip 10.241.N.1/24 and --default-address-pool 10.24(2+N).0.0/16; swarm overlay pool
# 10.248.0.0/16. None of these overlap scripts/test-host.sh (10.231-10.234) or docker0 (172.17).
#
# Why it is built this way (measured on this machine, docker 20.10 engine, kernel without IPVS):
# - the bridge sits in a namespace of its own: a bridge in the root namespace is filtered by the main
#   dockerd's FORWARD chain through br_netfilter, and the nodes could not reach each other.
# - dockerd is started with `nsenter --net=`, not `ip netns exec`, which remounts /sys and hides the
#   cgroup mounts from dockerd; `unshare --uts` gives each node its own hostname for `docker node ls`.
# - killing a dockerd leaves its container shims (and the containers) running and reachable, so
#   kill-node also sets the node's link down on the bridge side; down kills the shims by PID.
# - DOCKER_SERVICE_PREFER_OFFLINE_IMAGE is NOT set by default: with =1 a 20.10 node never pulls a
#   task's image at all (not even from the registry here), so tasks on sw2/sw3 are Rejected with
#   "No such image: 10.240.0.1:5000/...@sha256:..." and the swarm piles every task onto sw1, which has
#   the images loaded. Services must name images in $REGISTRY; MCPCTL_SWARM_PREFER_OFFLINE=1 sets it.
#
# Figures (measured 2026-12-04 on this 2-core machine, shared):
#   up from nothing (after down --purge): 32.3 s and 38.8 s; of that, loading the three images into sw1
#   13-14 s and pushing mcpctl-haproxy:local 15-22 s; dockerds ~0.9 s each (in parallel), swarm init+joins
#   1.5-2.3 s. up after a plain `down` (images kept): 3.8-4.3 s. up on a healthy swarm: 0.5-0.8 s.
#   A second `up` started 1 s after the first waited on the lock and then only checked (38.6 s, same env).
#   kill-node N (a follower) -> Down on the manager: 4.2-5.0 s (5 runs; --dispatcher-heartbeat 2s);
#   with a 3-task dnsrr service, 3 tasks Running again without the killed node 11.5 s after the kill.
#   kill-node of the Raft leader: Down 22.5-23.7 s after (2 runs; a new leader is elected first). Which
#   node leads moves: after sw1 was killed, sw3 led, so check `status` before timing a kill.
#   revive-node N -> Ready: 3.0-7.7 s; the swarm does NOT move tasks back (the revived node stays empty
#   until a `service update --force` or a new task). `up` with one node killed revives it: 6.4-11.7 s.
#   down: ~17-19 s (dockerds in swarm mode take their time to stop); down --purge ~80 s here (slow disk).
#   memory (RSS of 3 dockerds, 3 containerds, the registry): 0.40 GB idle, 0.51 GB with a 3-task python
#   service; plus shims and the tasks themselves.
#
#   eval "$(scripts/swarm.sh up)"
#   docker -H "unix://$MCPCTL_SWARM_MANAGER_SOCK" node ls
set -euo pipefail

# shellcheck disable=SC2206
IMAGES=(${MCPCTL_SWARM_IMAGES:-mcpctl-python:bookworm mcpctl-uv:local mcpctl-haproxy:local})
# Pushed to the registry by `up`, so every node can pull it.
# shellcheck disable=SC2206
PUSHED=(${MCPCTL_SWARM_PUSH:-mcpctl-haproxy:local})

NODES=3
LIB=/var/lib/mcpctl-swarm
RUN=/run/mcpctl-swarm
BRNS=mcpctl-swbr
HOSTVETH=mcpctl-swh
HOST_ADDR=10.240.0.1
REGISTRY=$HOST_ADDR:5000
REG_PID=$RUN/registry.pid
REG_LOG=/var/log/mcpctl-swarm-registry.log
LOCK=/run/mcpctl-swarm.lock
SWARM_POOL=10.248.0.0/16
HEARTBEAT=2s

say() { printf 'swarm: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }
usage() {
  sed -n '7,11p' "$0" | sed 's/^#   //' >&2
  exit 2
}
ms() { echo $(($(date +%s%N) / 1000000)); }
# Running, and not a zombie: PID 1 here reaps orphans only every few seconds.
alive() {
  [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null || return 1
  local st
  st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
  [ -n "$st" ] && [ "$st" != Z ]
}
pidof_file() { [ -s "$1" ] && cat "$1" || true; }

# Per-node names for node $1.
node() {
  I=$1
  NNAME=sw$I
  NS=mcpctl-sw$I
  NSPATH=/var/run/netns/$NS
  BRPORT=sw$I-br # the bridge-side end of the node's veth, in $BRNS
  ADDR=10.240.0.1$I
  NLIB=$LIB/sw$I
  NRUN=$RUN/sw$I
  SOCK=$NRUN/docker.sock
  DLOG=/var/log/mcpctl-swarm-sw$I-dockerd.log
  CGROUP=mcpctl-swarm-sw$I
  D=(docker -H "unix://$SOCK")
}
MGR=(docker -H "unix://$RUN/sw1/docker.sock")

print_env() {
  local i
  printf 'MCPCTL_SWARM_MANAGER_SOCK=%s\n' "$RUN/sw1/docker.sock"
  for i in $(seq 1 $NODES); do printf 'MCPCTL_SWARM_SOCK_%s=%s\n' "$i" "$RUN/sw$i/docker.sock"; done
  for i in $(seq 1 $NODES); do printf 'MCPCTL_SWARM_ADDR_%s=10.240.0.1%s\n' "$i" "$i"; done
  printf 'MCPCTL_SWARM_REGISTRY=%s\n' "$REGISTRY"
  printf 'MCPCTL_SWARM_NODES=%s\n' "$NODES"
  printf 'MCPCTL_SWARM_HOST_ADDR=%s\n' "$HOST_ADDR"
}

# ---- health --------------------------------------------------------------------------------------
bridge_ok() {
  [ -e /var/run/netns/$BRNS ] && ip -o -4 addr show dev $HOSTVETH 2>/dev/null | grep -q " $HOST_ADDR/24 "
}
node_net_ok() {
  [ -e "$NSPATH" ] && ip -n "$NS" -o -4 addr show dev eth0 2>/dev/null | grep -q " $ADDR/24 " &&
    ip -n $BRNS -o link show dev "$BRPORT" 2>/dev/null | grep -q 'state UP'
}
dockerd_ok() { alive "$(pidof_file "$NRUN/docker.pid")" && timeout 10 "${D[@]}" info >/dev/null 2>&1; }
registry_ok() {
  alive "$(pidof_file "$REG_PID")" && curl -fsS -m 5 -o /dev/null "http://$REGISTRY/v2/" 2>/dev/null
}
# Every node Ready and every manager reachable, as the manager sees it.
swarm_ok() {
  local out
  out=$(timeout 10 "${MGR[@]}" node ls --format '{{.Hostname}} {{.Status}} {{.ManagerStatus}}' 2>/dev/null) || return 1
  [ "$(echo "$out" | grep -cE '^sw[0-9]+ Ready (Leader|Reachable)$')" = "$NODES" ]
}
healthy() {
  local i
  bridge_ok && registry_ok || return 1
  for i in $(seq 1 $NODES); do node "$i"; node_net_ok && dockerd_ok || return 1; done
  swarm_ok
}
anything_there() {
  local i
  [ -e /var/run/netns/$BRNS ] || ip link show $HOSTVETH >/dev/null 2>&1 || [ -e "$RUN" ] && return 0
  for i in $(seq 1 $NODES); do [ -e /var/run/netns/mcpctl-sw$i ] && return 0; done
  return 1
}

all_netns_there() {
  local i
  for i in $(seq 1 $NODES); do [ -e /var/run/netns/mcpctl-sw$i ] || return 1; done
}

# ---- network -------------------------------------------------------------------------------------
bridge_up() {
  ip netns add $BRNS
  ip -n $BRNS link set lo up
  ip -n $BRNS link add br0 type bridge
  ip -n $BRNS link set br0 up
  ip link add $HOSTVETH type veth peer name host netns $BRNS
  ip -n $BRNS link set host master br0
  ip -n $BRNS link set host up
  ip addr add $HOST_ADDR/24 dev $HOSTVETH
  ip link set $HOSTVETH up
  say "network: netns $BRNS (br0), host $HOSTVETH $HOST_ADDR/24"
}
node_net_up() {
  ip netns add "$NS"
  ip -n "$NS" link set lo up
  ip link add "$BRPORT" netns $BRNS type veth peer name eth0 netns "$NS"
  ip -n $BRNS link set "$BRPORT" master br0
  ip -n $BRNS link set "$BRPORT" up
  ip -n "$NS" addr add "$ADDR/24" dev eth0
  ip -n "$NS" link set eth0 up
  # Through the host (nat_up): dockerd picks its addresses by it, and builds reach the package index.
  ip -n "$NS" route add default via $HOST_ADDR
}

# The nodes build images (mcpctl builds on the manager): their traffic to the package registries
# leaves through the host, masqueraded, past the main dockerd's FORWARD policy. Idempotent.
nat_up() {
  iptables -t nat -C POSTROUTING -s 10.240.0.0/24 ! -d 10.240.0.0/24 -j MASQUERADE 2>/dev/null ||
    iptables -t nat -A POSTROUTING -s 10.240.0.0/24 ! -d 10.240.0.0/24 -j MASQUERADE
  local chain=FORWARD
  iptables -S DOCKER-USER >/dev/null 2>&1 && chain=DOCKER-USER
  iptables -C $chain -i $HOSTVETH -j ACCEPT 2>/dev/null || iptables -I $chain -i $HOSTVETH -j ACCEPT
  iptables -C $chain -o $HOSTVETH -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT 2>/dev/null ||
    iptables -I $chain -o $HOSTVETH -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
}
nat_down() {
  iptables -t nat -D POSTROUTING -s 10.240.0.0/24 ! -d 10.240.0.0/24 -j MASQUERADE 2>/dev/null || true
  local chain
  for chain in DOCKER-USER FORWARD; do
    iptables -D $chain -i $HOSTVETH -j ACCEPT 2>/dev/null || true
    iptables -D $chain -o $HOSTVETH -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT 2>/dev/null || true
  done
}

# ---- registry ------------------------------------------------------------------------------------
registry_up() {
  alive "$(pidof_file "$REG_PID")" && { kill "$(cat "$REG_PID")" 2>/dev/null || true; sleep 0.2; }
  mkdir -p "$LIB/registry" "$RUN"
  cat >"$LIB/registry.yml" <<EOF
# written by mcpctl scripts/swarm.sh
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $LIB/registry
  delete:
    enabled: true
http:
  addr: $REGISTRY
EOF
  printf -- '---- %s swarm up\n' "$(date -Is)" >>"$REG_LOG"
  nohup setsid docker-registry serve "$LIB/registry.yml" >>"$REG_LOG" 2>&1 </dev/null 9>&- &
  echo $! >"$REG_PID"
  local t0
  t0=$(ms)
  until curl -fsS -m 2 -o /dev/null "http://$REGISTRY/v2/" 2>/dev/null; do
    alive "$(cat "$REG_PID")" || { tail -n 10 "$REG_LOG" >&2; die "docker-registry exited (log: $REG_LOG)"; }
    (($(ms) - t0 < 20000)) || die "registry did not answer on $REGISTRY within 20 s"
    sleep 0.1
  done
  say "registry: $REGISTRY ($(($(ms) - t0)) ms, data $LIB/registry)"
}

# ---- dockerd -------------------------------------------------------------------------------------
# Start node $I's dockerd (the namespace must exist) and wait until it answers.
dockerd_up() {
  mkdir -p "$NLIB/docker" "$NRUN/exec"
  # Own config file, so a host /etc/docker/daemon.json does not leak in, holding its own trust key
  # (config-file only in 20.10): otherwise every node reports the host daemon's ID.
  printf '{"deprecated-key-path": "%s"}\n' "$NLIB/docker-key.json" >"$NLIB/daemon.json"
  local f
  for f in "$NRUN/docker.pid" "$NRUN/exec/containerd/containerd.pid"; do
    if [ -f "$f" ] && ! alive "$(pidof_file "$f")"; then rm -f "$f"; fi
  done
  rm -f "$SOCK"
  printf -- '---- %s swarm dockerd up %s\n' "$(date -Is)" "$NNAME" >>"$DLOG"
  local envs=()
  [ "${MCPCTL_SWARM_PREFER_OFFLINE:-}" = 1 ] && envs=(DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1)
  nohup nsenter --net="$NSPATH" unshare --uts env "${envs[@]}" \
    sh -c 'hostname "$0" && exec setsid "$@"' "$NNAME" dockerd \
    --config-file "$NLIB/daemon.json" \
    --data-root "$NLIB/docker" \
    --exec-root "$NRUN/exec" \
    --pidfile "$NRUN/docker.pid" \
    -H "unix://$SOCK" \
    --bip "10.241.$I.1/24" \
    --default-address-pool "base=10.$((242 + I)).0.0/16,size=24" \
    --insecure-registry "$REGISTRY" \
    --cgroup-parent "/$CGROUP" \
    >>"$DLOG" 2>&1 </dev/null 9>&- &
  local pid=$! t0
  t0=$(ms)
  while ! timeout 5 "${D[@]}" info >/dev/null 2>&1; do
    if ! alive "$pid" && ! alive "$(pidof_file "$NRUN/docker.pid")"; then
      tail -n 30 "$DLOG" >&2
      die "$NNAME: dockerd exited (log: $DLOG)"
    fi
    if (($(ms) - t0 > 60000)); then
      tail -n 30 "$DLOG" >&2
      die "$NNAME: dockerd did not answer within 60 s (log: $DLOG)"
    fi
    sleep 0.2
  done
  say "$NNAME: dockerd $SOCK ($(($(ms) - t0)) ms, log $DLOG)"
}

# Load the host dockerd's images that sw1 lacks (compared by id), then push PUSHED to the registry.
images_sync() {
  node 1
  local img hid rid missing=() t0
  t0=$(ms)
  for img in "${IMAGES[@]}"; do
    hid=$(docker image inspect --format '{{.Id}}' "$img" 2>/dev/null) ||
      die "image $img is not in the host's docker (run scripts/engines-up.sh)"
    rid=$("${D[@]}" image inspect --format '{{.Id}}' "$img" 2>/dev/null || true)
    [ "$hid" = "$rid" ] || missing+=("$img")
  done
  if ((${#missing[@]})); then
    docker save "${missing[@]}" | "${D[@]}" load -q >/dev/null
    say "sw1: loaded ${missing[*]} ($(($(ms) - t0)) ms)"
  fi
  for img in "${PUSHED[@]}"; do
    # The registry's manifest digest is in RepoDigests once pushed; push only when it is not there.
    if [ "$(curl -fsS -m 5 -o /dev/null -w '%{http_code}' -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
      "http://$REGISTRY/v2/${img%%:*}/manifests/${img##*:}" 2>/dev/null)" = 200 ] &&
      "${D[@]}" image inspect --format '{{join .RepoDigests "\n"}}' "$img" | grep -q "^$REGISTRY/${img%%:*}@"; then
      continue
    fi
    t0=$(ms)
    "${D[@]}" tag "$img" "$REGISTRY/$img"
    "${D[@]}" push -q "$REGISTRY/$img" >/dev/null
    say "registry: pushed $REGISTRY/$img ($(($(ms) - t0)) ms)"
  done
}

# ---- swarm ---------------------------------------------------------------------------------------
swarm_up() {
  local t0 token state i
  t0=$(ms)
  node 1
  state=$("${D[@]}" info --format '{{.Swarm.LocalNodeState}}')
  if [ "$state" != active ]; then
    "${D[@]}" swarm init --advertise-addr "$ADDR" --listen-addr "$ADDR:2377" \
      --dispatcher-heartbeat $HEARTBEAT --default-addr-pool $SWARM_POOL >/dev/null
  fi
  token=$("${D[@]}" swarm join-token -q manager)
  for i in $(seq 2 $NODES); do
    node "$i"
    state=$("${D[@]}" info --format '{{.Swarm.LocalNodeState}}')
    [ "$state" = active ] && continue
    "${D[@]}" swarm join --token "$token" --advertise-addr "$ADDR" --listen-addr "$ADDR:2377" 10.240.0.11:2377 >/dev/null
  done
  wait_until swarm_ok 60 "all $NODES nodes Ready managers"
  say "swarm: $NODES managers Ready ($(($(ms) - t0)) ms)"
}

# wait_until CHECK SECONDS WHAT
wait_until() {
  local t0
  t0=$(ms)
  until "$1"; do
    (($(ms) - t0 < $2 * 1000)) || { "${MGR[@]}" node ls >&2 || true; die "no $3 after $2 s"; }
    sleep 0.2
  done
}

# ---- teardown ------------------------------------------------------------------------------------
# SIGTERM, wait up to $2 seconds, then SIGKILL.
stop_pid() {
  local pid=$1 wait_s=$2 i
  alive "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < wait_s * 10; i++)); do
    alive "$pid" || return 0
    sleep 0.1
  done
  say "pid $pid did not stop in ${wait_s} s; killing it"
  kill -KILL "$pid" 2>/dev/null || true
  sleep 0.1
}

# PIDs of processes whose command line names node $I's exec root: its containerd and the shims.
exec_root_pids() {
  local p
  for p in /proc/[0-9]*; do
    tr '\0' ' ' 2>/dev/null <"$p/cmdline" | grep -qF "$NRUN/exec/" && echo "${p#/proc/}"
  done
  return 0
}

node_teardown() {
  local p cg m
  stop_pid "$(pidof_file "$NRUN/docker.pid")" 20
  stop_pid "$(pidof_file "$NRUN/exec/containerd/containerd.pid")" 5
  # Shims outlive a killed dockerd; so do the containers they run.
  for p in $(exec_root_pids); do kill -KILL "$p" 2>/dev/null || true; done
  if [ -e "$NSPATH" ]; then
    for p in $(ip netns pids "$NS" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
  fi
  for cg in /sys/fs/cgroup/*/"$CGROUP"; do
    [ -d "$cg" ] || continue
    { find "$cg" -name cgroup.procs -exec cat {} + 2>/dev/null || true; } | while read -r p; do kill -KILL "$p" 2>/dev/null || true; done
  done
  sleep 0.1
  for cg in /sys/fs/cgroup/*/"$CGROUP"; do
    [ -d "$cg" ] && find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null || true
  done
  awk -v a="$NLIB" -v b="$NRUN" '$5 == a || $5 == b || index($5, a "/") == 1 || index($5, b "/") == 1 { print $5 }' \
    /proc/self/mountinfo | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
  # Leave the swarm on disk too: the next `up` builds a fresh one, images stay.
  rm -rf "$NLIB/docker/swarm"
  ip -n $BRNS link del "$BRPORT" 2>/dev/null || true
  [ -e "$NSPATH" ] && ip netns del "$NS" 2>/dev/null || true
  rm -rf "$NRUN"
}

teardown() {
  local i
  for i in $(seq 1 $NODES); do node "$i"; node_teardown; done
  stop_pid "$(pidof_file "$REG_PID")" 5
  nat_down
  ip link del $HOSTVETH 2>/dev/null || true
  [ -e /var/run/netns/$BRNS ] && ip netns del $BRNS 2>/dev/null || true
  rm -rf "$RUN"
}

# ---- commands ------------------------------------------------------------------------------------
cmd_up() {
  (($# == 0)) || usage
  local t0 i
  t0=$(ms)
  if healthy; then
    nat_up
    images_sync
    say "the swarm is up ($(($(ms) - t0)) ms to check)"
    print_env
    return 0
  fi
  # Nodes killed by kill-node come back by revive-node; only a broken base is built again.
  if bridge_ok && registry_ok && [ -s "$LIB/sw1/docker/swarm/state.json" ] && all_netns_there; then
    for i in $(seq 1 $NODES); do
      node "$i"
      node_net_ok && dockerd_ok || { say "$NNAME is down; reviving it"; (cmd_revive_node "$i") || true; }
    done
    if healthy; then
      nat_up
      images_sync
      say "the swarm is up ($(($(ms) - t0)) ms)"
      print_env
      return 0
    fi
  fi
  if anything_there; then
    say "the swarm is half up; tearing it down first"
    teardown
  fi
  if ip -o -4 addr show | grep -q " $HOST_ADDR/"; then die "$HOST_ADDR is already in use on this machine"; fi
  command -v docker-registry >/dev/null || {
    say "installing docker-registry"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker-registry >&2
    systemctl stop docker-registry 2>/dev/null || true
  }
  mkdir -p "$RUN" "$LIB"
  bridge_up
  nat_up
  registry_up
  for i in $(seq 1 $NODES); do node "$i"; node_net_up; done
  say "network: nodes 10.240.0.11..1$NODES"
  # The daemons start in parallel: most of their start-up is waiting.
  local pids=()
  for i in $(seq 1 $NODES); do (node "$i"; dockerd_up) & pids+=($!); done
  for i in "${pids[@]}"; do wait "$i" || die "a dockerd did not start"; done
  images_sync
  swarm_up
  say "the swarm is up in $(($(ms) - t0)) ms"
  print_env
}

cmd_kill_node() {
  (($# == 1)) && [[ $1 =~ ^[1-9]$ ]] && (($1 <= NODES)) || usage
  node "$1"
  [ -e "$NSPATH" ] || die "$NNAME is not there (scripts/swarm.sh up first)"
  local t0
  kill -KILL "$(pidof_file "$NRUN/docker.pid")" 2>/dev/null || true
  kill -KILL "$(pidof_file "$NRUN/exec/containerd/containerd.pid")" 2>/dev/null || true
  ip -n $BRNS link set "$BRPORT" down
  t0=$(ms)
  say "$NNAME: dockerd killed, link $BRPORT down"
  local mgr=("${MGR[@]}")
  if [ "$1" = 1 ]; then
    say "$NNAME serves MCPCTL_SWARM_MANAGER_SOCK; ask sw2 or sw3 until it is revived"
    mgr=(docker -H "unix://$RUN/sw2/docker.sock")
  fi
  until [ "$(timeout 5 "${mgr[@]}" node ls --filter "name=$NNAME" --format '{{.Status}}' 2>/dev/null)" = Down ]; do
    (($(ms) - t0 < 90000)) || die "$NNAME is not Down after 90 s"
    sleep 0.2
  done
  say "$NNAME: Down after $(($(ms) - t0)) ms"
}

cmd_revive_node() {
  (($# == 1)) && [[ $1 =~ ^[1-9]$ ]] && (($1 <= NODES)) || usage
  node "$1"
  [ -e "$NSPATH" ] || die "$NNAME is not there (scripts/swarm.sh up first)"
  local t0
  t0=$(ms)
  ip -n $BRNS link set "$BRPORT" up
  if ! dockerd_ok; then
    # The shims of the killed daemon still hold its containers; the new containerd would adopt them.
    stop_pid "$(pidof_file "$NRUN/exec/containerd/containerd.pid")" 5
    local p
    for p in $(exec_root_pids); do kill -KILL "$p" 2>/dev/null || true; done
    dockerd_up
  fi
  local mgr=("${MGR[@]}")
  [ "$1" = 1 ] && mgr=(docker -H "unix://$RUN/sw2/docker.sock")
  until [ "$(timeout 5 "${mgr[@]}" node ls --filter "name=$NNAME" --format '{{.Status}} {{.ManagerStatus}}' 2>/dev/null)" = "Ready Reachable" ] ||
    [ "$(timeout 5 "${mgr[@]}" node ls --filter "name=$NNAME" --format '{{.Status}} {{.ManagerStatus}}' 2>/dev/null)" = "Ready Leader" ]; do
    (($(ms) - t0 < 90000)) || die "$NNAME is not Ready after 90 s"
    sleep 0.2
  done
  say "$NNAME: Ready after $(($(ms) - t0)) ms"
}

cmd_status() {
  (($# == 0)) || usage
  local i
  for i in $(seq 1 $NODES); do
    node "$i"
    if timeout 5 "${D[@]}" node ls --format '{{.Hostname}} {{.Status}} {{.Availability}} {{.ManagerStatus}} {{.EngineVersion}}' 2>/dev/null; then
      return 0
    fi
  done
  die "no manager answers (scripts/swarm.sh up)"
}

cmd_down() {
  local purge=
  (($# <= 1)) || usage
  if (($# == 1)); then [ "$1" = --purge ] || usage; purge=1; fi
  local t0
  t0=$(ms)
  teardown
  if [ -n "$purge" ]; then
    rm -rf "$LIB" /var/log/mcpctl-swarm-*.log
    say "the swarm is down and purged ($(($(ms) - t0)) ms)"
  else
    say "the swarm is down ($(($(ms) - t0)) ms; $LIB kept)"
  fi
}

(($(id -u) == 0)) || die "must run as root"
cmd=${1:-}
shift || true
# One at a time: two `up`s at once would both build the namespaces.
exec 9>"$LOCK"
flock 9
case $cmd in
  up) cmd_up "$@" ;;
  kill-node) cmd_kill_node "$@" ;;
  revive-node) cmd_revive_node "$@" ;;
  status) cmd_status "$@" ;;
  down) cmd_down "$@" ;;
  *) usage ;;
esac
