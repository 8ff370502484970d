#!/usr/bin/env bash
# bench/api.sh: GET /api/stream throughput against a static baseline.
#
# One nginx (2 workers), one server, two locations:
#   /api/stream   streamline_api; the channel is live (a real ffmpeg publishes)
#   = /baseline   nginx's own `return 200` of a same-sized body with the same
#                 headers: the ceiling an in-memory answer can reach here
# wrk hits them in turn (baseline, api, baseline, api, ...) with the same
# settings; the report gives requests/s of every round, the medians,
# api/baseline, and the CPU time nginx's workers spent per request.  wrk
# runs on the same machine and shares its cores with nginx (and with ffmpeg
# and redis-server).
#
# Environment: ROUNDS (10), DURATION (5s), WARMUP (2s), THREADS (2),
# CONNECTIONS (64), WORKERS (2), BUILD_DIR (<repo>/build),
# NGINX_BIN (/usr/sbin/nginx), KEEP=1 keeps the temp dir.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$top/build}
NGINX_BIN=${NGINX_BIN:-/usr/sbin/nginx}
ROUNDS=${ROUNDS:-10}
DURATION=${DURATION:-5s}
WARMUP=${WARMUP:-2s}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-64}
WORKERS=${WORKERS:-2}

for bin in "$NGINX_BIN" redis-server redis-cli ffmpeg wrk curl perl; do
    command -v "$bin" >/dev/null || { echo "$0: $bin not found" >&2; exit 1; }
done
[ -f "$BUILD_DIR/modules/ngx_streamline_module.so" ] \
    || { echo "$0: no $BUILD_DIR/modules/ngx_streamline_module.so (make build)" >&2; exit 1; }

dir=$(mktemp -d "${TMPDIR:-/tmp}/streamline-bench-api-XXXXXX")
chmod 755 "$dir"
pids=()

cleanup() {
    local rc=$? pid
    trap - EXIT INT TERM
    # ffmpeg, nginx, redis-server: last started, first stopped
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
        pid=${pids[i]}
        kill -TERM "$pid" 2>/dev/null || continue
        for _ in $(seq 1 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.05
        done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    if [ "${KEEP:-}" = 1 ]; then
        echo "# kept $dir" >&2
    else
        rm -rf "$dir"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# three free loopback ports (held together while chosen, so all differ)
read -r RTMP_PORT HTTP_PORT REDIS_PORT < <(perl -MIO::Socket::INET -e '
    my @s = map { IO::Socket::INET->new(LocalAddr => "127.0.0.1",
        LocalPort => 0, Listen => 1, ReuseAddr => 1) or die $! } 1 .. 3;
    print join(" ", map { $_->sockport } @s), "\n"')

wait_until() {    # wait_until SECONDS CMD...: polls CMD every 50 ms
    local n=$(($1 * 20)); shift
    for _ in $(seq 1 "$n"); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.05
    done
    return 1
}

# redis-server -----------------------------------------------------------
mkdir -p "$dir/redis"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
    --dir "$dir/redis" --daemonize no --logfile "$dir/redis/redis.log" \
    </dev/null >/dev/null 2>&1 &
pids+=($!)
wait_until 10 redis-cli -p "$REDIS_PORT" ping \
    || { echo "$0: redis-server did not start" >&2; exit 1; }

# nginx ------------------------------------------------------------------
user=
[ "$(id -u)" = 0 ] && user='user root;'
cat > "$dir/nginx.conf" <<EOF
worker_processes $WORKERS;
$user
pid $dir/nginx.pid;
error_log $dir/error.log notice;

load_module $BUILD_DIR/modules/ngx_rtmp_module.so;
load_module $BUILD_DIR/modules/ngx_streamline_module.so;

events { worker_connections 1024; }

streamline_redis 127.0.0.1:$REDIS_PORT;

rtmp {
    server {
        listen 127.0.0.1:$RTMP_PORT;
        application live {
            live on;
            streamline on;
        }
    }
}

http {
    client_body_temp_path $dir/client_body_temp;
    proxy_temp_path $dir/proxy_temp;
    fastcgi_temp_path $dir/fastcgi_temp;
    uwsgi_temp_path $dir/uwsgi_temp;
    scgi_temp_path $dir/scgi_temp;
    access_log off;

    server {
        listen 127.0.0.1:$HTTP_PORT;

        location /api/stream {
            streamline_api;
        }

        location = /baseline {
            default_type application/json;
            add_header Cache-Control no-cache;
            add_header Access-Control-Allow-Origin *;
            return 200 '{"status":"live","updatedAt":"2026-11-26T01:54:26.123Z"}';
        }
    }
}
EOF
"$NGINX_BIN" -p "$dir/" -c "$dir/nginx.conf" -e "$dir/error.log" -t -q
"$NGINX_BIN" -p "$dir/" -c "$dir/nginx.conf" -e "$dir/error.log" \
    -g 'daemon off; master_process on;' </dev/null >>"$dir/error.log" 2>&1 &
pids+=($!)
wait_until 10 curl -sf "http://127.0.0.1:$HTTP_PORT/baseline" \
    || { echo "$0: nginx did not start:" >&2; tail -20 "$dir/error.log" >&2; exit 1; }

# a live channel: a key and a real publisher ------------------------------
key=$(REDIS_PORT=$REDIS_PORT "$top/scripts/streamline-key" add main)
ffmpeg -nostdin -hide_banner -loglevel error \
    -re -f lavfi -i testsrc2=size=320x240:rate=25 \
    -c:v libx264 -preset ultrafast -tune zerolatency -g 50 \
    -f flv "rtmp://127.0.0.1:$RTMP_PORT/live/$key" \
    </dev/null >/dev/null 2>"$dir/ffmpeg.stderr" &
ffmpeg_pid=$!
pids+=($ffmpeg_pid)

api_live() {
    curl -sf "http://127.0.0.1:$HTTP_PORT/api/stream" | grep -q '"status":"live"'
}
wait_until 10 api_live \
    || { echo "$0: the API never said live:" >&2; cat "$dir/ffmpeg.stderr" >&2
         tail -20 "$dir/error.log" >&2; exit 1; }

echo "api:      $(curl -s "http://127.0.0.1:$HTTP_PORT/api/stream")"
echo "baseline: $(curl -s "http://127.0.0.1:$HTTP_PORT/baseline")"
echo "headers (api, then baseline), Date and Server left out:"
curl -s -o /dev/null -D - "http://127.0.0.1:$HTTP_PORT/api/stream" \
    | tr -d '\r' | grep -v -i -e '^date:' -e '^server:' -e '^$' | sed 's/^/  /'
curl -s -o /dev/null -D - "http://127.0.0.1:$HTTP_PORT/baseline" \
    | tr -d '\r' | grep -v -i -e '^date:' -e '^server:' -e '^$' | sed 's/^/  /'
echo

# wrk --------------------------------------------------------------------
echo "command: wrk -t$THREADS -c$CONNECTIONS -d$DURATION http://127.0.0.1:PORT/{baseline,api/stream}"
echo "rounds:  $ROUNDS x (baseline, api), after a ${WARMUP} warm-up of each"
echo

# CPU time of nginx's workers (utime + stime, in clock ticks): what a request
# costs nginx, whatever else the machine is doing
nginx_pid=${pids[1]}
workers=$(ps -o pid= --ppid "$nginx_pid" | tr -d ' ' | tr '\n' ' ')
[ "$(wc -w <<< "$workers")" = "$WORKERS" ] \
    || { echo "$0: expected $WORKERS workers, found: $workers" >&2; exit 1; }
hz=$(getconf CLK_TCK)
worker_ticks() {
    local w t=0
    for w in $workers; do
        # fields 14 and 15 of /proc/PID/stat, after the ")" of the name
        t=$((t + $(sed 's/.*) //' "/proc/$w/stat" | awk '{ print $12 + $13 }')))
    done
    echo "$t"
}

bad=0
run_wrk() {    # run_wrk NAME PATH DURATION: sets LAST_RPS, LAST_US, LAST_LINE
    local out t0 t1
    t0=$(worker_ticks)
    out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$3" "http://127.0.0.1:$HTTP_PORT$2")
    t1=$(worker_ticks)
    echo "$out" > "$dir/wrk-$1-$((++wrk_n)).txt"
    local rps non2xx errors
    rps=$(awk '/^Requests\/sec:/ { print $2 }' <<< "$out")
    non2xx=$(awk -F': *' '/Non-2xx or 3xx responses/ { print $2 }' <<< "$out")
    errors=$(awk '/Socket errors/ { sub(/^ *Socket errors: */, ""); print }' <<< "$out")
    reqs=$(awk '/requests in/ { print $1 }' <<< "$out")
    LAST_RPS=$rps
    LAST_US=$(awk -v t=$((t1 - t0)) -v hz="$hz" -v n="$reqs" \
        'BEGIN { printf "%.2f", t / hz / n * 1e6 }')
    LAST_LINE=$(printf '%-9s %10s req/s  %9s requests  %5s us worker CPU/req  non-2xx %s%s' \
        "$1" "$rps" "$reqs" "$LAST_US" "${non2xx:-0}" "${errors:+  socket errors: $errors}")
    if [ -n "$non2xx" ] || [ -n "$errors" ]; then bad=1; fi
}
wrk_n=0

run_wrk warm-base /baseline "$WARMUP"
run_wrk warm-api /api/stream "$WARMUP"

base=() api=() base_us=() api_us=()
for r in $(seq 1 "$ROUNDS"); do
    run_wrk baseline /baseline "$DURATION"; base+=("$LAST_RPS"); base_us+=("$LAST_US")
    printf 'round %-2s %s\n' "$r" "$LAST_LINE"
    run_wrk api /api/stream "$DURATION"; api+=("$LAST_RPS"); api_us+=("$LAST_US")
    printf 'round %-2s %s\n' "$r" "$LAST_LINE"
done

api_live || { echo "$0: the API no longer says live after the runs" >&2; bad=1; }
kill -0 "$ffmpeg_pid" 2>/dev/null \
    || { echo "$0: ffmpeg died during the runs" >&2; bad=1; }
# Streamline's own warnings (e.g. Redis timeouts) during the runs
warn=$(grep -c -e '\[warn\]' -e '\[error\]' -e '\[crit\]' -e '\[alert\]' "$dir/error.log" || true)

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
    print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
mb=$(median "${base[@]}")
ma=$(median "${api[@]}")
ratios=()
for i in "${!api[@]}"; do
    ratios+=("$(awk -v a="${api[i]}" -v b="${base[i]}" 'BEGIN { printf "%.3f", a / b }')")
done

echo
printf 'median baseline  %10.0f req/s\n' "$mb"
printf 'median api       %10.0f req/s\n' "$ma"
awk -v a="$ma" -v b="$mb" 'BEGIN { printf "ratio api/baseline (medians) %.3f  (goal >= 0.9)\n", a / b }'
echo "ratio per round  ${ratios[*]}  (median $(median "${ratios[@]}" | xargs printf "%.3f"))"
mbu=$(median "${base_us[@]}")
mau=$(median "${api_us[@]}")
echo
printf 'nginx workers CPU per request (median): baseline %.2f us, api %.2f us;' "$mbu" "$mau"
awk -v a="$mau" -v b="$mbu" 'BEGIN { printf " baseline/api %.3f\n", b / a }'
echo "(baseline/api of CPU per request is the req/s ratio if nginx's workers alone"
echo " limited throughput; the req/s ratio is diluted by wrk's CPU, the same for both)"
echo "error.log lines at warn or above during the run: $warn"
if [ "$bad" = 0 ]; then
    echo "every response 2xx (wrk reported no non-2xx and no socket errors); API still live at the end"
else
    echo "CHECK FAILED: non-2xx responses, socket errors, or the channel left live state (see above)"
    exit 1
fi
