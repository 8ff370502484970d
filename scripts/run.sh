#!/usr/bin/env bash
# Runs Streamline in the foreground: redis-server and nginx (with the
# nginx-conf/origin.conf configuration) on localhost.  Ctrl-C or SIGTERM
# stops both.
#
#   RTMP_PORT (1935; "off": RTMPS only)  HTTP_PORT (8080)  REDIS_PORT (6379)
#   RTMPS_PORT (1936)  RTMPS, with TLS_CERT and TLS_KEY (PEM files; default:
#                     a self-signed pair made once in run/tls/)
#   RTMP_INTERNAL_PORT (19350): where RTMPS goes on to nginx-rtmp, 127.0.0.1
#   METRICS_PORT (9145): Prometheus metrics, on 127.0.0.1 only
#   ORIGIN_ADDRESS    where edges reach this origin's HTTP side, recorded in
#                     the state of the channels it holds (default:
#                     127.0.0.1:HTTP_PORT; see README, Scale-out)
#   STREAMLINE_KEY    the stream key of channel "main" (default: made on the
#                     first run and kept in run/stream-key)
#   RUN_DIR           runtime files (default: ./run)
#   NGINX_BIN         nginx binary (default: /usr/sbin/nginx)
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
RTMP_PORT=${RTMP_PORT:-1935}
RTMPS_PORT=${RTMPS_PORT:-1936}
RTMP_INTERNAL_PORT=${RTMP_INTERNAL_PORT:-19350}
HTTP_PORT=${HTTP_PORT:-8080}
REDIS_PORT=${REDIS_PORT:-6379}
METRICS_PORT=${METRICS_PORT:-9145}
if [[ "$HTTP_PORT" =~ ^[0-9]+$ ]]; then
    ORIGIN_ADDRESS=${ORIGIN_ADDRESS:-127.0.0.1:$HTTP_PORT}
else
    ORIGIN_ADDRESS=${ORIGIN_ADDRESS:-$HTTP_PORT}
fi
RUN_DIR=${RUN_DIR:-$top/run}
BUILD_DIR=${BUILD_DIR:-$top/build}
NGINX_BIN=${NGINX_BIN:-/usr/sbin/nginx}

mkdir -p "$RUN_DIR"/redis "$RUN_DIR"/logs "$RUN_DIR"/tmp
RUN_DIR=$(cd "$RUN_DIR" && pwd)

rtmp_listen="listen $RTMP_PORT;"
ports=("$RTMPS_PORT" "$RTMP_INTERNAL_PORT" "$HTTP_PORT" "$REDIS_PORT" "$METRICS_PORT")
if [ "$RTMP_PORT" = off ]; then
    rtmp_listen=
else
    ports+=("$RTMP_PORT")
fi
for port in "${ports[@]}"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        echo "$0: error: port $port is in use on 127.0.0.1 (set RTMP_PORT," \
             "RTMPS_PORT, RTMP_INTERNAL_PORT, HTTP_PORT, REDIS_PORT or" \
             "METRICS_PORT)" >&2
        exit 1
    fi
done

# RTMPS: the certificate given, else a self-signed one (OBS must be told
# to trust it; a real one: README, TLS)
if [ -z "${TLS_CERT:-}" ] || [ -z "${TLS_KEY:-}" ]; then
    { read -r TLS_CERT; read -r TLS_KEY; } < <("$top/scripts/tls-cert.sh" "$RUN_DIR/tls")
fi
stream_module=$("$top/scripts/stream-module.sh" "$NGINX_BIN")

# nginx's fast shutdown (TERM), as Ctrl-C (INT to the whole group) and
# docker stop do: each worker ends its streams (last segments, ENDLIST)
# and writes its channels' idle states before it exits, in a second or
# two whoever is publishing.
redis_pid= nginx_pid=
stop() {
    trap - INT TERM EXIT
    [ -n "$nginx_pid" ] && kill -TERM "$nginx_pid" 2>/dev/null && wait "$nginx_pid" 2>/dev/null
    [ -n "$redis_pid" ] && kill -TERM "$redis_pid" 2>/dev/null && wait "$redis_pid" 2>/dev/null
    echo "streamline stopped"
}
trap 'stop; exit 0' INT TERM
trap stop EXIT

# Redis keeps its data (stream keys, states) across runs in run/redis.
redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$RUN_DIR/redis" \
    --save 60 1 --appendonly yes --logfile "$RUN_DIR/logs/redis.log" &
redis_pid=$!
for _ in $(seq 1 100); do
    redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break
    sleep 0.05
done
redis-cli -p "$REDIS_PORT" ping >/dev/null || { echo "$0: error: redis-server did not start (run/logs/redis.log)" >&2; exit 1; }

# The stream key of channel "main": STREAMLINE_KEY, else the one of an
# earlier run, else a new one.  It is the only key of "main".
keyfile=$RUN_DIR/stream-key
if [ -n "${STREAMLINE_KEY:-}" ]; then
    key=$STREAMLINE_KEY
elif [ -s "$keyfile" ]; then
    key=$(cat "$keyfile")
else
    key=
fi
key=$(REDIS_PORT=$REDIS_PORT "$top/scripts/streamline-key" set main "${key:--}" <<< "$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')")
(umask 077; printf '%s\n' "$key" > "$keyfile")

"$top/scripts/render-conf.sh" "$top/nginx-conf/origin.conf" "$RUN_DIR/nginx.conf" \
    RTMP_LISTEN_LINE="$rtmp_listen" RTMPS_PORT="$RTMPS_PORT" \
    TLS_CERT="$TLS_CERT" TLS_KEY="$TLS_KEY" \
    RTMP_INTERNAL="127.0.0.1:$RTMP_INTERNAL_PORT" \
    STREAM_MODULE_LINE="$stream_module" HTTP_PORT="$HTTP_PORT" \
    REDIS_ADDR="127.0.0.1:$REDIS_PORT" PREFIX="$RUN_DIR" \
    ORIGIN_ADDRESS="$ORIGIN_ADDRESS" \
    MODULES="$BUILD_DIR/modules" HTML="$top/html/dist" ORIGIN_SECRET_LINE="" \
    METRICS_ADDR="127.0.0.1:$METRICS_PORT"

"$NGINX_BIN" -p "$RUN_DIR" -c "$RUN_DIR/nginx.conf" -e "$RUN_DIR/logs/error.log" -t -q
"$NGINX_BIN" -p "$RUN_DIR" -c "$RUN_DIR/nginx.conf" -e "$RUN_DIR/logs/error.log" \
    -g 'daemon off;' &
nginx_pid=$!

host=$(hostname -I 2>/dev/null | awk '{print $1}')
cat <<MSG

  Streamline is running (Ctrl-C stops it).

  OBS  Settings > Stream > Service: Custom
       Server:     ${rtmp_listen:+rtmp://${host:-127.0.0.1}:$RTMP_PORT/live  or  }rtmps://${host:-127.0.0.1}:$RTMPS_PORT/live
       Stream Key: $key
       (RTMPS certificate: $TLS_CERT)

  API     http://127.0.0.1:$HTTP_PORT/api/stream
  HLS     http://127.0.0.1:$HTTP_PORT/hls/main/master.m3u8   (LL-HLS, once live)
  Player  http://127.0.0.1:$HTTP_PORT/
  Metrics http://127.0.0.1:$METRICS_PORT/metrics   (Prometheus)
  Logs    $RUN_DIR/logs/

MSG
wait "$nginx_pid"
