#!/usr/bin/env bash
# Bring docker and podman up from nothing on a Debian 12 machine, and make the local base images the
# fixtures build FROM (no registry can be pulled from here). Idempotent and quiet: it prints only what
# it had to do, and everything when a step fails.
#
#   scripts/engines-up.sh            # both engines, base images, fixture locks
#   ENGINES=docker scripts/engines-up.sh
set -euo pipefail

ENGINES=${ENGINES:-"docker podman"}
BASE_IMAGE=${MCPCTL_BASE_IMAGE:-mcpctl-python:bookworm}
UV_IMAGE=${MCPCTL_UV_IMAGE:-mcpctl-uv:local}
FRONT_IMAGE=${MCPCTL_FRONT_IMAGE:-mcpctl-haproxy:local}
CACHE=${MCPCTL_CACHE:-/var/cache/mcpctl}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
LOG=$(mktemp /tmp/mcpctl-engines-up.XXXXXX)
trap 'rm -f "$LOG"' EXIT

say() { printf 'engines-up: %s\n' "$*" >&2; }
# Run quietly; on failure show what the step printed.
quiet() {
  if ! "$@" >"$LOG" 2>&1; then
    say "failed: $*"
    tail -n 40 "$LOG" >&2
    exit 1
  fi
}

# 1. Packages --------------------------------------------------------------------------------------
need=()
for p in docker.io podman runc debootstrap docker-registry uidmap slirp4netns fuse-overlayfs python3-venv bc catatonit docker-compose tmux nginx-light openssh-server iproute2; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
done
if ((${#need[@]})); then
  say "installing ${need[*]}"
  quiet apt-get update -qq
  quiet env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
# Debian's docker-registry starts itself on install; the publish tests start their own.
if systemctl is-active --quiet docker-registry 2>/dev/null; then systemctl stop docker-registry || true; fi

# 2. Podman: runc (crun fails on this cgroup layout), ulimits within the hard limits ---------------
conf=/etc/containers/containers.conf
want='# written by mcpctl scripts/engines-up.sh
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1000:1000"]

[engine]
runtime = "runc"
'
if [ "$(cat "$conf" 2>/dev/null)" != "$(printf '%s' "$want")" ]; then
  mkdir -p /etc/containers
  if [ -f "$conf" ] && ! grep -q 'mcpctl scripts/engines-up.sh' "$conf"; then cp "$conf" "$conf.before-mcpctl"; fi
  printf '%s' "$want" >"$conf"
  say "configured podman ($conf)"
fi

# 3. dockerd ---------------------------------------------------------------------------------------
if [[ " $ENGINES " == *" docker "* ]] && ! docker info >/dev/null 2>&1; then
  # A dockerd killed with its session leaves its pid file behind, and the next one refuses to start.
  for f in /var/run/docker.pid /run/containerd/containerd.pid; do
    if [ -f "$f" ] && ! kill -0 "$(cat "$f")" 2>/dev/null; then rm -f "$f"; fi
  done
  say "starting dockerd (log: /var/log/mcpctl-dockerd.log)"
  nohup setsid dockerd >/var/log/mcpctl-dockerd.log 2>&1 </dev/null &
  for _ in $(seq 1 120); do
    docker info >/dev/null 2>&1 && break
    sleep 0.5
  done
  if ! docker info >/dev/null 2>&1; then
    say "dockerd did not answer within 60 s"
    tail -n 40 /var/log/mcpctl-dockerd.log >&2
    exit 1
  fi
fi
if [[ " $ENGINES " == *" podman "* ]]; then
  quiet podman info
fi

# A killed session can leave podman's port-forwarding rules behind for containers that no longer
# exist; a later container on the same host port is then unreachable. Remove only those.
if [[ " $ENGINES " == *" podman "* ]] && command -v iptables >/dev/null 2>&1; then
  known=" $(podman ps -aq --no-trunc 2>/dev/null | tr '\n' ' ') "
  while IFS= read -r rule; do
    id=$(grep -o 'id: [0-9a-f]\{64\}' <<<"$rule" | cut -d' ' -f2)
    if [ -n "$id" ] && [[ "$known" != *" $id "* ]]; then
      eval "iptables -t nat ${rule/#-A/-D}" && say "removed a stale podman port rule of container ${id:0:12}"
    fi
  done < <(iptables -t nat -S 2>/dev/null | grep -E '^-A NETAVARK-(HOSTPORT-DNAT|DN-)' || true)
fi

# 4. Base images, made locally -------------------------------------------------------------------
has_image() { "$1" image inspect "$2" >/dev/null 2>&1; }
mkdir -p "$CACHE"

make_base_tar() {
  local tar=$CACHE/python-bookworm.tar
  [ -s "$tar" ] && return 0
  local dir=$CACHE/rootfs mirror
  mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  if [ -z "$mirror" ]; then
    mirror=$(awk '/^deb / {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
  fi
  if [ -z "$mirror" ]; then
    say "no Debian mirror in /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list"
    exit 1
  fi
  rm -rf "$dir"
  say "debootstrap python3 rootfs (about a minute)"
  quiet debootstrap --variant=minbase --include=python3,python3-venv,python-is-python3,ca-certificates \
    bookworm "$dir" "$mirror"
  # Trust the host's CA bundle so pip and uv inside builds can reach the package index.
  cp /etc/ssl/certs/ca-certificates.crt "$dir/etc/ssl/certs/ca-certificates.crt"
  rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*
  tar -C "$dir" -cf "$tar.tmp" . && mv "$tar.tmp" "$tar"
  rm -rf "$dir"
}

make_uv_tar() {
  local tar=$CACHE/uv.tar
  [ -s "$tar" ] && return 0
  local dl dir
  dl=$(mktemp -d); dir=$(mktemp -d)
  say "fetching uv from the package index"
  quiet python3 -m pip download --quiet --no-deps --only-binary :all: -d "$dl" uv
  (cd "$dl" && python3 -m zipfile -e ./*.whl x)
  cp "$dl"/x/uv-*.data/scripts/uv "$dl"/x/uv-*.data/scripts/uvx "$dir"/
  chmod 755 "$dir"/uv "$dir"/uvx
  tar -C "$dir" -cf "$tar.tmp" . && mv "$tar.tmp" "$tar"
  rm -rf "$dl" "$dir"
}

import_base() {
  local engine=$1
  make_base_tar
  quiet "$engine" import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
    --change 'ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["python3"]' \
    "$CACHE/python-bookworm.tar" "$BASE_IMAGE"
}

for engine in $ENGINES; do
  if ! has_image "$engine" "$BASE_IMAGE"; then
    say "$engine: making $BASE_IMAGE"
    import_base "$engine"
  fi
  if ! has_image "$engine" "$UV_IMAGE"; then
    make_uv_tar
    say "$engine: making $UV_IMAGE"
    quiet "$engine" import --change 'CMD ["/uv"]' "$CACHE/uv.tar" "$UV_IMAGE"
  fi
  # The front (mcpctl --front) runs HAProxy; the official image cannot be pulled here, so build the
  # same thing from Debian's haproxy package.
  if ! has_image "$engine" "$FRONT_IMAGE"; then
    say "$engine: making $FRONT_IMAGE (Debian's haproxy package)"
    fmt=(); [ "$engine" = podman ] && fmt=(--format docker)
    quiet "$engine" build "${fmt[@]}" --build-arg "BASE_IMAGE=$BASE_IMAGE" -t "$FRONT_IMAGE" \
      -f "$ROOT/scripts/images/haproxy.Dockerfile" "$ROOT/scripts/images"
  fi
done

# 5. Fixture locks: made here, never committed (a uv.lock records the index's download URLs) ------
if ! command -v uv >/dev/null 2>&1 && [ ! -x "$CACHE/uv" ]; then
  make_uv_tar
  tar -C "$CACHE" -xf "$CACHE/uv.tar" ./uv
fi
UV=$(command -v uv || echo "$CACHE/uv")
for fx in "$ROOT"/fixtures/*/; do
  if [ -f "$fx/pyproject.toml" ] && [ ! -f "$fx/uv.lock" ]; then
    say "locking ${fx#"$ROOT"/}"
    (cd "$fx" && SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt quiet "$UV" lock --quiet --python python3)
  fi
done
exit 0
