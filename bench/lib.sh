# bench/lib.sh: sourced by the benchmark scripts that run a publisher into
# their own nginx (glass.sh, ladder.sh, player.sh).
#
#   bench_init NAME        top, build, nginx, a temp dir ($dir, workers may
#                          write in it), $pids (killed in reverse on exit;
#                          KEEP=1 keeps the dir), and free ports $rtmp $http
#   bench_redis            redis-server on $rport, channel main with the
#                          stream key $key
#   bench_conf_head W C    the top of an nginx.conf: both modules, W
#                          workers, C connections, Redis
#   bench_nginx            starts nginx on $dir/nginx.conf ($nginx_pid)
#   bench_origin_conf OUT PREFIX RTMP HTTP METRICS [SECRET_LINE]
#                          nginx-conf/origin.conf rendered to OUT as shipped,
#                          on 127.0.0.1 ports (RTMPS on free ones, with a
#                          self-signed certificate in $dir/tls)

port() { perl -MIO::Socket::INET -e 'print IO::Socket::INET->new(Listen => 1, LocalAddr => "127.0.0.1:0")->sockport'; }

bench_cleanup() {
    local i
    for (( i = ${#pids[@]} - 1; i >= 0; i-- )); do
        kill "${pids[i]}" 2>/dev/null || true
        wait "${pids[i]}" 2>/dev/null || true
    done
    [ -n "${KEEP:-}" ] || rm -rf "$dir"
}

bench_init() {
    top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
    build=${BUILD_DIR:-$top/build}
    nginx=${NGINX_BIN:-/usr/sbin/nginx}
    dir=$(mktemp -d "/tmp/streamline-$1.XXXXXX")
    chmod 755 "$dir"            # the workers (user nobody) write media/ in it
    pids=()
    trap bench_cleanup EXIT
    rtmp=$(port) http=$(port) rport=$(port)
    key=$1-$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')
}

bench_redis() {
    redis-server --port "$rport" --save '' --appendonly no --dir "$dir" \
        --logfile "$dir/redis.log" &
    pids+=($!)
    for _ in $(seq 50); do redis-cli -p "$rport" ping >/dev/null 2>&1 && break; sleep 0.1; done
    REDIS_PORT=$rport "$top/scripts/streamline-key" set main "$key" >/dev/null
}

bench_conf_head() {
    cat <<EOF
load_module $build/modules/ngx_rtmp_module.so;
load_module $build/modules/ngx_streamline_module.so;
worker_processes $1;
pid $dir/nginx.pid;
error_log $dir/error.log notice;
events { worker_connections $2; }
streamline_redis 127.0.0.1:$rport;
EOF
}

bench_nginx() {
    "$nginx" -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" -g 'daemon off;' &
    nginx_pid=$!
    pids+=($nginx_pid)
    sleep 1
}

bench_origin_conf() {
    local cert tls_key
    { read -r cert; read -r tls_key; } < <("$top/scripts/tls-cert.sh" "$dir/tls")
    "$top/scripts/render-conf.sh" "$top/nginx-conf/origin.conf" "$1" \
        RTMP_LISTEN_LINE="listen 127.0.0.1:$3;" \
        RTMPS_PORT="127.0.0.1:$(port)" RTMP_INTERNAL="127.0.0.1:$(port)" \
        TLS_CERT="$cert" TLS_KEY="$tls_key" \
        STREAM_MODULE_LINE="$("$top/scripts/stream-module.sh" "$nginx")" \
        HTTP_PORT="127.0.0.1:$4" REDIS_ADDR="127.0.0.1:$rport" PREFIX="$2" \
        ORIGIN_ADDRESS="127.0.0.1:$4" \
        MODULES="$build/modules" HTML="${HTML_DIR:-$top/html/dist}" \
        ORIGIN_SECRET_LINE="${6:-}" METRICS_ADDR="127.0.0.1:$5"
}
