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
