#!/usr/bin/env bash
# Benchmarks on loopback, every run bounded by wrk's -d.
#
#   bash bench/run.sh            # all servers found, 5 s per run
#   DURATION=10s bash bench/run.sh
#
# For each server: requests/s and p99 latency of `GET /hello` over
# keep-alive (wrk -t1 -c50) and with `Connection: close`, the server's CPU
# time per request (utime+stime from /proc/PID/stat divided by the
# requests wrk counted), and the resident memory while IDLE keep-alive
# connections are held open. Needs wrk (apt-get install wrk) and python3.
# Peers (hyper on tokio) are built from peers/, outside the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-5s}
CONNS=${CONNS:-50}
IDLE=${IDLE:-10000}
HOST=127.0.0.1
TICKS=$(getconf CLK_TCK)

command -v wrk >/dev/null || { echo "wrk is required: apt-get install wrk" >&2; exit 2; }
ulimit -n "$(( IDLE + 1000 ))" 2>/dev/null || ulimit -n "$(ulimit -Hn)"

cargo build --release -q -p part3-selectors -p part4-threads
(cd peers && cargo build --release -q)

# Where cargo put the binaries: target/ unless CARGO_TARGET_DIR (or a
# config) says otherwise. peers/ is its own workspace, so ask it too.
target_dir() {
    (cd "$1" && cargo metadata --format-version 1 --no-deps \
        | python3 -c 'import json,sys;print(json.load(sys.stdin)["target_directory"])')
}
BIN=$(target_dir .)/release
PEERS_BIN=$(target_dir peers)/release

PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

# start NAME PORT CMD...: runs a server, waits for its port.
start() {
    local port=$1; shift
    "$@" >/dev/null 2>&1 &
    SERVER=$!
    PIDS+=("$SERVER")
    for _ in $(seq 100); do
        if (exec 3<>"/dev/tcp/$HOST/$port") 2>/dev/null; then return 0; fi
        sleep 0.05
    done
    echo "server on $port did not start" >&2; exit 1
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# load PID PORT [wrk args]: prints "reqs/s p99 cpu-us-per-request"
load() {
    local pid=$1 port=$2; shift 2
    local before after out reqs rps p99
    before=$(cpu_ticks "$pid")
    out=$(wrk -t1 -c"$CONNS" -d"$DURATION" --latency "$@" "http://$HOST:$port/hello")
    after=$(cpu_ticks "$pid")
    reqs=$(echo "$out" | awk '/requests in/ {print $1}')
    rps=$(echo "$out" | awk '/Requests\/sec/ {printf "%.0f", $2}')
    p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
    awk -v r="$reqs" -v t="$(( after - before ))" -v hz="$TICKS" -v rps="$rps" -v p99="$p99" \
        'BEGIN { printf "%8s %8s %8.2f", rps, p99, (r > 0 ? t / hz / r * 1e6 : 0) }'
}

idle_rss() {
    local pid=$1 port=$2 base rss
    base=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
    exec 4> >(python3 bench/idle_conns.py "$IDLE" "$port" > /tmp/idle.$$ )
    for _ in $(seq 600); do grep -q holding /tmp/idle.$$ 2>/dev/null && break; sleep 0.1; done
    rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
    exec 4>&-
    rm -f /tmp/idle.$$
    awk -v b="$base" -v r="$rss" 'BEGIN { printf "%7.1f MiB %6.2f KiB/conn", r/1024, (r-b)/'"$IDLE"' }'
}

printf '%-28s %8s %8s %8s | %8s %8s %8s | %s\n' server "ka r/s" "ka p99" "ka us/r" \
    "cl r/s" "cl p99" "cl us/r" "RSS with $IDLE idle"
run() {
    local name=$1 port=$2; shift 2
    start "$port" "$@"
    local pid=$SERVER
    local ka cl mem
    ka=$(load "$pid" "$port")
    cl=$(load "$pid" "$port" -H "Connection: close")
    mem=$(idle_rss "$pid" "$port")
    kill "$pid"; wait "$pid" 2>/dev/null || true
    printf '%-28s %s | %s | %s\n' "$name" "$ka" "$cl" "$mem"
}

run "part3-selectors (hello)" 18803 "$BIN/part3-selectors" --port 18803 --app hello
if [ -x "$BIN/part4-threads" ]; then
    run "part4-threads (hello, 2 w)" 18804 "$BIN/part4-threads" --port 18804 --app hello --workers 2
fi
run "hyper current_thread" 18891 "$PEERS_BIN/peers" current 18891
run "hyper multi_thread (2)" 18892 "$PEERS_BIN/peers" multi 18892
