#!/usr/bin/env bash
# make bench: a report, not a test. On docker and podman with the echo-server fixture (median of 5):
# a warm `start` (nothing changed: the build is skipped) beside the engine's own cached build + run;
# `update` with nothing changed; the phases of `update` after a one-line change and the outage a
# client sees, beside a bare swap by hand; `status` against the original scripts/docker.py's (when its
# guide is at ../shared/seeds, see the README); the time until
# docker's own HEALTHCHECK first says healthy, for comparison with "answers MCP"; the front: failed
# requests during updates through it, the latency it adds to one tools/call, its memory; replicas
# behind the front: calls/s of a CPU-bound tool with 1, 2 and 3 of them, and the front's latency.
# Writes target/bench.txt. MCPCTL and TARGET_DIR may point elsewhere (the Makefile passes them).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET_DIR=${TARGET_DIR:-$ROOT/target}
M=${MCPCTL:-$TARGET_DIR/release/mcpctl}
OUTAGE=$TARGET_DIR/release/examples/outage
LATENCY=$TARGET_DIR/release/examples/latency
THROUGHPUT=$TARGET_DIR/release/examples/throughput
RUNS=${RUNS:-5}
ENGINES=${ENGINES:-"docker podman"}
# local: everything on this machine's engines; remote: the same commands against a host over SSH;
# replicas: throughput with 1, 2 and 3 replicas behind the front; oauth: OAuth at the front;
# swarm: the same project on a 3-node Docker Swarm (scripts/swarm.sh) beside 3 replicas behind
# the front on this machine.
SECTIONS=${SECTIONS:-"local remote replicas oauth swarm"}
OUT=$TARGET_DIR/bench.txt
WORK=$(mktemp -d /tmp/mcpctl-bench.XXXXXX)
export HOME=$WORK/home NO_COLOR=1
mkdir -p "$HOME"
cp -r "$ROOT/fixtures/echo-server" "$WORK/proj"
ARGS=(-C "$WORK/proj" --name bench --base-port 31000
  --build-arg PYTHON_IMAGE=mcpctl-python:bookworm --build-arg UV_IMAGE=mcpctl-uv:local)
# The replicas section's project: every container of it (replicas, a generation left by an update)
# and its front go with `down`.
replicas_down() {
  for e in $ENGINES; do
    $M --engine "$e" -C "$WORK/rs" --name bench-rep -q down --volumes --yes >/dev/null 2>&1 || true
    $e rmi bench-rep-mcp >/dev/null 2>&1 || true
  done
}
trap 'replicas_down; for e in $ENGINES; do $e rm -f bench-mcp bench-mcp-hand seedbench bench-front-mcp bench-front-front >/dev/null 2>&1 || true; $e network rm bench-front-front >/dev/null 2>&1 || true; $e rmi bench-hand-img >/dev/null 2>&1 || true; done; rm -rf "$WORK"' EXIT
# Built by `make bench` (cargo needs the real HOME, which this script replaces).
[ -x "$OUTAGE" ] && [ -x "$LATENCY" ] && [ -x "$THROUGHPUT" ] && [ -x "$M" ] || {
  echo "bench: build first: cargo build --release --examples" >&2; exit 2; }

# Longest outage a client probing every 50 ms sees while "$@" runs.
outage_during() {
  local port=$1; shift
  rm -f "$WORK/stop"
  "$OUTAGE" "$port" "$WORK/stop" >"$WORK/outage" 2>/dev/null &
  local pid=$!
  sleep 0.3
  "$@" >/dev/null 2>&1 || true
  sleep 0.5
  touch "$WORK/stop"; wait "$pid"
  cut -d' ' -f1 "$WORK/outage"
}

# Seconds from the server's "Uvicorn running" log line to now.
since_server_up() {
  local e=$1 c=$2 ts
  $e logs -t "$c" >"$WORK/logs" 2>&1 || true
  ts=$(grep -m1 'Uvicorn running' "$WORK/logs" | cut -d' ' -f1)
  python3 -c 'import sys,datetime,time; t=sys.argv[1].rstrip("Z"); d,f=(t.split(".")+["0"])[:2]; dt=datetime.datetime.fromisoformat(d).replace(tzinfo=datetime.timezone.utc).timestamp()+float("0."+f[:6]); print("%.3f"%(time.time()-dt))' "$ts"
}

median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else printf "%.3f\n", (a[NR/2]+a[NR/2+1])/2}'; }
now() { date +%s.%N; }
# "Took build 1.2 s, run 250 ms, ready 600 ms" → seconds for one phase
phase() { grep -o "$1 [0-9.]* m\?s" | head -1 | awk '{ if ($3=="ms") printf "%.3f\n", $2/1000; else print $2 }'; }

{
echo "mcpctl bench — $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, median of $RUNS"
for e in $ENGINES; do
  case " $SECTIONS " in *" local "*) ;; *) continue ;; esac
  echo
  echo "== $e ($($e --version | head -1))"
  $M --engine "$e" "${ARGS[@]}" -q stop >/dev/null 2>&1 || true
  $M --engine "$e" "${ARGS[@]}" -q start >/dev/null   # warm the cache
  $M --engine "$e" "${ARGS[@]}" -q stop >/dev/null
  : >"$WORK/start"; : >"$WORK/update"; : >"$WORK/status"; : >"$WORK/lag"; : >"$WORK/out-update"; : >"$WORK/out-hand"
  : >"$WORK/hand-build"; : >"$WORK/hand-run"; : >"$WORK/nothing"; : >"$WORK/fail-update"
  BUILD_FMT=(); [ "$e" = podman ] && BUILD_FMT=(--format docker)
  for i in $(seq "$RUNS"); do
    # Warm start: nothing changed since the last build, so mcpctl skips it.
    t0=$(now); out=$($M --engine "$e" "${ARGS[@]}" start); t1=$(now)
    since_server_up "$e" bench-mcp >>"$WORK/lag"
    echo "$(echo "$out" | phase build) $(echo "$out" | phase run) $(echo "$out" | phase ready) $(echo "$t1 - $t0" | bc)" >>"$WORK/start"
    port=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["port"])' "$HOME"/.config/echo_server/docker-bench.json)
    # The engine's own cached build and run of the same project, in the same run.
    t0=$(now); $e build "${BUILD_FMT[@]}" -q -t bench-hand-img --build-arg PYTHON_IMAGE=mcpctl-python:bookworm \
      --build-arg UV_IMAGE=mcpctl-uv:local "$WORK/proj" >/dev/null 2>&1; t1=$(now)
    echo "$t1 - $t0" | bc >>"$WORK/hand-build"
    t0=$(now); $e run -d --name bench-mcp-hand -p 127.0.0.1:$((port + 50)):3001 --init bench-hand-img >/dev/null 2>&1; t1=$(now)
    echo "$t1 - $t0" | bc >>"$WORK/hand-run"
    $e rm -f bench-mcp-hand >/dev/null 2>&1
    # update with nothing changed: nothing is touched.
    t0=$(now); $M --engine "$e" "${ARGS[@]}" -q update >/dev/null; t1=$(now)
    echo "$t1 - $t0" | bc >>"$WORK/nothing"
    # The floor: a bare swap by hand, same image and flags (create beside, stop -t 2, start).
    $e rm -f bench-mcp-hand >/dev/null 2>&1 || true
    $e create --name bench-mcp-hand -p "127.0.0.1:$port:3001" -e PORT=3001 --init bench-mcp >/dev/null 2>&1
    echo "$(outage_during "$port" bash -c "$e stop -t 2 bench-mcp && $e start bench-mcp-hand")" >>"$WORK/out-hand"
    $e rm -f bench-mcp-hand >/dev/null 2>&1; $e start bench-mcp >/dev/null 2>&1
    until $M --engine "$e" "${ARGS[@]}" status --json 2>/dev/null | grep -q '"ok":true'; do sleep 0.1; done
    echo "# bench $i $t0" >>"$WORK/proj/echo_server/server.py"
    rm -f "$WORK/stop"; "$OUTAGE" "$port" "$WORK/stop" >"$WORK/outage" 2>/dev/null & opid=$!; sleep 0.3
    t0=$(now); out=$($M --engine "$e" "${ARGS[@]}" update); t1=$(now)
    sleep 0.5; touch "$WORK/stop"; wait "$opid"; cut -d' ' -f1 "$WORK/outage" >>"$WORK/out-update"
    cut -d' ' -f2,3 "$WORK/outage" >>"$WORK/fail-update"
    echo "$(echo "$out" | phase build) $(echo "$out" | phase swap) $(echo "$out" | phase ready) $(echo "$t1 - $t0" | bc)" >>"$WORK/update"
    t0=$(now); $M --engine "$e" "${ARGS[@]}" status >/dev/null; t1=$(now)
    echo "$t1 - $t0" | bc >>"$WORK/status"
    $M --engine "$e" "${ARGS[@]}" -q stop >/dev/null
  done
  for what in start update; do
    printf '%-7s build %ss  run/swap %ss  ready %ss  wall %ss\n' "$what" \
      "$(cut -d' ' -f1 "$WORK/$what" | median)" "$(cut -d' ' -f2 "$WORK/$what" | median)" \
      "$(cut -d' ' -f3 "$WORK/$what" | median)" "$(cut -d' ' -f4 "$WORK/$what" | median)"
  done
  printf '(start: nothing changed, build skipped; update: after a one-line change)\n'
  printf 'the engine by hand, same project: cached build %ss + run -d %ss\n' \
    "$(median <"$WORK/hand-build")" "$(median <"$WORK/hand-run")"
  printf 'update with nothing changed: wall %ss (nothing touched)\n' "$(median <"$WORK/nothing")"
  printf 'status  wall %ss (one inspect + one MCP probe)\n' "$(median <"$WORK/status")"
  printf 'start reported ready %ss after the server logged "Uvicorn running" (until mcpctl exited)\n' "$(median <"$WORK/lag")"
  printf 'update outage seen by a 50 ms MCP probe: mcpctl %ss, bare swap by hand %ss\n' \
    "$(median <"$WORK/out-update")" "$(median <"$WORK/out-hand")"
  printf 'update without the front: %s of %s probes failed over %s updates\n' \
    "$(awk '{f+=$2} END {print f}' "$WORK/fail-update")" "$(awk '{a+=$1} END {print a}' "$WORK/fail-update")" "$RUNS"

  # The front (HAProxy): the same updates through it, the latency it adds to one tools/call (the
  # same container reached directly on the front's network vs through the front) and its memory.
  rm -rf "$WORK/fp"; cp -r "$ROOT/fixtures/echo-server" "$WORK/fp"
  FA=(-C "$WORK/fp" --name bench-front --base-port 31260 --front --front-image mcpctl-haproxy:local
    --drain-timeout 5 --build-arg PYTHON_IMAGE=mcpctl-python:bookworm --build-arg UV_IMAGE=mcpctl-uv:local)
  $M --engine "$e" "${FA[@]}" -q start >/dev/null
  fport=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["port"])' "$HOME"/.config/echo_server/docker-bench-front.json)
  : >"$WORK/f-out"; : >"$WORK/f-fail"; : >"$WORK/f-wall"
  for i in $(seq "$RUNS"); do
    echo "# bench $i $(now)" >>"$WORK/fp/echo_server/server.py"
    rm -f "$WORK/stop"; "$OUTAGE" "$fport" "$WORK/stop" >"$WORK/outage" 2>"$WORK/outage.err" & opid=$!; sleep 0.3
    t0=$(now); $M --engine "$e" "${FA[@]}" -q update >/dev/null; t1=$(now)
    sleep 0.5; touch "$WORK/stop"; wait "$opid"
    sed 's/^/  (through the front) /' "$WORK/outage.err" >&2
    cut -d' ' -f1 "$WORK/outage" >>"$WORK/f-out"; cut -d' ' -f2,3 "$WORK/outage" >>"$WORK/f-fail"
    echo "$t1 - $t0" | bc >>"$WORK/f-wall"
  done
  printf 'update through the front: outage %ss, %s of %s probes failed over %s updates, wall %ss (with the drain)\n' \
    "$(median <"$WORK/f-out")" "$(awk '{f+=$2} END {print f}' "$WORK/f-fail")" \
    "$(awk '{a+=$1} END {print a}' "$WORK/f-fail")" "$RUNS" "$(median <"$WORK/f-wall")"
  # One tools/call, three ways: the server without a front on its published port (what clients
  # reach today), the server behind the front at its container address, and through the front.
  $M --engine "$e" "${ARGS[@]}" -q start >/dev/null
  port=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["port"])' "$HOME"/.config/echo_server/docker-bench.json)
  read -r p50 p99 pfail < <("$LATENCY" "http://127.0.0.1:$port/mcp" echo '{"text":"hi"}' 1000)
  $M --engine "$e" "${ARGS[@]}" -q stop >/dev/null
  ip=$($e inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}' bench-front-mcp | awk '{print $1}')
  read -r d50 d99 dfail < <("$LATENCY" "http://$ip:3001/mcp" echo '{"text":"hi"}' 1000)
  read -r f50 f99 ffail < <("$LATENCY" "http://127.0.0.1:$fport/mcp" echo '{"text":"hi"}' 1000)
  printf 'tools/call over 1000 calls (one connection kept open, as SDK clients do), p50/p99 ms: published port without a front %s/%s; container address %s/%s; through the front %s/%s (failed: %s, %s, %s)\n' \
    "$p50" "$p99" "$d50" "$d99" "$f50" "$f99" "$pfail" "$dfail" "$ffail"
  printf 'the front container (HAProxy 2.6) uses %s\n' \
    "$($e stats --no-stream --format '{{.MemUsage}}' bench-front-front | cut -d/ -f1 | tr -d ' ')"
  $M --engine "$e" "${FA[@]}" -q down --volumes --yes >/dev/null 2>&1 || true
  $e rmi bench-front-mcp >/dev/null 2>&1 || true

  # A stdio server behind the bridge vs the same server served over HTTP by the launcher: the
  # quickstart file, unchanged, both ways; start to ready (warm image) and tools/call latency.
  for way in launcher bridge; do
    rm -rf "$WORK/qs"; cp -r "$ROOT/fixtures/quickstart-fastmcp1" "$WORK/qs"
    QA=(-C "$WORK/qs" --name "bench-$way" --base-port 31200 --build-arg PYTHON_IMAGE=mcpctl-python:bookworm)
    if [ "$way" = bridge ]; then $M "${QA[@]}" -q init --stdio "python server.py" >/dev/null
    else $M "${QA[@]}" -q init >/dev/null; fi
    $M --engine "$e" "${QA[@]}" -q start >/dev/null && $M --engine "$e" "${QA[@]}" -q stop >/dev/null
    : >"$WORK/qs-ready"
    for i in $(seq "$RUNS"); do
      out=$($M --engine "$e" "${QA[@]}" start)
      echo "$out" | phase ready >>"$WORK/qs-ready"
      qport=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["port"])' "$HOME"/.config/bench_"$way"/docker.json)
      [ "$i" = 1 ] && "$LATENCY" "http://127.0.0.1:$qport/mcp" forecast '{"city":"Oslo"}' 500 >"$WORK/qs-lat"
      $M --engine "$e" "${QA[@]}" -q stop >/dev/null
    done
    $M --engine "$e" "${QA[@]}" -q down --volumes --yes >/dev/null 2>&1 || true
    $e rmi "bench-$way-mcp" >/dev/null 2>&1 || true
    read -r p50 p99 failed <"$WORK/qs-lat"
    printf 'quickstart server, %-8s ready %ss after run; tools/call p50 %s ms, p99 %s ms (%s failed of 500)\n' \
      "$way:" "$(median <"$WORK/qs-ready")" "$p50" "$p99" "$failed"
  done

  if [ "$e" = docker ]; then
    # Docker's own HEALTHCHECK (interval 5 s in the fixture, 30 s in the original guide's Dockerfile).
    : >"$WORK/hc"
    for i in $(seq "$RUNS"); do
      docker rm -f seedbench >/dev/null 2>&1 || true
      t0=$(now); docker run -d --name seedbench bench-mcp >/dev/null
      until [ "$(docker inspect -f '{{.State.Health.Status}}' seedbench)" = healthy ]; do sleep 0.05; done
      echo "$(now) - $t0" | bc >>"$WORK/hc"
    done
    docker rm -f seedbench >/dev/null
    printf 'docker HEALTHCHECK first healthy after %ss (fixture interval 5 s; the original guide uses 30 s)\n' "$(median <"$WORK/hc")"

    # The original scripts/docker.py's status, for comparison (the guide it comes from, if present).
    seed=$(ls "$ROOT"/../shared/seeds/000_*.txt 2>/dev/null | head -1 || true)
    if [ -n "$seed" ]; then
      awk '/^## File 3/{f=1} f&&/^```python/{p=1;next} p&&/^```/{exit} p' "$seed" \
        | sed -e 's/"your-server-mcp"/"bench-mcp"/g' >"$WORK/docker.py"
      $M --engine docker "${ARGS[@]}" -q start >/dev/null
      : >"$WORK/seedstatus"; : >"$WORK/ourstatus"
      for i in $(seq "$RUNS"); do
        t0=$(now); python3 "$WORK/docker.py" status >/dev/null; echo "$(now) - $t0" | bc >>"$WORK/seedstatus"
        t0=$(now); $M --engine docker "${ARGS[@]}" status >/dev/null; echo "$(now) - $t0" | bc >>"$WORK/ourstatus"
      done
      printf 'status: mcpctl %ss vs the original scripts/docker.py %ss (running container)\n' \
        "$(median <"$WORK/ourstatus")" "$(median <"$WORK/seedstatus")"
      $M --engine docker "${ARGS[@]}" -q stop >/dev/null
    fi
  fi
done
# Replicas behind the front (issue 20), the replica-server fixture: `spin` 20 ms (pure-Python CPU
# work) under 6 new-era clients for 10 s, with 1, 2 and 3 replicas (`update --replicas N`
# between) and the same container reached directly; and what the front adds to a cheap call
# (whoami, one client, sequential), against that container's address on the front's network.
# Targets are printed beside the figures as met or not, never asserted.
case " $SECTIONS " in *" replicas "*)
  SPIN='{"ms":20}'
  for e in $ENGINES; do
    echo
    echo "== $e, replicas behind the front ($(uptime | sed 's/.*load average/load average/'))"
    rm -rf "$WORK/rs"; cp -r "$ROOT/fixtures/replica-server" "$WORK/rs"
    RA=(-C "$WORK/rs" --name bench-rep --base-port 31270 --front --front-image mcpctl-haproxy:local
      --drain-timeout 2 --build-arg PYTHON_IMAGE=mcpctl-python:bookworm --build-arg UV_IMAGE=mcpctl-uv:local)
    # The fixture is a bare server.py: init writes its Dockerfile and launcher.
    $M "${RA[@]}" -q init >/dev/null
    $M --engine "$e" "${RA[@]}" -q --replicas 1 start >/dev/null
    rport=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["port"])' "$HOME"/.config/bench_rep/docker.json)
    FRONT_URL=http://127.0.0.1:$rport/mcp
    ip=$($e inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}' bench-rep-mcp | awk '{print $1}')
    # At its container address the server still checks the Host header (DNS-rebinding
    # protection): it is sent the name its clients use.
    DIRECT=("http://$ip:3001/mcp" spin "$SPIN" 6 10 "localhost:$rport")
    "$THROUGHPUT" "$FRONT_URL" spin "$SPIN" 6 2 >/dev/null 2>&1   # a fresh process's first calls
    read -r dcps d50 d99 dfail < <("$THROUGHPUT" "${DIRECT[@]}" 2>/dev/null)
    read -r r1 r1p50 r1p99 r1fail < <("$THROUGHPUT" "$FRONT_URL" spin "$SPIN" 6 10 2>/dev/null)
    # Alternating short rounds, so the machine's other work weighs on both ways alike.
    : >"$WORK/w-direct"; : >"$WORK/w-front"
    for i in $(seq "$RUNS"); do
      "$THROUGHPUT" "http://$ip:3001/mcp" whoami '{}' 1 2 "localhost:$rport" 2>/dev/null >>"$WORK/w-direct"
      "$THROUGHPUT" "$FRONT_URL" whoami '{}' 1 2 2>/dev/null >>"$WORK/w-front"
    done
    for n in 2 3; do
      $M --engine "$e" "${RA[@]}" -q --replicas "$n" update >/dev/null
      "$THROUGHPUT" "$FRONT_URL" spin "$SPIN" 6 2 >/dev/null 2>&1
      "$THROUGHPUT" "$FRONT_URL" spin "$SPIN" 6 10 2>/dev/null >"$WORK/r$n"
    done
    read -r r2 r2p50 r2p99 r2fail <"$WORK/r2"
    read -r r3 r3p50 r3p99 r3fail <"$WORK/r3"
    printf 'spin 20 ms, 6 new-era clients for 10 s: calls/s (p50/p99 ms, failed)\n'
    printf '  the container directly (its address on the front'"'"'s network): %s (%s/%s, %s)\n' "$dcps" "$d50" "$d99" "$dfail"
    printf '  through the front, 1 replica: %s (%s/%s, %s)\n' "$r1" "$r1p50" "$r1p99" "$r1fail"
    printf '  through the front, 2 replicas: %s (%s/%s, %s)\n' "$r2" "$r2p50" "$r2p99" "$r2fail"
    printf '  through the front, 3 replicas: %s (%s/%s, %s)\n' "$r3" "$r3p50" "$r3p99" "$r3fail"
    awk -v a="$r2" -v b="$r1" -v c="$r3" 'BEGIN { r = b > 0 ? a / b : 0
      printf "2 replicas / 1: %.2fx (target >= 1.7x: %s); 3 / 1: %.2fx\n", r, (r >= 1.7 ? "met" : "not met"), (b > 0 ? c / b : 0) }'
    w50=$(cut -d' ' -f2 "$WORK/w-direct" | median); w99=$(cut -d' ' -f3 "$WORK/w-direct" | median)
    f50=$(cut -d' ' -f2 "$WORK/w-front" | median); f99=$(cut -d' ' -f3 "$WORK/w-front" | median)
    printf 'whoami, 1 client, sequential (median of %s rounds of 2 s), p50/p99 ms: container address %s/%s; through the front (1 replica) %s/%s; failed: %s, %s\n' \
      "$RUNS" "$w50" "$w99" "$f50" "$f99" "$(awk '{f+=$4} END {print f+0}' "$WORK/w-direct")" "$(awk '{f+=$4} END {print f+0}' "$WORK/w-front")"
    awk -v f="$f50" -v d="$w50" 'BEGIN { a = f - d
      printf "the front adds %.3f ms at p50 (target < 1 ms: %s)\n", a, (a < 1 ? "met" : "not met") }'
    # The machine is shared: its load after the measurements, beside the one before.
    echo "($(uptime | sed 's/.*load average/load average/') after)"
    $M --engine "$e" "${RA[@]}" -q down --volumes --yes >/dev/null 2>&1 || true
    $e rmi bench-rep-mcp >/dev/null 2>&1 || true
  done
;; esac
# OAuth at the front (issue 22): one tools/call with a valid access token through an OAuth front
# (signature, kid, alg, iss, aud, exp, nbf checked by HAProxy), beside the same server behind a
# front with a static token and reached at its container address, in the same run. The issuer
# is oidc-provider (scripts/oauth-idp.sh), on this machine's address so the front reaches it too.
case " $SECTIONS " in *" oauth "*)
  bash "$ROOT/scripts/oauth-idp.sh"
  IDP=$ROOT/target/oauth-idp
  HOSTIP=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.connect(("10.255.255.255", 1)); print(s.getsockname()[0])')
  ISSUER="http://$HOSTIP:31290"
  IDP_PORT=31290 IDP_ISSUER=$ISSUER IDP_KEYDIR=$WORK/idp-keys IDP_KIDS=rs-1:RS256 node "$IDP/idp.mjs" >"$WORK/idp.log" 2>&1 &
  IDPPID=$!
  trap 'kill $IDPPID 2>/dev/null || true; for e in $ENGINES; do for n in bench-oa bench-tok; do $M --engine "$e" -C "$WORK/$n" --name "$n" -q down --volumes --yes >/dev/null 2>&1 || true; $e rmi "$n-mcp" >/dev/null 2>&1 || true; done; done; rm -rf "$WORK"' EXIT
  for _ in $(seq 50); do grep -q listening "$WORK/idp.log" && break; sleep 0.2; done
  for e in $ENGINES; do
    echo
    echo "== $e, OAuth at the front ($(uptime | sed 's/.*load average/load average/'))"
    for n in bench-oa bench-tok; do rm -rf "$WORK/$n"; cp -r "$ROOT/fixtures/echo-server" "$WORK/$n"; done
    printf 'bench-token-%s\n' "$RANDOM$RANDOM" >"$WORK/bench-tok/front.token"
    echo 'token-file = "front.token"' >"$WORK/bench-tok/mcpctl.toml"
    OA=(-C "$WORK/bench-oa" --name bench-oa --base-port 31280 --front --front-image mcpctl-haproxy:local
      --oauth-issuer "$ISSUER" --build-arg PYTHON_IMAGE=mcpctl-python:bookworm --build-arg UV_IMAGE=mcpctl-uv:local)
    TA=(-C "$WORK/bench-tok" --name bench-tok --base-port 31285 --front --front-image mcpctl-haproxy:local
      --build-arg PYTHON_IMAGE=mcpctl-python:bookworm --build-arg UV_IMAGE=mcpctl-uv:local)
    $M --engine "$e" "${OA[@]}" -q start >/dev/null
    $M --engine "$e" "${TA[@]}" -q start >/dev/null
    RESOURCE=http://localhost:31280/mcp
    BENCH_OAUTH_TOKEN=$(curl -s -u mcp-test:mcp-test-secret -d grant_type=client_credentials \
      -d "resource=$RESOURCE" -d scope=mcp:read "$ISSUER/token" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
    BENCH_STATIC_TOKEN=$(tr -d '\n' <"$WORK/bench-tok/front.token")
    export BENCH_OAUTH_TOKEN BENCH_STATIC_TOKEN
    ip=$($e inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}' bench-oa-mcp | awk '{print $1}')
    : >"$WORK/l-direct"; : >"$WORK/l-tok"; : >"$WORK/l-oa"
    for i in $(seq "$RUNS"); do
      "$LATENCY" "http://$ip:3001/mcp" echo '{"text":"hi"}' 1000 >>"$WORK/l-direct"
      "$LATENCY" "http://127.0.0.1:31285/mcp" echo '{"text":"hi"}' 1000 BENCH_STATIC_TOKEN >>"$WORK/l-tok"
      "$LATENCY" "http://127.0.0.1:31280/mcp" echo '{"text":"hi"}' 1000 BENCH_OAUTH_TOKEN >>"$WORK/l-oa"
    done
    col() { cut -d' ' -f"$1" "$2" | median; }
    fails() { awk '{f+=$3} END {print f+0}' "$1"; }
    printf 'tools/call, 1000 calls x %s rounds (one connection kept open), median p50/p99 ms: container address %s/%s; static-token front %s/%s; OAuth front (RS256 JWT) %s/%s; failed: %s, %s, %s\n' \
      "$RUNS" "$(col 1 "$WORK/l-direct")" "$(col 2 "$WORK/l-direct")" "$(col 1 "$WORK/l-tok")" "$(col 2 "$WORK/l-tok")" \
      "$(col 1 "$WORK/l-oa")" "$(col 2 "$WORK/l-oa")" "$(fails "$WORK/l-direct")" "$(fails "$WORK/l-tok")" "$(fails "$WORK/l-oa")"
    awk -v o="$(col 1 "$WORK/l-oa")" -v t="$(col 1 "$WORK/l-tok")" 'BEGIN { a = o - t;
      printf "the OAuth check adds %.3f ms at p50 over the static token (target < 0.5 ms: %s)\n", a, (a < 0.5 ? "met" : "not met") }'
    for n in bench-oa bench-tok; do $M --engine "$e" -C "$WORK/$n" --name "$n" -q down --volumes --yes >/dev/null 2>&1 || true; done
  done
  kill $IDPPID 2>/dev/null || true
;; esac
# Another machine's engine over SSH (scripts/test-host.sh: a namespace with its own engine and
# sshd), beside the same commands against this machine's engine in the same run: a published image
# run with --run-image on both, so the same flow is timed; status, warm start, update to a new
# version (wall and the outage a 50 ms probe sees), and through the front there.
case " $SECTIONS " in *" remote "*)
  HOSTN=60; RH=bench-rh
  eval "$(bash "$ROOT/scripts/test-host.sh" up $RH $HOSTN 2>/dev/null)"
  trap 'bash "$ROOT/scripts/test-host.sh" down '"$RH"' >/dev/null 2>&1 || true; replicas_down; for e in $ENGINES; do $e rm -f bench-mcp bench-mcp-hand seedbench bench-front-mcp bench-front-front bench-r-mcp >/dev/null 2>&1 || true; $e network rm bench-front-front >/dev/null 2>&1 || true; $e rmi bench-hand-img >/dev/null 2>&1 || true; done; kill $REGPID 2>/dev/null || true; rm -rf "$WORK"' EXIT
  mkdir -p "$WORK/reg"
  printf 'version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: 0.0.0.0:31295\n' "$WORK/reg/data" >"$WORK/reg/config.yml"
  docker-registry serve "$WORK/reg/config.yml" >/dev/null 2>&1 & REGPID=$!
  rm -rf "$WORK/rp"; cp -r "$ROOT/fixtures/echo-server" "$WORK/rp"
  PA=(-C "$WORK/rp" --name bench-r --base-port 31300 --build-arg PYTHON_IMAGE=mcpctl-python:bookworm --build-arg UV_IMAGE=mcpctl-uv:local)
  sleep 1
  $M --engine docker "${PA[@]}" -q publish --registry 127.0.0.1:31295/bench-r >/dev/null
  echo "# version 2" >>"$WORK/rp/echo_server/server.py"
  $M --engine docker "${PA[@]}" -q publish --registry 127.0.0.1:31295/bench-r >/dev/null
  for e in $ENGINES; do
    echo
    if [ "$e" = podman ]; then
      eval "$(bash "$ROOT/scripts/test-host.sh" podman-up $RH 2>/dev/null)"
      RURL="ssh://$RH$MCPCTL_TEST_HOST_PODMAN_SOCK"
    else
      RURL="ssh://$RH"
    fi
    echo "== $e, this machine vs another over SSH ($RURL: a network namespace, its own engine and sshd)"
    for where in local remote; do
      if [ $where = local ]; then
        W=(--engine "$e" "${PA[@]}" --publish-address 127.0.0.1); REG=127.0.0.1:31295/bench-r; addr=127.0.0.1
      else
        W=(--engine "$e" "${PA[@]}" --host "$RURL" --ssh-config "$MCPCTL_TEST_HOST_SSH_CONFIG" --publish-address 0.0.0.0)
        REG=10.231.$HOSTN.1:31295/bench-r; addr=$MCPCTL_TEST_HOST_ADDR
      fi
      $M "${W[@]}" -q --run-image "$REG:1" start >/dev/null
      : >"$WORK/r-status"; : >"$WORK/r-start"; : >"$WORK/r-update"; : >"$WORK/r-out"
      for i in $(seq "$RUNS"); do
        t0=$(now); $M "${W[@]}" status >/dev/null; echo "$(now) - $t0" | bc >>"$WORK/r-status"
      done
      for i in $(seq "$RUNS"); do
        $M "${W[@]}" -q stop >/dev/null
        t0=$(now); $M "${W[@]}" -q --run-image "$REG:1" start >/dev/null; echo "$(now) - $t0" | bc >>"$WORK/r-start"
      done
      rport=$(python3 -c 'import json,sys,glob; f=[g for g in glob.glob(sys.argv[1]) if ("@" in g) == (sys.argv[2]=="remote")][0]; print(json.load(open(f))["port"])' "$HOME/.config/echo_server/docker-bench-r*.json" $where)
      for i in $(seq "$RUNS"); do
        v=$(( i % 2 + 1 ))
        rm -f "$WORK/stop"; "$OUTAGE" "$addr:$rport" "$WORK/stop" >"$WORK/outage" 2>/dev/null & opid=$!; sleep 0.3
        t0=$(now); $M "${W[@]}" -q --run-image "$REG:$v" update >/dev/null; t1=$(now)
        sleep 0.5; touch "$WORK/stop"; wait "$opid"
        echo "$t1 - $t0" | bc >>"$WORK/r-update"; cut -d' ' -f1 "$WORK/outage" >>"$WORK/r-out"
      done
      printf '%-6s status %ss  warm start %ss  update to another version: wall %ss, outage %ss (no front)\n' "$where:" \
        "$(median <"$WORK/r-status")" "$(median <"$WORK/r-start")" "$(median <"$WORK/r-update")" "$(median <"$WORK/r-out")"
      if [ $where = remote ]; then
        FR=(--front --front-image mcpctl-haproxy:local --drain-timeout 3)
        $M "${W[@]}" "${FR[@]}" -q --run-image "$REG:1" update >/dev/null
        : >"$WORK/rf-fail"; : >"$WORK/rf-wall"
        for i in $(seq "$RUNS"); do
          v=$(( i % 2 + 1 ))
          rm -f "$WORK/stop"; "$OUTAGE" "$addr:$rport" "$WORK/stop" >"$WORK/outage" 2>/dev/null & opid=$!; sleep 0.3
          t0=$(now); $M "${W[@]}" "${FR[@]}" -q --run-image "$REG:$v" update >/dev/null; t1=$(now)
          sleep 0.5; touch "$WORK/stop"; wait "$opid"
          echo "$t1 - $t0" | bc >>"$WORK/rf-wall"; cut -d' ' -f2,3 "$WORK/outage" >>"$WORK/rf-fail"
        done
        printf 'remote through the front: %s of %s probes failed over %s updates, wall %ss (with the drain)\n' \
          "$(awk '{f+=$2} END {print f}' "$WORK/rf-fail")" "$(awk '{a+=$1} END {print a}' "$WORK/rf-fail")" "$RUNS" "$(median <"$WORK/rf-wall")"
        $M "${W[@]}" -q down >/dev/null 2>&1 || true
      else
        $M "${W[@]}" -q down >/dev/null 2>&1 || true
      fi
    done
  done
;; esac
# A 3-node Docker Swarm (scripts/swarm.sh: three dockerds in network namespaces, a registry on the
# bridge) beside this machine's docker with 3 replicas behind the front, in the same run: start from
# nothing (build, push, services, every replica answering through the front), update after a
# one-line change (wall, and the probes a client calling every 50 ms saw fail), and on the swarm
# the probes that failed while a node was lost (its dockerd killed and its link unplugged).
case " $SECTIONS " in *" swarm "*)
  echo
  t0=$(now); eval "$(bash "$ROOT/scripts/swarm.sh" up 2>/dev/null)"; t1=$(now)
  echo "== docker: a 3-node swarm vs this machine, 3 replicas behind the front ($(uptime | sed 's/.*load average/load average/'))"
  printf 'swarm up (3 nodes, registry, images loaded): %.1f s\n' "$(echo "$t1 - $t0" | bc)"
  rm -rf "$WORK/sw"; cp -r "$ROOT/fixtures/replica-server" "$WORK/sw"
  SA=(--engine docker -C "$WORK/sw" --name bench-sw --base-port 31400 --front --front-image mcpctl-haproxy:local
    --drain-timeout 2 --replicas 3 --build-arg PYTHON_IMAGE=mcpctl-python:bookworm --build-arg UV_IMAGE=mcpctl-uv:local)
  $M "${SA[@]}" -q init >/dev/null
  sed -i 's/127.0.0.1:{port}"/127.0.0.1:{port},{host}:{port}"/' "$WORK/sw/mcpctl.toml"
  for where in local swarm; do
    if [ $where = swarm ]; then
      W=(env DOCKER_HOST="unix://$MCPCTL_SWARM_MANAGER_SOCK" "$M" "${SA[@]}" --target swarm --push-to "$MCPCTL_SWARM_REGISTRY/bench-sw")
      addr=$MCPCTL_SWARM_ADDR_1
    else
      W=("$M" "${SA[@]}"); addr=127.0.0.1
    fi
    "${W[@]}" -q down --yes >/dev/null 2>&1 || true
    t0=$(now); "${W[@]}" -q start >/dev/null; t1=$(now)
    start_s=$(echo "$t1 - $t0" | bc)
    rport=$(python3 -c 'import json,sys,glob; print(json.load(open(glob.glob(sys.argv[1])[0]))["port"])' "$HOME/.config/bench_sw/docker*.json")
    : >"$WORK/sw-wall"; : >"$WORK/sw-fail"
    for i in $(seq "$RUNS"); do
      echo "# change $i" >>"$WORK/sw/server.py"
      rm -f "$WORK/stop"; "$OUTAGE" "$addr:$rport" "$WORK/stop" >"$WORK/outage" 2>/dev/null & opid=$!; sleep 0.3
      t0=$(now); "${W[@]}" -q update >/dev/null; t1=$(now)
      sleep 0.5; touch "$WORK/stop"; wait "$opid"
      echo "$t1 - $t0" | bc >>"$WORK/sw-wall"; cut -d' ' -f2,3 "$WORK/outage" >>"$WORK/sw-fail"
    done
    printf '%-6s start from nothing (build%s, all 3 answering through the front) %.1f s; update after a change: wall %.1f s, %s of %s probes failed over %s updates\n' \
      "$where:" "$([ $where = swarm ] && echo ', push')" "$start_s" "$(median <"$WORK/sw-wall")" "$(awk '{f+=$2} END {print f}' "$WORK/sw-fail")" "$(awk '{a+=$1} END {print a}' "$WORK/sw-fail")" "$RUNS"
    if [ $where = swarm ]; then
      rm -f "$WORK/stop"; "$OUTAGE" "$addr:$rport" "$WORK/stop" >"$WORK/outage" 2>/dev/null & opid=$!; sleep 0.3
      t0=$(now); bash "$ROOT/scripts/swarm.sh" kill-node 3 >/dev/null 2>&1
      until DOCKER_HOST="unix://$MCPCTL_SWARM_MANAGER_SOCK" docker node ls --format '{{.Hostname}} {{.Status}}' | grep -q 'sw3 Down'; do sleep 0.5; done
      down=$(echo "$(now) - $t0" | bc)
      until [ "$(DOCKER_HOST="unix://$MCPCTL_SWARM_MANAGER_SOCK" docker service ps bench-sw-mcp --filter desired-state=running --format '{{.Node}} {{.CurrentState}}' | grep -v '^sw3' | grep -c Running)" = 3 ]; do sleep 0.5; done
      back=$(echo "$(now) - $t0" | bc)
      sleep 5; touch "$WORK/stop"; wait "$opid"
      read -r longest attempts failed <"$WORK/outage"
      printf 'swarm: node 3 lost under a probe every 50 ms: node Down after %.1f s, 3 tasks running again after %.1f s; %s of %s probes failed (longest outage %s s)\n' \
        "$down" "$back" "$failed" "$attempts" "$longest"
      bash "$ROOT/scripts/swarm.sh" revive-node 3 >/dev/null 2>&1 || true
    fi
    "${W[@]}" -q down --yes >/dev/null 2>&1 || true
  done
;; esac
} | tee "$OUT"
