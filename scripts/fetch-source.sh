#!/usr/bin/env bash
# fetch-source.sh PACKAGE VERSION DIR
# Brings the upstream source tarball (*.orig.tar.*) of a Debian source
# package into DIR with `apt-get source --download-only`.  apt checks the
# tarball against the signed Sources index.  Debian's own patch tarball is
# not needed (and has answered 404 on some mirrors), so success is judged by
# the presence of the .orig tarball, not by apt's exit code.
set -uo pipefail
pkg=$1 version=$2 dir=$3
mkdir -p "$dir"
ls "$dir"/"${pkg}_${version}"*.orig.tar.* >/dev/null 2>&1 && exit 0

if ! apt-get indextargets --format '$(CREATED_BY)' 2>/dev/null | grep -q '^Sources$'; then
    if [ "$(id -u)" != 0 ]; then
        echo "$0: error: no deb-src entry in apt's sources; add one (as root):" >&2
        echo "  sed 's/^Types: deb\$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources > /etc/apt/sources.list.d/streamline-src.sources && apt-get update" >&2
        exit 1
    fi
    src=/etc/apt/sources.list.d/debian.sources
    if [ -f "$src" ]; then
        sed 's/^Types: deb$/Types: deb-src/' "$src" \
            > /etc/apt/sources.list.d/streamline-src.sources
    else
        grep '^deb ' /etc/apt/sources.list | sed 's/^deb /deb-src /' \
            > /etc/apt/sources.list.d/streamline-src.list
    fi
    apt-get update -q >/dev/null
fi

(cd "$dir" && apt-get source --download-only -q "$pkg=$version*" >/dev/null 2>&1 \
    || apt-get source --download-only -q "$pkg" >/dev/null 2>&1)
if ! ls "$dir"/"${pkg}_${version}"*.orig.tar.* >/dev/null 2>&1; then
    echo "$0: error: could not fetch the $pkg $version source tarball from Debian's source archive" >&2
    exit 1
fi
