#!/usr/bin/env bash
# bench/end.sh: how long after a publisher ends every media playlist of its
# channel carries EXT-X-ENDLIST (t/61 checks only that it comes within the
# grace: a loaded machine must not fail the suite).
#
#   bench/end.sh [runs]              (default 5 runs of each kind)
#
# One nginx (1 worker), 1 s segments, a 180p ultrafast rung.  Each run
# publishes 4 s of 640x360 H.264 + AAC, then either lets ffmpeg end by
# itself (deleteStream) or SIGKILLs it; the end is the moment ffmpeg's exit
# is seen, and the playlists are polled every 10 ms from then on.  Prints
# every run, then the median and the maximum of each kind, in ms.
set -euo pipefail

runs=${1:-5}
. "$(dirname "$0")/lib.sh"
bench_init end
bench_redis

{ bench_conf_head 1 256; cat <<EOF; } > "$dir/nginx.conf"
rtmp {
    access_log off;
    server {
        listen 127.0.0.1:$rtmp;
        application live {
            live on;
            streamline on;
            streamline_media_path $dir/media;
            streamline_segment 1s;
            streamline_dvr_grace 3s;
            streamline_rendition low 320x180 300k preset=ultrafast;
        }
    }
}
http {
    access_log off;
    client_body_temp_path $dir/tmp; proxy_temp_path $dir/tmp;
    fastcgi_temp_path $dir/tmp; uwsgi_temp_path $dir/tmp; scgi_temp_path $dir/tmp;
    server {
        listen 127.0.0.1:$http;
        location /hls/ { alias $dir/media/; streamline_hls; }
    }
}
EOF
bench_nginx

now_ms() { date +%s%3N; }

ended() {   # both media playlists of main carry ENDLIST
    local r
    for r in source low; do
        curl -fsS "http://127.0.0.1:$http/hls/main/$r/index.m3u8" 2>/dev/null \
            | grep -q '^#EXT-X-ENDLIST' || return 1
    done
}

one() {     # one run: prints the ms from ffmpeg's end to ENDLIST everywhere
    local how=$1 pid t0 i
    ffmpeg -nostdin -hide_banner -loglevel error -re \
        -f lavfi -i testsrc2=size=640x360:rate=30 \
        -f lavfi -i sine=frequency=440:sample_rate=48000 -t 4 \
        -c:v libx264 -preset ultrafast -g 30 -keyint_min 30 -sc_threshold 0 \
        -pix_fmt yuv420p -c:a aac -f flv "rtmp://127.0.0.1:$rtmp/live/$key" &
    pid=$!
    if [ "$how" = kill ]; then
        sleep 3
        kill -KILL "$pid"
    fi
    wait "$pid" 2>/dev/null || true
    t0=$(now_ms)
    for i in $(seq 1000); do
        ended && { echo $(( $(now_ms) - t0 )); return; }
        sleep 0.01
    done
    echo timeout
}

stats() {   # median and max of the numbers on stdin
    sort -n | awk '{ v[NR] = $1 } END { printf "median %d ms, max %d ms (%d runs)\n", v[int((NR + 1) / 2)], v[NR], NR }'
}

for how in end kill; do
    results=()
    for _ in $(seq "$runs"); do
        results+=("$(one "$how")")
        sleep 4     # past the grace: the next run starts a new stream
    done
    echo "ENDLIST after the publisher's $how: ${results[*]} ms"
    printf '%s\n' "${results[@]}" | grep -v timeout | stats
done
