#!/usr/bin/env bash
# Uploads under load: CLIENTS clients (200) each upload SIZE_MIB (16) MiB
# to /echo at once, and read the echo back through sha256sum. For each
# server, once with bodies past 64 KiB spooled to temporary files (the
# default) and once with every body kept in memory (--body-in-memory
# larger than the body), it prints how many uploads came back 200 and
# byte-exact, how many got 408 or anything else, the wall time, the
# server's peak resident memory (VmHWM in /proc/PID/status) and the load
# average around the run. The spool directory must be empty afterwards.
#
#   bash bench/uploads.sh
#   CLIENTS=50 SIZE_MIB=4 bash bench/uploads.sh
#   SERVERS="part3 part4 part4-fast" MODES=spooled bash bench/uploads.sh
#
# Needs curl, sha256sum, and disk for CLIENTS x SIZE_MIB in TMPDIR; the
# in-memory runs need that much RAM too.
set -euo pipefail
cd "$(dirname "$0")/.."

CLIENTS=${CLIENTS:-200}
SIZE_MIB=${SIZE_MIB:-16}
SERVERS=${SERVERS:-part3 part4}
MODES=${MODES:-spooled memory}
PORT=${PORT:-18911}
TARGET=${CARGO_TARGET_DIR:-target}

command -v curl >/dev/null || { echo "curl is required" >&2; exit 2; }
cargo build --release -q -p part3-selectors -p part4-threads

work=$(mktemp -d)
pid=
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null
    jobs -p | xargs -r kill 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

head -c $((SIZE_MIB * 1024 * 1024)) /dev/urandom >"$work/body"
want=$(sha256sum <"$work/body" | cut -d' ' -f1)

# cmd SERVER: its command line, without the body flags.
cmd() {
    case $1 in
        part3) echo "$TARGET/release/part3-selectors" ;;
        part4) echo "$TARGET/release/part4-threads" ;;
        part4-fast) echo "$TARGET/release/part4-threads --dispatch fast" ;;
        *) echo "unknown server $1" >&2; exit 2 ;;
    esac
}

# upload N: one client; writes its status and the echo's hash.
upload() {
    local status
    status=$(curl -sS --max-time 900 -X POST -T "$work/body" -H 'Expect:' \
        -o >(sha256sum | cut -d' ' -f1 >"$work/sum.$1") -w '%{http_code}' \
        "http://127.0.0.1:$PORT/echo" 2>>"$work/curl.err") || true
    echo "${status:-000}" >"$work/status.$1"
}

# run SERVER MODE: one measured run; prints one row.
run() {
    local server=$1 mode=$2 flags spool="$work/spool" start end hwm
    rm -rf "$spool" "$work"/sum.* "$work"/status.*
    mkdir "$spool"
    flags="--spool-dir $spool"
    [ "$mode" = memory ] && flags="$flags --body-in-memory $((SIZE_MIB * 1024 * 1024 + 1))"
    # shellcheck disable=SC2046
    $(cmd "$server") --port "$PORT" --app echo $flags >/dev/null 2>"$work/server.err" &
    pid=$!
    for _ in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
        sleep 0.05
    done
    local load_before
    load_before=$(cut -d' ' -f1 /proc/loadavg)
    start=$(date +%s.%N)
    local clients=()
    for i in $(seq "$CLIENTS"); do
        upload "$i" &
        clients+=($!)
    done
    wait "${clients[@]}"
    end=$(date +%s.%N)
    sleep 0.2 # the last echo's hash is written by its subshell
    hwm=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
    kill "$pid"; wait "$pid" 2>/dev/null || true
    pid=
    local ok=0 timeouts=0 other=0 i status sum
    for i in $(seq "$CLIENTS"); do
        status=$(cat "$work/status.$i" 2>/dev/null || echo 000)
        sum=$(cat "$work/sum.$i" 2>/dev/null || true)
        if [ "$status" = 200 ] && [ "$sum" = "$want" ]; then
            ok=$((ok + 1))
        elif [ "$status" = 408 ]; then
            timeouts=$((timeouts + 1))
        else
            other=$((other + 1))
        fi
    done
    local left
    left=$(find "$spool" -type f | wc -l)
    printf '%-11s %-8s %4d/%-4d %4d %5d %8.1f %10.1f %6s %6s %5d\n' \
        "$server" "$mode" "$ok" "$CLIENTS" "$timeouts" "$other" \
        "$(echo "$end - $start" | bc)" "$(echo "$hwm / 1024" | bc -l)" \
        "$load_before" "$(cut -d' ' -f1 /proc/loadavg)" "$left"
    # What the server said about the others, addresses left out.
    sed 's/^[0-9.:]*: //' "$work/server.err" | sort | uniq -c | head -5 |
        sed 's/^/    server: /'
}

echo "$CLIENTS clients x $SIZE_MIB MiB to /echo at once; $(nproc) CPUs; $(date -u +%FT%TZ)"
echo "server      body     200+same  408 other   wall s  peak MiB  load<   load>  files left"
for server in $SERVERS; do
    for mode in $MODES; do
        run "$server" "$mode"
    done
done
if [ -s "$work/curl.err" ]; then
    echo "curl said (first lines):"; sort "$work/curl.err" | uniq -c | head -5
fi
