#!/usr/bin/env bash
# bench/run.sh: Streamline's benchmarks (`make bench` builds, then runs this).
#
#   1. bench/api.sh      GET /api/stream throughput against nginx's own
#                        `return 200` of the same answer, same nginx
#   2. bench/latency.pl  publish -> API live, and pub/sub event -> every
#                        worker's cache, in milliseconds
#
# Writes the machine, the versions, the commands and both reports to
# bench/results/latest.txt (RESULTS=path to write elsewhere) and prints it.
# Each benchmark starts its own redis-server, nginx and ffmpeg on free
# loopback ports in a temp dir, and stops them on exit.  About 2 minutes.
# Their knobs (ROUNDS, DURATION, RUNS, EVENT_RUNS, ...) pass through: see
# the scripts' headers.  BUILD_DIR picks the modules (default: build/).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
export BUILD_DIR=${BUILD_DIR:-$top/build}
export NGINX_BIN=${NGINX_BIN:-/usr/sbin/nginx}
export ROUNDS=${ROUNDS:-10} DURATION=${DURATION:-5s} WARMUP=${WARMUP:-2s}
export THREADS=${THREADS:-2} CONNECTIONS=${CONNECTIONS:-64}
export RUNS=${RUNS:-20} EVENT_RUNS=${EVENT_RUNS:-30} POLL_MS=${POLL_MS:-2}
RESULTS=${RESULTS:-$top/bench/results/latest.txt}

mkdir -p "$(dirname "$RESULTS")"
out=$(mktemp "${TMPDIR:-/tmp}/streamline-bench-XXXXXX.txt")
chmod 644 "$out"
trap 'rm -f "$out"' EXIT

say() { printf '%s\n' "$*" | tee -a "$out"; }

# COMMIT: what the modules in BUILD_DIR were built from, when that is not
# this checkout as it stands
if [ -n "${COMMIT:-}" ]; then
    commit=$COMMIT
else
    commit=$(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo unknown)
    if [ -n "$(git -C "$top" status --porcelain -- ngx_streamline_module 2>/dev/null)" ]; then
        commit="$commit (with uncommitted changes under ngx_streamline_module/)"
    fi
fi

say "Streamline benchmarks ($(basename "$0"))"
say "date:     $(date -u +%Y-%m-%dT%H:%M:%SZ)"
say "commit:   $commit"
say "machine:  nproc $(nproc), $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)," \
    "$(awk '/^MemTotal/ { printf "%.1f GiB RAM", $2 / 1048576 }' /proc/meminfo)," \
    "Linux $(uname -r)"
say "load:     $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min load average before the run)"
# what else is busy: processes above 5% CPU in the second of two top frames
# 1 s apart (the first frame's figures are averages since each one started)
busy() {
    local b
    b=$(top -b -n2 -d1 -w 200 2>/dev/null | awk '/^top -/ { f++ }
        f == 2 && $1 ~ /^[0-9]+$/ && $9 + 0 >= 5 {
            printf "%s%s %s%%", (n++ ? ", " : ""), $12, $9 }')
    echo "${b:-nothing above 5% CPU}"
}
say "busy:     $(busy) (other processes, before the run)"
say "nginx:    $("$NGINX_BIN" -v 2>&1 | sed 's/^nginx version: //'), modules from $BUILD_DIR/modules"
say "redis:    $(redis-server --version | awk '{ print $3 }' | sed 's/^v=//')"
say "wrk:      $(wrk -v 2>&1 | head -1 | awk '{ print $2 }')"
say "ffmpeg:   $(ffmpeg -version | head -1 | awk '{ print $3 }')"
say "perl:     $(perl -e 'printf "%vd", $^V')"
say ""
say "Commands"
say "  publisher: ffmpeg -re -f lavfi -i testsrc2=size=320x240:rate=25 -c:v libx264 -preset ultrafast -tune zerolatency -g 50 -f flv rtmp://127.0.0.1:RTMP_PORT/live/KEY"
say "  load:      wrk -t$THREADS -c$CONNECTIONS -d$DURATION http://127.0.0.1:HTTP_PORT/baseline  and  .../api/stream, alternated, $ROUNDS rounds"
say "  events:    PUBLISH streamline:events '{\"channel\":\"main\",\"status\":\"idle\",\"updatedAt\":\"<now, ISO-8601 ms Z>\"}'"
say "             (the same command redis-cli PUBLISH sends, over a connection kept open)"
say "  held:      bench/held.pl 1000, bench/held.pl 5000 (N keep-alive blocking requests a round, ROUNDS=${ROUNDS_HELD:-5} rounds)"
say "  rerun:     make bench   (or bench/run.sh; bench/api.sh and bench/latency.pl alone)"
say ""

rc=0
say "== 1. API throughput (bench/api.sh) =="
say "wrk, nginx (2 workers), redis-server and ffmpeg share the machine's $(nproc) cores."
"$top/bench/api.sh" 2>&1 | tee -a "$out" || rc=1
say ""
say "== 2. Publish -> API latency (bench/latency.pl) =="
"$top/bench/latency.pl" 2>&1 | tee -a "$out" || rc=1
say ""
say "== 3. Ladder CPU against the ffmpeg command line (bench/ladder.sh) =="
"$top/bench/ladder.sh" "${LADDER_SECONDS:-30}" 2>&1 | grep -v '\.\.\.$' | tee -a "$out" || rc=1
say ""
say "== 4. Held LL-HLS blocking requests (bench/held.pl: client bench/held_client.c, floor bench/held_floor.c) =="
( ulimit -n 20000 2>/dev/null; for n in 1000 5000; do ROUNDS=${ROUNDS_HELD:-5} "$top/bench/held.pl" "$n"; done ) 2>&1 \
    | grep -v '^Error\|Broken pipe' | tee -a "$out" || rc=1
say ""
say "== 5. Glass-to-glass latency (bench/glass.sh) =="
"$top/bench/glass.sh" "${GLASS_SECONDS:-30}" 2>&1 | tee -a "$out" || rc=1
say ""
say "== 6. DVR index at a full 4-hour window (make -C ngx_streamline_module/core bench) =="
make -s -C "$top/ngx_streamline_module/core" bench BUILD_DIR="$BUILD_DIR" 2>&1 | tee -a "$out" || rc=1
say ""
say "== 7. Glass-to-glass through the page on the shipped confs, every rendition, direct and through the edge; the player's engines, fresh and 4-hour window (bench/player.sh) =="
"$top/bench/player.sh" "${PLAYER_SECONDS:-60}" 2>&1 | tee -a "$out" || rc=1
say ""
say "busy:     $(busy) (other processes, after the run)"

if [ "$rc" = 0 ]; then
    cp "$out" "$RESULTS.tmp" && mv "$RESULTS.tmp" "$RESULTS"
    echo
    echo "written to $RESULTS"
else
    echo
    echo "a benchmark failed; $RESULTS left as it was" >&2
fi
exit "$rc"
