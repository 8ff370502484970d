#!/usr/bin/env bash
# Streamline's container entrypoint (installed as
# /usr/local/bin/streamline-entrypoint).
#
#   streamline-entrypoint            render nginx-conf/origin.conf from the
#                                    environment, then exec nginx in the
#                                    foreground (daemon off, logs to
#                                    stdout/stderr)
#   streamline-entrypoint -ARGS...   the same with extra nginx arguments, e.g.
#                                    -t (test the configuration and exit) or
#                                    -T (test and print it)
#   streamline-entrypoint health     exit 0 when GET /api/stream answers 200
#                                    (the image's HEALTHCHECK)
#   streamline-entrypoint CMD...     run CMD (bash, redis-cli, streamline-key)
#
# Called as streamline-key (a symlink to this file), it runs
# scripts/streamline-key with REDIS_HOST and REDIS_PORT taken from
# REDIS_ADDR, unless REDIS_HOST is set.
#
# Environment:
#   RTMP_PORT        1935          RTMP listen: port, or address:port;
#                                  "off": RTMPS only
#   RTMPS_PORT       1936          RTMPS listen (publish it as 443: OBS's
#                                  rtmps://<host>:443/live)
#   TLS_CERT, TLS_KEY (unset)      RTMPS certificate chain and key (PEM
#                                  files mounted into the container); unset:
#                                  a self-signed pair made once in RUN_DIR/tls
#   RTMP_INTERNAL    127.0.0.1:19350  where RTMPS goes on to nginx-rtmp
#   HTTP_PORT        8080          HTTP listen: port, or address:port
#   METRICS_ADDR     9145          where Prometheus scrapes /metrics: port,
#                                  or address:port (do not publish it to the
#                                  internet; the container network is enough)
#   REDIS_ADDR       redis:6379    Redis, host:port or unix:/path.  nginx
#                                  resolves the host name when it starts (and
#                                  on reload, SIGHUP), never afterwards.
#   REDIS_WAIT       30            seconds to wait for REDIS_ADDR's host name
#                                  to resolve before nginx starts
#   ORIGIN_ADDRESS   127.0.0.1:<HTTP_PORT>  where edges reach this origin's
#                                  HTTP side (its address on their network),
#                                  recorded with the channels it holds: set
#                                  it when several origins share one Redis
#                                  (README, Scale-out)
#   ORIGIN_SECRET    (unset)       when set and not empty, only requests with
#                                  the header "X-Streamline-Origin: <secret>"
#                                  are served (403 otherwise): the origin lock
#                                  behind a CDN or nginx-conf/edge.conf.  16 or
#                                  more of A-Z a-z 0-9 . _ ~ + / = -
#   ORIGIN_SECRET_FILE (unset)     a file holding the secret (a Docker secret),
#                                  read when ORIGIN_SECRET is unset
#   RUN_DIR          /var/lib/streamline   runtime directory: the rendered
#                                  nginx.conf, pid, tmp/, media/ (the DVR
#                                  segments), logs/ (links to stdout/stderr)
#   STREAMLINE_HOME  /opt/streamline       sbin/nginx, modules/, nginx-conf/,
#                                  html/, scripts/
set -euo pipefail

home=${STREAMLINE_HOME:-/opt/streamline}
secret_header=X-Streamline-Origin

die() { echo "streamline: error: $*" >&2; exit 1; }

# REDIS_ADDR as host and port: "host:port", "[v6]:port", "host", "v6"
redis_host_port() {
    local addr=${REDIS_ADDR:-redis:6379}
    case $addr in
    unix:*|sentinel:*) return 1 ;;
    \[*)    redis_host=${addr#[}; redis_host=${redis_host%%]*}
            redis_port=${addr#*]}; redis_port=${redis_port#:} ;;
    *:*:*)  redis_host=$addr; redis_port= ;;
    *:*)    redis_host=${addr%:*}; redis_port=${addr##*:} ;;
    *)      redis_host=$addr; redis_port= ;;
    esac
    redis_port=${redis_port:-6379}
}

# the key tool, with Redis's address from REDIS_ADDR
if [ "$(basename "$0")" = streamline-key ]; then
    if [ -z "${REDIS_HOST:-}" ]; then
        redis_host_port || die "REDIS_ADDR=${REDIS_ADDR:-} is a unix socket or sentinels:" \
            "set REDIS_HOST and REDIS_PORT for streamline-key"
        export REDIS_HOST=$redis_host REDIS_PORT=$redis_port
    fi
    exec "$home/scripts/streamline-key" "$@"
fi

RTMP_PORT=${RTMP_PORT:-1935}
RTMPS_PORT=${RTMPS_PORT:-1936}
RTMP_INTERNAL=${RTMP_INTERNAL:-127.0.0.1:19350}
HTTP_PORT=${HTTP_PORT:-8080}
METRICS_ADDR=${METRICS_ADDR:-9145}
REDIS_ADDR=${REDIS_ADDR:-redis:6379}
REDIS_WAIT=${REDIS_WAIT:-30}
if [[ "$HTTP_PORT" =~ ^[0-9]+$ ]]; then
    ORIGIN_ADDRESS=${ORIGIN_ADDRESS:-127.0.0.1:$HTTP_PORT}
else
    ORIGIN_ADDRESS=${ORIGIN_ADDRESS:-$HTTP_PORT}
fi
RUN_DIR=${RUN_DIR:-/var/lib/streamline}

secret=${ORIGIN_SECRET:-}
if [ -z "$secret" ] && [ -n "${ORIGIN_SECRET_FILE:-}" ]; then
    [ -r "$ORIGIN_SECRET_FILE" ] || die "cannot read ORIGIN_SECRET_FILE=$ORIGIN_SECRET_FILE"
    IFS= read -r secret < "$ORIGIN_SECRET_FILE" || true
    secret=${secret%$'\r'}
    [ -n "$secret" ] || die "ORIGIN_SECRET_FILE=$ORIGIN_SECRET_FILE is empty"
fi

# the listen address's port, for the health check (port, address:port,
# [v6]:port; a wildcard address is asked on the loopback)
health() {
    local listen=${HTTP_PORT%% *} host port status hdr=
    case $listen in
    \[*\]:*) host=${listen%]:*}; host=${host#[}; port=${listen##*]:} ;;
    *:*)     host=${listen%:*}; port=${listen##*:} ;;
    *)       host=127.0.0.1; port=$listen ;;
    esac
    case $host in
    '*'|0.0.0.0) host=127.0.0.1 ;;
    ::)          host=::1 ;;
    esac
    [ -n "$secret" ] && hdr="$secret_header: $secret"$'\r\n'
    exec 3<>"/dev/tcp/$host/$port" || exit 1
    printf 'GET /api/stream HTTP/1.0\r\nHost: localhost\r\n%s\r\n' "$hdr" >&3
    IFS= read -r -t 4 status <&3 || exit 1
    exec 3<&-
    case $status in
    'HTTP/1.'?' 200 '*) exit 0 ;;
    *) echo "streamline: unhealthy: ${status%$'\r'}" >&2; exit 1 ;;
    esac
}

case ${1:-} in
health) health ;;
''|-*)  ;;
*)      exec "$@" ;;
esac

# --- render the configuration ------------------------------------------

for var in RTMP_PORT RTMPS_PORT RTMP_INTERNAL HTTP_PORT METRICS_ADDR REDIS_ADDR \
           ORIGIN_ADDRESS; do
    value=${!var}
    [[ -n "$value" && "$value" != *[\;{}#\"\'\\]* ]] \
        || die "$var='$value' is empty or holds one of ; { } # \" ' \\"
done
[[ "$REDIS_ADDR" != *[[:space:]]* ]] || die "REDIS_ADDR='$REDIS_ADDR' holds a space"
[[ "$REDIS_WAIT" =~ ^[0-9]+$ ]] || die "REDIS_WAIT='$REDIS_WAIT' is not a number of seconds"

secret_line=
if [ -n "$secret" ]; then
    [[ "$secret" =~ ^[A-Za-z0-9._~+/=-]{16,}$ ]] \
        || die "ORIGIN_SECRET must be 16 or more of A-Z a-z 0-9 . _ ~ + / = -" \
               "(e.g. openssl rand -hex 32)"
    secret_line="streamline_origin_secret $secret_header $secret;"
fi

mkdir -p "$RUN_DIR" 2>/dev/null || true
if [ ! -d "$RUN_DIR" ] || [ ! -w "$RUN_DIR" ]; then
    die "RUN_DIR=$RUN_DIR is not a writable directory for uid $(id -u)"
fi
RUN_DIR=$(cd "$RUN_DIR" && pwd)
mkdir -p "$RUN_DIR/logs" "$RUN_DIR/tmp" "$RUN_DIR/media"

# nginx's log files are the container's output: the error log goes to
# stderr, the HTTP and RTMP access logs to stdout, through links that nginx
# opens.  A process that is not root can open /dev/stdout only when the
# stream is its user's (Docker gives a container's output to its user; a
# runtime that does not gets files in logs/ instead, and the error log is
# then also written to stderr by nginx itself).
globals='daemon off;'
log_to() {  # log_to FILE STREAM
    if [ -w "/dev/$2" ]; then
        ln -sfn "/dev/$2" "$RUN_DIR/logs/$1"
        return 0
    fi
    if [ -L "$RUN_DIR/logs/$1" ]; then
        rm -f "$RUN_DIR/logs/$1"
    fi
    echo "streamline: warning: /dev/$2 is not writable by uid $(id -u):" \
         "logging to $RUN_DIR/logs/$1" >&2
    return 1
}
log_to error.log stderr || globals="$globals error_log stderr notice;"
log_to access.log stdout || true
log_to rtmp-access.log stdout || true

rtmp_listen="listen $RTMP_PORT;"
[ "$RTMP_PORT" = off ] && rtmp_listen=
if [ -z "${TLS_CERT:-}" ] || [ -z "${TLS_KEY:-}" ]; then
    { read -r TLS_CERT; read -r TLS_KEY; } < <("$home/scripts/tls-cert.sh" "$RUN_DIR/tls") \
        || die "cannot make a certificate in $RUN_DIR/tls"
    echo "streamline: RTMPS with a self-signed certificate ($TLS_CERT):" \
         "set TLS_CERT and TLS_KEY for a real one" >&2
fi
[ -r "$TLS_CERT" ] && [ -r "$TLS_KEY" ] \
    || die "cannot read TLS_CERT=$TLS_CERT or TLS_KEY=$TLS_KEY"
stream_module=$("$home/scripts/stream-module.sh" "$home/sbin/nginx") \
    || die "this nginx cannot take RTMPS"

"$home/scripts/render-conf.sh" "$home/nginx-conf/origin.conf" "$RUN_DIR/nginx.conf" \
    RTMP_LISTEN_LINE="$rtmp_listen" RTMPS_PORT="$RTMPS_PORT" \
    RTMP_INTERNAL="$RTMP_INTERNAL" TLS_CERT="$TLS_CERT" TLS_KEY="$TLS_KEY" \
    STREAM_MODULE_LINE="$stream_module" \
    HTTP_PORT="$HTTP_PORT" REDIS_ADDR="$REDIS_ADDR" \
    ORIGIN_ADDRESS="$ORIGIN_ADDRESS" \
    PREFIX="$RUN_DIR" MODULES="$home/modules" HTML="$home/html" \
    ORIGIN_SECRET_LINE="$secret_line" METRICS_ADDR="$METRICS_ADDR"

# nginx looks Redis's host name up once, when it reads the configuration,
# and refuses to start when it cannot: give a Redis container that is
# starting beside this one time to get its name.  (Redis itself may come
# later: the module reconnects.)
if redis_host_port && [[ ! "$redis_host" =~ ^[0-9.]+$ && "$redis_host" != *:* ]]; then
    waited=0
    until getent ahosts "$redis_host" >/dev/null 2>&1; do
        if [ "$waited" -ge "$REDIS_WAIT" ]; then
            echo "streamline: warning: $redis_host does not resolve after ${REDIS_WAIT}s" >&2
            break
        fi
        [ "$waited" = 0 ] && echo "streamline: waiting for $redis_host to resolve" >&2
        sleep 1
        waited=$((waited + 1))
    done
fi

lock=off
[ -n "$secret_line" ] && lock=on
echo "streamline: rtmp $RTMP_PORT, rtmps $RTMPS_PORT, http $HTTP_PORT, redis $REDIS_ADDR," \
     "origin lock $lock, run dir $RUN_DIR" >&2

exec "$home/sbin/nginx" -p "$RUN_DIR/" -c "$RUN_DIR/nginx.conf" -e stderr \
    -g "$globals" "$@"
