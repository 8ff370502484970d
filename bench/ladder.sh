#!/usr/bin/env bash
# bench/ladder.sh: CPU seconds per media second of Streamline's media
# pipeline (source remux + the default ladder of nginx-conf/origin.conf)
# against the ffmpeg command line doing the same ladder with the same
# encoder settings, in one run on this machine.
#
#   bench/ladder.sh [seconds]        (default 30 s of 720p30 media)
#
# The source is encoded once beforehand like OBS would (x264 high profile,
# B-frames, 2 s keyframes, 2.5 Mbit/s, AAC 48 kHz stereo) and published
# with "ffmpeg -re -c copy", so the publisher costs almost nothing.
# Streamline's figure is the CPU time (user + system, every thread) of the
# nginx workers while the stream runs; ffmpeg's is its own CPU time for
# the same input, decoding once, scaling and encoding both rungs (libx264
# veryfast, zerolatency, main, same bit rates, IDRs at the source's
# keyframes) and remuxing the source, to fragmented MP4.
#
# The scrubber previews' cost is measured in the same run: the same media
# is published to an application with "streamline_previews off" (channel
# "nopreviews") and to one with the default previews (channel "main"),
# alternately, REPS times each (default 3), and the medians of the CPU
# figures are compared (goal: the previews add at most 5 %).
set -euo pipefail

secs=${1:-30}
. "$(dirname "$0")/lib.sh"
bench_init ladder

cpu_of() {   # clock ticks of user + system time of the given pids
    local t=0 p
    for p in "$@"; do
        set -- $(cut -d' ' -f14,15 "/proc/$p/stat")
        t=$((t + $1 + $2))
    done
    echo $t
}
hz=$(getconf CLK_TCK)

echo "encoding a ${secs}s 1280x720 30 fps source..." >&2
ffmpeg -hide_banner -loglevel error -y \
    -f lavfi -i testsrc2=size=1280x720:rate=30 \
    -f lavfi -i sine=frequency=440:sample_rate=48000 -t "$secs" \
    -c:v libx264 -preset veryfast -profile:v high -bf 2 -g 60 -keyint_min 60 \
    -sc_threshold 0 -b:v 2500k -maxrate 2500k -bufsize 5000k \
    -c:a aac -ar 48000 -ac 2 "$dir/src.flv"

# the ladder of the shipped configuration
ladder=$(grep -E '^\s*streamline_rendition ' "$top/nginx-conf/origin.conf")

bench_redis

mkdir -p "$dir/logs"
{ bench_conf_head 1 256; cat <<EOF; } > "$dir/nginx.conf"
rtmp {
    access_log off;
    server {
        listen 127.0.0.1:$rtmp;
        application live {
            live on;
            streamline on;
            streamline_media_path $dir/media;
$ladder
        }
        application nopreviews {
            live on;
            streamline on;
            streamline_media_path $dir/media;
            streamline_previews off;
$ladder
        }
    }
}
http {
    access_log off;
    client_body_temp_path $dir/tmp; proxy_temp_path $dir/tmp;
    fastcgi_temp_path $dir/tmp; uwsgi_temp_path $dir/tmp; scgi_temp_path $dir/tmp;
    server { listen 127.0.0.1:$http; location / { return 204; } }
}
EOF
bench_nginx
workers=$(pgrep -P "$nginx_pid" | tr '\n' ' ')

REDIS_PORT=$rport "$top/scripts/streamline-key" set nopreviews "$key-np" >/dev/null

publish() {   # app key -> CPU seconds of the workers
    local c0 c1
    c0=$(cpu_of $workers)
    ffmpeg -hide_banner -loglevel error -re -i "$dir/src.flv" -c copy -f flv \
        "rtmp://127.0.0.1:$rtmp/$1/$2"
    sleep 1                 # the last segments
    c1=$(cpu_of $workers)
    echo "scale=3; ($c1 - $c0) / $hz" | bc
}
median() { tr ' ' '\n' | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

reps=${REPS:-3}
offs= ons=
for i in $(seq "$reps"); do
    echo "publishing to Streamline for ${secs}s, previews off ($i/$reps)..." >&2
    offs="$offs $(publish nopreviews "$key-np")"
    echo "publishing to Streamline for ${secs}s, previews on ($i/$reps)..." >&2
    ons="$ons $(publish live "$key")"
done
nopv=$(echo $offs | median)
sl=$(echo $ons | median)
sheets=$(ls "$dir"/media/main/previews/*.jpg 2>/dev/null | wc -l)
# the previews' own CPU time, as the ladder thread measured it (its log
# line at each stream's end), against the workers' CPU with previews on
pv_ms=$(grep -o 'scrubber previews: [0-9]* tiles taken in [0-9.]* ms' \
            "$dir/error.log" | awk '{ s += $(NF - 1) } END { print s + 0 }')
pv_tiles=$(grep -o 'scrubber previews: [0-9]* tiles' "$dir/error.log" \
            | awk '{ s += $3 } END { print s + 0 }')
on_total=$(echo $ons | tr ' ' '\n' | awk '{ s += $1 } END { print s }')
drops=$(grep -c 'falls behind' "$dir/error.log" || true)
segs=$(ls "$dir"/media/main/*/seg-*.m4s 2>/dev/null | wc -l)

echo "the same ladder with the ffmpeg command line..." >&2
x264="-c:v libx264 -preset veryfast -tune zerolatency -profile:v main -bf 0 -g 600 -force_key_frames source"
rungs=() filters=() i=0
while read -r _ name size rate preset; do
    w=${size%x*} h=${size#*x} kb=${rate%k}
    p=${preset#preset=}; p=${p%;}; [ "$p" = "$preset" ] && p=veryfast
    filters+=("[v$i]scale=$w:$h[o$i]")
    rungs+=(-map "[o$i]" -map 0:a ${x264/veryfast/$p} -b:v "${kb}k"
            -maxrate "$((kb * 6 / 5))k" -bufsize "$((kb * 2))k" -c:a copy
            -f mp4 -movflags frag_keyframe+empty_moov+default_base_moof
            "$dir/ff-$name.mp4")
    i=$((i + 1))
done <<< "$ladder"
split="[0:v]split=$i$(for n in $(seq 0 $((i - 1))); do printf '[v%d]' "$n"; done)"
fc="$split;$(IFS=';'; echo "${filters[*]}")"

t0=$(date +%s.%N)
/usr/bin/time -f '%U %S' -o "$dir/ff.time" ffmpeg -hide_banner -loglevel error -y -re \
    -i "$dir/src.flv" -filter_complex "$fc" "${rungs[@]}" \
    -map 0 -c copy -f mp4 -movflags frag_keyframe+empty_moov+default_base_moof \
    "$dir/ff-source.mp4"
read -r fu fs < "$dir/ff.time"
ff=$(echo "scale=3; $fu + $fs" | bc)

ratio=$(echo "scale=3; $sl / $ff" | bc)
cat <<EOF
ladder: $(echo "$ladder" | sed 's/^ *streamline_rendition //; s/;$//' | paste -sd, -)
media seconds:                         $secs
streamline CPU seconds:                $sl  ($(echo "scale=3; $sl / $secs" | bc) per media second; $segs segments; ladder drop episodes: $drops)
ffmpeg command line CPU seconds:       $ff  ($(echo "scale=3; $ff / $secs" | bc) per media second)
ratio streamline / ffmpeg:             $ratio  (goal <= 1.0)
streamline CPU seconds, previews on:   $ons  (median $sl: the figure above)
streamline CPU seconds, previews off:  $offs  (median $nopv)
previews' cost, measured inside:       $pv_ms ms of CPU for $pv_tiles tiles = $(echo "scale=2; $pv_ms / 10 / $on_total" | bc) % of the CPU with previews on (goal <= 5 %)
previews' cost, on - off medians:      $(echo "scale=1; ($sl - $nopv) * 100 / $nopv" | bc) %  (run-to-run noise of a few % on a shared machine; $sheets sheet files on disk)
EOF
