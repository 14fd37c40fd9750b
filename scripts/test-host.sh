#!/usr/bin/env bash
# A second "machine" for end-to-end tests, reached over SSH: a network namespace with its own address,
# its own dockerd (own data root, exec root, containerd, bridge) and its own sshd. The namespace shares
# the host's filesystem, so the remote side sees the same binaries; only the network and the daemons
# are its own.
#
#   scripts/test-host.sh up NAME N          # N in 1..200: address 10.231.N.2, host side 10.231.N.1
#   scripts/test-host.sh podman-up NAME     # (after up) a rootful podman API service with own storage
#   scripts/test-host.sh down NAME [--purge]  # --purge also drops /var/lib/mcpctl-host/NAME (images)
#
# `up` and `podman-up` print shell-sourceable MCPCTL_TEST_HOST_* lines as the last lines on stdout;
# everything else goes to stderr. Both are idempotent: a healthy host is only re-checked, a half-up one
# is torn down and built again.
#
#   eval "$(scripts/test-host.sh up ta 11)"
#   ssh -F "$MCPCTL_TEST_HOST_SSH_CONFIG" ta docker ps          # runs against the namespace's dockerd
#   PATH=$MCPCTL_TEST_HOST_SSH_PATH:$PATH docker -H ssh://root@10.231.11.2 ps   # docker's own ssh helper
set -euo pipefail

# shellcheck disable=SC2206
IMAGES=(${MCPCTL_TEST_HOST_IMAGES:-mcpctl-python:bookworm mcpctl-uv:local mcpctl-haproxy:local})

say() { printf 'test-host: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }
usage() {
  sed -n '7,9p' "$0" | sed 's/^#   //' >&2
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

vars() {
  NAME=$1
  [[ $NAME =~ ^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,31}$ ]] || die "bad name '$NAME' (letters, digits, _ . -; at most 32)"
  NS=mcpctl-$NAME
  NSPATH=/var/run/netns/$NS
  VETH=mh-$NAME
  if ((${#VETH} > 15)); then VETH=mh-${NAME:0:7}-$(printf '%s' "$NAME" | md5sum | cut -c1-4); fi
  LIB=/var/lib/mcpctl-host/$NAME
  RUN=/run/mcpctl-host/$NAME
  SSHD=$LIB/ssh
  SOCK=$RUN/docker.sock
  PSOCK=$RUN/podman.sock
  DLOG=/var/log/mcpctl-host-$NAME-dockerd.log
  SLOG=/var/log/mcpctl-host-$NAME-sshd.log
  PLOG=/var/log/mcpctl-host-$NAME-podman.log
  CGROUP=mcpctl-host-$NAME
  RDOCKER=(docker -H "unix://$SOCK")
  # podman with the namespace's own storage; the same flags for the service, load and cleanup.
  RPODMAN=(env CONTAINERS_CONF="$LIB/containers.conf" CONTAINERS_REGISTRIES_CONF="$LIB/registries.conf" podman --root "$LIB/podman" --runroot "$RUN/podman-run"
    --tmpdir "$RUN/podman-tmp" --network-config-dir "$LIB/cni" --cgroup-manager cgroupfs --events-backend file)
  if [ -s "$RUN/n" ]; then N=$(cat "$RUN/n"); fi
}

addr_vars() {
  HOST_ADDR=10.231.$N.1
  ADDR=10.231.$N.2
}

ssh_() { ssh -F "$SSHD/config" "$@"; }

print_env() {
  printf 'MCPCTL_TEST_HOST_NAME=%s\n' "$NAME"
  printf 'MCPCTL_TEST_HOST_SSH_PATH=%s\n' "$LIB/bin"
  [ -S "$PSOCK" ] && printf 'MCPCTL_TEST_HOST_PODMAN_SOCK=%s\n' "$PSOCK"
  printf 'MCPCTL_TEST_HOST_ADDR=%s\n' "$ADDR"
  printf 'MCPCTL_TEST_HOST_SSH_CONFIG=%s\n' "$SSHD/config"
  printf 'MCPCTL_TEST_HOST_DOCKER_SOCK=%s\n' "$SOCK"
  printf 'MCPCTL_TEST_HOST_KEY=%s\n' "$SSHD/id_ed25519"
}

# ---- health --------------------------------------------------------------------------------------
net_ok() {
  [ -e "$NSPATH" ] &&
    ip -o -4 addr show dev "$VETH" 2>/dev/null | grep -q " $HOST_ADDR/24 " &&
    ip -n "$NS" -o -4 addr show dev eth0 2>/dev/null | grep -q " $ADDR/24 "
}
dockerd_ok() { alive "$(pidof_file "$RUN/docker.pid")" && timeout 10 "${RDOCKER[@]}" info >/dev/null 2>&1; }
sshd_ok() { alive "$(pidof_file "$RUN/sshd.pid")" && timeout 10 ssh -F "$SSHD/config" "$NAME" true >/dev/null 2>&1; }
healthy() { [ -s "$RUN/n" ] && [ "$(cat "$RUN/n")" = "$N" ] && net_ok && dockerd_ok && sshd_ok; }
anything_there() {
  [ -e "$NSPATH" ] || ip link show "$VETH" >/dev/null 2>&1 || [ -e "$RUN" ]
}

# ---- network -------------------------------------------------------------------------------------
net_up() {
  ip netns add "$NS"
  ip link add "$VETH" type veth peer name eth0 netns "$NS"
  ip addr add "$HOST_ADDR/24" dev "$VETH"
  ip link set "$VETH" up
  ip -n "$NS" link set lo up
  ip -n "$NS" addr add "$ADDR/24" dev eth0
  ip -n "$NS" link set eth0 up
  ip -n "$NS" route add default via "$HOST_ADDR"
  say "network: netns $NS, $VETH $HOST_ADDR <-> eth0 $ADDR"
}

# ---- dockerd -------------------------------------------------------------------------------------
dockerd_up() {
  mkdir -p "$LIB/docker" "$RUN/exec"
  # Its own config file, so a host /etc/docker/daemon.json (hosts, pools) does not leak in, holding its
  # own trust key (a config-file-only key in 20.10; `--deprecated-key-path` is an "unknown flag"):
  # otherwise it reads /etc/docker/key.json and reports the host daemon's ID in `docker info`.
  printf '{"deprecated-key-path": "%s"}\n' "$LIB/docker-key.json" >"$LIB/daemon.json"
  local f
  for f in "$RUN/docker.pid" "$RUN/exec/containerd/containerd.pid"; do
    if [ -f "$f" ] && ! alive "$(pidof_file "$f")"; then rm -f "$f"; fi
  done
  rm -f "$SOCK"
  printf -- '---- %s test-host up %s %s\n' "$(date -Is)" "$NAME" "$N" >>"$DLOG"
  # nsenter, not `ip netns exec`: that one remounts /sys, which hides the cgroup mounts from dockerd.
  nohup nsenter --net="$NSPATH" setsid dockerd \
    --config-file "$LIB/daemon.json" \
    --data-root "$LIB/docker" \
    --exec-root "$RUN/exec" \
    --pidfile "$RUN/docker.pid" \
    -H "unix://$SOCK" \
    --bip "10.232.$N.1/24" \
    --default-address-pool "base=10.233.0.0/16,size=24" \
    --insecure-registry "$HOST_ADDR:5000" \
    --insecure-registry 10.231.0.0/16 \
    --cgroup-parent "/$CGROUP" \
    >>"$DLOG" 2>&1 </dev/null &
  local pid=$! t0
  t0=$(ms)
  while ! timeout 5 "${RDOCKER[@]}" info >/dev/null 2>&1; do
    if ! alive "$pid" && ! alive "$(pidof_file "$RUN/docker.pid")"; then
      say "dockerd exited (log: $DLOG)"
      tail -n 30 "$DLOG" >&2
      exit 1
    fi
    if (($(ms) - t0 > 60000)); then
      say "dockerd did not answer within 60 s (log: $DLOG)"
      tail -n 30 "$DLOG" >&2
      exit 1
    fi
    sleep 0.3
  done
  say "dockerd: $SOCK ($(($(ms) - t0)) ms, log $DLOG)"
  # Containers left in the kept data root by a daemon that died before `down` could remove them.
  local ids
  ids=$("${RDOCKER[@]}" ps -aq)
  if [ -n "$ids" ]; then
    # shellcheck disable=SC2086
    "${RDOCKER[@]}" rm -f $ids >/dev/null
    say "dockerd: removed $(echo "$ids" | wc -l) stale container(s)"
  fi
}

# Load the images the host's ENGINE has and the namespace's engine (the command after SAVE_OPT)
# lacks, compared by id.
sync_images() {
  local engine=$1 save_opt=$2 img hid rid missing=() t0
  shift 2
  local remote=("$@")
  t0=$(ms)
  for img in "${IMAGES[@]}"; do
    hid=$("$engine" image inspect --format '{{.Id}}' "$img" 2>/dev/null) ||
      die "image $img is not in the host's $engine (run scripts/engines-up.sh)"
    rid=$("${remote[@]}" image inspect --format '{{.Id}}' "$img" 2>/dev/null || true)
    [ "$hid" = "$rid" ] || missing+=("$img")
  done
  ((${#missing[@]})) || return 0
  # shellcheck disable=SC2086
  "$engine" save $save_opt "${missing[@]}" | "${remote[@]}" load -q >/dev/null
  say "$engine images: loaded ${missing[*]} ($(($(ms) - t0)) ms)"
}

images_sync() { sync_images docker "" "${RDOCKER[@]}"; }

# ---- sshd ----------------------------------------------------------------------------------------
sshd_up() {
  mkdir -p "$SSHD" "$LIB/bin" /run/sshd
  chmod 700 "$SSHD"
  chmod 755 /run/sshd
  [ -s "$SSHD/ssh_host_ed25519_key" ] ||
    ssh-keygen -q -t ed25519 -N '' -C "mcpctl-test-host-$NAME" -f "$SSHD/ssh_host_ed25519_key"
  [ -s "$SSHD/id_ed25519" ] ||
    ssh-keygen -q -t ed25519 -N '' -C "mcpctl-test-client@$NAME" -f "$SSHD/id_ed25519"
  cp "$SSHD/id_ed25519.pub" "$SSHD/authorized_keys"
  printf '%s,%s %s\n' "$NAME" "$ADDR" "$(cut -d' ' -f1,2 "$SSHD/ssh_host_ed25519_key.pub")" >"$SSHD/known_hosts"
  cat >"$SSHD/sshd_config" <<EOF
# written by mcpctl scripts/test-host.sh; runs inside netns $NS only
ListenAddress $ADDR:22
HostKey $SSHD/ssh_host_ed25519_key
PidFile $RUN/sshd.pid
StrictModes no
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
AuthorizedKeysFile $SSHD/authorized_keys
AllowStreamLocalForwarding yes
AllowTcpForwarding yes
StreamLocalBindUnlink yes
SetEnv DOCKER_HOST=unix://$SOCK CONTAINER_HOST=unix://$PSOCK
PrintMotd no
PrintLastLog no
UseDNS no
MaxStartups 100:30:200
MaxSessions 100
LogLevel INFO
Subsystem sftp /usr/lib/openssh/sftp-server
EOF
  cat >"$SSHD/config" <<EOF
# written by mcpctl scripts/test-host.sh: ssh -F $SSHD/config $NAME
Host $NAME $ADDR
  HostName $ADDR
  Port 22
  User root
  IdentityFile $SSHD/id_ed25519
  IdentitiesOnly yes
  UserKnownHostsFile $SSHD/known_hosts
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking yes
  CheckHostIP no
  BatchMode yes
  LogLevel ERROR
  ConnectTimeout 10
  # ~0.15 s less per connection than the default post-quantum sntrup761 exchange on this machine
  KexAlgorithms curve25519-sha256
EOF
  # For tools that run plain `ssh` (docker -H ssh://..., podman --url ssh://...): put this first in PATH.
  printf '#!/bin/sh\nexec /usr/bin/ssh -F %s "$@"\n' "$SSHD/config" >"$LIB/bin/ssh"
  chmod 755 "$LIB/bin/ssh"
  /usr/sbin/sshd -t -f "$SSHD/sshd_config" 2>&1 | sed 's/^/test-host: sshd -t: /' >&2
  local pid
  pid=$(pidof_file "$RUN/sshd.pid")
  if alive "$pid"; then kill "$pid" 2>/dev/null || true; sleep 0.2; fi
  rm -f "$RUN/sshd.pid"
  printf -- '---- %s test-host up %s %s\n' "$(date -Is)" "$NAME" "$N" >>"$SLOG"
  nsenter --net="$NSPATH" /usr/sbin/sshd -f "$SSHD/sshd_config" -E "$SLOG" </dev/null >/dev/null 2>&1 ||
    { tail -n 10 "$SLOG" >&2; die "sshd did not start (log: $SLOG)"; }
  local t0
  t0=$(ms)
  until timeout 10 ssh -F "$SSHD/config" "$NAME" true >/dev/null 2>&1; do
    if (($(ms) - t0 > 15000)); then
      ssh_ -o LogLevel=INFO "$NAME" true || true
      tail -n 10 "$SLOG" >&2
      die "ssh $NAME does not answer (log: $SLOG)"
    fi
    sleep 0.2
  done
  say "sshd: $ADDR:22 (ssh -F $SSHD/config $NAME)"
}

# ---- verification --------------------------------------------------------------------------------
# A local unix socket forwarded over ssh to REMOTE; sets FWD_PID. The caller kills it.
forward() {
  local local_sock=$1 remote_sock=$2 t0
  rm -f "$local_sock"
  # ssh itself, not the ssh_ function: `function &` forks a subshell, and $! would be that subshell.
  ssh -F "$SSHD/config" -o ExitOnForwardFailure=yes -N -L "$local_sock:$remote_sock" "$NAME" \
    </dev/null >/dev/null 2>&1 &
  FWD_PID=$!
  t0=$(ms)
  until [ -S "$local_sock" ]; do
    alive "$FWD_PID" || die "ssh -L $local_sock:$remote_sock exited"
    (($(ms) - t0 < 10000)) || { kill "$FWD_PID"; die "ssh -L $local_sock:$remote_sock: no socket after 10 s"; }
    sleep 0.05
  done
}
unforward() {
  kill "$FWD_PID" 2>/dev/null || true
  wait "$FWD_PID" 2>/dev/null || true
  rm -f "$1"
}

verify_docker() {
  local want got root t0 t_ssh t_ver t_ps fwd=$RUN/verify-docker.sock
  want=$("${RDOCKER[@]}" version --format '{{.Server.Version}}')
  t0=$(ms); ssh_ "$NAME" true; t_ssh=$(($(ms) - t0))
  t0=$(ms)
  got=$(ssh_ "$NAME" "docker version --format '{{.Server.Version}}'")
  t_ver=$(($(ms) - t0))
  [ "$got" = "$want" ] || die "ssh $NAME docker version: '$got', expected '$want'"
  root=$(ssh_ "$NAME" "docker info --format '{{.DockerRootDir}}'")
  [ "$root" = "$LIB/docker" ] || die "ssh $NAME docker talks to the wrong daemon (root dir $root)"
  forward "$fwd" "$SOCK"
  t0=$(ms)
  docker -H "unix://$fwd" ps >/dev/null || { unforward "$fwd"; die "docker ps over the ssh forward failed"; }
  t_ps=$(($(ms) - t0))
  unforward "$fwd"
  say "verified: ssh true ${t_ssh} ms, ssh docker version ${t_ver} ms ($got), docker ps over ssh -L ${t_ps} ms"
}

# ---- commands ------------------------------------------------------------------------------------
cmd_up() {
  (($# == 2)) || usage
  vars "$1"
  [[ $2 =~ ^[0-9]+$ ]] && (($2 >= 1 && $2 <= 200)) || die "N must be in 1..200, not '$2'"
  N=$2
  addr_vars
  local t0
  t0=$(ms)
  if healthy; then
    images_sync
    say "$NAME is up ($ADDR)"
    print_env
    return 0
  fi
  if anything_there; then
    say "$NAME is half up; tearing it down first"
    teardown
  fi
  if ip -o -4 addr show | grep -q " $HOST_ADDR/"; then
    die "$HOST_ADDR is already in use on this machine (another test host with N=$N?)"
  fi
  mkdir -p "$RUN" "$LIB"
  net_up
  echo "$N" >"$RUN/n"
  dockerd_up
  images_sync
  sshd_up
  verify_docker
  say "$NAME is up ($ADDR) in $(($(ms) - t0)) ms"
  print_env
}

podman_ok() {
  alive "$(pidof_file "$RUN/podman.pid")" && [ -S "$PSOCK" ] &&
    timeout 10 podman --remote --url "unix://$PSOCK" version >/dev/null 2>&1
}

podman_up() {
  mkdir -p "$LIB/podman" "$LIB/cni" "$RUN/podman-run" "$RUN/podman-tmp"
  # The host's containers.conf (runtime, ulimits) plus: file locks under --tmpdir. The default "shm"
  # lock is one segment (/dev/shm/libpod_lock) for every rootful podman on the machine, and a podman
  # starting on fresh state frees all of its locks -- the host podman's too. Own default subnet, too.
  local conf=$LIB/containers.conf
  {
    sed -e '/^\[engine\]/a lock_type = "file"' -e '/^\[network\]/a default_subnet = "10.234.'"$N"'.0/24"' \
      /etc/containers/containers.conf 2>/dev/null || true
    grep -q '^\[engine\]' /etc/containers/containers.conf 2>/dev/null || printf '\n[engine]\nlock_type = "file"\n'
    grep -q '^\[network\]' /etc/containers/containers.conf 2>/dev/null ||
      printf '\n[network]\ndefault_subnet = "10.234.%s.0/24"\n' "$N"
  } >"$conf"
  # The registry the tests publish to listens on this machine's veth address, over plain HTTP.
  printf '[[registry]]\nlocation = "10.231.%s.1"\ninsecure = true\n' "$N" >"$LIB/registries.conf"
  rm -f "$PSOCK"
  printf -- '---- %s test-host podman-up %s\n' "$(date -Is)" "$NAME" >>"$PLOG"
  nohup nsenter --net="$NSPATH" setsid "${RPODMAN[@]}" system service --time=0 "unix://$PSOCK" \
    >>"$PLOG" 2>&1 </dev/null &
  local pid=$! t0
  echo "$pid" >"$RUN/podman.pid"
  t0=$(ms)
  until [ -S "$PSOCK" ] && timeout 5 podman --remote --url "unix://$PSOCK" version >/dev/null 2>&1; do
    alive "$pid" || { tail -n 20 "$PLOG" >&2; die "podman system service exited (log: $PLOG)"; }
    (($(ms) - t0 < 60000)) || { tail -n 20 "$PLOG" >&2; die "podman service did not answer within 60 s"; }
    sleep 0.3
  done
  say "podman: $PSOCK ($(($(ms) - t0)) ms, log $PLOG)"
  local ids
  ids=$(podman --remote --url "unix://$PSOCK" ps -aq)
  if [ -n "$ids" ]; then
    podman --remote --url "unix://$PSOCK" rm -fa -t 1 >/dev/null
    say "podman: removed $(echo "$ids" | wc -l) stale container(s)"
  fi
}

# podman saves several images into one archive only with -m; loading goes through the service,
# so the storage stays locked by one process only.
podman_images_sync() { sync_images podman -m podman --remote --url "unix://$PSOCK"; }

verify_podman() {
  local fwd=$RUN/verify-podman.sock t0 t_ps t_run root
  root=$(ssh_ "$NAME" "podman --remote --url unix://$PSOCK info --format '{{.Store.GraphRoot}}'")
  [ "$root" = "$LIB/podman" ] || die "podman over ssh talks to the wrong storage ($root)"
  forward "$fwd" "$PSOCK"
  t0=$(ms)
  podman --remote --url "unix://$fwd" ps >/dev/null || { unforward "$fwd"; die "podman ps over the ssh forward failed"; }
  t_ps=$(($(ms) - t0)); t0=$(ms)
  podman --remote --url "unix://$fwd" run --rm "${IMAGES[0]}" true ||
    { unforward "$fwd"; die "podman run over the ssh forward failed"; }
  t_run=$(($(ms) - t0))
  unforward "$fwd"
  say "verified podman: ps over ssh -L ${t_ps} ms, run --rm ${IMAGES[0]} true ${t_run} ms"
}

cmd_podman_up() {
  (($# == 1)) || usage
  vars "$1"
  [ -n "${N:-}" ] || die "$NAME is not up (scripts/test-host.sh up $NAME N first)"
  addr_vars
  healthy || die "$NAME is not healthy (scripts/test-host.sh up $NAME $N first)"
  if ! podman_ok; then
    stop_podman
    podman_up
    podman_images_sync
    verify_podman
  else
    podman_images_sync
  fi
  print_env
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

stop_podman() {
  local pid
  pid=$(pidof_file "$RUN/podman.pid")
  if alive "$pid"; then
    timeout 20 podman --remote --url "unix://$PSOCK" rm -fa -t 1 >/dev/null 2>&1 || true
    stop_pid "$pid" 10
  elif [ -e "$NSPATH" ] && [ -f "$LIB/containers.conf" ] && [ -d "$RUN/podman-tmp" ]; then
    # The service died: remove its containers directly (CNI teardown needs the namespace).
    timeout 60 nsenter --net="$NSPATH" "${RPODMAN[@]}" rm -fa -t 1 >/dev/null 2>&1 || true
  fi
  rm -f "$RUN/podman.pid" "$PSOCK"
}

teardown() {
  local pid p ids cg
  # sshd (and with it the sessions and forwards it serves)
  stop_pid "$(pidof_file "$RUN/sshd.pid")" 5
  stop_podman
  # containers first (fast), then dockerd, which also stops its containerd
  if dockerd_ok 2>/dev/null; then
    ids=$("${RDOCKER[@]}" ps -aq 2>/dev/null || true)
    if [ -n "$ids" ]; then
      # shellcheck disable=SC2086
      timeout 60 "${RDOCKER[@]}" rm -f $ids >/dev/null 2>&1 || say "docker rm -f left some containers"
    fi
  fi
  stop_pid "$(pidof_file "$RUN/docker.pid")" 20
  stop_pid "$(pidof_file "$RUN/exec/containerd/containerd.pid")" 5
  # Whatever still lives in the namespace: shims, docker-proxy, conmon, sessions.
  if [ -e "$NSPATH" ]; then
    for p in $(ip netns pids "$NS" 2>/dev/null); do kill -TERM "$p" 2>/dev/null || true; done
    for _ in $(seq 1 30); do
      [ -z "$(ip netns pids "$NS" 2>/dev/null)" ] && break
      sleep 0.1
    done
    for p in $(ip netns pids "$NS" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
  fi
  # Container processes (own netns) that outlived their shims: they all sit under our cgroup parent.
  for cg in /sys/fs/cgroup/*/"$CGROUP"; do
    [ -d "$cg" ] || continue
    { find "$cg" -name cgroup.procs -exec cat {} + 2>/dev/null || true; } | while read -r p; do kill -KILL "$p" 2>/dev/null || true; done
  done
  sleep 0.1
  for cg in /sys/fs/cgroup/*/"$CGROUP"; do
    [ -d "$cg" ] && find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null || true
  done
  # Mounts dockerd/podman left behind (overlay merged dirs, netns bind mounts, shm).
  local m
  awk -v a="$LIB" -v b="$RUN" '$5 == a || $5 == b || index($5, a "/") == 1 || index($5, b "/") == 1 { print $5 }' \
    /proc/self/mountinfo | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
  ip link del "$VETH" 2>/dev/null || true
  [ -e "$NSPATH" ] && ip netns del "$NS" 2>/dev/null || true
  rm -rf "$RUN"
}

cmd_down() {
  local purge=
  (($# >= 1 && $# <= 2)) || usage
  if (($# == 2)); then [ "$2" = --purge ] || usage; purge=1; fi
  vars "$1"
  local t0
  t0=$(ms)
  teardown
  if [ -n "$purge" ]; then
    rm -rf "$LIB" "$DLOG" "$SLOG" "$PLOG"
    say "$NAME is down and purged ($(($(ms) - t0)) ms)"
  else
    say "$NAME is down ($(($(ms) - t0)) ms; $LIB kept)"
  fi
}

(($(id -u) == 0)) || die "must run as root"
cmd=${1:-}
shift || true
case $cmd in
  up) cmd_up "$@" ;;
  podman-up) cmd_podman_up "$@" ;;
  down) cmd_down "$@" ;;
  *) usage ;;
esac
