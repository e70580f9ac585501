#!/usr/bin/env bash
# Two servers, measured in turns: the fairest comparison a noisy machine
# allows. Each round starts one server, loads it with wrk on loopback for
# DURATION, stops it, then does the same for the other; at the end it
# prints each run and the medians.
#
#   bash bench/ab.sh part3 hyper-current        # keep-alive
#   CLOSE=1 bash bench/ab.sh part3 hyper-current   # Connection: close
#   ROUNDS=6 DURATION=4s bash bench/ab.sh part4 hyper-multi
#   PIN=1 bash bench/ab.sh part4 hyper-multi   # server on CPU 1, wrk on CPU 0
#
# Servers: part3, part4 (2 workers), part4-fast (the same with
# --dispatch fast), hyper-current, hyper-multi (2).
# CPU µs per request is the server's utime+stime (/proc/PID/stat) divided
# by the requests wrk counted: wrk saturates a core here, so requests/s
# mostly measures wrk, and CPU per request ranks the servers.
# With PIN=1 every thread of the server runs on CPU 1 and wrk on CPU 0
# (taskset): less noise from the scheduler moving threads about, and a
# server with threads pays no cross-core traffic.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-6}
DURATION=${DURATION:-4s}
CONNS=${CONNS:-50}
TICKS=$(getconf CLK_TCK)
TARGET=${CARGO_TARGET_DIR:-target}
PEERS_TARGET=${CARGO_TARGET_DIR:-peers/target}

command -v wrk >/dev/null || { echo "wrk is required: apt-get install wrk" >&2; exit 2; }
cargo build --release -q -p part3-selectors -p part4-threads
(cd peers && cargo build --release -q)

# cmd NAME PORT: the command line of a server.
cmd() {
    case $1 in
        part3) echo "$TARGET/release/part3-selectors --port $2 --app hello" ;;
        part4) echo "$TARGET/release/part4-threads --port $2 --app hello --workers 2" ;;
        part4-fast) echo "$TARGET/release/part4-threads --port $2 --app hello --workers 2 --dispatch fast" ;;
        hyper-current) echo "$PEERS_TARGET/release/peers current $2" ;;
        hyper-multi) echo "$PEERS_TARGET/release/peers multi $2" ;;
        *) echo "unknown server $1" >&2; exit 2 ;;
    esac
}

# measure NAME PORT: prints "cpu_us_per_request requests_per_second"
measure() {
    local pid before after out reqs secs
    ${PIN:+taskset -c 1} $(cmd "$1" "$2") >/dev/null 2>&1 &
    pid=$!
    for _ in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null && break
        sleep 0.05
    done
    before=$(awk '{print $14 + $15}' "/proc/$pid/stat")
    out=$(${PIN:+taskset -c 0} wrk -t1 -c"$CONNS" -d"$DURATION" ${CLOSE:+-H "Connection: close"} "http://127.0.0.1:$2/hello")
    after=$(awk '{print $14 + $15}' "/proc/$pid/stat")
    kill "$pid"; wait "$pid" 2>/dev/null || true
    reqs=$(echo "$out" | awk '/requests in/ {print $1}')
    secs=$(echo "$out" | awk '/requests in/ {sub(/s,/, "", $4); print $4}')
    awk -v t="$((after - before))" -v hz="$TICKS" -v r="$reqs" -v s="$secs" \
        'BEGIN { printf "%.2f %.0f\n", t / hz / r * 1e6, r / s }'
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

A=$1 B=$2
declare -a a_cpu a_rps b_cpu b_rps
MODE=keep-alive; [ -n "${CLOSE:-}" ] && MODE="Connection: close"
[ -n "${PIN:-}" ] && MODE="$MODE, pinned"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "round  ${A} (µs/req, r/s)   ${B} (µs/req, r/s)   [$MODE, -c$CONNS, $DURATION]"
for i in $(seq "$ROUNDS"); do
    read -r ac ar < <(measure "$A" 18901)
    read -r bc br < <(measure "$B" 18902)
    a_cpu+=("$ac"); a_rps+=("$ar"); b_cpu+=("$bc"); b_rps+=("$br")
    printf '%5d  %8s %9s        %8s %9s\n' "$i" "$ac" "$ar" "$bc" "$br"
done
printf 'median %8s %9s        %8s %9s\n' \
    "$(printf '%s\n' "${a_cpu[@]}" | median)" "$(printf '%s\n' "${a_rps[@]}" | median)" \
    "$(printf '%s\n' "${b_cpu[@]}" | median)" "$(printf '%s\n' "${b_rps[@]}" | median)"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
