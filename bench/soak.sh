#!/usr/bin/env bash
# bench/soak.sh [seconds]: one channel with the shipped ladder
# (nginx-conf/origin.conf: source + 480p + 360p, 2 workers) for [seconds]
# (default 1800), a 720p30 publisher that reconnects the way OBS does, and
# viewers polling every rendition (bench/soak_viewers.pl), while
#   at 1/4  Redis is shut down; the broadcaster stops and starts again
#           while it is away (two transitions wait in the queue); Redis
#           comes back (appendonly: it keeps its data)
#   at 1/2  the worker holding the publisher is killed (SIGKILL, as the
#           OOM killer does); the publisher reconnects
#   at 3/4  Redis is restarted while the channel stays live
#   at end  the broadcaster stops.
# Reports: every transition the workers logged against the
# streamline:history entries (none lost, same order), the final state,
# the RSS and open descriptors of nginx's processes a minute in and at the
# end (and every minute in samples.csv), viewer requests by status with
# every failure, how long the broadcaster was refused after the kill, and
# alerts.  Results go to stdout and bench/results/soak.txt (RESULTS=).
# KEEP=1 keeps the temp dir.  VIEWERS (default 10).  DVR_WINDOW (default
# the shipped 4h): a window a run can fill, to see whether memory levels.
set -euo pipefail

secs=${1:-1800}
viewers=${VIEWERS:-10}
. "$(dirname "$0")/lib.sh"
bench_init soak
RESULTS=${RESULTS:-$top/bench/results/soak.txt}
commit=$(git -C "$top" rev-parse --short HEAD)

# Redis with its data on disk, as make run keeps it
mkdir -p "$dir/redis" "$dir/logs" "$dir/tmp"
redis_start() {
    redis-server --port "$rport" --dir "$dir/redis" --save '' \
        --appendonly yes --logfile "$dir/logs/redis.log" &
    redis_pid=$!
    for _ in $(seq 100); do redis-cli -p "$rport" ping >/dev/null 2>&1 && return; sleep 0.1; done
    echo "soak: redis-server did not start" >&2; exit 1
}
redis_start
soak_cleanup() {
    local rc=$? keep=${KEEP:-}
    set +e
    touch "$dir/stop" 2>/dev/null
    [ -f "$dir/ffmpeg.pid" ] && kill -INT "$(cat "$dir/ffmpeg.pid")" 2>/dev/null
    KEEP=1 bench_cleanup
    kill "$redis_pid" 2>/dev/null && wait "$redis_pid" 2>/dev/null
    [ -n "$keep" ] || rm -rf "$dir"
    exit $rc
}
trap soak_cleanup EXIT
REDIS_PORT=$rport "$top/scripts/streamline-key" set main "$key" >/dev/null

bench_origin_conf "$dir/nginx.conf" "$dir" "$rtmp" "$http" "$(port)"
# the transitions are logged at info; DVR_WINDOW (e.g. 2m) lets a short
# run fill the window, to tell memory that follows the window from a leak
sed -i -e 's|^error_log \(.*\) notice;|error_log \1 info;|' \
       -e 's|^worker_processes auto;|worker_processes 2;|' \
       -e "s|streamline_dvr_window 4h;|streamline_dvr_window ${DVR_WINDOW:-4h};|" \
       "$dir/nginx.conf"
"$nginx" -p "$dir" -c "$dir/nginx.conf" -e "$dir/logs/error.log" -g 'daemon off;' &
nginx_pid=$!
pids+=($nginx_pid)

# the broadcaster: reconnects 2 s after a drop, pauses while $dir/pause
# exists; each start is logged
publisher() {
    while [ ! -e "$dir/stop" ]; do
        if [ -e "$dir/pause" ]; then sleep 0.2; continue; fi
        echo "$(date +%s.%N) start" >> "$dir/publisher.log"
        ffmpeg -hide_banner -loglevel error -re \
            -f lavfi -i "testsrc2=size=1280x720:rate=30" \
            -f lavfi -i "sine=frequency=440:sample_rate=48000" \
            -c:v libx264 -preset veryfast -tune zerolatency -g 60 \
            -b:v 2500k -pix_fmt yuv420p -c:a aac -b:a 128k \
            -f flv "rtmp://127.0.0.1:$rtmp/live/$key" \
            2>> "$dir/logs/ffmpeg.log" &
        echo $! > "$dir/ffmpeg.pid"
        wait $! && rc=0 || rc=$?
        echo "$(date +%s.%N) exit $rc" >> "$dir/publisher.log"
        [ -e "$dir/stop" ] || sleep 2
    done
}
publisher_stop() { kill -INT "$(cat "$dir/ffmpeg.pid")" 2>/dev/null || true; }

state() { redis-cli -p "$rport" get streamline:state:main 2>/dev/null; }
lives() { grep -c 'channel "main" is live' "$dir/logs/error.log" || true; }

wait_live() {           # seconds; prints how long it took
    local t0 n=$1 start; start=$(date +%s.%N)
    for _ in $(seq $((n * 10))); do
        case $(curl -s "http://127.0.0.1:$http/api/stream") in
            *'"live"'*) echo "$(echo "$(date +%s.%N) - $start" | bc)"; return 0;;
        esac
        sleep 0.1
    done
    echo "never"; return 1
}

holder() {              # the worker holding the publisher's connection
    ss -tnpH state established "( sport = :$rtmp )" \
        | grep -o 'pid=[0-9]*' | head -n 1 | cut -d= -f2
}

sample() {              # label: a line per nginx process
    local p role h
    h=$(holder)
    for p in $nginx_pid $(pgrep -P "$nginx_pid"); do
        if [ "$p" = "$nginx_pid" ]; then role=master
        elif [ "$p" = "$h" ]; then role=publisher-worker
        else role=worker; fi
        printf '%s,%s,%s,%s,%s,%s\n' "$1" "$(date +%s)" "$role" "$p" \
            "$(awk '/^VmRSS/ {print $2}' "/proc/$p/status" 2>/dev/null)" \
            "$(ls "/proc/$p/fd" 2>/dev/null | wc -l)" >> "$dir/samples.csv"
    done
}

echo "label,time,role,pid,rss_kb,fds" > "$dir/samples.csv"
sleep 1
publisher &
pub_pid=$!
pids+=($pub_pid)
first=$(wait_live 30) || { echo "soak: the channel never went live" >&2; exit 1; }
# viewers come once there is something to play (the page waits the same way)
for _ in $(seq 100); do
    curl -sf -o /dev/null "http://127.0.0.1:$http/hls/main/master.m3u8" && break
    sleep 0.1
done
perl "$top/bench/soak_viewers.pl" "$http" main "$viewers" "$dir/viewers.txt" &
viewers_pid=$!
pids+=($viewers_pid)

t0=$(date +%s)
at() { local t=$((t0 + $1)); while [ "$(date +%s)" -lt $t ]; do
         [ "$(( ($(date +%s) - t0) % 60 ))" = 0 ] && sample minute && sleep 1
         sleep 0.5; done; }

at 60
sample start

at $((secs / 4))
echo "$(date +%s) redis shutdown, publisher stops and starts while it is away" >> "$dir/events.log"
redis-cli -p "$rport" shutdown >/dev/null 2>&1 || true
wait "$redis_pid" 2>/dev/null || true
touch "$dir/pause"; publisher_stop; sleep 4
rm -f "$dir/pause"; sleep 6
redis_start
echo "$(date +%s) redis back" >> "$dir/events.log"

at $((secs / 2))
worker=$(holder)
before=$(lives)
echo "$(date +%s) SIGKILL worker $worker (holds the publisher)" >> "$dir/events.log"
kill -KILL "$worker"
kill_t=$(date +%s.%N)
back=never
for _ in $(seq 600); do
    if [ "$(lives)" -gt "$before" ]; then back=$(echo "$(date +%s.%N) - $kill_t" | bc); break; fi
    sleep 0.1
done
echo "$(date +%s) publisher accepted again after ${back} s" >> "$dir/events.log"

at $((secs * 3 / 4))
echo "$(date +%s) redis restart while live" >> "$dir/events.log"
redis-cli -p "$rport" shutdown >/dev/null 2>&1 || true
wait "$redis_pid" 2>/dev/null || true
sleep 5
redis_start
echo "$(date +%s) redis back" >> "$dir/events.log"

at "$secs"
sample end
touch "$dir/stop"
publisher_stop
wait "$pub_pid" 2>/dev/null || true
kill -TERM "$viewers_pid"; wait "$viewers_pid" 2>/dev/null || true
for _ in $(seq 100); do case $(state) in *idle*) break;; esac; sleep 0.1; done
final=$(state)
endlist=$(curl -s "http://127.0.0.1:$http/hls/main/source/index.m3u8" | grep -c ENDLIST || true)

# transitions: what the workers logged, what Redis holds, in order
# (an orphaned stream's idle is written by whichever worker finds it: its
# worker died, or the API saw the dead owner's live state)
grep -o 'channel "main" is \(live\|idle\)\|channel "main": its worker [0-9]* died, the stream ended\|channel "main": the live state of the stale owner' \
    "$dir/logs/error.log" \
    | sed -e 's/.* is live$/live/' -e 's/.* is idle$/idle/' \
          -e 's/.*the stream ended$/idle/' -e 's/.*stale owner$/idle/' \
    > "$dir/logged.txt"
redis-cli -p "$rport" --raw xrange streamline:history - + \
    | awk 'prev == "status" {print} {prev = $0}' > "$dir/history.txt"
logged=$(wc -l < "$dir/logged.txt")
stored=$(wc -l < "$dir/history.txt")
if cmp -s "$dir/logged.txt" "$dir/history.txt"; then same=yes; else same=NO; fi
alerts=$(grep -E '\[(alert|emerg)\]|Sanitizer' "$dir/logs/error.log" \
         | grep -v "worker process $worker exited on signal 9" || true)

report() {
    echo "soak: $secs s, one channel, origin.conf ladder, 2 workers, $viewers viewers, DVR window ${DVR_WINDOW:-4h}"
    echo "  commit     $commit (HEAD when the run began)"
    echo "  first live ${first} s after the publisher started"
    sed 's/^/  event      /' "$dir/events.log"
    echo "  transitions logged $logged, in streamline:history $stored, same order: $same"
    echo "  final state $final; ENDLIST in the source playlist: $endlist"
    echo "  publisher sessions: $(grep -c start "$dir/publisher.log")"
    echo "  processes (rss kB, open fds), a minute in -> at the end (the"
    echo "  worker that holds the publisher changes with the kill):"
    awk -F, '$1 == "start" || $1 == "end"' "$dir/samples.csv" \
        | awk -F, '{v[$3] = v[$3] sprintf(" %s: pid %s %s kB %s fds;", $1, $4, $5, $6)}
                   END {for (k in v) print "    " k v[k]}' | sort
    awk -F, 'NR > 1 && $5 != "" {if ($5 > r[$3]) r[$3] = $5; if ($6 > f[$3]) f[$3] = $6}
             END {for (k in r) printf "    %s: at most %s kB, %s fds, over the run\n", k, r[k], f[k]}' \
        "$dir/samples.csv" | sort
    echo "  viewers: $(grep -c '^failure' "$dir/viewers.txt") failed requests, $(grep -c '^stall' "$dir/viewers.txt") stalls"
    sed 's/^/    /' "$dir/viewers.txt" | head -40
    if [ -n "$alerts" ]; then echo "  ALERTS:"; echo "$alerts" | sed 's/^/    /'
    else echo "  alerts: none (besides the kill's own line)"; fi
}
report | tee "$RESULTS"
cp "$dir/samples.csv" "${RESULTS%.txt}-samples.csv"
[ "$same" = yes ] && [ -z "$alerts" ] && ! grep -q '^stall' "$dir/viewers.txt"  && case $final in *idle*) true;; *) false;; esac
