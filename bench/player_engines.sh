#!/usr/bin/env bash
# bench/player_engines.sh [seconds]: the player's playback engines compared,
# in one run on this machine, and glass-to-glass latency through the
# project's player (html/dist, built by `make page`); bench/player.sh runs
# it as its "engines" section:
#   1. the page with hls.js through our Video.js source handler (engine=hlsjs),
#   2. the page with Video.js's own VHS (engine=vhs),
#   3. plain hls.js (html/test/glass.html, lowLatencyMode) on the source
#      rendition, as the reference,
# first on a fresh stream (a DVR window of seconds), then with a long DVR
# window: a filler stream of DVR_HOURS (default 4) hours of media is
# published at FILL_SPEED (default 100) times real time, it ends, and the
# live source republishes within the grace, so the playlists the players
# refresh carry the whole window (7,200 segments at 4 hours).
#
# Settings as shipped (2 s segments, 250 ms parts, 4 h window) with a cheap
# ladder (source 640x360 + 180p, x264 ultrafast) so that 2 cores can fill
# the window quickly.  The live source (ffmpeg lavfi, 640x360 30 fps,
# 1 s keyframes) paints the wall clock into every frame as 32 blocks; the
# page reads them back from every frame shown (bench/player.mjs).  Per
# run: median and p90 latency, stalls, JS heap at start and end (after a
# GC), main-thread busy time, playlist requests and bytes.
# Each run lasts [seconds] (default 60) after 5 s of warm-up.
set -euo pipefail

secs=${1:-60}
hours=${DVR_HOURS:-4}
speed=${FILL_SPEED:-100}
. "$(dirname "$0")/lib.sh"
bench_init player

[ -f "$top/html/dist/index.html" ] || make -C "$top" page >/dev/null
bench_redis

{ bench_conf_head 2 1024; cat <<EOF; } > "$dir/nginx.conf"
rtmp {
    access_log off;
    server {
        listen 127.0.0.1:$rtmp;
        application live {
            live on;
            streamline on;
            streamline_media_path $dir/media;
            streamline_dvr_window ${hours}h;
            streamline_dvr_grace 300s;
            streamline_rendition 180p 320x180 300k preset=ultrafast;
        }
    }
}
http {
    access_log off;
    types { application/vnd.apple.mpegurl m3u8; video/mp4 mp4 m4s;
            text/html html; text/javascript js; text/css css; }
    client_body_temp_path $dir/tmp; proxy_temp_path $dir/tmp;
    fastcgi_temp_path $dir/tmp; uwsgi_temp_path $dir/tmp; scgi_temp_path $dir/tmp;
    server {
        listen 127.0.0.1:$http;
        root $top/html/dist;
        location / { add_header Cache-Control no-cache; }
        location /api/stream { streamline_api; }
        location /hls/ { alias $dir/media/; streamline_hls; }
        location /hlsjs/ { alias $top/html/node_modules/hls.js/dist/; }
        location /test/ { alias $top/html/test/; }
    }
}
EOF
bench_nginx

live_pid=
live() {        # the glass source, in real time, until killed
    ffmpeg -nostdin -hide_banner -loglevel error -re \
        -f lavfi -i testsrc2=size=640x360:rate=30 \
        -f lavfi -i "color=c=black:s=512x32:r=30" \
        -filter_complex "[1:v]settb=1/1000,setpts='RTCTIME/1000',geq=lum='255*mod(floor(T*1000/pow(2\,floor(X/16)))\,2)':cb=128:cr=128,setpts=N/30/TB[bits];[0:v][bits]overlay=0:0[out]" \
        -map '[out]' -c:v libx264 -preset ultrafast -tune zerolatency -g 30 \
        -keyint_min 30 -sc_threshold 0 -pix_fmt yuv420p -flags +global_header -an \
        -f flv "rtmp://127.0.0.1:$rtmp/live/$key" 2>>"$dir/ffmpeg.log" &
    live_pid=$!
    pids+=($live_pid)
}

window() {      # segments and seconds in the source playlist
    curl -s "http://127.0.0.1:$http/hls/main/source/index.m3u8" \
        | perl -ne '$n++, $s += $1 if /^#EXTINF:([\d.]+)/; END { printf "%d segments, %.0f s", $n, $s }'
}

measure() {     # label url
    # the result is one JSON line, a few hundred KB: a file, not an argument
    node "$top/bench/player.mjs" "$2" "$secs" 640 2>&1 | tail -1 > "$dir/run.json"
    perl -MJSON::PP -e '
        my ($label, $file, $secs) = @ARGV;
        my $json = do { local (@ARGV, $/) = ($file); <> };
        my $s = eval { decode_json($json) } or die "$label: no result: $json\n";
        my @l = sort { $a <=> $b } @{$s->{latency}};
        unless (@l) {   # e.g. a player that started far back in the filler
            printf "%-30s no painted clock read in %d s (%d stalls, heap %.1f MB, height %d)%s\n",
                $label, $secs, $s->{stalls}, $s->{heap1} / 1048576, $s->{height},
                @{$s->{errors}} ? "  errors: @{$s->{errors}}" : "";
            exit 0;
        }
        printf "%-30s median %5.2f s  p90 %5.2f s  %4d frames  %d stalls  heap %5.1f -> %5.1f MB  "
             . "main thread %4.1f%%  playlists %3d (%6.1f KB/s)  %dp%s%s\n",
            $label, $l[int(@l / 2)] / 1000, $l[int(@l * 0.9)] / 1000, scalar @l,
            $s->{stalls}, $s->{heap0} / 1048576, $s->{heap1} / 1048576,
            100 * $s->{task} / $secs, $s->{playlists}{count},
            $s->{playlists}{bytes} / 1024 / $secs, $s->{height},
            defined $s->{seekable} ? sprintf("  scrubber %.0f s", $s->{seekable}) : "",
            ($s->{playlists}{unknown} ? "  ($s->{playlists}{unknown} playlist sizes unknown)" : "") .
            (@{$s->{errors}} ? "  errors: @{$s->{errors}}" : "");
    ' "$1" "$dir/run.json" "$secs"
}

runs() {
    measure "player, hls.js (ours)" "http://127.0.0.1:$http/?engine=hlsjs"
    measure "player, VHS (Video.js)" "http://127.0.0.1:$http/?engine=vhs"
    measure "plain hls.js (reference)" \
        "http://127.0.0.1:$http/test/glass.html?ll=1&src=/hls/main/source/index.m3u8"
}

echo "player engines, ${secs}s of playback each: video.js $(node -p "require('$top/html/node_modules/video.js/package.json').version"), hls.js $(node -p "require('$top/html/node_modules/hls.js/package.json').version"), chromium $(/usr/bin/chromium --version 2>/dev/null | awk '{print $2}')"

live
sleep 8
echo "-- fresh stream (window: $(window) at the start)"
runs

echo "-- filling a ${hours} h DVR window at ${speed}x ..."
kill "$live_pid"; wait "$live_pid" 2>/dev/null || true
t0=$(date +%s)
ffmpeg -nostdin -hide_banner -loglevel error -readrate "$speed" \
    -f lavfi -i testsrc2=size=640x360:rate=5 -t $(( hours * 3600 )) \
    -c:v libx264 -preset ultrafast -tune zerolatency -g 10 -pix_fmt yuv420p -an \
    -f flv "rtmp://127.0.0.1:$rtmp/live/$key" 2>>"$dir/ffmpeg.log"
echo "   filled in $(( $(date +%s) - t0 )) s"
live
sleep 10
echo "-- long window (window: $(window) at the start)"
runs
if grep -E '\[(alert|emerg)\]' "$dir/error.log"; then
    echo "error.log has alerts" >&2
    exit 1
fi
