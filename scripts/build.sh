#!/usr/bin/env bash
# Builds ngx_rtmp_module.so and ngx_streamline_module.so (and, with a full
# nginx source tree, the nginx binary too).  Used by the Makefile, the tests,
# CI and the Dockerfile, so that all of them build the same way.
#
#   NGINX_SRC     nginx source tree          (default: /usr/share/nginx/src,
#                                             Debian's nginx-dev: headers and
#                                             configure, modules only)
#   NGX_RTMP_SRC  nginx-rtmp-module source   (default: fetched from Debian's
#                                             source archive into build/)
#   BUILD_DIR     output directory           (default: build)
#   LINK          dynamic | static           (default: dynamic; static needs a
#                                             full NGINX_SRC)
#   SANITIZE      1 builds with ASan+UBSan
#   WERROR        1 (default) makes warnings errors
#   EXTRA_CC_OPT  compiler and linker flags added to ours (debian/rules
#   EXTRA_LD_OPT  passes dpkg-buildflags' hardening flags this way)
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
NGINX_SRC=${NGINX_SRC:-/usr/share/nginx/src}
BUILD_DIR=${BUILD_DIR:-$top/build}
LINK=${LINK:-dynamic}
SANITIZE=${SANITIZE:-0}
WERROR=${WERROR:-1}
RTMP_VERSION=${RTMP_VERSION:-1.2.2}

mkdir -p "$BUILD_DIR"
BUILD_DIR=$(cd "$BUILD_DIR" && pwd)

if [ -z "${NGX_RTMP_SRC:-}" ]; then
    NGX_RTMP_SRC=$("$top/scripts/rtmp-source.sh" "$BUILD_DIR" "$RTMP_VERSION")
fi
NGX_RTMP_SRC=$(cd "$NGX_RTMP_SRC" && pwd)

if [ ! -f "$NGINX_SRC/configure" ] && [ ! -f "$NGINX_SRC/auto/configure" ]; then
    echo "$0: error: NGINX_SRC=$NGINX_SRC is not an nginx source tree" \
         "(install Debian's nginx-dev or set NGINX_SRC)" >&2
    exit 1
fi

full=0
[ -f "$NGINX_SRC/src/core/nginx.c" ] && full=1
if [ "$LINK" = static ] && [ $full = 0 ]; then
    echo "$0: error: LINK=static needs a full nginx source tree in NGINX_SRC" >&2
    exit 1
fi

# Debian's nginx-dev records the flags its nginx binary was configured with:
# modules built with the same flags load into that binary.
flags=()
if [ -f "$NGINX_SRC/conf_flags" ]; then
    # shellcheck disable=SC1091
    . "$NGINX_SRC/conf_flags"
    flags=("${NGX_CONF_FLAGS[@]}")
else
    # TLS for the edge (HTTPS, HTTP/2) and RTMPS (the stream module), as
    # Debian's nginx has them, built in
    flags=(--with-compat --with-threads --with-debug --with-http_ssl_module
           --with-http_v2_module --with-stream --with-stream_ssl_module)
fi

ccopt="-g -O2 -fPIC -Wall -Wextra -Wno-unused-parameter"
ldopt=""
if [ "$SANITIZE" = 1 ]; then
    # alignment is left out: nginx-rtmp reads packed protocol fields through
    # casts (ngx_rtmp_handshake.c), which x86 allows and UBSan reports
    ccopt="$ccopt -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize=alignment -fno-sanitize-recover=undefined -DNGX_DEBUG_PALLOC=1"
    ldopt="-fsanitize=address,undefined"
fi
if [ "$WERROR" != 1 ]; then
    ccopt="$ccopt -Wno-error"
fi
ccopt="$ccopt${EXTRA_CC_OPT:+ $EXTRA_CC_OPT}"
ldopt="$ldopt${EXTRA_LD_OPT:+ $EXTRA_LD_OPT}"

if [ "$LINK" = static ]; then
    mods=(--add-module="$NGX_RTMP_SRC" --add-module="$top")
else
    mods=(--add-dynamic-module="$NGX_RTMP_SRC" --add-dynamic-module="$top")
fi

obj=$BUILD_DIR/nginx-$LINK
stamp="$NGINX_SRC|$NGX_RTMP_SRC|$LINK|$SANITIZE|$WERROR|${flags[*]}|$ccopt|$ldopt"
if [ ! -f "$obj/objs/Makefile" ] || [ "$(cat "$obj/.stamp" 2>/dev/null)" != "$stamp" ] \
   || [ "$top/config" -nt "$obj/objs/Makefile" ]; then
    rm -rf "$obj"
    mkdir -p "$obj"
    cp -a "$NGINX_SRC"/. "$obj"/
    [ -f "$obj/configure" ] || cp "$obj/auto/configure" "$obj/configure"
    (cd "$obj" && ./configure "${flags[@]}" \
        --with-cc-opt="$ccopt" --with-ld-opt="$ldopt" "${mods[@]}") \
        > "$BUILD_DIR/configure-$LINK.log" 2>&1 || {
        tail -n 30 "$BUILD_DIR/configure-$LINK.log" >&2
        echo "$0: error: nginx configure failed (log: $BUILD_DIR/configure-$LINK.log)" >&2
        exit 1
    }
    echo "$stamp" > "$obj/.stamp"
fi

jobs=$(nproc 2>/dev/null || echo 2)
if [ $full = 1 ]; then
    make -C "$obj" -f objs/Makefile -j"$jobs"
else
    make -C "$obj" -f objs/Makefile -j"$jobs" modules
fi

# copy, then rename: a running nginx keeps the file it mapped (copying over
# a loaded .so in place crashes every process that has it loaded)
place() {
    cp "$1" "$2.new.$$"
    mv -f "$2.new.$$" "$2"
}

mkdir -p "$BUILD_DIR/modules"
if [ "$LINK" = dynamic ]; then
    for so in ngx_rtmp_module.so ngx_streamline_module.so; do
        place "$obj/objs/$so" "$BUILD_DIR/modules/$so"
    done
fi
if [ $full = 1 ]; then
    mkdir -p "$BUILD_DIR/sbin"
    place "$obj/objs/nginx" "$BUILD_DIR/sbin/nginx-$LINK"
fi
