#!/usr/bin/env bash
# bench/scale.sh: scale-out figures with the shipped configurations: two
# origins (nginx-conf/origin.conf, each with its own
# streamline_origin_address) sharing one redis-server, an edge
# (nginx-conf/edge.conf: /api/stream from Redis, media routed to the owner,
# streamline_collapse) and the broadcasters' TCP balancer
# (nginx-conf/balancer.conf).  bench/README.md, "Scale-out", says what each
# figure is.
#
#   bench/scale.sh                          # all of it, about 10 minutes
#   PARTS="api" bench/scale.sh              # one part (api failover viewers)
#
# 1. api: API_RUNS publishes through the balancer, each stopped once live:
#    publish -> /api/stream live on the owner, on the OTHER origin and on
#    the edge; stop -> idle on each; median and p95 (bench/scale.pl api).
# 2. failover: FAILOVER_RUNS runs for each reconnect delay of DELAYS
#    ("0 2"): a publisher through the balancer, an LL-HLS viewer through
#    the edge; kill -9 of the owning origin's nginx (master and workers);
#    the publisher restarted through the balancer DELAY s later; the time
#    from the kill to the viewer's first new part via the edge, from the
#    new owner (bench/scale.pl failover).  Then OTHER_HOST_RUNS (3) runs
#    with the two origins as two hosts (each nginx in a UTS namespace of
#    its own with its own host name: unshare -u, root only): the dead
#    origin's lock cannot be proved dead, so the takeover waits for its
#    state to expire (streamline_state_ttl); the publisher retries every
#    2 s as OBS does.
# 3. viewers: bench/capacity.sh's viewers mode (CHANNELS="" VIEWERS=...):
#    the edge's collapse ratio and the origin's request rate for VIEWERS
#    ("100 1000") LL-HLS viewers, VIEWER_DURATION (30) s each.
#
# Writes bench/results/scale-<short rev>.txt (RESULTS=).  KEEP=1 keeps the
# temp dir (logs); NOTE="..." adds a line to the file's header (e.g. that
# the machine was shared).  Needs: nginx with the stream module, the built modules
# (make build), redis-server, redis-cli, ffmpeg with libx264, curl, perl,
# openssl, cc (part 3), unshare and root (the other-host runs; skipped
# otherwise).
set -euo pipefail

parts=${PARTS-api failover viewers}
api_runs=${API_RUNS:-20}
fo_runs=${FAILOVER_RUNS:-5}
delays=${DELAYS-0 2}
oh_runs=${OTHER_HOST_RUNS:-3}

. "$(dirname "$0")/lib.sh"
die() { echo "scale: $*" >&2; exit 1; }
log() { printf 'scale: %s\n' "$*" >&2; }

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BUILD_DIR:-$top/build}
nginx=${NGINX_BIN:-/usr/sbin/nginx}
for c in redis-server redis-cli ffmpeg curl perl openssl; do
    command -v "$c" >/dev/null || die "needs $c (see bench/README.md)"
done
for m in ngx_rtmp_module.so ngx_streamline_module.so; do
    [ -f "$build/modules/$m" ] || die "no $build/modules/$m: run make build (or set BUILD_DIR)"
done

bench_init scale
sc_cleanup() {
    local rc=$? i
    set +e
    for (( i = ${#pids[@]} - 1; i >= 0; i-- )); do kill -TERM "${pids[i]}" 2>/dev/null; done
    for (( i = ${#pids[@]} - 1; i >= 0; i-- )); do
        for _ in $(seq 50); do kill -0 "${pids[i]}" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "${pids[i]}" 2>/dev/null
        wait "${pids[i]}" 2>/dev/null
    done
    if [ -n "${KEEP:-}" ]; then echo "scale: kept $dir" >&2; else rm -rf "$dir"; fi
    exit $rc
}
trap sc_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

commit=$(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo unknown)
RESULTS=${RESULTS:-$top/bench/results/scale-$commit.txt}
out=$dir/results.txt
: > "$out"
html=$top/html/dist
[ -d "$html" ] || { html=$dir/html; mkdir -p "$html"; }

bench_redis
{ read -r cert; read -r tls_key; } < <("$top/scripts/tls-cert.sh" "$dir/tls")
stream_line=$("$top/scripts/stream-module.sh" "$nginx")

# --- the nodes -----------------------------------------------------------

declare -A ohttp ortmp ortmps omaster ohost
for o in a b; do
    ohttp[$o]=$(port) ortmp[$o]=$(port) ortmps[$o]=$(port)
    mkdir -p "$dir/$o/logs" "$dir/$o/tmp"
    "$top/scripts/render-conf.sh" "$top/nginx-conf/origin.conf" "$dir/$o/nginx.conf" \
        RTMP_LISTEN_LINE="listen 127.0.0.1:${ortmp[$o]};" \
        RTMPS_PORT="127.0.0.1:${ortmps[$o]}" RTMP_INTERNAL="127.0.0.1:$(port)" \
        TLS_CERT="$cert" TLS_KEY="$tls_key" STREAM_MODULE_LINE="$stream_line" \
        HTTP_PORT="127.0.0.1:${ohttp[$o]}" ORIGIN_ADDRESS="127.0.0.1:${ohttp[$o]}" \
        REDIS_ADDR="127.0.0.1:$rport" PREFIX="$dir/$o" MODULES="$build/modules" \
        HTML="$html" ORIGIN_SECRET_LINE="" METRICS_ADDR="127.0.0.1:$(port)"
    "$nginx" -p "$dir/$o" -c "$dir/$o/nginx.conf" -e "$dir/$o/logs/error.log" -t -q \
        || die "nginx -t failed for $dir/$o/nginx.conf"
done
chmod -R 777 "$dir/a" "$dir/b"

# start_origin NAME [HOSTNAME]: with a host name, in a UTS namespace of its
# own (another host, as far as the module can tell)
start_origin() {
    if [ -n "${2:-}" ]; then
        unshare -u sh -c 'hostname "$1" && exec "$2" -p "$3" -c "$3/nginx.conf" -e "$3/logs/error.log" -g "daemon off;"' \
            sh "$2" "$nginx" "$dir/$1" &
    else
        "$nginx" -p "$dir/$1" -c "$dir/$1/nginx.conf" -e "$dir/$1/logs/error.log" -g 'daemon off;' &
    fi
    omaster[$1]=$!
    pids+=("${omaster[$1]}")
    for _ in $(seq 100); do
        curl -sf -o /dev/null "http://127.0.0.1:${ohttp[$1]}/api/stream" && return 0
        sleep 0.1
    done
    die "origin $1 did not start (see $dir/$1/logs/error.log)"
}
# the master is gone (killed by scale.pl): reap it, start it again
restart_origin() {
    wait "${omaster[$1]}" 2>/dev/null || true
    start_origin "$1" "${ohost[$1]:-}"
}

edge=$(port) bal=$(port)
mkdir -p "$dir/edge/logs" "$dir/edge/tmp" "$dir/balancer/logs"
"$top/scripts/render-conf.sh" "$top/nginx-conf/edge.conf" "$dir/edge/nginx.conf" \
    EDGE_PORT="127.0.0.1:$edge" EDGE_TLS_PORT="127.0.0.1:$(port)" \
    TLS_CERT="$cert" TLS_KEY="$tls_key" ORIGIN="127.0.0.1:${ohttp[a]}" \
    REDIS_ADDR="127.0.0.1:$rport" SECRET=unused PREFIX="$dir/edge" MODULES="$build/modules"
"$top/scripts/render-conf.sh" "$top/nginx-conf/balancer.conf" "$dir/balancer/nginx.conf" \
    RTMP_PORT="127.0.0.1:$bal" RTMPS_PORT="127.0.0.1:$(port)" \
    ORIGIN_RTMP_SERVERS="server 127.0.0.1:${ortmp[a]}; server 127.0.0.1:${ortmp[b]};" \
    ORIGIN_RTMPS_SERVERS="server 127.0.0.1:${ortmps[a]}; server 127.0.0.1:${ortmps[b]};" \
    STREAM_MODULE_LINE="$stream_line" PREFIX="$dir/balancer"
chmod -R 777 "$dir/edge"
for n in edge balancer; do
    "$nginx" -p "$dir/$n" -c "$dir/$n/nginx.conf" -e "$dir/$n/logs/error.log" -t -q \
        || die "nginx -t failed for $dir/$n/nginx.conf"
    "$nginx" -p "$dir/$n" -c "$dir/$n/nginx.conf" -e "$dir/$n/logs/error.log" -g 'daemon off;' &
    pids+=($!)
done
start_origin a
start_origin b
sleep 1

export BALANCER=$bal EDGE=$edge HTTP_A=${ohttp[a]} HTTP_B=${ohttp[b]} REDIS_PORT=$rport \
    PREFIX_A=$dir/a PREFIX_B=$dir/b KEY=$key FFMPEG_LOG=$dir/ffmpeg.log

load_note() {
    echo "load:      $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min) at $1; other processes busy: $(ps -eo pcpu=,comm= --sort=-pcpu | head -5 | awk '{ printf "%s %s%%, ", $2, $1 }')"
}

{
    echo "Streamline scale-out (bench/scale.sh)"
    echo "date:      $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "commit:    $commit, modules from $build/modules"
    echo "machine:   nproc $(nproc), $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), Linux $(uname -r)"
    echo "nginx:     $("$nginx" -v 2>&1 | sed 's/^nginx version: //'); ffmpeg $(ffmpeg -version | head -1 | awk '{ print $3 }'); redis $(redis-server --version | awk '{ print $3 }' | sed 's/^v=//')"
    echo "config:    nginx-conf/origin.conf x2 (worker_processes auto, streamline_state_ttl 15s), edge.conf, balancer.conf, as shipped"
    echo "publisher: ffmpeg -re testsrc2 320x240 25 fps, x264 ultrafast zerolatency, 2 s GOP, AAC, through the balancer (the origins' ladder on top)"
    load_note start
    if [ -n "${NOTE:-}" ]; then echo "note:      $NOTE"; fi
    echo
} >> "$out"

# --- 1. api -----------------------------------------------------------------

if [[ " $parts " == *" api "* ]]; then
    log "api: $api_runs publishes and stops through the balancer"
    {
        echo "== 1. publish -> /api/stream live on every node; stop -> idle ($api_runs runs) =="
        echo
        perl "$top/bench/scale.pl" api "$api_runs"
        echo
    } >> "$out"
    tail -n 12 "$out" >&2
fi

# --- 2. failover -----------------------------------------------------------------

fo_run() {     # delay retry -> a line in $out, the dead origin restarted
    local line dead
    line=$(perl "$top/bench/scale.pl" failover "$1" "$2") || true
    echo "  $line" >> "$out"
    log "failover: $line"
    dead=$(grep -o 'owner=[ab]' <<< "$line" | head -1 | cut -d= -f2)
    if [ -n "$dead" ]; then restart_origin "$dead"; fi
    # the balancer leaves a refused origin alone for 10 s (fail_timeout)
    sleep 11
}
if [[ " $parts " == *" failover "* ]]; then
    echo "== 2. owner failover gap seen by a viewer through the edge (kill -9 of the owner's nginx) ==" >> "$out"
    echo >> "$out"
    for d in $delays; do
        echo "same host, publisher back through the balancer ${d} s after the kill ($fo_runs runs):" >> "$out"
        for (( i = 1; i <= fo_runs; i++ )); do
            log "failover: same host, delay $d, run $i"
            fo_run "$d" 2
        done
        perl -ne 'push @g, $1 if /gap_ms=(\d+)/;
            END { @g = sort { $a <=> $b } @g; printf "  median gap %s ms (min %s, max %s, %d runs)\n\n",
                  $g[$#g / 2] // "-", $g[0] // "-", $g[-1] // "-", scalar @g }' \
            <<< "$(tail -n "$fo_runs" "$out")" >> "$out"
    done
    if [ "$oh_runs" -gt 0 ] && [ "$(id -u)" = 0 ] && command -v unshare >/dev/null \
       && unshare -u true 2>/dev/null; then
        # two hosts: each origin with a host name of its own
        for o in a b; do
            kill -TERM "${omaster[$o]}"; wait "${omaster[$o]}" 2>/dev/null || true
            ohost[$o]=scale-host-$o
            start_origin "$o" "${ohost[$o]}"
        done
        sleep 11
        echo "two hosts (each origin in a UTS namespace with a host name of its own), publisher retried every 2 s from the kill ($oh_runs runs):" >> "$out"
        for (( i = 1; i <= oh_runs; i++ )); do
            log "failover: two hosts, run $i"
            fo_run 0 2
        done
        perl -ne 'push @g, $1 if /gap_ms=(\d+)/;
            END { @g = sort { $a <=> $b } @g; printf "  median gap %s ms (min %s, max %s, %d runs)\n\n",
                  $g[$#g / 2] // "-", $g[0] // "-", $g[-1] // "-", scalar @g }' \
            <<< "$(tail -n "$oh_runs" "$out")" >> "$out"
    else
        echo "two hosts: skipped (OTHER_HOST_RUNS=0, or not root, or no unshare -u)" >> "$out"
    fi
    cat >> "$out" <<'EOF'
  gap_ms: the kill -> the viewer's first part (via the edge) that the new owner served (it is in the new
  owner's access log); publish_ms: the kill -> the publisher's (first) restart; takeover_ms: the kill ->
  the state in Redis says live on the new owner; first_part_on_disk_ms: the kill -> the new owner's first
  part of the source rendition in its media directory (polled every 10 ms or so: it can come out a few ms
  after the viewer's figure); refused: the publisher's attempts refused before one was taken;
  last_part_before_kill_ms: how long before the kill the viewer got its last part from the old owner;
  old_parts_after_kill: parts the viewer got after the kill that are not new parts of the new owner (the
  old owner's, sent just before the kill, or the new owner's own from its earlier stream of the channel,
  still listed within the DVR grace and answered from the edge's cache).

EOF
fi

# --- 3. viewers ----------------------------------------------------------------

if [[ " $parts " == *" viewers "* ]]; then
    # stop ours first: capacity.sh wants the machine
    sc_stop_all() {
        local i
        for (( i = ${#pids[@]} - 1; i >= 0; i-- )); do kill -TERM "${pids[i]}" 2>/dev/null || true; done
        for (( i = ${#pids[@]} - 1; i >= 0; i-- )); do wait "${pids[i]}" 2>/dev/null || true; done
        pids=()
    }
    sc_stop_all
    vlist=${VIEWERS-100 1000}
    log "viewers: bench/capacity.sh, VIEWERS=\"$vlist\""
    CHANNELS="" VIEWERS="$vlist" VIEWER_DURATION=${VIEWER_DURATION:-30} DURATION=${VIEWER_DURATION:-30} \
        RESULTS="$dir/capacity.txt" BUILD_DIR="$build" "$top/bench/capacity.sh" >&2 \
        || log "capacity.sh failed"
    {
        echo "== 3. edge fan-out: bench/capacity.sh viewers (CHANNELS=\"\" VIEWERS=\"$vlist\" VIEWER_DURATION=${VIEWER_DURATION:-30}) =="
        echo "   one origin (origin.conf, 720p30 source, the shipped ladder) behind edge.conf (streamline_route, streamline_collapse)"
        echo
        if [ -s "$dir/capacity.txt" ]; then
            sed -n '/^== Viewers/,/^Columns/p' "$dir/capacity.txt" | sed '$d'
            perl -ne 'if (/^\s*(\d+) (yes|NO)\s/) { my @f = split;
                    printf "  V=%d: collapse ratio %.1f (edge %s req/s, origin %s req/s)\n", $f[0], $f[13] ? $f[7] / $f[13] : 0, $f[7], $f[13] }' \
                "$dir/capacity.txt"
        else
            echo "  capacity.sh wrote nothing"
        fi
        echo
    } >> "$out"
fi

load_note end >> "$out"
mkdir -p "$(dirname "$RESULTS")"
cp "$out" "$RESULTS.tmp" && mv "$RESULTS.tmp" "$RESULTS"
cat "$out"
echo "scale: $RESULTS" >&2
