#!/usr/bin/env bash
# bench/run.sh — abstat's benchmarks (make bench): ingest against the
# physical ceilings measured in the same run (nginx answering 204, a bare
# evhttp server), batch ingest, results latency under ingest, memory per
# user, restart speed, the statistics core and GET /history's rendering.
# Prints a table and writes bench/results.md. Server on CPU 0, load generator on CPU 1.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${BENCH_SECONDS:-10}      # seconds per wrk run
RUNS=${BENCH_RUNS:-3}              # runs per figure; the median is reported
FILL_USERS=${BENCH_USERS:-10000000} # users for the memory/results/restart part
BIN=$PWD/bin
BB=$PWD/build/bench
WORK=$(mktemp -d /tmp/abstat-bench.XXXXXX)
OUT=bench/results.md
PIDS=()

cleanup() {
    for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

need() { # command, Debian package
    command -v "$1" >/dev/null 2>&1 && return 0
    echo "bench: installing $2 (apt-get)" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
}
need wrk wrk
need nginx nginx-light || need nginx nginx
need taskset util-linux
need curl curl

SERVER_CPU=0
LOAD_CPU=1
[ "$(nproc)" -ge 2 ] || LOAD_CPU=0

wait_port() { # port
    for _ in $(seq 1 200); do
        curl -s -o /dev/null "http://127.0.0.1:$1/" && return 0
        sleep 0.05
    done
    echo "bench: nothing listens on $1" >&2
    return 1
}

# wrk → "req_per_s p50_ms p99_ms"
wrk_run() { # url script connections [duration]
    local out
    out=$(taskset -c $LOAD_CPU wrk -t1 -c"$3" -d"${4:-$DURATION}"s --latency -s "$2" "$1" 2>&1)
    echo "$out" | awk '
        function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0;
                         if (v ~ /s$/) return v * 1000; return v }
        /Requests\/sec/ { rps = $2 }
        /^ +50%/ { p50 = ms($2) }
        /^ +99%/ { p99 = ms($2) }
        /Non-2xx/ { bad = $NF }
        END { printf "%.0f %.3f %.3f %s\n", rps, p50, p99, bad + 0 }'
}

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# ---- the servers -------------------------------------------------------------

NGINX_PORT=18080 BARE_PORT=18081 ABSTAT_PORT=18082

start_nginx() {
    mkdir -p "$WORK/nginx"
    cat > "$WORK/nginx/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $WORK/nginx/body;
    server {
        listen 127.0.0.1:$NGINX_PORT;
        location / { return 204; }
    }
}
EOF
    taskset -c $SERVER_CPU nginx -c "$WORK/nginx/nginx.conf" &
    PIDS+=($!)
    wait_port $NGINX_PORT
}

start_bare() {
    taskset -c $SERVER_CPU "$BB/bare_evhttp" $BARE_PORT &
    PIDS+=($!)
    wait_port $BARE_PORT
}

ABSTAT_PID=
start_abstat() { # durability data-dir
    taskset -c $SERVER_CPU "$BIN/abstatd" --listen 127.0.0.1:$ABSTAT_PORT --data "$2" \
        --durability "$1" --log-level "${LOG_LEVEL:-warn}" --max-connections 4096 \
        2>>"$WORK/abstatd.log" &
    ABSTAT_PID=$!
    PIDS+=($ABSTAT_PID)
    wait_port $ABSTAT_PORT
}

stop_pid() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

put_experiment() { # id body
    curl -s -o /dev/null -X PUT "http://127.0.0.1:$ABSTAT_PORT/v1/experiments/$1" -d "$2"
}

# ---- the measurements ---------------------------------------------------------

echo "abstat benchmarks: $DURATION s per run, median of $RUNS"
CPU_MODEL=$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)
MACHINE="$(nproc) x $CPU_MODEL, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), Linux $(uname -r)"
echo "machine: $MACHINE"
echo "server pinned to CPU $SERVER_CPU, wrk (1 thread) to CPU $LOAD_CPU"

declare -A RPS P50 P99 # name -> space-separated values, one per run
record() { # name "rps p50 p99 non2xx"
    RPS[$1]+="$(echo "$2" | cut -d' ' -f1) "
    P50[$1]+="$(echo "$2" | cut -d' ' -f2) "
    P99[$1]+="$(echo "$2" | cut -d' ' -f3) "
    if [ "$(echo "$2" | cut -d' ' -f4)" != 0 ]; then
        echo "bench: $1: $(echo "$2" | cut -d' ' -f4) answers were not 2xx" >&2
    fi
}
med() { echo "$1" | tr ' ' '\n' | grep . | median; }
declare -A R
summarize() { # name
    R[$1]="$(med "${RPS[$1]}") $(med "${P50[$1]}") $(med "${P99[$1]}")"
    echo "  $1: ${R[$1]} (req/s, p50 ms, p99 ms; runs: ${RPS[$1]})"
}
measure() { # name start-fn url script connections: RUNS runs of one server
    for _ in $(seq 1 "$RUNS"); do record "$1" "$(wrk_run "$3" "$4" "$5")"; done
    summarize "$1"
}

echo "1-2. ceilings and single-event ingest, interleaved: each round runs every server once"
for round in $(seq 1 "$RUNS"); do
    start_nginx
    record nginx "$(wrk_run "http://127.0.0.1:$NGINX_PORT/v1/events" bench/single.lua 64)"
    stop_pid "${PIDS[-1]}"
    start_bare
    record bare "$(wrk_run "http://127.0.0.1:$BARE_PORT/v1/events" bench/single.lua 64)"
    stop_pid "${PIDS[-1]}"
    for dur in normal full; do
        rm -rf "$WORK/data-$dur"
        start_abstat "$dur" "$WORK/data-$dur"
        put_experiment bench '{"variants": ["control", "buy-now"]}'
        record "single_$dur" "$(wrk_run "http://127.0.0.1:$ABSTAT_PORT/v1/events" bench/single.lua 64)"
        stop_pid "$ABSTAT_PID"
    done
    echo "  round $round done"
done
for n in nginx bare single_normal single_full; do summarize $n; done

echo "3. batch ingest (NDJSON, 1000 events a request)"
start_abstat normal "$WORK/data-batch"
put_experiment bench '{"variants": ["control", "buy-now"]}'
measure batch start_abstat "http://127.0.0.1:$ABSTAT_PORT/v1/events" bench/batch.lua 16
stop_pid "$ABSTAT_PID"

echo "4-6. results latency, memory and restart at $FILL_USERS users"
start_abstat normal "$WORK/data-big"
put_experiment big '{"variants": ["v0","v1","v2","v3","v4","v5","v6","v7","v8","v9"], "min_days": 0}'
rss0=$(awk '/VmRSS/ { print $2 }' /proc/$ABSTAT_PID/status)
"$BB/fill" 127.0.0.1 $ABSTAT_PORT big 10 "$FILL_USERS"
curl -s -o /dev/null "http://127.0.0.1:$ABSTAT_PORT/v1/experiments/big/results"
rss1=$(awk '/VmRSS/ { print $2 }' /proc/$ABSTAT_PID/status)
BYTES_PER_USER=$(awk -v a="$rss0" -v b="$rss1" -v n="$FILL_USERS" 'BEGIN { printf "%.1f", (b - a) * 1024 / n }')
echo "  memory: RSS $rss0 kB -> $rss1 kB: $BYTES_PER_USER bytes per user"
# Results while batch ingest keeps the experiment changing.
BATCH_EXPERIMENT=big BATCH_VARIANTS=10 BATCH_USERS=$FILL_USERS \
    taskset -c $LOAD_CPU wrk -t1 -c4 -d$((DURATION + 2))s -s bench/batch.lua \
    "http://127.0.0.1:$ABSTAT_PORT/v1/events" >/dev/null 2>&1 &
LOADER=$!
sleep 1
measure results start_abstat "http://127.0.0.1:$ABSTAT_PORT/v1/experiments/big/results" bench/get.lua 1
wait $LOADER || true
EVENTS=$(curl -s "http://127.0.0.1:$ABSTAT_PORT/v1/experiments/big" | sed -n 's/.*"events":\([0-9]*\).*/\1/p')
stop_pid "$ABSTAT_PID"
LOG_LEVEL=info start_abstat normal "$WORK/data-big"
REPLAY=$(grep -o 'replayed [0-9]* events of [0-9]* experiments in [0-9.]* s ([0-9]* events/s)' \
    "$WORK/abstatd.log" | tail -n 1)
echo "  restart: $REPLAY"
REPLAY_RATE=$(echo "$REPLAY" | sed -n 's/.*(\([0-9]*\) events\/s).*/\1/p')
REPLAY_SECS=$(echo "$REPLAY" | sed -n 's/.* in \([0-9.]*\) s .*/\1/p')
stop_pid "$ABSTAT_PID"

echo "7. statistics"
STATS=$("$BB/bench_stats")
echo "$STATS" | sed 's/^/  /'

echo "8. history: GET /history rendered in-process at $FILL_USERS users"
HISTORY=$("$BB/bench_history" "$FILL_USERS")
echo "$HISTORY" | sed 's/^/  /'

# ---- the table ----------------------------------------------------------------

f() { echo "${R[$1]}" | cut -d' ' -f"$2"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
BATCH_EPS=$(( $(f batch 1) * 1000 ))
{
    echo "# abstat benchmark results"
    echo
    echo "Measured $(date -u +%Y-%m-%d) by \`make bench\` on: $MACHINE."
    echo "The server runs on CPU $SERVER_CPU, wrk (one thread, keep-alive) on CPU $LOAD_CPU;"
    echo "each figure is the median of $RUNS runs of $DURATION s. Ceilings are measured in the same run."
    echo
    echo "| # | what | figure | p50 | p99 | vs nginx | vs bare evhttp | goal |"
    echo "|---|---|---|---|---|---|---|---|"
    echo "| 1 | nginx 1 worker, \`return 204\` (c64) | $(f nginx 1) req/s | $(f nginx 2) ms | $(f nginx 3) ms | 1.00 | | ceiling |"
    echo "| 1 | bare evhttp, 204 unparsed (c64) | $(f bare 1) req/s | $(f bare 2) ms | $(f bare 3) ms | $(ratio "$(f bare 1)" "$(f nginx 1)") | 1.00 | ceiling |"
    echo "| 2 | single-event ingest, durability normal (c64) | $(f single_normal 1) req/s | $(f single_normal 2) ms | $(f single_normal 3) ms | $(ratio "$(f single_normal 1)" "$(f nginx 1)") | $(ratio "$(f single_normal 1)" "$(f bare 1)") | >= 0.85x bare, p99 <= 3 ms |"
    echo "| 2 | single-event ingest, durability full (c64) | $(f single_full 1) req/s | $(f single_full 2) ms | $(f single_full 3) ms | $(ratio "$(f single_full 1)" "$(f nginx 1)") | $(ratio "$(f single_full 1)" "$(f bare 1)") | |"
    echo "| 3 | batch ingest, 1000-event NDJSON (c16) | $BATCH_EPS events/s | $(f batch 2) ms | $(f batch 3) ms | | | >= 1,000,000 events/s |"
    echo "| 4 | GET results, 10 variants, $FILL_USERS users, under batch ingest | $(f results 1) req/s | $(f results 2) ms | $(f results 3) ms | | | p99 < 1 ms |"
    echo "| 5 | memory per tracked user at $FILL_USERS users | $BYTES_PER_USER bytes | | | | | <= 32 bytes |"
    echo "| 6 | restart: rebuild from $EVENTS stored events | $REPLAY_RATE events/s ($REPLAY_SECS s) | | | | | >= 2,000,000 events/s |"
    echo
    echo "7. Statistics core (\`build/bench/bench_stats\`):"
    echo
    echo '```'
    echo "$STATS"
    echo '```'
    echo
    echo "8. History (\`build/bench/bench_history\`, goal: <= 50 ms for 90 days x 10 variants x 10 M users by day):"
    echo
    echo '```'
    echo "$HISTORY"
    echo '```'
} > "$OUT"
echo
cat "$OUT"
