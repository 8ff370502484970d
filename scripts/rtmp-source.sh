#!/usr/bin/env bash
# rtmp-source.sh BUILD_DIR [VERSION]
#
# nginx-rtmp-module's upstream source (default 1.2.2), fetched from
# Debian's source archive (scripts/fetch-source.sh) and unpacked once into
# BUILD_DIR/nginx-rtmp-module-VERSION.  Prints that directory.  Used by
# build.sh and build-deb.sh.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=$1
version=${2:-1.2.2}
src=$build/nginx-rtmp-module-$version

if [ ! -f "$src/config" ]; then
    "$top/scripts/fetch-source.sh" libnginx-mod-rtmp "$version" \
        "$build/src" >&2
    tar -C "$build" -xf "$build"/src/libnginx-mod-rtmp_"$version"*.orig.tar.*
fi
[ -f "$src/config" ] || {
    echo "$0: error: $src is not nginx-rtmp-module's source" >&2
    exit 1
}
cd "$src" && pwd
