#!/usr/bin/env bash
# bench/glass.sh [seconds]: glass-to-glass latency, in one run on this
# machine, of
#   1. Streamline's LL-HLS (1 s segments, 250 ms parts) played by hls.js
#      1.5 in low-latency mode,
#   2. the shipped defaults (2 s segments, 250 ms parts), low-latency mode,
#   3. the stream of 1. as plain HLS (hls.js without low-latency mode),
#   4. stock nginx-rtmp HLS (hls on; hls_fragment 1s; hls_playlist_length
#      4s: about as low as it goes) played by hls.js,
# in Debian's headless chromium (playwright-core, html/test/glass.html).
#
# The source (ffmpeg lavfi, 640x360 30 fps, x264 ultrafast zerolatency,
# 1 s keyframes) paints into every frame, as 32 blocks, the wall clock of
# the moment it makes the frame (RTCTIME; until 2026-12-01 the clock at
# ffmpeg's start plus the frame's timestamp, which counted ffmpeg's start-up
# and any lag of the source as latency); the page reads them back from each
# frame it shows and compares them with its own clock.  ffmpeg publishes once and tees the stream to both
# applications.  Median and p90 over [seconds] (default 30) of playback
# each, after 2 s of warm-up.
set -euo pipefail

secs=${1:-30}
. "$(dirname "$0")/lib.sh"
bench_init glass

[ -d "$top/html/node_modules/playwright-core" ] || (cd "$top/html" && npm ci --no-audit --no-fund >/dev/null)

bench_redis
REDIS_PORT=$rport "$top/scripts/streamline-key" set defaults "$key-2" >/dev/null

{ bench_conf_head 1 1024; cat <<EOF; } > "$dir/nginx.conf"
rtmp {
    access_log off;
    server {
        listen 127.0.0.1:$rtmp;
        application live {
            live on;
            streamline on;
            streamline_media_path $dir/media;
            streamline_segment 1s;
            streamline_part 250ms;
        }
        application defaults {
            live on;
            streamline on;
            streamline_media_path $dir/media;
        }
        application stock {
            live on;
            hls on;
            hls_path $dir/stock;
            hls_fragment 1s;
            hls_playlist_length 4s;
        }
    }
}
http {
    access_log off;
    types { application/vnd.apple.mpegurl m3u8; video/mp2t ts; video/mp4 mp4 m4s;
            text/html html; text/javascript js; }
    client_body_temp_path $dir/tmp; proxy_temp_path $dir/tmp;
    fastcgi_temp_path $dir/tmp; uwsgi_temp_path $dir/tmp; scgi_temp_path $dir/tmp;
    server {
        listen 127.0.0.1:$http;
        location /hls/ { alias $dir/media/; streamline_hls; }
        location /stock/ { alias $dir/stock/; add_header Cache-Control no-cache; }
        location /hlsjs/ { alias $top/html/node_modules/hls.js/dist/; }
        location /test/ { alias $top/html/test/; }
    }
}
EOF
bench_nginx

total=$(( 4 * (secs + 12) + 10 ))
ffmpeg -nostdin -hide_banner -loglevel error -re \
    -f lavfi -i testsrc2=size=640x360:rate=30 \
    -f lavfi -i "color=c=black:s=512x32:r=30" \
    -filter_complex "[1:v]settb=1/1000,setpts='RTCTIME/1000',geq=lum='255*mod(floor(T*1000/pow(2\,floor(X/16)))\,2)':cb=128:cr=128,setpts=N/30/TB[bits];[0:v][bits]overlay=0:0[out]" \
    -map '[out]' -t "$total" -c:v libx264 -preset ultrafast -tune zerolatency -g 30 \
    -keyint_min 30 -sc_threshold 0 -pix_fmt yuv420p -flags +global_header -an \
    -f tee "[f=flv:onfail=ignore]rtmp://127.0.0.1:$rtmp/live/$key|[f=flv:onfail=ignore]rtmp://127.0.0.1:$rtmp/defaults/$key-2|[f=flv:onfail=ignore]rtmp://127.0.0.1:$rtmp/stock/main" \
    2>"$dir/ffmpeg.log" &
pids+=($!)
sleep 6

measure() {     # label url ll
    local out
    out=$(cd "$top/html" && node test/play.mjs \
        "http://127.0.0.1:$http/test/glass.html?ll=$3&src=$2" "$secs" 2>&1 | tail -1)
    perl -MJSON::PP -e '
        my ($label, $json) = @ARGV;
        my $s = eval { decode_json($json) } or die "$label: no result: $json\n";
        my @l = sort { $a <=> $b } @{$s->{latency}};
        die "$label: no frames read (errors: @{$s->{errors}})\n" unless @l;
        printf "%-44s median %5.2f s  p90 %5.2f s  (%d frames, %d stalls%s)\n",
            $label, $l[int(@l / 2)] / 1000, $l[int(@l * 0.9)] / 1000,
            scalar @l, $s->{stalls}, @{$s->{errors}} ? ", errors: @{$s->{errors}}" : "";
    ' "$1" "$out"
}

echo "glass-to-glass latency, ${secs}s of playback each (hls.js $(node -p "require('$top/html/node_modules/hls.js/package.json').version"), chromium $(/usr/bin/chromium --version 2>/dev/null | awk '{print $2}'))"
measure "Streamline LL-HLS, hls.js lowLatencyMode" "/hls/main/source/index.m3u8" 1
measure "Streamline defaults (2 s, 250 ms parts), LL" "/hls/defaults/source/index.m3u8" 1
measure "Streamline, hls.js without low latency" "/hls/main/source/index.m3u8" 0
measure "stock nginx-rtmp HLS (1 s fragments)" "/stock/main.m3u8" 0
