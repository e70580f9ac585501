#!/usr/bin/env bash
# Makes the figure files of "Going faster" (book/src/going-faster/) and
# of Part 4 (book/src/part4/). Each file says how busy the machine was.
#
#   bash bench/going-faster.sh                  # all of them
#   bash bench/going-faster.sh counts wakeups   # some
#
# Figures: results (bench/run.sh), ab, counts, ablations, wouldblock,
# mallocs, wakeups, stale, sleep (going-faster/); part4-sleep, part4-idle
# (part4/); trace, part2-c50, uploads, message-layer (measuring/).
#
# Linux only. Needs wrk, python3, perf, and root (perf's syscall
# tracepoints, and a uprobe on libc's malloc for `mallocs`). Run it on a
# quiet machine: every figure is one run, and CPU time per request moves
# with whatever else the machine does.
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=book/src/going-faster
P4=book/src/part4
T=${CARGO_TARGET_DIR:-target}/release
PEERS=${CARGO_TARGET_DIR:-peers/target}/release/peers
# Rounds of counts, ablations and wouldblock: their differences are
# small, and a round on a shared machine moves by more.
ROUNDS=${ROUNDS:-11}
WHICH=${*:-results ab counts ablations wouldblock mallocs wakeups stale sleep part4-sleep part4-idle trace part2-c50 uploads message-layer}
PORT=18920
TMP=$(mktemp -d)
PIDS=()
cleanup() {
    for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
    rm -rf "$TMP"
}
trap cleanup EXIT

command -v wrk >/dev/null || { echo "wrk is required" >&2; exit 2; }
cargo build --release -q -p part2-gateway -p part3-selectors -p part4-threads -p solutions
(cd peers && cargo build --release -q)

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
want() { [[ " $WHICH " == *" $1 "* ]]; }

# up CMD...: starts a server on $PORT and waits for it; sets PID.
up() {
    "$@" >/dev/null 2>&1 &
    PID=$!
    PIDS+=("$PID")
    for _ in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && return 0
        sleep 0.05
    done
    echo "$* did not start" >&2
    exit 1
}
down() { kill "$PID"; wait "$PID" 2>/dev/null || true; }

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

# Server commands for `measure` and `mallocs`: PORT is replaced.
FAST="--port PORT --app hello --workers 2 --dispatch fast"
PLAIN="--port PORT --app hello --workers 2"

# --- results: the one table from bench/run.sh --------------------------
if want results; then
    ONLY="part3 part4 hyper" OUT=$OUT bash bench/run.sh
    rm -f "$OUT/chart.svg"
fi

# --- ab: CPU per request in turns ---------------------------------------
if want ab; then
    {
        echo "\$ ROUNDS=7 bash bench/ab.sh part4 part4-fast"
        ROUNDS=7 bash bench/ab.sh part4 part4-fast
        echo "\$ ROUNDS=7 bash bench/ab.sh part4 hyper-multi"
        ROUNDS=7 bash bench/ab.sh part4 hyper-multi
        # These two are close: more rounds.
        echo "\$ ROUNDS=15 bash bench/ab.sh part4-fast hyper-multi"
        ROUNDS=15 bash bench/ab.sh part4-fast hyper-multi
    } > "$OUT/ab.txt"
fi

# --- counts and ablations: per request, under wrk -t1 -c50 -d4s -------
# measure ROUNDS NAME=CMD...: medians over ROUNDS rounds (servers in
# turns) of the server's CPU µs per request and, from perf stat over the
# whole process, context switches, futex and epoll_wait calls per request.
# With RECV=1, a last column counts recvfrom calls (reads) per request.
measure() {
    local rounds=$1; shift
    local ev=context-switches,syscalls:sys_enter_futex,syscalls:sys_enter_epoll_wait
    local cols="2 3 4 5"
    if [ -n "${RECV:-}" ]; then
        ev=$ev,syscalls:sys_enter_recvfrom
        cols="$cols 6"
    fi
    local ticks; ticks=$(getconf CLK_TCK)
    : > "$TMP/rows"
    for r in $(seq "$rounds"); do
        for spec in "$@"; do
            local name=${spec%%=*} cmd=${spec#*=}
            # shellcheck disable=SC2086
            up ${cmd//PORT/$PORT}
            perf stat -x, -e "$ev" -p "$PID" -o "$TMP/perf" -- sleep 4.3 &
            local perf=$! before after out
            before=$(awk '{print $14 + $15}' "/proc/$PID/stat")
            out=$(wrk -t1 -c50 -d4s "http://127.0.0.1:$PORT/hello")
            after=$(awk '{print $14 + $15}' "/proc/$PID/stat")
            wait $perf
            down
            awk -F, -v n="$name" -v t=$((after - before)) -v hz="$ticks" \
                -v r="$(echo "$out" | awk '/requests in/ {print $1}')" '
                $3 == "context-switches" { cs = $1 }
                $3 ~ /futex/ { fx = $1 }
                $3 ~ /epoll_wait/ { ep = $1 }
                $3 ~ /recvfrom/ { rf = $1 }
                END { printf "%s %.2f %.3f %.3f %.3f %.3f\n", n, t / hz / r * 1e6, cs / r, fx / r, ep / r, rf / r }' \
                "$TMP/perf" >> "$TMP/rows"
        done
    done
    printf '%-34s %8s %10s %8s %8s' "server (medians of $rounds rounds)" "µs/req" "switches" "futex" "epoll"
    if [ -n "${RECV:-}" ]; then printf ' %8s' recvfrom; fi
    echo
    for spec in "$@"; do
        local name=${spec%%=*} col
        printf '%-34s' "$name"
        for col in $cols; do
            printf ' %8s' "$(awk -v n="$name" -v c=$col '$1 == n {print $c}' "$TMP/rows" | median)"
        done
        echo
    done
}

if want counts; then
    {
        echo "Per request, under wrk -t1 -c50 -d4s on /hello, two workers; servers in turns."
        echo "load average before: $(loadavg)"
        measure "$ROUNDS" "part4=$T/part4-threads $PLAIN" "part4-fast=$T/part4-threads $FAST" \
            "hyper-multi=$PEERS multi PORT"
        echo "load average after: $(loadavg)"
    } > "$OUT/counts.txt"
fi

# The tuned server with one mechanism undone at a time: a copy of the
# committed source with one small edit, built on its own.
if want ablations; then
    SRC=$TMP/src
    mkdir -p "$SRC" "$TMP/bin"
    git archive HEAD | tar -x -C "$SRC"
    python3 - "$SRC/part4-threads/src/fast" "$TMP/bin" <<'PY'
import os, shutil, subprocess, sys
src, bins = sys.argv[1], sys.argv[2]
files = {f: open(f"{src}/{f}").read() for f in ("pool.rs", "threaded.rs")}
edits = {
    "no-batch": [("threaded.rs",
        "        self.batch.push(Work(Step::Start { request, ticket }));\n",
        "        self.batch.push(Work(Step::Start { request, ticket }));\n"
        "        self.pool.execute_all(&mut self.batch);\n")],
    "wake-if-any-sleeps": [("pool.rs",
        "let sleeper = if state.sleepers.len() == self.workers {",
        "let sleeper = if !state.sleepers.is_empty() {")],
    "fifo-sleepers": [("pool.rs",
        "        let sleeper = if state.sleepers.len() == self.workers {\n"
        "            state.sleepers.pop()",
        "        let sleeper = if state.sleepers.len() == self.workers {\n"
        "            Some(state.sleepers.remove(0))")],
    "no-idle-hook": [("threaded.rs",
        "        lock(&self.ready).ids.push(id);\n",
        "        lock(&self.ready).ids.push(id);\n        self.tell_loop();\n")],
    "no-padding": [("threaded.rs", "#[repr(align(64))]\n", "")],
    "no-recycling": [("threaded.rs",
        "const SPARE_MAILBOXES: usize = 64;", "const SPARE_MAILBOXES: usize = 0;")],
    "no-small-copies": [("threaded.rs",
        "const MOVE_OVER: usize = 4096;", "const MOVE_OVER: usize = 0;")],
    "no-short-reads": [("threaded.rs",
        "pub const SHORT_READS: bool = cfg!(", "pub const SHORT_READS: bool = false && cfg!(")],
}
env = dict(os.environ, CARGO_TARGET_DIR=f"{src}/../../../target")
for name, changes in edits.items():
    for f, text in files.items():
        open(f"{src}/{f}", "w").write(text)
    for f, old, new in changes:
        text = open(f"{src}/{f}").read()
        assert text.count(old) == 1, (name, old)
        open(f"{src}/{f}", "w").write(text.replace(old, new))
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "part4-threads"],
                   cwd=f"{src}/../../..", env=env, check=True,
                   stderr=subprocess.DEVNULL)
    shutil.copy(f"{src}/../../../target/release/part4-threads", f"{bins}/{name}")
PY
    specs=("part4-fast=$T/part4-threads $FAST")
    for b in no-batch wake-if-any-sleeps no-idle-hook fifo-sleepers no-padding no-recycling no-small-copies no-short-reads; do
        specs+=("$b=$TMP/bin/$b $FAST")
    done
    {
        echo "part4-fast, and part4-fast with one mechanism undone; per request, under"
        echo "wrk -t1 -c50 -d4s on /hello, two workers; servers in turns."
        echo "load average before: $(loadavg)"
        measure "$ROUNDS" "${specs[@]}"
        echo "load average after: $(loadavg)"
    } > "$OUT/ablations.txt"
fi

# source_copy DIR: the committed source, unpacked in DIR, to be patched.
source_copy() { mkdir -p "$1"; git archive HEAD | tar -x -C "$1"; }
# build_copy DIR: release builds of parts 3 and 4 from a patched copy.
build_copy() {
    (cd "$1" && CARGO_TARGET_DIR=target cargo build --release -q \
        -p part3-selectors -p part4-threads)
}

# --- wouldblock: the read that only hears WouldBlock --------------------
# A copy of the committed source in which the tuned dispatcher reads on
# until WouldBlock, and Part 3 (every dispatcher that keeps the default)
# stops at a short read instead; measured in turns with the real thing,
# counting reads (recvfrom) too.
if want wouldblock; then
    SHORT=$TMP/short
    source_copy "$SHORT"
    python3 - "$SHORT" <<'PY'
import sys
root = sys.argv[1]
for path, old, new in [
    ("part3-selectors/src/dispatch.rs",
     "    fn short_reads(&self) -> bool {\n        false\n",
     "    fn short_reads(&self) -> bool {\n        true\n"),
    ("part4-threads/src/fast/threaded.rs",
     "pub const SHORT_READS: bool = cfg!(",
     "pub const SHORT_READS: bool = false && cfg!("),
]:
    text = open(f"{root}/{path}").read()
    assert text.count(old) == 1, old
    open(f"{root}/{path}", "w").write(text.replace(old, new))
PY
    build_copy "$SHORT"
    {
        echo "Short reads taken for WouldBlock or not; per request, under"
        echo "wrk -t1 -c50 -d4s on /hello, two workers; servers in turns."
        echo "load average before: $(loadavg)"
        RECV=1 measure "$ROUNDS" "part4-fast=$T/part4-threads $FAST" \
            "part4-fast-until-wouldblock=$SHORT/target/release/part4-threads $FAST" \
            "part3=$T/part3-selectors --port PORT --app hello" \
            "part3-short-reads=$SHORT/target/release/part3-selectors --port PORT --app hello"
        echo "load average after: $(loadavg)"
    } > "$OUT/wouldblock.txt"
fi

# --- trace: what --trace costs when it is off ---------------------------
# A copy of the committed source with every trace point compiled away
# (Part 3's trace! and Part 4's tracer checks test a constant false, and
# the compiler drops them), measured in turns with the real thing, trace off in both.
if want trace; then
    BARE=$TMP/bare
    source_copy "$BARE"
    python3 - "$BARE" <<'PY'
import sys
root = sys.argv[1]
def patch(rel, old, new, count):
    path = f"{root}/{rel}"
    text = open(path).read()
    assert text.count(old) == count, (rel, old, text.count(old))
    open(path, "w").write(text.replace(old, new))
patch("part3-selectors/src/trace.rs",
      "        if $log.tracing() {\n", "        if false && $log.tracing() {\n", 1)
patch("part4-threads/src/threaded.rs",
      "if let Some(tracer) = tracer {",
      "if let Some(tracer) = tracer.as_ref().filter(|_| false) {", 2)
patch("part4-threads/src/threaded.rs",
      "if let Some(tracer) = &self.mailbox.tracer",
      "if let Some(tracer) = self.mailbox.tracer.as_ref().filter(|_| false)", 2)
PY
    build_copy "$BARE"
    {
        echo "With --trace off, and a copy with every trace point compiled away;"
        echo "per request, under wrk -t1 -c50 -d4s on /hello, two workers; servers in turns."
        echo "load average before: $(loadavg)"
        measure 7 "part3=$T/part3-selectors --port PORT --app hello" \
            "part3-no-trace=$BARE/target/release/part3-selectors --port PORT --app hello" \
            "part4=$T/part4-threads $PLAIN" \
            "part4-no-trace=$BARE/target/release/part4-threads $PLAIN"
        echo "load average after: $(loadavg)"
    } > book/src/measuring/trace-off.txt
fi

# --- part2-c50: wrk's 50 connections against a server that takes one ----
if want part2-c50; then
    up "$T/part2-gateway" --port "$PORT" --app hello
    wrk -t1 -c50 -d5s --latency "http://127.0.0.1:$PORT/hello" \
        | sed "s/:$PORT/:18812/" > book/src/measuring/part2-c50.txt
    down
fi

# --- uploads: 200 clients x 16 MiB, bodies in files and in memory -------
if want uploads; then
    {
        echo '$ SERVERS="part3 part4 part4-fast" bash bench/uploads.sh'
        SERVERS="part3 part4 part4-fast" bash bench/uploads.sh
    } > book/src/measuring/uploads.txt
fi

# --- message-layer: criterion's figures for the HTTP layer all parts share
if want message-layer; then
    ARGS="--warm-up-time 1 --measurement-time 3"
    {
        echo "One run on our machine (2 CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(rustc --version | cut -d' ' -f1-2))."
        echo "load average before: $(loadavg)"
        echo "\$ cargo bench -p part2-gateway --bench message_layer -- $ARGS"
        # shellcheck disable=SC2086
        cargo bench -q -p part2-gateway --bench message_layer -- $ARGS 2>&1 |
            awk '/^[a-z_]+\// && !/^Benchmarking/ || (/time:|thrpt:/ && !/%/)'
        echo "load average after: $(loadavg)"
    } > book/src/measuring/message-layer.txt
fi

# --- mallocs: allocations per request (a uprobe on libc's malloc) -------
if want mallocs; then
    LIBC=$(ldd "$T/part4-threads" | awk '/libc\.so/ {print $3}')
    perf probe -q -x "$LIBC" --add malloc 2>/dev/null || true
    {
        echo "malloc calls per request, under wrk -t1 -c50 -d3s on /hello (perf stat"
        echo "-e probe_libc:malloc; the probe slows malloc down, so no CPU figures here)."
        echo "load average before: $(loadavg)"
        printf '%-14s %12s\n' server "malloc/req"
        for spec in "part3=$T/part3-selectors --port PORT --app hello" "part4=$T/part4-threads $PLAIN" \
                    "part4-fast=$T/part4-threads $FAST"; do
            name=${spec%%=*} cmd=${spec#*=}
            # shellcheck disable=SC2086
            up ${cmd//PORT/$PORT}
            perf stat -x, -e probe_libc:malloc -p "$PID" -o "$TMP/perf" -- sleep 3.3 &
            perf=$!
            reqs=$(wrk -t1 -c50 -d3s "http://127.0.0.1:$PORT/hello" | awk '/requests in/ {print $1}')
            wait $perf
            down
            awk -F, -v r="$reqs" -v n="$name" '$3 ~ /malloc/ { printf "%-14s %12.2f\n", n, $1 / r }' "$TMP/perf"
        done
        echo "load average after: $(loadavg)"
    } > "$OUT/mallocs.txt"
    perf probe -q -d probe_libc:malloc 2>/dev/null || true
fi

# --- wakeups: the loop thread with one slow request in flight -----------
if want wakeups; then
    {
        echo "The loop thread's voluntary context switches while one"
        echo "/sleep?ms=2000 is in flight and nothing else (two workers)."
        echo "load average before: $(loadavg)"
        for d in plain fast; do
            up "$T/part4-threads" --workers 2 --dispatch $d --port $PORT
            before=$(awk '/^voluntary_ctxt_switches/ {print $2}' "/proc/$PID/task/$PID/status")
            curl -s -o /dev/null "http://127.0.0.1:$PORT/sleep?ms=2000"
            after=$(awk '/^voluntary_ctxt_switches/ {print $2}' "/proc/$PID/task/$PID/status")
            down
            printf '%-8s %6d\n' "$d:" $((after - before))
        done
        echo "load average after: $(loadavg)"
    } > "$OUT/wakeups.txt"
fi

# --- stale: /hello while one of two workers is busy ----------------------
if want stale; then
    {
        echo "/hello, 20 times in a row on one keep-alive connection (curl's"
        echo "time_total in ms), while one of two workers sleeps in /sleep?ms=3000,"
        echo "then with both workers idle."
        echo "load average before: $(loadavg)"
        printf '%-8s %-5s %8s %8s\n' dispatch phase min median
        hellos() {
            local urls=() _
            for _ in $(seq 20); do urls+=(-o /dev/null "http://127.0.0.1:$PORT/hello"); done
            curl -s -w '%{time_total}\n' "${urls[@]}" |
                awk '{print $1 * 1000}' | sort -n |
                awk '{a[NR]=$1} END {printf "%8.2f %8.2f\n", a[1], (a[10] + a[11]) / 2}'
        }
        for d in plain fast; do
            up "$T/part4-threads" --workers 2 --dispatch $d --port $PORT
            curl -s -o /dev/null "http://127.0.0.1:$PORT/sleep?ms=3000" &
            slow=$!
            sleep 0.3
            printf '%-8s %-5s %s\n' "$d" busy "$(hellos)"
            wait $slow
            printf '%-8s %-5s %s\n' "$d" idle "$(hellos)"
            down
        done
        echo "load average after: $(loadavg)"
    } > "$OUT/stale.txt"
fi

# --- sleep: /sleep?ms=100 on 64 connections, 8 workers -------------------
# sleep_table NAME...: one wrk run per server, against the ideal r/s.
sleep_table() {
    echo "One run on our machine ($(nproc) CPUs), release builds."
    echo "load average before: $(loadavg)"
    local rows="" name ideal cmd
    for s in "$@"; do
        case $s in
            part3) name="part3-selectors (sleep)" ideal=10
                cmd="$T/part3-selectors --port $PORT --app sleep" ;;
            part4) name="part4-threads (sleep, 8 w)" ideal=80
                cmd="$T/part4-threads --port $PORT --app sleep --workers 8" ;;
            part4-fast) name="part4-fast (sleep, 8 w)" ideal=80
                cmd="$T/part4-threads --port $PORT --app sleep --workers 8 --dispatch fast" ;;
        esac
        echo "\$ $cmd &"
        echo "\$ wrk -t1 -c64 -d5s --latency 'http://127.0.0.1:$PORT/?ms=100'"
        # shellcheck disable=SC2086
        up $cmd
        rows+=$(wrk -t1 -c64 -d5s --latency "http://127.0.0.1:$PORT/?ms=100" | awk -v n="$name" -v ideal="$ideal" '
            / requests in / { reqs = $1 }
            /Requests\/sec/ { rps = $2 }
            $1 == "50%" { p50 = $2 }
            $1 == "99%" { p99 = $2 }
            /Socket errors/ { for (i = 1; i <= NF; i++) if ($i == "timeout") to = $(i + 1) + 0 }
            END { printf "%-30s %8d %7.2f %9d %10.0f%% %9s %9s %12d\n", n, reqs, rps, ideal, rps / ideal * 100, p50, p99, to }')
        rows+=$'\n'
        down
    done
    echo
    printf "%-30s %8s %7s %9s %11s %9s %9s %12s\n" server requests "r/s" "ideal r/s" "% of ideal" p50 p99 "wrk timeouts"
    printf '%s' "$rows"
    echo "load average after: $(loadavg)"
}
want sleep && sleep_table part4 part4-fast > "$OUT/sleep.txt"
want part4-sleep && sleep_table part4 part3 > "$P4/sleep.txt"

# --- part4-idle: threads and memory with 1,000 idle connections ---------
if want part4-idle; then
    {
        echo "One run on our machine ($(nproc) CPUs, load average $(loadavg)); Linux only (/proc)."
        for server in "target/release/thread-per-connection --threads 1000" \
                      "target/release/part4-threads --workers 2"; do
            echo
            echo "\$ $server >/dev/null & SERVER=\$!"
            PORT=8888
            # shellcheck disable=SC2086
            up ${server/target\/release/$T}
            SERVER=$PID
            # The port opens before every thread is started: wait until
            # the count holds still.
            threads() { awk '/^Threads/ {print $2}' "/proc/$SERVER/status"; }
            until [ "$(threads)" = "$(sleep 0.5; threads)" ]; do :; done
            echo "\$ grep -E 'VmRSS|Threads' /proc/\$SERVER/status"
            grep -E '^(VmRSS|Threads)' "/proc/$SERVER/status"
            echo '$ sleep 60 | python3 bench/idle_conns.py 1000 8888 &'
            sleep 60 | python3 bench/idle_conns.py 1000 8888 > "$TMP/holding" 2>&1 &
            holder=$!
            until grep -q holding "$TMP/holding" 2>/dev/null; do
                kill -0 $holder 2>/dev/null || { cat "$TMP/holding" >&2; exit 1; }
                sleep 0.1
            done
            sleep 0.5
            cat "$TMP/holding"
            echo "\$ grep -E 'VmRSS|Threads' /proc/\$SERVER/status"
            grep -E '^(VmRSS|Threads)' "/proc/$SERVER/status"
            kill $holder 2>/dev/null || true
            down
            rm -f "$TMP/holding"
            PORT=18920
        done
    } > "$P4/idle-1000.txt"
fi
