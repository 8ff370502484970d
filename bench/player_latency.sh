#!/usr/bin/env bash
# bench/player_latency.sh: glass-to-glass latency through the player page
# on the shipped configuration; bench/player.sh runs it as its "latency"
# section.
#
# nginx-conf/origin.conf and nginx-conf/edge.conf as shipped, rendered by
# scripts/render-conf.sh (the origin's segments, parts, hold-back and
# ladder; worker_processes auto), redis-server, and an OBS-like source:
# ffmpeg, 1280x720 30 fps, x264 veryfast zerolatency at 3 Mb/s, keyframes
# every 2 s, AAC 48 kHz, painting into every frame the wall clock of the
# moment it makes the frame (32 blocks, see bench/player.mjs).  For each
# rendition (the source and every rung of the ladder) the page, pinned to
# it through its quality menu, plays from the origin directly, then through
# the edge; plain hls.js (html/test/glass.html, lowLatencyMode) plays the
# source rendition directly and through the edge, as the floor.  Each run
# lasts LATENCY_SECONDS (default 300) after 5 s of warm-up, one after the
# other on the same stream.
#
# Per run: median and p90 latency, frames read, stalls, and the per-stage
# budget, medians per frame (bench/player.mjs).  When all runs are done the
# stream ends, and the origin's own figures follow, as it logged them at the
# end of the stream: per rendition, how long after the last frame of a part
# came in the part was written, and for the ladder how long after a frame
# came in its encoded frame came out.
#
# LATENCY_RUNS picks runs by label substring (e.g. "source" or "edge");
# KEEP=1 keeps the temp dir (both nginx's logs).
set -euo pipefail

secs=${LATENCY_SECONDS:-300}
only=${LATENCY_RUNS:-}
. "$(dirname "$0")/lib.sh"
bench_init latency

[ -f "$top/html/dist/index.html" ] || make -C "$top" page >/dev/null
[ -d "$top/html/node_modules/playwright-core" ] \
    || (cd "$top/html" && npm ci --no-audit --no-fund >/dev/null)
bench_redis

edge=$(port) edge_tls=$(port) aux=$(port) metrics=$(port)
mkdir -p "$dir/origin/logs" "$dir/origin/tmp" "$dir/edge/logs" "$dir/edge/tmp"
chmod -R 777 "$dir/origin" "$dir/edge"

bench_origin_conf "$dir/origin.conf" "$dir/origin" "$rtmp" "$http" "$metrics"
# the edge's HTTPS listener needs a certificate (the runs use plain HTTP)
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
    -keyout "$dir/tls.key" -out "$dir/tls.crt" 2>/dev/null
"$top/scripts/render-conf.sh" "$top/nginx-conf/edge.conf" "$dir/edge.conf" \
    EDGE_PORT="127.0.0.1:$edge" ORIGIN="127.0.0.1:$http" SECRET=bench \
    REDIS_ADDR="127.0.0.1:$rport" \
    PREFIX="$dir/edge" MODULES="$build/modules" \
    EDGE_TLS_PORT="127.0.0.1:$edge_tls" TLS_CERT="$dir/tls.crt" \
    TLS_KEY="$dir/tls.key"

# the plain hls.js page and hls.js itself, on a server of their own
# inside the origin's nginx (the playlists it plays allow any origin)
cat > "$dir/aux.conf" <<EOF
server {
    listen 127.0.0.1:$aux;
    location /hlsjs/ { alias $top/html/node_modules/hls.js/dist/; }
    location /test/ { alias $top/html/test/; }
}
EOF
perl -0pi -e 's/\}\s*\z/    include '"${dir//\//\\/}"'\/aux.conf;\n}\n/' "$dir/origin.conf"

for n in origin edge; do
    "$nginx" -p "$dir/$n" -c "$dir/$n.conf" -e "$dir/$n/logs/error.log" -t -q
    "$nginx" -p "$dir/$n" -c "$dir/$n.conf" -e "$dir/$n/logs/error.log" \
        -g 'daemon off;' &
    pids+=($!)
done
sleep 1

# the renditions the origin makes: source, then the ladder's rungs
mapfile -t rungs < <(perl -ne 'print "$1 $3\n" if /^\s*streamline_rendition\s+(\S+)\s+(\d+)x(\d+)/' "$dir/origin.conf")

ffmpeg -nostdin -hide_banner -loglevel error -re \
    -f lavfi -i testsrc2=size=1280x720:rate=30 \
    -f lavfi -i "color=c=black:s=512x32:r=30" \
    -f lavfi -i "sine=frequency=440:sample_rate=48000" \
    -filter_complex "[1:v]settb=1/1000,setpts='RTCTIME/1000',geq=lum='255*mod(floor(T*1000/pow(2\,floor(X/16)))\,2)':cb=128:cr=128,setpts=N/30/TB[bits];[0:v][bits]overlay=0:0[out]" \
    -map '[out]' -map 2:a -c:v libx264 -preset veryfast -tune zerolatency \
    -b:v 3000k -maxrate 3000k -bufsize 3000k -g 60 -keyint_min 60 \
    -sc_threshold 0 -pix_fmt yuv420p -c:a aac -b:a 128k \
    -f flv "rtmp://127.0.0.1:$rtmp/live/$key" 2>"$dir/ffmpeg.log" &
live_pid=$!
pids+=($live_pid)
sleep 8

echo "glass-to-glass through the page, shipped configuration, ${secs} s a run: video.js $(node -p "require('$top/html/node_modules/video.js/package.json').version"), hls.js $(node -p "require('$top/html/node_modules/hls.js/package.json').version"), chromium $(/usr/bin/chromium --version 2>/dev/null | awk '{print $2}')"
perl -ne 'print "  origin.conf: $1\n" if /^\s*(streamline_(?:segment|part\w*|rendition)\s.*?);/' "$dir/origin.conf"
echo "  stages, medians per frame (ms): capture->ingest, wait for the part's end, part end->first byte, transfer, loaded->shown"

rc=0
measure() {     # label url height
    case $1 in *"$only"*) ;; *) return 0 ;; esac
    # the result is one JSON line, a few hundred KB: a file, not an argument
    node "$top/bench/player.mjs" "$2" "$secs" 1280 "$3" 2>&1 | tail -1 > "$dir/run.json"
    perl -MJSON::PP -e '
        my ($label, $file) = @ARGV;
        my $json = do { local (@ARGV, $/) = ($file); <> };
        my $s = eval { decode_json($json) } or die "$label: no result: $json\n";
        my @l = sort { $a <=> $b } @{$s->{latency}};
        die "$label: no painted clock read (errors: @{$s->{errors}})\n" unless @l;
        my @st;
        for my $i (0 .. 4) {
            my @v = sort { $a <=> $b } map { $_->[$i] } @{$s->{stages}};
            push @st, @v ? sprintf("%4.0f", $v[int(@v / 2)]) : "   -";
        }
        my $stalled = 0;
        $stalled += $_->{ms} // 0 for @{$s->{stallLog} || []};
        printf "%-28s median %5.2f s  p90 %5.2f s  %5d frames  %d stalls (%.1f s)  %4dp  stages %s%s\n",
            $label, $l[int(@l / 2)] / 1000, $l[int(@l * 0.9)] / 1000, scalar @l,
            $s->{stalls}, $stalled / 1000, $s->{height}, join(" ", @st),
            @{$s->{errors}} ? "  errors: @{$s->{errors}}" : "";
        for my $x (@{$s->{stallLog} || []}) {
            printf "    stall at %.2f s: %.2f s buffered, %.2f s from the edge, %s ms; last parts in (part, ms ago, ms loading): %s\n",
                $x->{at}, $x->{ahead}, $x->{edge} // -1, $x->{ms} // "still",
                join(", ", map { "@$_" } @{$x->{parts} || []});
        }
        my %e;
        $e{(split / /, $_, 2)[1]}++ for @{$s->{hlsErrors} || []};
        printf "    hls.js errors: %s\n", join(", ", map { "$_ x$e{$_}" } sort keys %e) if %e;
    ' "$1" "$dir/run.json" || rc=1
}

for where in direct edge; do
    base=http://127.0.0.1:$http
    [ $where = edge ] && base=http://127.0.0.1:$edge
    measure "page, source, $where" "$base/?engine=hlsjs" 720
    for r in "${rungs[@]}"; do
        measure "page, ${r% *}, $where" "$base/?engine=hlsjs" "${r#* }"
    done
    measure "plain hls.js, source, $where" \
        "http://127.0.0.1:$aux/test/glass.html?ll=1&src=$base/hls/main/source/index.m3u8" 0
done

# the origin's own figures, logged as the stream ends
kill "$live_pid"; wait "$live_pid" 2>/dev/null || true
sleep 2
echo "-- the origin, at the end of the stream:"
grep -o 'streamline: channel "main": rendition .*' "$dir/origin/logs/error.log" \
    | sed 's/, client:.*//' || echo "   (nothing logged)"

for n in origin edge; do
    if grep -E '\[(alert|emerg)\]' "$dir/$n/logs/error.log"; then
        echo "$n: error.log has alerts" >&2
        rc=1
    fi
done
exit $rc
