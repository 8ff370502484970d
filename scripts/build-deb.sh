#!/usr/bin/env bash
# Builds the Debian package libnginx-mod-streamline (make deb) with Debian's
# tooling: the package's sources are staged in BUILD_DIR/deb/ with
# nginx-rtmp-module's upstream source beside them (fetched as
# scripts/build.sh does), then dpkg-buildpackage builds the binary package
# there, unsigned.  The .deb (and its -dbgsym .ddeb) end up in
# BUILD_DIR/deb/; the last line printed is the .deb's path.  Nothing is
# written outside BUILD_DIR.
#
# The version is debian/changelog's, plus the git commit when there is one
# (0.1.0+git20261202.035500.25e2527, ".dirty" for uncommitted changes), so
# that apt sees each build as a new version.  When the staged sources are
# the same as for the .deb already there, that .deb is kept.
#
#   BUILD_DIR     output directory          (default: build)
#   NGX_RTMP_SRC  nginx-rtmp-module source  (default: fetched into BUILD_DIR)
#   RTMP_VERSION  its version               (default: 1.2.2)
#   DEB_BUILD_OPTIONS  as dpkg-buildpackage reads it (e.g. nocheck)
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$top/build}
RTMP_VERSION=${RTMP_VERSION:-1.2.2}
pkg=libnginx-mod-streamline

for tool in dpkg-buildpackage dh dh_nginx; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "$0: error: $tool is missing: install dpkg-dev, debhelper and" \
             "nginx-dev (scripts/install-deps.sh does)" >&2
        exit 1
    fi
done

mkdir -p "$BUILD_DIR/deb"
BUILD_DIR=$(cd "$BUILD_DIR" && pwd)
out=$BUILD_DIR/deb

# nginx-rtmp-module's source, as build.sh gets it
if [ -z "${NGX_RTMP_SRC:-}" ]; then
    NGX_RTMP_SRC=$("$top/scripts/rtmp-source.sh" "$BUILD_DIR" "$RTMP_VERSION")
fi
[ -f "$NGX_RTMP_SRC/config" ] || {
    echo "$0: error: NGX_RTMP_SRC=$NGX_RTMP_SRC is not nginx-rtmp-module's source" >&2
    exit 1
}

# the files the package is built from: tracked and new ones of the work
# tree (not what .gitignore leaves out), or all of them without git
parts=(config ngx_streamline_module scripts nginx-conf debian README.md)
stage=$out/$pkg
rm -rf "$stage"
mkdir -p "$stage"
if git -C "$top" rev-parse --git-dir >/dev/null 2>&1; then
    (cd "$top" && git ls-files -z --cached --others --exclude-standard -- "${parts[@]}" \
        | xargs -0 -r sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh \
        | tar --null -T - -cf -) | tar -C "$stage" -xf -
else
    (cd "$top" && cp -a "${parts[@]}" "$stage"/)
fi
cp -a "$NGX_RTMP_SRC" "$stage/nginx-rtmp-module-$RTMP_VERSION"

# the version
base=$(cd "$stage" && dpkg-parsechangelog -S Version)
version=$base
if git -C "$top" rev-parse --verify -q HEAD >/dev/null 2>&1; then
    when=$(TZ=UTC git -C "$top" log -1 --format=%cd --date=format-local:%Y%m%d.%H%M%S)
    hash=$(git -C "$top" rev-parse --short=7 HEAD)
    version=$base+git$when.$hash
    if [ -n "$(git -C "$top" status --porcelain -- "${parts[@]}")" ]; then
        version=$version.dirty
    fi
    {
        printf '%s (%s) unstable; urgency=medium\n\n' "$pkg" "$version"
        printf '  * Built from git commit %s%s.\n\n' \
            "$(git -C "$top" rev-parse HEAD)" \
            "$([ "${version%.dirty}" != "$version" ] && echo ' with uncommitted changes')"
        printf ' -- %s  %s\n\n' "$(cd "$stage" && dpkg-parsechangelog -S Maintainer)" \
            "$(git -C "$top" log -1 --format=%cD)"
        cat "$stage/debian/changelog"
    } > "$stage/debian/changelog.new"
    mv "$stage/debian/changelog.new" "$stage/debian/changelog"
fi

arch=$(dpkg --print-architecture)
deb=$out/${pkg}_${version}_$arch.deb
stamp=$( (cd "$stage" && find . -type f -print0 | LC_ALL=C sort -z \
          | xargs -0 sha256sum; echo "${DEB_BUILD_OPTIONS:-}") | sha256sum)
if [ -f "$deb" ] && [ "$(cat "$out/.stamp" 2>/dev/null)" = "$stamp" ]; then
    echo "$pkg: up to date" >&2
    echo "$deb"
    exit 0
fi

rm -f "$out"/*.deb "$out"/*.ddeb "$out"/*.buildinfo "$out"/*.changes "$out/.stamp"
log=$out/dpkg-buildpackage.log
echo "$pkg $version: dpkg-buildpackage (log: $log)" >&2
if ! (cd "$stage" && dpkg-buildpackage --build=binary --no-sign) > "$log" 2>&1; then
    tail -n 40 "$log" >&2
    echo "$0: error: dpkg-buildpackage failed (log: $log)" >&2
    exit 1
fi
[ -f "$deb" ] || { echo "$0: error: no $deb after the build" >&2; exit 1; }
echo "$stamp" > "$out/.stamp"
echo "$deb"
