#!/bin/bash
# A fake docker/podman/nerdctl for mcpctl's integration tests (tests/integration/support.rs).
#
# Every call appends its argv to $FAKE_ENGINE_LOG: one line per call, the arguments joined by the
# ASCII unit separator (0x1f). It then answers from $FAKE_ENGINE_SCENARIO:
#
#   <key>.<n>.stdout / .stderr / .rc   the n-th answer (1-based) for <key>; when there is no n-th
#                                      answer, the highest-numbered one repeats. Missing .stdout
#                                      or .stderr means empty; missing .rc means 0.
#   <key>.<n>.serve                    also start fake_mcp.py in the background on the host port
#                                      of the `-p [ADDR:]HOSTPORT:CPORT` argument (for `run`).
#
# <key> is `container-inspect` for `container inspect ...`, `--version` for `--version`, and the
# first argument otherwise (run, build, rm, stop, logs, ps, ...). A call with no answer prints
# "fake engine: no answer for <key>" on stderr and exits 97, so a test sees unexpected calls.
#
# `stop` and `rm` (and `kill`) also end every fake MCP server this scenario started (pids in
# $FAKE_ENGINE_SCENARIO/mcp.pids), waiting until they are gone so their ports are free again.
# The servers exit on their own after $FAKE_MCP_TIMEOUT seconds (default 60) too.
#
# mcpctl runs with PATH holding only the fake's directory; the script needs coreutils, so it sets
# its own PATH. $FAKE_ENGINE_PYTHON is the python3 to run fake_mcp.py ($FAKE_ENGINE_MCP) with.
set -u
export PATH=/usr/local/bin:/usr/bin:/bin

scenario=${FAKE_ENGINE_SCENARIO:?FAKE_ENGINE_SCENARIO is not set}
log=${FAKE_ENGINE_LOG:?FAKE_ENGINE_LOG is not set}

(IFS=$'\x1f'; printf '%s\n' "$*") >>"$log"

case "${1:-}" in
container | image | volume | network) key="$1-${2:-}" ;;
"") key="none" ;;
*) key="$1" ;;
esac

stop_servers() {
    local pids="$scenario/mcp.pids" pid i
    [ -f "$pids" ] || return 0
    while read -r pid; do
        [ -n "$pid" ] || continue
        kill "$pid" 2>/dev/null || continue
        for i in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.05
        done
    done <"$pids"
    : >"$pids"
}

case "$key" in
stop | rm | kill) stop_servers ;;
esac

# Which answer: the call count for this key, or the last answer there is.
mkdir -p "$scenario/.calls"
count_file="$scenario/.calls/$key"
n=$(($(cat "$count_file" 2>/dev/null || echo 0) + 1))
echo "$n" >"$count_file"
pick=""
i=1
while [ -e "$scenario/$key.$i.rc" ] || [ -e "$scenario/$key.$i.stdout" ] || [ -e "$scenario/$key.$i.stderr" ]; do
    pick=$i
    [ "$i" -eq "$n" ] && break
    i=$((i + 1))
done
if [ -z "$pick" ]; then
    echo "fake engine: no answer for $key" >&2
    exit 97
fi
base="$scenario/$key.$pick"

if [ -e "$base.serve" ]; then
    port=""
    prev=""
    for a in "$@"; do
        if [ "$prev" = "-p" ] || [ "$prev" = "--publish" ]; then
            # [ADDR:]HOSTPORT:CPORT, ADDR possibly [v6]: the host port is the second field from the end.
            port=$(printf '%s' "$a" | awk -F: '{print $(NF-1)}')
        fi
        prev=$a
    done
    if [ -n "$port" ]; then
        "${FAKE_ENGINE_PYTHON:-python3}" "${FAKE_ENGINE_MCP:?FAKE_ENGINE_MCP is not set}" \
            --port "$port" --timeout "${FAKE_MCP_TIMEOUT:-60}" \
            </dev/null >>"$scenario/mcp.log" 2>&1 &
        echo $! >>"$scenario/mcp.pids"
    else
        echo "fake engine: .serve answer but no -p HOST:PORT:CPORT argument" >&2
        exit 98
    fi
fi

[ -e "$base.stdout" ] && cat "$base.stdout"
[ -e "$base.stderr" ] && cat "$base.stderr" >&2
rc=0
[ -e "$base.rc" ] && rc=$(tr -d '[:space:]' <"$base.rc")
exit "${rc:-0}"
