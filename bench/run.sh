#!/usr/bin/env bash
# Benchmarks on loopback, every run bounded by wrk's -d.
#
#   bash bench/run.sh                       # every server found, 5 s per run
#   DURATION=10s IDLE=5000 bash bench/run.sh
#   ONLY="part3 hyper" bash bench/run.sh    # servers whose name contains a word
#   OUT=/tmp/bench bash bench/run.sh        # results in a directory of your own
#   bash bench/run.sh --update-book         # replace the book's figures
#
# Servers: the four parts (`--app hello`), part 4 again with its tuned
# pool and dispatcher (`--dispatch fast`), Python's http.server
# (bench/hello_server.py), hyper on tokio (peers/, a crate outside the
# workspace) and, if `nginx` is on the PATH, nginx (bench/nginx.conf).
#
# For each server: requests/s and p99 latency of `GET /hello` over
# keep-alive and with `Connection: close` (wrk -t1 -c$CONNS), the server's
# CPU time per request (utime+stime from /proc/PID/stat divided by the
# requests wrk counted), and the resident memory while $IDLE idle
# keep-alive connections are held open. Part 1 closes after every answer,
# so it gets only the `Connection: close` run; parts 1 and 2 serve one
# connection at a time, so they get one wrk connection and no idle test.
#
# Writes $OUT/results.csv, then bench/chart.py turns it into
# $OUT/results.md (a table) and $OUT/chart.svg. OUT is a scratch
# directory ($TMPDIR or /tmp, then socket-to-server-bench) unless you set
# it, or pass --update-book to write the book's own copy in
# book/src/measuring, which the Measuring chapter shows. Needs wrk
# (apt-get install wrk), python3 and cargo. Linux only (/proc).
set -euo pipefail
cd "$(dirname "$0")/.."

BOOK_OUT=book/src/measuring
case "${1:-}" in
    "") ;;
    --update-book) OUT=$BOOK_OUT ;;
    *) echo "usage: bash bench/run.sh [--update-book]" >&2; exit 2 ;;
esac

DURATION=${DURATION:-5s}
CONNS=${CONNS:-50}
IDLE=${IDLE:-10000}
ONLY=${ONLY:-}
OUT=${OUT:-${TMPDIR:-/tmp}/socket-to-server-bench}
HOST=127.0.0.1
TICKS=$(getconf CLK_TCK)
TARGET=${CARGO_TARGET_DIR:-target}
PEERS_TARGET=${CARGO_TARGET_DIR:-peers/target}

command -v wrk >/dev/null || { echo "wrk is required: apt-get install wrk" >&2; exit 2; }
command -v python3 >/dev/null || { echo "python3 is required" >&2; exit 2; }
# Each idle connection is a descriptor in the server and in the client.
ulimit -n "$(( IDLE + 1000 ))" 2>/dev/null || ulimit -n "$(ulimit -Hn)"
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$(( IDLE + 100 ))" ]; then
    echo "ulimit -n is $(ulimit -n): lowering IDLE to fit" >&2
    IDLE=$(( $(ulimit -n) - 200 ))
fi

cargo build --release -q -p part1-hello -p part2-gateway -p part3-selectors -p part4-threads
# The peers have their own lockfile and are not workspace members, so
# `cargo test` never compiles tokio and hyper; only this script does.
cargo build --release -q --manifest-path peers/Cargo.toml

TMP=$(mktemp -d)
PIDS=()
cleanup() {
    for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start PORT CMD...: runs a server in the background and waits for its
# port. Sets SERVER to its pid; fails if the port does not open in 10 s.
start() {
    local port=$1; shift
    "$@" >/dev/null 2>&1 &
    SERVER=$!
    PIDS+=("$SERVER")
    for _ in $(seq 200); do
        if (exec 3<>"/dev/tcp/$HOST/$port") 2>/dev/null; then return 0; fi
        kill -0 "$SERVER" 2>/dev/null || break
        sleep 0.05
    done
    kill "$SERVER" 2>/dev/null || true
    return 1
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# load PID PORT CONNS [wrk args]: prints "r/s p99-us cpu-us-per-request errors"
load() {
    local pid=$1 port=$2 conns=$3; shift 3
    local before after out
    before=$(cpu_ticks "$pid")
    out=$(wrk -t1 -c"$conns" -d"$DURATION" --latency "$@" "http://$HOST:$port/hello")
    after=$(cpu_ticks "$pid")
    echo "$out" | awk -v t="$(( after - before ))" -v hz="$TICKS" '
        function us(s) {
            if (s ~ /us$/) return s + 0
            if (s ~ /ms$/) return s * 1000
            if (s ~ /m$/)  return s * 60e6
            return s * 1e6          # "1.20s"
        }
        / requests in /        { reqs = $1 }
        /Requests\/sec/         { rps = $2 }
        $1 == "99%"             { p99 = us($2) }
        /Socket errors/         { gsub(",", ""); errs += $4 + $6 + $8 + $10 }
        /Non-2xx or 3xx/        { errs += $NF }
        END { printf "%.0f %.0f %.2f %d\n", rps, p99, (reqs > 0 ? t / hz / reqs * 1e6 : 0), errs }'
}

# idle_rss PID PORT: prints "rss-MiB KiB-per-connection" with $IDLE idle
# keep-alive connections open, or "- -" if they could not all be opened.
idle_rss() {
    local pid=$1 port=$2 base rss holder
    base=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
    exec 4> >(exec python3 bench/idle_conns.py "$IDLE" "$port" > "$TMP/idle" 2>&1)
    holder=$!
    for _ in $(seq 1200); do
        grep -q holding "$TMP/idle" 2>/dev/null && break
        kill -0 "$holder" 2>/dev/null || break
        sleep 0.1
    done
    if grep -q holding "$TMP/idle" 2>/dev/null; then
        sleep 0.5
        rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
        awk -v b="$base" -v r="$rss" -v n="$IDLE" 'BEGIN { printf "%.1f %.2f\n", r / 1024, (r - b) / n }'
    else
        echo "idle test failed: $(tail -1 "$TMP/idle" 2>/dev/null)" >&2
        echo "- -"
    fi
    exec 4>&-
    wait "$holder" 2>/dev/null || true
    rm -f "$TMP/idle"
}

mkdir -p "$OUT"
CSV=$OUT/results.csv
{
    echo "# date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "# machine: $(nproc) CPUs, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), Linux $(uname -r)"
    echo "# wrk: wrk -t1 -c$CONNS -d$DURATION --latency http://$HOST:PORT/hello"
    echo "# idle: $IDLE"
    echo "# loadavg before: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "name,conns,ka_rps,ka_p99_us,ka_cpu_us,ka_errors,cl_rps,cl_p99_us,cl_cpu_us,cl_errors,idle_rss_mib,idle_kib_per_conn"
} > "$CSV"

printf '%-26s %5s | %8s %9s %8s | %8s %9s %8s | %s\n' server conns "ka r/s" "ka p99us" "ka us/r" \
    "cl r/s" "cl p99us" "cl us/r" "RSS MiB, KiB/conn with $IDLE idle"

# run NAME PORT CONNS TESTS CMD...: TESTS is a subset of "ka cl idle".
run() {
    local name=$1 port=$2 conns=$3 tests=$4; shift 4
    if [ -n "$ONLY" ]; then
        local want=no word
        for word in $ONLY; do [[ $name == *"$word"* ]] && want=yes; done
        [ "$want" = yes ] || return 0
    fi
    if ! start "$port" "$@"; then
        echo "$name: did not start on port $port, skipped" >&2
        return 0
    fi
    local pid=$SERVER
    local ka="- - - -" cl="- - - -" mem="- -"
    [[ $tests == *ka* ]] && ka=$(load "$pid" "$port" "$conns")
    [[ $tests == *cl* ]] && cl=$(load "$pid" "$port" "$conns" -H "Connection: close")
    [[ $tests == *idle* ]] && mem=$(idle_rss "$pid" "$port")
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    # shellcheck disable=SC2086
    printf '%-26s %5s | %8s %9s %8s %s | %8s %9s %8s %s | %7s %7s\n' "$name" "$conns" $ka $cl $mem
    echo "\"$name\",$conns,$(echo $ka $cl $mem | awk -v OFS=, '{ for (i = 1; i <= NF; i++) if ($i == "-") $i = ""; $1 = $1; print }')" >> "$CSV"
}

run "part1-hello" 18801 1 "cl" \
    "$TARGET/release/part1-hello" --port 18801
run "part2-gateway (hello)" 18802 1 "ka cl" \
    "$TARGET/release/part2-gateway" --port 18802 --app hello
run "part3-selectors (hello)" 18803 "$CONNS" "ka cl idle" \
    "$TARGET/release/part3-selectors" --port 18803 --app hello
run "part4-threads (hello, 2 w)" 18804 "$CONNS" "ka cl idle" \
    "$TARGET/release/part4-threads" --port 18804 --app hello --workers 2
run "part4-fast (hello, 2 w)" 18806 "$CONNS" "ka cl idle" \
    "$TARGET/release/part4-threads" --port 18806 --app hello --workers 2 --dispatch fast
run "python3 http.server" 18805 "$CONNS" "ka cl idle" \
    python3 bench/hello_server.py 18805
run "hyper current_thread" 18891 "$CONNS" "ka cl idle" \
    "$PEERS_TARGET/release/peers" current 18891
run "hyper multi_thread (2)" 18892 "$CONNS" "ka cl idle" \
    "$PEERS_TARGET/release/peers" multi 18892
if command -v nginx >/dev/null; then
    mkdir -p "$TMP/nginx"
    sed -e "s|@DIR@|$TMP/nginx|g" -e "s|@PORT@|18893|g" -e "s|@CONNS@|$(( IDLE + CONNS + 100 ))|g" \
        bench/nginx.conf > "$TMP/nginx/nginx.conf"
    run "nginx (1 worker)" 18893 "$CONNS" "ka cl idle" \
        nginx -p "$TMP/nginx" -e "$TMP/nginx/error.log" -c "$TMP/nginx/nginx.conf"
else
    echo "nginx not found: skipped (apt-get install nginx-light to add it)" >&2
fi

echo "# loadavg after: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$CSV"
python3 bench/chart.py "$CSV"
echo "wrote $CSV, $OUT/results.md and $OUT/chart.svg"
if [ "$OUT" != "$BOOK_OUT" ]; then
    echo "(the book's figures are unchanged: bash bench/run.sh --update-book replaces them)"
fi
