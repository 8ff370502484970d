#!/usr/bin/env bash
# stream-module.sh [NGINX_BIN]
#
# Prints the load_module line that RTMPS needs (origin.conf's
# @STREAM_MODULE_LINE@): nginx's stream module with TLS, as Debian's
# libnginx-mod-stream installs it, for an nginx that builds it as a dynamic
# module (Debian's); nothing for one that has it built in (make static, the
# Docker image).  Fails when that nginx has no stream module at all.
set -euo pipefail

bin=${1:-${NGINX_BIN:-/usr/sbin/nginx}}
flags=$("$bin" -V 2>&1) || { echo "$0: error: cannot run $bin -V" >&2; exit 1; }

case " $flags " in
    *" --with-stream=dynamic "*)
        so=${STREAM_MODULE:-/usr/lib/nginx/modules/ngx_stream_module.so}
        if [ ! -f "$so" ]; then
            echo "$0: error: no $so: RTMPS needs nginx's stream module" \
                 "(Debian: apt-get install libnginx-mod-stream)" >&2
            exit 1
        fi
        echo "load_module $so;"
        ;;
    *" --with-stream "*)
        echo ""
        ;;
    *)
        echo "$0: error: $bin has no stream module: RTMPS needs one" \
             "(configure --with-stream --with-stream_ssl_module)" >&2
        exit 1
        ;;
esac
