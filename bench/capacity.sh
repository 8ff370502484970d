#!/usr/bin/env bash
# bench/capacity.sh: how many channels with the default ladder one machine
# carries in real time, and how many LL-HLS viewers an edge in front of it
# serves (bench/README.md, "Capacity", says what every column means).
#
#   bench/capacity.sh                              # the full run
#   CHANNELS="1 2" DURATION=20 VIEWERS="50" bench/capacity.sh   # a short one
#
# 1. Channels.  The shipped nginx-conf/origin.conf (rendered as make run
#    does: its ladder, 2 s segments, 250 ms parts, worker_processes auto),
#    redis-server, and for each N of CHANNELS a fresh origin with N
#    channels, each published with
#        ffmpeg -re -stream_loop -1 -i SRC.flv -c copy -f flv rtmp://.../live/KEY
#    SRC.flv is made once and cached (CACHE_DIR): SOURCE_SECONDS of 720p30
#    x264 veryfast, high profile, B-frames, 2 s GOP, 2.5 Mbit/s, AAC, from
#    testsrc2 with temporal noise and a running clock, so that the ladder
#    has real work (flat test patterns cost x264 next to nothing).  The
#    publishers start STAGGER apart (default one GOP over N); once every
#    rendition of every channel has a segment, WARMUP seconds, then
#    DURATION seconds are measured: segments and frames per rendition,
#    drops and encoder lag from /metrics (scraped every second), the
#    workers' CPU from /proc/PID/stat, memory (RSS, PSS) of the nginx
#    processes, the DVR zone's pages in use (its slab pool's header, read
#    from the master's memory), the bytes the workers wrote.  A step that
#    does not keep real time ends the channel series unless CONTINUE=1.
# 2. Viewers.  One channel on a fresh origin (with its secret) behind the
#    shipped nginx-conf/edge.conf, and for each V of VIEWERS,
#    bench/capacity_viewers.c (built here with cc): V LL-HLS players of
#    that channel through the edge, spread over its renditions, each with
#    blocking playlist reloads (_HLS_msn, _HLS_part, _HLS_skip) and the
#    preload hint's part requested as soon as it is named.  Measured over
#    VIEWER_DURATION after VIEWER_WARMUP: how late each part arrives after
#    the origin wrote it (inotify), whether every viewer got every part,
#    requests and errors, the origin's request rate and held requests
#    (/metrics), the edge's and the origin's CPU and memory.
#
# Writes bench/results/capacity-<short rev>.txt (RESULTS=) and prints a
# summary.  Knobs (environment), defaults in brackets:
#   CHANNELS ["1 2 3 4 5 6 8"]  DURATION [60]  WARMUP [15]  CONTINUE [0]
#   VIEWERS ["100 500 1000"] ("" skips)  VIEWER_DURATION [DURATION]
#   VIEWER_WARMUP [10]  SOURCE_SECONDS [300]  STAGGER [2/N s]
#   CACHE_DIR [build/bench-cache]  BUILD_DIR [build]  NGINX_BIN
#   KEEP=1 keeps the temp dir (logs, scrapes).
# Needs: nginx, the built modules, redis-server, redis-cli, ffmpeg with
# libx264, cc, curl, perl, openssl.  Run it on a quiet machine: every
# process here shares the machine's cores, the load generator too.
set -euo pipefail

channels_list=${CHANNELS-1 2 3 4 5 6 8}
duration=${DURATION:-60}
warmup=${WARMUP:-15}
viewers_list=${VIEWERS-100 500 1000}
vduration=${VIEWER_DURATION:-$duration}
vwarmup=${VIEWER_WARMUP:-10}
src_secs=${SOURCE_SECONDS:-300}

. "$(dirname "$0")/lib.sh"

die() { echo "capacity: $*" >&2; exit 1; }

# --- what it needs, before anything starts -------------------------------

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BUILD_DIR:-$top/build}
nginx=${NGINX_BIN:-/usr/sbin/nginx}
for c in redis-server redis-cli ffmpeg cc curl perl openssl getconf pgrep; do
    command -v "$c" >/dev/null || die "needs $c (see bench/README.md)"
done
[ -x "$nginx" ] || die "no nginx at $nginx (NGINX_BIN)"
for m in ngx_rtmp_module.so ngx_streamline_module.so; do
    [ -f "$build/modules/$m" ] || die "no $build/modules/$m: run make build (or set BUILD_DIR)"
done
encoders=$(ffmpeg -hide_banner -encoders 2>/dev/null || true)
[[ $encoders == *" libx264 "* ]] || die "ffmpeg has no libx264 encoder"
[ -r /proc/self/smaps_rollup ] || die "needs /proc/PID/smaps_rollup (Linux 4.14 or later)"
for n in $channels_list; do
    [[ $n =~ ^[0-9]+$ && $n -ge 1 && $n -le 64 ]] || die "CHANNELS: $n is not 1..64"
done
for v in $viewers_list; do
    [[ $v =~ ^[0-9]+$ && $v -ge 1 ]] || die "VIEWERS: $v is not a number of viewers"
done
[[ $duration =~ ^[0-9]+$ && $duration -ge 10 ]] || die "DURATION: at least 10 (seconds)"

bench_init capacity
# our own cleanup: publishers, nginx, redis, whatever is still running
cap_cleanup() {
    local rc=$? i
    set +e
    for (( i = ${#pids[@]} - 1; i >= 0; i-- )); do
        kill -TERM "${pids[i]}" 2>/dev/null
    done
    for (( i = ${#pids[@]} - 1; i >= 0; i-- )); do
        reap "${pids[i]}"
    done
    if [ -n "${KEEP:-}" ]; then echo "capacity: kept $dir" >&2; else rm -rf "$dir"; fi
    exit $rc
}
trap cap_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# a child gone (not a zombie) within 10 s of TERM, or KILLed
reap() {
    local p=$1 s
    for _ in $(seq 100); do
        s=$(awk '{print $3}' "/proc/$p/stat" 2>/dev/null) || break
        [ "$s" = Z ] && break
        sleep 0.1
    done
    if kill -0 "$p" 2>/dev/null \
       && [ "$(awk '{print $3}' "/proc/$p/stat" 2>/dev/null)" != Z ]; then
        kill -KILL "$p" 2>/dev/null || true
    fi
    wait "$p" 2>/dev/null || true
}
# no longer ours to stop (reaped already)
forget() {
    local p q keep=()
    for q in "${pids[@]}"; do
        for p; do
            if [ "$p" = "$q" ]; then continue 2; fi
        done
        keep+=("$q")
    done
    pids=("${keep[@]}")
}
# stop these children (TERM, then KILL after 10 s) and forget them
stop() {
    local p
    for p; do kill -TERM "$p" 2>/dev/null || true; done
    for p; do reap "$p"; done
    forget "$@"
}

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
hz=$(getconf CLK_TCK)
pagesize=$(getconf PAGESIZE)
ncpu=$(nproc)
commit=$(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=""
if [ -n "$(git -C "$top" status --porcelain -- ngx_streamline_module 2>/dev/null)" ]; then
    dirty=" (with uncommitted changes under ngx_streamline_module/)"
fi
RESULTS=${RESULTS:-$top/bench/results/capacity-$commit.txt}
out=$dir/results.txt
log() { printf 'capacity: %s\n' "$*" >&2; }

# --- the source, made once ----------------------------------------------

cache=${CACHE_DIR:-$top/build/bench-cache}
mkdir -p "$cache"
font=/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf
clock=""
if [ -r "$font" ]; then clock=",drawtext=fontfile=$font:text='%{pts\\:hms}':fontsize=40:fontcolor=white:box=1:boxcolor=black@0.6:x=24:y=60"; fi
src_args=(-f lavfi -i "testsrc2=size=1280x720:rate=30,noise=alls=12:allf=t$clock"
          -f lavfi -i "sine=frequency=440:sample_rate=48000" -t "$src_secs"
          -c:v libx264 -preset veryfast -profile:v high -bf 2 -g 60 -keyint_min 60
          -sc_threshold 0 -b:v 2500k -maxrate 2500k -bufsize 5000k -pix_fmt yuv420p
          -c:a aac -b:a 128k -ar 48000 -ac 2)
src=$cache/capacity-src-$(printf '%s\n' "${src_args[@]}" | md5sum | cut -c1-10).flv
if [ ! -s "$src" ]; then
    log "encoding the source once: ${src_secs}s of 720p30 into $src (about $((src_secs / 3)) s on 2 cores)"
    ffmpeg -nostdin -hide_banner -loglevel error -y "${src_args[@]}" -f flv "$src.tmp" \
        || die "could not encode the source"
    mv "$src.tmp" "$src"
fi

# --- Redis and the channels' keys ----------------------------------------

max_n=1
for n in $channels_list; do if [ "$n" -gt "$max_n" ]; then max_n=$n; fi; done
redis-server --port "$rport" --save '' --appendonly no --dir "$dir" \
    --logfile "$dir/redis.log" &
pids+=($!)
for _ in $(seq 50); do redis-cli -p "$rport" ping >/dev/null 2>&1 && break; sleep 0.1; done
redis-cli -p "$rport" ping >/dev/null 2>&1 || die "redis-server did not start (see $dir/redis.log)"
keys=()
for (( i = 1; i <= max_n; i++ )); do
    keys[i]=cap$i-$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')
    REDIS_PORT=$rport "$top/scripts/streamline-key" set "ch$i" "${keys[i]}" >/dev/null
done

html=$top/html/dist
[ -d "$html" ] || { html=$dir/html; mkdir -p "$html"; }

# --- measuring helpers ---------------------------------------------------

ticks() {       # utime + stime of the given pids (whole processes), in clock ticks
    local t=0 p f
    for p; do
        f=$(cut -d' ' -f14,15 "/proc/$p/stat" 2>/dev/null) || continue
        t=$((t + ${f% *} + ${f#* }))
    done
    echo "$t"
}
mem_kb() {      # "RSS PSS" in kB, summed over the given pids
    local p r=0 s=0 a b
    for p; do
        a=$(awk '/^VmRSS/ {print $2}' "/proc/$p/status" 2>/dev/null) || continue
        b=$(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null) || continue
        r=$((r + ${a:-0})) s=$((s + ${b:-0}))
    done
    echo "$r $s"
}
wchar() {       # bytes the given pids wrote with write(2) and the like
    local t=0 p w
    for p; do
        w=$(awk '/^wchar:/ {print $2}' "/proc/$p/io" 2>/dev/null) || continue
        t=$((t + w))
    done
    echo "$t"
}
machine() {     # busy and all jiffies of the whole machine
    awk '/^cpu / { t = 0; for (i = 2; i <= 9; i++) t += $i;
                   print t - $5 - $6, t, $9 }' /proc/stat
}
# the DVR zone (streamline_media_zone): pages of its slab pool in use.
# nginx maps a shared zone anonymously ("/dev/zero (deleted)"); its slab
# pool's header (nginx 1.22's ngx_slab_pool_t, 64-bit) starts it:
# pages at 32, last at 40, pfree at 80, start at 88, end at 96.  Checked
# against the mapping; "n/a" when it does not fit.
zone_kb() {     # master pid, zone size in bytes
    perl -e '
        my ($pid, $size, $pg) = @ARGV;
        sub na { print "n/a n/a\n"; exit 0 }
        open my $m, "<", "/proc/$pid/maps" or na();
        my ($lo, $hi);
        while (<$m>) {
            my ($a, $b) = /^([0-9a-f]+)-([0-9a-f]+) .*\/dev\/zero/ or next;
            ($lo, $hi) = (hex $a, hex $b) if hex($b) - hex($a) == $size;
        }
        defined $lo or na();
        open my $f, "<:raw", "/proc/$pid/mem" or na();
        sysseek($f, $lo, 0) and sysread($f, my $h, 104) == 104 or na();
        my ($pages, $last) = unpack "Q<Q<", substr($h, 32, 16);
        my ($pfree, $start, $end) = unpack "Q<Q<Q<", substr($h, 80, 24);
        my $total = ($last - $pages) / 24;
        na() unless $end == $hi && $start > $lo && $start < $hi
            && $start % $pg == 0 && $total == int $total && $pfree <= $total
            && $total <= ($end - $start) / $pg;
        printf "%d %d\n", ($total - $pfree) * $pg / 1024, $total * $pg / 1024;
    ' "$1" "$2" "$pagesize"
}
zone_bytes=$(perl -ne 'if (/^\s*streamline_media_zone\s+(\d+)([kKmMgG]?)\s*;/) {
        my %u = (k => 1 << 10, m => 1 << 20, g => 1 << 30);
        print $1 * ($u{lc $2} // 1); exit }' "$top/nginx-conf/origin.conf")
zone_bytes=${zone_bytes:-$((64 << 20))}        # the directive's default

render_origin() {   # prefix http rtmp metrics secret-line
    mkdir -p "$1/logs" "$1/tmp"
    chmod -R 777 "$1"
    HTML_DIR=$html bench_origin_conf "$1/nginx.conf" "$1" "$3" "$2" "$4" "$5"
}
start_nginx() {     # prefix -> $master, $workers (children)
    "$nginx" -p "$1" -c "$1/nginx.conf" -e "$1/logs/error.log" -t -q \
        || die "nginx -t failed for $1/nginx.conf"
    "$nginx" -p "$1" -c "$1/nginx.conf" -e "$1/logs/error.log" -g 'daemon off;' &
    master=$!
    pids+=($master)
}
# a master's workers (and cache manager): not the cache loader, which
# leaves after a minute
children() {
    local p
    for p in $(pgrep -P "$1" || true); do
        grep -qaE 'worker process|cache manager' "/proc/$p/cmdline" 2>/dev/null && printf '%s ' "$p"
    done
    return 0
}
wait_http() {       # url: answers within 10 s
    for _ in $(seq 100); do curl -sf -o /dev/null "$1" && return 0; sleep 0.1; done
    return 1
}
sleep_until() {     # t0 k: until t0 + k seconds
    sleep "$(perl -MTime::HiRes=time -e 'my $d = $ARGV[0] + $ARGV[1] - time; printf "%.3f", $d > 0 ? $d : 0' "$1" "$2")"
}
scrape() { curl -sf --max-time 5 "http://127.0.0.1:$1/metrics" > "$2" || : > "$2"; }
publish() {         # channel-number rtmp-port log -> $pub (in $pids)
    ffmpeg -nostdin -hide_banner -loglevel error -re -stream_loop -1 -i "$src" \
        -c copy -f flv "rtmp://127.0.0.1:$2/live/${keys[$1]}" < /dev/null > /dev/null 2>>"$3" &
    pub=$!
    pids+=("$pub")
}
# every rendition of channels ch1..chN has a segment (metrics), within 40 s
wait_segments() {   # metrics-port N renditions
    local f=$dir/wait.prom
    for _ in $(seq 400); do
        scrape "$1" "$f"
        perl -ne 'BEGIN { ($n, $r) = splice @ARGV, 0, 2 }
            $s{$1}++ if /^streamline_segments_total\{channel="(ch\d+)",rendition="[^"]+"\} [1-9]/;
            END { for (1 .. $n) { exit 1 if ($s{"ch$_"} // 0) < $r } exit 0 }' \
            "$2" "$3" "$f" && return 0
        sleep 0.1
    done
    return 1
}

# the ladder of the shipped configuration: source + its rungs
mapfile -t rungs < <(perl -ne 'print "$1\n" if /^\s*streamline_rendition\s+(\S+)/' "$top/nginx-conf/origin.conf")
nrend=$(( ${#rungs[@]} + 1 ))
ladder=$(perl -ne 'print "$1 $2 $3 $4\n" if /^\s*streamline_rendition\s+(\S+)\s+(\S+)\s+(\S+)\s*(\S*?);/' \
         "$top/nginx-conf/origin.conf" | sed 's/ *$//' | paste -sd, - | sed 's/,/, /g')

# --- the channels ---------------------------------------------------------

# per step: one line of NAME=VALUE figures in $dir/channels.txt
: > "$dir/channels.txt"
cap_n=""
for n in $channels_list; do
    s=$dir/ch$n
    http=$(port) rtmp=$(port) mport=$(port)
    render_origin "$s" "$http" "$rtmp" "$mport" ""
    start_nginx "$s"
    wait_http "http://127.0.0.1:$mport/metrics" || die "the origin did not start (see $s/logs/error.log)"
    sleep 0.5
    workers=$(children "$master")
    read -r rss0 pss0 <<< "$(mem_kb "$master" $workers)"
    read -r zone0 zone_total <<< "$(zone_kb "$master" "$zone_bytes")"

    log "$n channel(s): publishing, then ${warmup}s of warm-up and ${duration}s measured"
    pubs=()
    stagger=${STAGGER:-$(perl -e "printf '%.3f', 2 / $n")}
    for (( i = 1; i <= n; i++ )); do
        publish "$i" "$rtmp" "$s/logs/ffmpeg.log"
        pubs+=("$pub")
        if [ "$i" -lt "$n" ]; then sleep "$stagger"; fi
    done
    if ! wait_segments "$mport" "$n" "$nrend"; then
        log "$n channel(s): not every rendition had a segment within 40 s"
        echo "n=$n started=0" >> "$dir/channels.txt"
        stop "${pubs[@]}" "$master"
        if [ "${CONTINUE:-0}" != 0 ]; then continue; fi
        break
    fi
    sleep "$warmup"

    # the window
    workers=$(children "$master")
    scrape "$mport" "$s/a.prom"
    t_a=$(date +%s.%N)
    cpu_a=$(ticks $workers) pub_a=$(ticks "${pubs[@]}") w_a=$(wchar $workers)
    read -r busy_a all_a steal_a <<< "$(machine)"
    for (( k = 1; k <= duration; k++ )); do
        sleep_until "$t_a" "$k"
        scrape "$mport" "$s/sec.$k.prom"
    done
    t_b=$(date +%s.%N)
    cpu_b=$(ticks $workers) pub_b=$(ticks "${pubs[@]}") w_b=$(wchar $workers)
    read -r busy_b all_b steal_b <<< "$(machine)"
    scrape "$mport" "$s/b.prom"
    read -r rss1 pss1 <<< "$(mem_kb "$master" $workers)"
    read -r zone1 _ <<< "$(zone_kb "$master" "$zone_bytes")"
    workers_after=$(children "$master")
    alive=0
    for p in "${pubs[@]}"; do kill -0 "$p" 2>/dev/null && alive=$((alive + 1)); done
    alerts=$(grep -cE '\[(alert|emerg)\]' "$s/logs/error.log" || true)
    behind=$(grep -c 'falls behind\|switched off' "$s/logs/error.log" || true)

    perl -e '
        my ($n, $dur, $ncpu, $hz, $s, @kv) = @ARGV;
        my %a = map { split /=/, $_, 2 } @kv;
        sub prom { my %m; open my $f, "<", $_[0] or return {};
                   while (<$f>) { $m{$1} = $2 if /^(\w+\{[^}]*\}|\w+) (\S+)$/ } \%m }
        my $A = prom("$s/a.prom"); my $B = prom("$s/b.prom");
        my $secs = $a{t_b} - $a{t_a};
        my (%seg, %fin, %fout, %fdrop, $pdrop, $mbytes, $rtmp, $lagmax, $lagsum, $lagn, $target);
        for my $k (keys %$B) {
            my $d = $B->{$k} - ($A->{$k} // 0);
            if ($k =~ /^streamline_segments_total\{channel="(ch\d+)",rendition="([^"]+)"\}/) { $seg{"$1/$2"} = $d }
            elsif ($k =~ /^streamline_frames_total\{channel="(ch\d+)",rendition="([^"]+)",result="(in|out|dropped)"\}/) {
                ($3 eq "in" ? $fin{"$1/$2"} : $3 eq "out" ? $fout{"$1/$2"} : $fdrop{"$1/$2"}) = $d;
                $a{drop_total} += $B->{$k} if $3 eq "dropped" }
            elsif ($k =~ /^streamline_pipeline_packets_total\{channel="ch\d+",result="dropped"\}/) { $pdrop += $d; $a{pdrop_total} += $B->{$k} }
            elsif ($k =~ /^streamline_media_bytes_total\{channel="ch\d+"/) { $mbytes += $d }
            elsif ($k =~ /^streamline_rtmp_bytes_total\{channel="ch\d+"/) { $rtmp += $d }
            elsif ($k =~ /^streamline_target_duration_seconds\{channel="ch\d+"/) { $target = $B->{$k} }
        }
        for my $f (glob "$s/sec.*.prom") {
            my $m = prom($f);
            for (grep { /^streamline_encoder_lag_seconds\{channel="ch\d+"/ } keys %$m) {
                $lagmax = $m->{$_} if !defined $lagmax || $m->{$_} > $lagmax;
                $lagsum += $m->{$_}; $lagn++;
            }
        }
        $target ||= 2;
        my $expect = $secs / $target;
        my @segs = sort { $a <=> $b } values %seg;
        my @fps = sort { $a <=> $b } map { $_ / $secs } values %fout;
        my $drops = 0; $drops += $_ for values %fdrop;
        my $cpu = ($a{cpu_b} - $a{cpu_a}) / $hz / $secs * 100;
        my $pub = ($a{pub_b} - $a{pub_a}) / $hz / $secs * 100;
        my $jiff = $a{all_b} - $a{all_a};
        my $busy = $jiff ? ($a{busy_b} - $a{busy_a}) / $jiff * 100 * $ncpu : 0;
        my $steal = $jiff ? ($a{steal_b} - $a{steal_a}) / $jiff * 100 * $ncpu : 0;
        my $rends = keys %seg;
        my $ok = $rends == $n * $a{nrend} && @segs && $segs[0] >= int($expect) - 1
                 && !$drops && !$pdrop && defined $lagmax && $lagmax < 1
                 && $a{alive} == $n && $a{workers_same} && !$a{alerts};
        my %r = (n => $n, started => 1, ok => $ok ? 1 : 0, secs => sprintf("%.1f", $secs),
            seg_min => $segs[0] // 0, seg_max => $segs[-1] // 0, seg_expect => sprintf("%.1f", $expect),
            renditions => $rends, fps_min => sprintf("%.1f", $fps[0] // 0),
            drops => $drops, drops_total => $a{drop_total} // 0,
            pkt_drops => $pdrop // 0, pkt_drops_total => $a{pdrop_total} // 0,
            lag_max => sprintf("%.3f", $lagmax // -1), lag_mean => sprintf("%.3f", $lagn ? $lagsum / $lagn : -1),
            cpu_core => sprintf("%.1f", $cpu), cpu_machine => sprintf("%.1f", $cpu / $ncpu),
            pub_core => sprintf("%.1f", $pub),
            busy_core => sprintf("%.1f", $busy), steal_core => sprintf("%.1f", $steal),
            other_core => sprintf("%.1f", $busy - $cpu - $pub),
            rss_mb => sprintf("%.1f", $a{rss1} / 1024), pss_mb => sprintf("%.1f", $a{pss1} / 1024),
            pss0_mb => sprintf("%.1f", $a{pss0} / 1024), rss0_mb => sprintf("%.1f", $a{rss0} / 1024),
            pss_per_ch_mb => sprintf("%.1f", ($a{pss1} - $a{pss0}) / 1024 / $n),
            zone_kb => $a{zone1}, zone0_kb => $a{zone0}, zone_total_kb => $a{zone_total},
            zone_per_ch_kb => $a{zone1} =~ /^\d+$/ ? sprintf("%.0f", ($a{zone1} - $a{zone0}) / $n) : "n/a",
            seg_mbit_ch => sprintf("%.2f", ($mbytes // 0) * 8 / 1e6 / $secs / $n),
            write_mbit_ch => sprintf("%.2f", ($a{w_b} - $a{w_a}) * 8 / 1e6 / $secs / $n),
            rtmp_mbit_ch => sprintf("%.2f", ($rtmp // 0) * 8 / 1e6 / $secs / $n),
            nrend => $a{nrend}, alive => $a{alive}, workers_same => $a{workers_same}, alerts => $a{alerts},
            behind_lines => $a{behind});
        print join(" ", map { "$_=$r{$_}" } sort keys %r), "\n";
    ' "$n" "$duration" "$ncpu" "$hz" "$s" \
        t_a="$t_a" t_b="$t_b" cpu_a="$cpu_a" cpu_b="$cpu_b" pub_a="$pub_a" pub_b="$pub_b" \
        w_a="$w_a" w_b="$w_b" busy_a="$busy_a" busy_b="$busy_b" all_a="$all_a" all_b="$all_b" \
        steal_a="$steal_a" steal_b="$steal_b" rss0="$rss0" rss1="$rss1" pss0="$pss0" pss1="$pss1" \
        zone0="$zone0" zone1="$zone1" zone_total="$zone_total" nrend="$nrend" alive="$alive" \
        workers_same="$([ "$workers" = "$workers_after" ] && echo 1 || echo 0)" \
        alerts="$alerts" behind="$behind" \
        >> "$dir/channels.txt"
    { tail -n 1 "$dir/channels.txt" | tr ' ' '\n' \
        | grep -E '^(ok|seg_min|seg_expect|drops|pkt_drops|lag_max|cpu_core|other_core)=' \
        | paste -sd' ' - | sed "s/^/capacity: $n channel(s): /" >&2; } || true

    stop "${pubs[@]}" "$master"
    step_ok=$(tail -n 1 "$dir/channels.txt" | grep -o ' ok=[01]' | cut -d= -f2 || true)
    if [ "$step_ok" = 1 ]; then
        cap_n=$n
    elif [ "${CONTINUE:-0}" = 0 ]; then
        log "$n channel(s) did not keep real time: no larger N (CONTINUE=1 goes on)"
        break
    fi
done

# --- the viewers ---------------------------------------------------------

: > "$dir/viewers.txt"
if [ -n "$(echo $viewers_list)" ]; then
    cc -O2 -Wall -o "$dir/capacity_viewers" "$top/bench/capacity_viewers.c" \
        || die "cannot build bench/capacity_viewers.c"
    v=$dir/view
    http=$(port) rtmp=$(port) mport=$(port) edge=$(port) edge_tls=$(port)
    secret=capacity-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
    render_origin "$v/origin" "$http" "$rtmp" "$mport" \
        "streamline_origin_secret X-Streamline-Origin $secret;"
    mkdir -p "$v/edge/logs" "$v/edge/tmp"
    chmod 777 "$v/edge"
    # the edge's HTTPS listener needs a certificate (the viewers use HTTP)
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
        -keyout "$v/tls.key" -out "$v/tls.crt" 2>/dev/null
    "$top/scripts/render-conf.sh" "$top/nginx-conf/edge.conf" "$v/edge/nginx.conf" \
        EDGE_PORT="127.0.0.1:$edge" ORIGIN="127.0.0.1:$http" SECRET="$secret" \
        REDIS_ADDR="127.0.0.1:$rport" \
        PREFIX="$v/edge" MODULES="$build/modules" \
        EDGE_TLS_PORT="127.0.0.1:$edge_tls" TLS_CERT="$v/tls.crt" TLS_KEY="$v/tls.key"
    start_nginx "$v/origin"; omaster=$master
    start_nginx "$v/edge"; emaster=$master
    wait_http "http://127.0.0.1:$mport/metrics" || die "the viewers' origin did not start"
    publish 1 "$rtmp" "$v/origin/logs/ffmpeg.log"
    vpub=$pub
    wait_segments "$mport" 1 "$nrend" || die "the viewers' channel did not start"
    wait_http "http://127.0.0.1:$edge/hls/ch1/master.m3u8" || die "no master playlist through the edge"
    sleep 5

    # without viewers first: what the channel alone costs this origin
    window_start() {
        oworkers=$(children "$omaster") eworkers=$(children "$emaster")
        scrape "$mport" "$1/a.prom"
        vt_a=$(date +%s.%N) ocpu_a=$(ticks $oworkers) ecpu_a=$(ticks $eworkers) vpub_a=$(ticks "$vpub")
        read -r vbusy_a vall_a _ <<< "$(machine)"
    }
    window_end() {      # dir viewers client-line
        local t_b ocpu_b ecpu_b busy_b all_b erss epss pub_b
        t_b=$(date +%s.%N) ocpu_b=$(ticks $oworkers) ecpu_b=$(ticks $eworkers) pub_b=$(ticks "$vpub")
        read -r busy_b all_b _ <<< "$(machine)"
        scrape "$mport" "$1/b.prom"
        read -r erss epss <<< "$(mem_kb "$emaster" $eworkers)"
        perl -e '
            my ($d, $nv, $ncpu, $hz, @kv) = @ARGV;
            my %a = map { split /=/, $_, 2 } @kv;
            sub prom { my %m; open my $f, "<", $_[0] or return {};
                       while (<$f>) { $m{$1} = $2 if /^(\w+\{[^}]*\}|\w+) (\S+)$/ } \%m }
            my $A = prom("$d/a.prom"); my $B = prom("$d/b.prom");
            my $secs = $a{t_b} - $a{t_a};
            my %req;
            for (keys %$B) {
                next unless /^streamline_hls_requests_total\{kind="(\w+)",code="(\w+)"\}/;
                $req{$1} += $B->{$_} - ($A->{$_} // 0);
                $req{err} += $B->{$_} - ($A->{$_} // 0) if $2 =~ /^[45]/;
            }
            my ($hsum, $hn, $hmax) = (0, 0, 0);
            for my $f (glob "$d/sec.*.prom") {
                my $v = prom($f)->{streamline_hls_held_requests} // next;
                $hsum += $v; $hn++; $hmax = $v if $v > $hmax;
            }
            my $tot = 0; $tot += $req{$_} // 0 for qw(playlist part segment init other);
            my $jiff = $a{all_b} - $a{all_a};
            my %r = (viewers => $nv, secs => sprintf("%.1f", $secs),
                o_req_s => sprintf("%.1f", $tot / $secs),
                o_playlist_s => sprintf("%.1f", ($req{playlist} // 0) / $secs),
                o_part_s => sprintf("%.1f", ($req{part} // 0) / $secs),
                o_other_s => sprintf("%.1f", ($tot - ($req{playlist} // 0) - ($req{part} // 0)) / $secs),
                o_err => $req{err} // 0,
                o_held_mean => sprintf("%.1f", $hn ? $hsum / $hn : 0), o_held_max => $hmax,
                o_cpu_core => sprintf("%.1f", ($a{ocpu_b} - $a{ocpu_a}) / $hz / $secs * 100),
                e_cpu_core => sprintf("%.1f", ($a{ecpu_b} - $a{ecpu_a}) / $hz / $secs * 100),
                busy_core => sprintf("%.1f", $jiff ? ($a{busy_b} - $a{busy_a}) / $jiff * 100 * $ncpu : 0),
                pub_core => sprintf("%.1f", ($a{pub_b} - $a{pub_a}) / $hz / $secs * 100),
                e_rss_mb => sprintf("%.1f", $a{erss} / 1024), e_pss_mb => sprintf("%.1f", $a{epss} / 1024));
            print join(" ", map { "$_=$r{$_}" } sort keys %r);
        ' "$1" "$2" "$ncpu" "$hz" t_a="$vt_a" t_b="$t_b" ocpu_a="$ocpu_a" ocpu_b="$ocpu_b" \
            ecpu_a="$ecpu_a" ecpu_b="$ecpu_b" pub_a="$vpub_a" pub_b="$pub_b" busy_a="$vbusy_a" busy_b="$busy_b" \
            all_a="$vall_a" all_b="$all_b" erss="$erss" epss="$epss"
        echo " $3"
    }
    seconds() {         # n dir: scrape the origin once a second for n seconds
        local k
        for (( k = 1; k <= $1; k++ )); do
            sleep_until "$vt_a" "$k"
            scrape "$mport" "$2/sec.$k.prom"
        done
    }

    base=$v/v0
    mkdir -p "$base"
    log "viewers: the channel alone for 10 s"
    window_start "$base"
    seconds 10 "$base"
    window_end "$base" 0 "" > "$dir/viewers-base.txt"

    for nv in $viewers_list; do
        d=$v/v$nv
        mkdir -p "$d"
        log "$nv viewers: ${vwarmup}s of warm-up and ${vduration}s measured"
        "$dir/capacity_viewers" "127.0.0.1:$edge" /hls/ch1 "$v/origin/media/ch1" \
            "$nv" "$vwarmup" "$vduration" > "$d/client.txt" 2> "$d/client.err" &
        cpid=$!
        pids+=($cpid)
        sleep "$vwarmup"
        window_start "$d"
        seconds "$vduration" "$d"
        rc=0
        wait "$cpid" || rc=$?
        forget "$cpid"
        line=$(tail -n 1 "$d/client.txt")
        if [ "$rc" != 0 ] || [ -z "$line" ]; then
            line="client_failed=1 client_error=$(head -c 300 "$d/client.err" | tr '\n =' '___')"
        fi
        # the client ends its window with ours; its own CPU is in its line
        window_end "$d" "$nv" "$line" >> "$dir/viewers.txt"
        { grep -E -o '(late_p99_ms|within_part|min_follow|errors|o_req_s|e_cpu_core)=[^ ]*' \
            <<< "$(tail -n 1 "$dir/viewers.txt")" \
            | paste -sd' ' - | sed "s/^/capacity: $nv viewers: /" >&2; } || true
    done
    ealerts=$(cat "$v/edge/logs/error.log" "$v/origin/logs/error.log" | grep -cE '\[(alert|emerg)\]' || true)
    stop "$vpub" "$emaster" "$omaster"
fi

# --- the report ----------------------------------------------------------

{
    echo "Streamline capacity (bench/capacity.sh)"
    echo "date:      $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "commit:    $commit$dirty, modules from $build/modules"
    echo "machine:   nproc $ncpu, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)," \
         "$(awk '/^MemTotal/ { printf "%.1f GiB RAM", $2 / 1048576 }' /proc/meminfo), Linux $(uname -r)"
    echo "media on:  $(df -T "$dir" | awk 'NR == 2 { print $2 " (" $7 ")" }')"
    echo "load:      $(cut -d' ' -f1-3 /proc/loadavg) at the end (1/5/15 min)"
    echo "nginx:     $("$nginx" -v 2>&1 | sed 's/^nginx version: //'); ffmpeg $(ffmpeg -version | head -1 | awk '{ print $3 }'); redis $(redis-server --version | awk '{ print $3 }' | sed 's/^v=//')"
    echo "config:    nginx-conf/origin.conf as shipped (worker_processes auto: $ncpu workers here; 2 s segments, 250 ms parts),"
    echo "           ladder: source (remuxed) + $ladder"
    echo "source:    $(basename "$src"): ${src_secs}s 1280x720 30 fps x264 veryfast high, B-frames, 2 s GOP, 2.5 Mbit/s,"
    echo "           AAC 128k; testsrc2 with temporal noise$([ -n "$clock" ] && echo " and a running clock"), looped"
    echo "publisher: ffmpeg -re -stream_loop -1 -i SRC.flv -c copy -f flv rtmp://127.0.0.1:PORT/live/KEY (one a channel)"
    echo "knobs:     CHANNELS=\"$channels_list\" DURATION=$duration WARMUP=$warmup VIEWERS=\"$viewers_list\" VIEWER_DURATION=$vduration VIEWER_WARMUP=$vwarmup"
    echo
    if [ -n "$(echo $channels_list)" ]; then
    echo "== Channels: N channels on one origin, ${duration}s measured after ${warmup}s of warm-up =="
    echo
    perl -e '
        my @rows;
        while (<STDIN>) { chomp; push @rows, { map { split /=/, $_, 2 } split / / } }
        my ($ref) = grep { $_->{started} && $_->{n} == 1 } @rows;
        ($ref) = grep { $_->{started} } @rows unless $ref;
        my $c1 = $ref ? $ref->{cpu_core} / $ref->{n} : 0;
        my $fmt = "%3s %-4s %9s %6s %6s %6s %6s %7s %7s %5s %6s %7s %7s %7s %8s %7s %7s %6s\n";
        printf $fmt, "N", "ok", "segs/exp", "drops", "lag", "fps", "cpu%", "cpu%", "cpu%/N", "lin", "other", "RSS", "PSS", "PSS/N", "zone", "zone/N", "disk/N", "seg/N";
        printf $fmt, "", "", "min", "", "max s", "min", "core", "machine", "core", "", "core%", "MB", "MB", "MB", "KB", "KB", "Mbit/s", "Mbit/s";
        for my $r (@rows) {
            if (!$r->{started}) { printf "%3d %-4s did not start: not every rendition had a segment within 40 s\n", $r->{n}, "NO"; next }
            printf "%3d %-4s %9s %6d %6.2f %6.1f %6.1f %7.1f %7.1f %5.2f %6.1f %7.1f %7.1f %7.1f %8s %7s %7.2f %6.2f\n",
                $r->{n}, $r->{ok} ? "yes" : "NO", "$r->{seg_min}/$r->{seg_expect}",
                $r->{drops} + $r->{pkt_drops}, $r->{lag_max}, $r->{fps_min}, $r->{cpu_core},
                $r->{cpu_machine}, $r->{cpu_core} / $r->{n}, $c1 ? $r->{cpu_core} / ($r->{n} * $c1) : 0,
                $r->{other_core}, $r->{rss_mb}, $r->{pss_mb}, $r->{pss_per_ch_mb},
                "$r->{zone_kb}", $r->{zone_per_ch_kb}, $r->{write_mbit_ch}, $r->{seg_mbit_ch};
        }
        print "\n";
        for my $r (grep { $_->{started} } @rows) {
            my @why;
            push @why, "a rendition wrote $r->{seg_min} segments, expected $r->{seg_expect}" if $r->{seg_min} < int($r->{seg_expect}) - 1;
            push @why, "$r->{drops} frames dropped by the ladder" if $r->{drops};
            push @why, "$r->{pkt_drops} packets dropped by the pipeline" if $r->{pkt_drops};
            push @why, "encoder lag reached $r->{lag_max} s" if $r->{lag_max} >= 1;
            push @why, "a publisher died" if $r->{alive} < $r->{n};
            push @why, "a worker was replaced" unless $r->{workers_same};
            push @why, "[alert]/[emerg] in error.log" if $r->{alerts};
            push @why, "only $r->{renditions} renditions reported" if $r->{renditions} < $r->{n} * $r->{nrend};
            printf "  N=%d: %s; lag mean %.3f s; since the publish %d frames and %d packets dropped;" .
                   " idle nginx: RSS %s MB, PSS %s MB; ingest %s Mbit/s a channel; publishers %s%% of a core;" .
                   " machine busy %s%% of a core (steal %s)%s%s\n",
                $r->{n}, $r->{ok} ? "real time" : "NOT real time: " . join(", ", @why), $r->{lag_mean},
                $r->{drops_total}, $r->{pkt_drops_total}, $r->{rss0_mb}, $r->{pss0_mb},
                $r->{rtmp_mbit_ch}, $r->{pub_core}, $r->{busy_core}, $r->{steal_core},
                $r->{behind_lines} ? "; \"falls behind\" logged $r->{behind_lines} times" : "",
                $r->{other_core} > 10 ? "; OTHER WORK used $r->{other_core}% of a core meanwhile: not a clean figure" : "";
        }
        print "\n  zone: pages in use of the DVR zone (streamline_media_zone, $ARGV[0] KB) at the end; before any publish: ",
              ($rows[0] && $rows[0]->{zone0_kb}) // "n/a", " KB\n";
        my ($z) = grep { $_->{started} && $_->{zone_per_ch_kb} =~ /^\d+$/ && $_->{zone_per_ch_kb} > 0 } reverse @rows;
        printf "  the zone (%d KB) has room for the DVR indexes of about %d channels of this ladder (%s KB a channel)\n",
            $ARGV[0], ($ARGV[0] - $z->{zone0_kb}) / $z->{zone_per_ch_kb}, $z->{zone_per_ch_kb} if $z;
        print "  reference for cpu%/N and lin: N=", ($ref ? $ref->{n} : "-"), " (", sprintf("%.1f", $c1), "% of a core a channel)\n";
    ' "$(( zone_bytes / 1024 ))" < "$dir/channels.txt"
    echo
    fi
    if [ -n "$(echo $viewers_list)" ]; then
        echo "== Viewers: V LL-HLS viewers of one channel through the edge, ${vduration}s measured after ${vwarmup}s =="
        echo
        perl -e '
            my ($base, @rows);
            sub kv { my $l = shift // ""; chomp $l; +{ map { split /=/, $_, 2 } split / /, $l } }
            if (open my $fh, "<", $ARGV[0]) { $base = kv(scalar <$fh>) }
            while (<STDIN>) { push @rows, kv($_) }
            my $fmt = "%6s %-4s %7s %7s %7s %7s %6s %7s %7s %7s %6s %7s %7s %7s %7s %7s %7s %6s %6s\n";
            printf $fmt, "V", "ok", "late", "late", "late", "within", "follow", "req/s", "Mbit/s", "errors",
                "edge", "edge", "inflt", "origin", "origin", "origin", "origin", "client", "other";
            printf $fmt, "", "", "p50 ms", "p99 ms", "max ms", "1 part", "min", "edge", "edge", "",
                "cpu%", "PSS MB", "mean", "req/s", "held", "held", "cpu%", "cpu%", "cpu%";
            printf $fmt, "", "", "", "", "", "", "", "", "", "", "core", "", "", "", "mean", "max", "core", "core", "core";
            for my $r (@rows) {
                if ($r->{client_failed}) {
                    (my $e = $r->{client_error} // "") =~ tr/_/ /;
                    printf "%6d %-4s the client failed: %s\n", $r->{viewers}, "NO", $e || "(no message)";
                    next;
                }
                my $ok = !$r->{errors} && !$r->{timeouts} && $r->{min_follow} >= 0.95
                         && $r->{late_p99_ms} <= $r->{part_target_ms};
                $r->{ok} = $ok;
                $r->{other} = $r->{busy_core} - $r->{o_cpu_core} - $r->{e_cpu_core} - $r->{client_cpu_pct} - $r->{pub_core};
                printf "%6d %-4s %7.1f %7.1f %7.1f %6.1f%% %6.3f %7.0f %7.1f %7d %6.1f %7.1f %7.0f %7.1f %7.1f %7d %7.1f %6.1f %6.1f\n",
                    $r->{viewers}, $ok ? "yes" : "NO", $r->{late_p50_ms}, $r->{late_p99_ms}, $r->{late_max_ms},
                    $r->{within_part} * 100, $r->{min_follow}, $r->{req_per_s}, $r->{mbit_per_s},
                    $r->{errors} + $r->{timeouts}, $r->{e_cpu_core}, $r->{e_pss_mb}, $r->{inflight_mean},
                    $r->{o_req_s}, $r->{o_held_mean}, $r->{o_held_max}, $r->{o_cpu_core}, $r->{client_cpu_pct}, $r->{other};
            }
            print "\n";
            printf "  without viewers: origin %s%% of a core (the channel), edge %s%%, origin %s req/s\n",
                $base->{o_cpu_core}, $base->{e_cpu_core}, $base->{o_req_s} if $base;
            for my $r (grep { !$_->{client_failed} } @rows) {
                printf "  V=%d: %d parts written (all renditions), %d received; requests ok: %d playlists, %d blocking reloads, %d parts;" .
                       " void hints %d; errors 4xx %d, 5xx %d, timeouts %d, reconnects %d; origin: playlists %s/s, parts %s/s, other %s/s, %d answers 4xx/5xx (void hints are 404s);" .
                       " part target %s ms; machine busy %s%% of a core%s\n",
                    $r->{viewers}, $r->{parts_written}, $r->{parts_received}, $r->{playlist_ok}, $r->{blocking_ok},
                    $r->{part_ok}, $r->{void_hints}, $r->{err_4xx}, $r->{err_5xx}, $r->{timeouts}, $r->{reconnects},
                    $r->{o_playlist_s}, $r->{o_part_s}, $r->{o_other_s}, $r->{o_err}, $r->{part_target_ms}, $r->{busy_core},
                    $r->{other} > 10 ? sprintf("; OTHER WORK used %.1f%% of a core meanwhile: not a clean figure", $r->{other}) : "";
            }
        ' "$dir/viewers-base.txt" < "$dir/viewers.txt"
        echo "  alerts in the edge's and origin's error.log: ${ealerts:-0}"
        echo
    fi
    cat <<'EOF'
Columns (bench/README.md, "Capacity", has more):
  channels: ok = every rendition of every channel wrote its segments (segs/exp: the fewest any rendition
    wrote in the window / the window over the target duration; one short is allowed, for the window's
    edges), no frame or packet dropped, encoder lag below 1 s all along, publishers and workers alive, no
    [alert]; drops = ladder frames + pipeline packets dropped in the window; lag = the highest
    streamline_encoder_lag_seconds of the per-second scrapes; fps = the slowest rung's frames encoded a
    second; cpu% = the nginx workers' utime+stime over the window, in % of one core (machine: of all
    cores); cpu%/N = the same a channel; lin = CPU(N) / (N x CPU(ref)), 1.00 is linear; other = what the
    rest of the machine used meanwhile (busy - nginx - publishers), in % of a core: above a few %, the
    figures are not clean; RSS = VmRSS summed over the master and workers (shared pages counted in each);
    PSS = proportional set size, shared pages split, summed; PSS/N = (PSS - PSS before the first publish)
    / N; zone = KB of the DVR zone's pages in use; zone/N = the same a channel, over the idle zone; disk/N =
    what the workers wrote (wchar: segments, parts, init, logs) in Mbit/s a channel; seg/N =
    streamline_media_bytes_total (segments only) in Mbit/s a channel.
  viewers: late = from the part's rename into the media directory at the origin (inotify) to its last
    byte at the viewer; within 1 part = parts that came within the part target; follow = the fewest parts a
    viewer got over the parts its rendition wrote in the window; ok = no error or timeout, every viewer got
    95 % of the parts, p99 late within the part target; req/s and Mbit/s = what the viewers got from the
    edge; edge cpu% = its workers and cache manager; inflt = the viewers' requests outstanding (sampled
    every 100 ms: mostly held at the edge); origin req/s = streamline_hls_requests_total at the origin
    (what the edge let through); held = streamline_hls_held_requests, sampled each second; origin cpu% =
    its workers (the channel's ladder included: see "without viewers"); client = the viewers' own CPU
    (they share the machine); other = the rest of the machine (busy - origin - edge - client -
    publisher), as for the channels.
EOF
} > "$out"

# the summary: at the end of the file, and printed
{
    echo
    echo "Summary ($commit, nproc $ncpu):"
    if [ -z "$(echo $channels_list)" ]; then
        :
    elif [ -n "$cap_n" ]; then
        perl -e '
            my ($n, $f) = @ARGV; open my $h, "<", $f or exit;
            while (<$h>) { chomp; my %r = map { split /=/, $_, 2 } split / /;
                next unless $r{n} == $n && $r{started};
                printf "  channels: %d kept real time with no drops (the largest N tried that did); the nginx workers used %s%% of a core (%s%% of the machine), %.1f%% a channel; PSS %s MB\n",
                    $n, $r{cpu_core}, $r{cpu_machine}, $r{cpu_core} / $n, $r{pss_mb} }
        ' "$cap_n" "$dir/channels.txt"
        last_n=$(tail -n 1 "$dir/channels.txt" | tr ' ' '\n' | grep '^n=' | cut -d= -f2 || true)
        [ "$last_n" != "$cap_n" ] && echo "  channels: $last_n did not keep real time"
    else
        echo "  channels: no N kept real time"
    fi
    if [ -s "$dir/viewers.txt" ]; then
        perl -ne '
            chomp; my %r = map { split /=/, $_, 2 } split / /;
            next if $r{client_failed} && print "  $r{viewers} viewers: the client failed\n";
            my $ok = !$r{errors} && !$r{timeouts} && $r{min_follow} >= 0.95 && $r{late_p99_ms} <= $r{part_target_ms};
            printf "  %d viewers: %s; part p99 %s ms after written, %.1f%% within a part; edge %s%% of a core; origin %s req/s, %s held\n",
                $r{viewers}, $ok ? "kept up" : "did NOT keep up", $r{late_p99_ms}, $r{within_part} * 100,
                $r{e_cpu_core}, $r{o_req_s}, $r{o_held_mean};
        ' "$dir/viewers.txt"
    fi
} > "$dir/summary.txt"
cat "$dir/summary.txt" >> "$out"

mkdir -p "$(dirname "$RESULTS")"
cp "$out" "$RESULTS.tmp" && mv "$RESULTS.tmp" "$RESULTS"
cat "$dir/summary.txt"
echo "  the tables: $RESULTS"
