#!/bin/bash
# A fake docker/podman/nerdctl for mcpctl's integration tests (tests/integration/support.rs).
#
# Every call appends its argv to $FAKE_ENGINE_LOG: one line per call, the arguments joined by the
# ASCII unit separator (0x1f); the values it reads for `-e KEY` go to $FAKE_ENGINE_LOG.env. It then
# answers from $FAKE_ENGINE_SCENARIO:
#
#   <key>.<n>.stdout / .stderr / .rc   the n-th answer (1-based) for <key>; when there is no n-th
#                                      answer, the highest-numbered one repeats. Missing .stdout
#                                      or .stderr means empty; missing .rc means 0.
#   <key>.<n>.sleep                    seconds to wait before answering (a slow engine call: a stop
#                                      that Ctrl-C kills while the "daemon" goes on)
#   <key>.<n>.serve                    also start fake_mcp.py in the background: for `run`, on the
#                                      host port of its `-p [ADDR:]HOSTPORT:CPORT` argument; for
#                                      `start NAME`, on the host port NAME was created (or run) with.
#
# <key> is `container-inspect` for `container inspect ...`, `--version` for `--version`, and the
# first argument otherwise (run, build, rm, stop, logs, ps, ...); `<key>@<last argument>` answers
# first when there is one. A call with no answer prints
# "fake engine: no answer for <key>" on stderr and exits 97, so a test sees unexpected calls.
#
# With $FAKE_ENGINE_SCENARIO/images.json, the fake keeps images too (images.py): `image inspect`
# and `rmi` answer from it unless scripted, and successful `build -t`, `tag` and `rmi` update it.
#
# The fake keeps a little container state in $FAKE_ENGINE_SCENARIO/containers: `run` and `create`
# record the host port of `-p` for their `--name` (NAME.port), and every server started for NAME
# is listed in NAME.pids (and in mcp.pids, which the harness uses to clean up). A successful
# (rc 0) `stop`, `rm` or `kill` of NAME ends NAME's servers only, waiting until they are gone so
# the port is free again; a successful `rename FROM TO` moves FROM's state to TO. The servers
# exit on their own after $FAKE_MCP_TIMEOUT seconds (default 60) too.
#
# mcpctl runs with PATH holding only the fake's directory; the script needs coreutils, so it sets
# its own PATH. $FAKE_ENGINE_PYTHON is the python3 to run fake_mcp.py ($FAKE_ENGINE_MCP) with.
set -u
export PATH=/usr/local/bin:/usr/bin:/bin

scenario=${FAKE_ENGINE_SCENARIO:?FAKE_ENGINE_SCENARIO is not set}
log=${FAKE_ENGINE_LOG:?FAKE_ENGINE_LOG is not set}

[ -n "${FAKE_ENGINE_NESTED:-}" ] || (IFS=$'\x1f'; printf '%s\n' "$*") >>"$log"

# `container inspect A B ...` answers as the engines do: each name as if asked alone (so the
# answers scripted per name apply), the found ones in one JSON array, an error line per missing one.
if [ "${1:-}" = container ] && [ "${2:-}" = inspect ] && [ $# -gt 3 ]; then
    tmp=$(mktemp -d)
    rc=0
    i=0
    for name in "${@:3}"; do
        i=$((i + 1))
        FAKE_ENGINE_NESTED=1 "$0" container inspect "$name" >"$tmp/$i.out" 2>>"$tmp/err" || rc=$?
    done
    "${FAKE_ENGINE_PYTHON:-python3}" -c '
import json, sys
found = []
for p in sys.argv[1:]:
    text = open(p).read().strip()
    if text:
        found += json.loads(text)
print(json.dumps(found, indent=4))' "$tmp"/*.out
    cat "$tmp/err" >&2
    rm -rf "$tmp"
    exit "$rc"
fi

# `-e KEY` without a value is read from the client's environment (as every engine does): record
# what this call would have passed, one KEY=VALUE line each, in $log.env.
prev=""
for a in "$@"; do
    if { [ "$prev" = -e ] || [ "$prev" = --env ]; } && [[ "$a" != *=* ]] && [ -n "${!a+x}" ]; then
        printf '%s=%s\n' "$a" "${!a}" >>"$log.env"
    fi
    prev=$a
done

case "${1:-}" in
container | image | volume | network) key="$1-${2:-}" ;;
"") key="none" ;;
*) key="$1" ;;
esac

containers="$scenario/containers"
mkdir -p "$containers"

# Is pid $1 still running? A zombie is not: it has let go of its port. (The servers outlive the
# engine call that started them, so their parent is whatever adopts orphans, which need not reap
# them soon.)
alive() {
    local state
    kill -0 "$1" 2>/dev/null || return 1
    [ -r "/proc/$1/stat" ] || return 0
    state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)
    [ -n "$state" ] && [ "$state" != Z ]
}

# End the fake MCP servers started for container $1.
stop_servers() {
    local pids="$containers/$1.pids" pid i
    [ -f "$pids" ] || return 0
    while read -r pid; do
        [ -n "$pid" ] || continue
        kill "$pid" 2>/dev/null || continue
        for i in $(seq 1 50); do
            alive "$pid" || break
            sleep 0.05
        done
        if [ -f "$scenario/mcp.pids" ]; then
            grep -vx "$pid" "$scenario/mcp.pids" >"$scenario/mcp.pids.tmp"
            mv "$scenario/mcp.pids.tmp" "$scenario/mcp.pids"
        fi
    done <"$pids"
    rm -f "$pids"
}

# The value after --name, and the host port of -p/--publish ([ADDR:]HOSTPORT:CPORT, ADDR possibly
# [v6]: the host port is the second field from the end).
name_arg=""
port_arg=""
prev=""
for a in "$@"; do
    case "$prev" in
    --name) name_arg=$a ;;
    -p | --publish) port_arg=$(printf '%s' "$a" | awk -F: '{print $(NF-1)}') ;;
    esac
    prev=$a
done
last_arg=""
[ $# -gt 0 ] && last_arg=${!#}

# mcpctl also looks for `<name>-next`, the new container of an interrupted update. Unless a test
# scripts it, there is none: answer as docker does for a missing container.
if [ "$key" = container-inspect ] && [[ "${3:-}" == *-next ]]; then
    key=container-inspect-next
    if ! ls "$scenario/$key".* >/dev/null 2>&1; then
        echo "Error: No such container: $3" >&2
        exit 1
    fi
fi


# Answers for one object come first: <key>@<last argument> (a '/' in it written as %2F), e.g.
# image-inspect@rec-mcp:previous, when the scenario has them.
arg_key="$key@${last_arg//\//%2F}"
if ls "$scenario/$arg_key".* >/dev/null 2>&1; then
    key=$arg_key
fi

# The image store (images.py), when the scenario has one: `image inspect` and `rmi` without a
# scripted answer are answered from it.
store="$scenario/images.json"
images_py="$(dirname "$0")/images.py"
[ -f "$images_py" ] || images_py="${FAKE_ENGINE_MCP%/*}/images.py"
if [ -f "$store" ] && ! ls "$scenario/$key".* >/dev/null 2>&1; then
    case "$key" in
    image-inspect*) exec "${FAKE_ENGINE_PYTHON:-python3}" "$images_py" inspect "${@:3}" ;;
    rmi*) exec "${FAKE_ENGINE_PYTHON:-python3}" "$images_py" rmi "$@" ;;
    esac
fi

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

rc=0
[ -e "$base.rc" ] && rc=$(tr -d '[:space:]' <"$base.rc")
rc=${rc:-0}

# Container state, only for calls that succeed.
serve_name=""
serve_port=""
if [ "$rc" = 0 ]; then
    case "$key" in
    run | create)
        if [ -n "$name_arg" ] && [ -n "$port_arg" ]; then
            echo "$port_arg" >"$containers/$name_arg.port"
        fi
        [ "$key" = run ] && serve_name=$name_arg serve_port=$port_arg
        ;;
    start)
        serve_name=$last_arg
        serve_port=$(cat "$containers/$last_arg.port" 2>/dev/null || true)
        ;;
    stop | kill)
        stop_servers "$last_arg"
        ;;
    rm)
        stop_servers "$last_arg"
        rm -f "$containers/$last_arg.port"
        ;;
    build | tag)
        if [ -f "$store" ]; then "${FAKE_ENGINE_PYTHON:-python3}" "$images_py" "$key" "${@:2}" || exit 1; fi
        ;;
    rename)
        for ext in port pids; do
            if [ -f "$containers/${2:-}.$ext" ]; then
                mv "$containers/${2:-}.$ext" "$containers/${3:-}.$ext"
            fi
        done
        ;;
    esac
fi

if [ -e "$base.serve" ]; then
    if [ -z "$serve_port" ]; then
        echo "fake engine: .serve answer but no host port (run -p HOST:PORT:CPORT, or start of a created container)" >&2
        exit 98
    fi
    "${FAKE_ENGINE_PYTHON:-python3}" "${FAKE_ENGINE_MCP:?FAKE_ENGINE_MCP is not set}" \
        --port "$serve_port" --timeout "${FAKE_MCP_TIMEOUT:-60}" \
        </dev/null >>"$scenario/mcp.log" 2>&1 &
    echo $! >>"$scenario/mcp.pids"
    echo $! >>"$containers/${serve_name:-unnamed}.pids"
fi

# Not holding the output pipes: a killed call must not keep its caller reading.
[ -e "$base.sleep" ] && sleep "$(cat "$base.sleep")" >/dev/null 2>&1
[ -e "$base.stdout" ] && cat "$base.stdout"
[ -e "$base.stderr" ] && cat "$base.stderr" >&2
exit "$rc"
