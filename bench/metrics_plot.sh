#!/usr/bin/env bash
# bench/metrics_plot.sh [seconds]: the metrics of a real run, as a picture
# (docs/metrics.png, README "Metrics").
#
# The shipped origin.conf (rendered as make run does: 2 s segments,
# 250 ms parts, a 480p and a 360p rung at veryfast), redis-server, a
# 720p30 source published with ffmpeg, and VIEWERS (20) LL-HLS clients
# that follow the source's playlist with blocking reloads (_HLS_msn,
# _HLS_part of the preload hint), as players do.  Prometheus's view is
# taken once a second from /metrics (METRICS_ADDR) for `seconds` (default
# 120); from a third of the run to two thirds, LOAD (8) busy loops take
# CPU from the ladder, so that its encoder lag shows what an overloaded
# origin looks like.  gnuplot (Debian's gnuplot-nox) draws the encoder lag
# of each rung, the segments written per rendition, and the requests held.
#
# OUT (docs/metrics.png) names the picture; the samples go beside it as
# a CSV (OUT with .csv).  KEEP=1 keeps the temp dir.
set -euo pipefail

secs=${1:-120}
viewers=${VIEWERS:-20}
load=${LOAD:-8}
. "$(dirname "$0")/lib.sh"
bench_init metrics
out=${OUT:-$top/docs/metrics.png}
csv=${out%.png}.csv

command -v gnuplot >/dev/null || { echo "$0: needs gnuplot (apt-get install gnuplot-nox)" >&2; exit 1; }
bench_redis

metrics=$(port)
mkdir -p "$dir/logs" "$dir/tmp"
bench_origin_conf "$dir/nginx.conf" "$dir" "$rtmp" "$http" "$metrics"
bench_nginx

ffmpeg -nostdin -hide_banner -loglevel error -re \
    -f lavfi -i testsrc2=size=1280x720:rate=30 \
    -f lavfi -i "sine=frequency=440:sample_rate=48000" \
    -c:v libx264 -preset veryfast -tune zerolatency -b:v 3000k \
    -g 60 -keyint_min 60 -sc_threshold 0 -pix_fmt yuv420p \
    -c:a aac -b:a 128k -f flv "rtmp://127.0.0.1:$rtmp/live/$key" \
    2>"$dir/ffmpeg.log" &
pids+=($!)

# LL-HLS viewers: each follows the preload hint with blocking reloads
for _ in $(seq "$viewers"); do
    perl -MHTTP::Tiny -e '
        my ($base) = @ARGV;
        my $ua = HTTP::Tiny->new(timeout => 10);
        my $q = "";
        while (1) {
            my $r = $ua->get("$base/hls/main/source/index.m3u8$q");
            if ($r->{success} && $r->{content} =~
                /PRELOAD-HINT:TYPE=PART,URI="part-(\d+)\.(\d+)\.m4s"/) {
                $q = "?_HLS_msn=$1&_HLS_part=$2";
                $ua->get("$base/hls/main/source/part-$1.$2.m4s");
            } else {
                $q = "";
                select(undef, undef, undef, 0.5);
            }
        }' "http://127.0.0.1:$http" &
    pids+=($!)
done

echo "t,lag_480p,lag_360p,seg_source,seg_480p,seg_360p,held,parts_source" > "$csv"
busy=()
for (( t = 0; t < secs; t++ )); do
    if (( t == secs / 3 )); then
        for _ in $(seq "$load"); do
            perl -e '1 while 1' &
            busy+=($!)
            pids+=($!)
        done
    fi
    if (( t == 2 * secs / 3 )); then
        kill "${busy[@]}" 2>/dev/null || true
    fi
    curl -s "http://127.0.0.1:$metrics/metrics" | perl -ne '
        BEGIN { ($t) = @ARGV; shift @ARGV; %v = () }
        $v{lag_480p}     = $1 if /^streamline_encoder_lag_seconds\{channel="main",rendition="480p"\} (\S+)/;
        $v{lag_360p}     = $1 if /^streamline_encoder_lag_seconds\{channel="main",rendition="360p"\} (\S+)/;
        $v{seg_source}   = $1 if /^streamline_segments_total\{channel="main",rendition="source"\} (\S+)/;
        $v{seg_480p}     = $1 if /^streamline_segments_total\{channel="main",rendition="480p"\} (\S+)/;
        $v{seg_360p}     = $1 if /^streamline_segments_total\{channel="main",rendition="360p"\} (\S+)/;
        $v{held}         = $1 if /^streamline_hls_held_requests (\S+)/;
        $v{parts_source} = $1 if /^streamline_parts_total\{channel="main",rendition="source"\} (\S+)/;
        END { print join(",", $t, map { $v{$_} // 0 } qw(lag_480p lag_360p seg_source seg_480p seg_360p held parts_source)), "\n" }
    ' "$t" >> "$csv"
    sleep 1
done

mkdir -p "$(dirname "$out")"
gnuplot <<EOF
set terminal pngcairo size 1000,900 font "sans,10" noenhanced
set output "$out"
set datafile separator ","
set key autotitle columnhead top left
set multiplot layout 3,1 title "A real run: one 720p30 channel, ladder 480p + 360p, $viewers LL-HLS viewers; $load busy loops from $((secs / 3)) to $((2 * secs / 3)) s"
set grid
set xrange [0:$secs]
set ylabel "seconds"
set title "streamline_encoder_lag_seconds"
plot "$csv" using 1:2 with lines lw 2 title "480p", "" using 1:3 with lines lw 2 title "360p"
set ylabel "segments"
set title "streamline_segments_total"
plot "$csv" using 1:4 with lines lw 2 title "source", "" using 1:5 with lines lw 2 title "480p", "" using 1:6 with lines lw 2 title "360p"
set ylabel "requests"
set xlabel "seconds into the run"
set title "streamline_hls_held_requests"
plot "$csv" using 1:7 with lines lw 2 title "held now"
unset multiplot
EOF
echo "wrote $out and $csv"
