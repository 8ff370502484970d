#!/usr/bin/env bash
# Installs the Debian packages Streamline needs to build, run and test.
# Run as root on Debian bookworm; as another user it only lists what is
# missing.  "install-deps.sh run" skips the test-only packages.
set -euo pipefail

pkgs=(
    gcc make perl xz-utils ca-certificates curl
    nginx nginx-dev                     # the nginx binary and its module SDK
    libnginx-mod-stream openssl         # RTMPS: TLS in front of nginx-rtmp
    redis-server redis-tools            # state store and redis-cli
    libhiredis-dev libjansson-dev libssl-dev
    libavformat-dev libavcodec-dev libswscale-dev libavutil-dev
    ffmpeg                              # the OBS stand-in and ffprobe
)
# node builds the player page from npm packages (html/build.mjs); a node
# that came with its own npm (NodeSource) is fine as it is
command -v npm >/dev/null 2>&1 || pkgs+=(nodejs npm)
if [ "${1:-}" != run ]; then
    # tests and benchmarks: load generator, fuzzers, the browser the
    # player tests drive (through playwright-core, an npm package),
    # promtool (and Prometheus) for the metrics and the alert rules,
    # gnuplot for the metrics picture (bench/metrics_plot.sh), Debian's
    # packaging tools for make deb (dh_nginx is nginx-dev's;
    # dpkg-buildpackage requires build-essential of every package)
    pkgs+=(wrk clang libclang-rt-14-dev procps bc time chromium prometheus
           gnuplot-nox debhelper dpkg-dev build-essential)
fi

missing=()
for p in "${pkgs[@]}"; do
    if ! dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$p")
    fi
done

[ ${#missing[@]} = 0 ] && exit 0

if [ "$(id -u)" != 0 ]; then
    echo "$0: error: missing Debian packages: ${missing[*]}" >&2
    echo "  run: sudo apt-get install ${missing[*]}" >&2
    exit 1
fi

echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"

# Debian starts the services it installs where systemd runs; Streamline
# starts its own nginx and redis-server, so stop the system ones if the
# packages just started them (they would hold ports 80 and 6379).
if command -v service >/dev/null 2>&1; then
    service nginx stop >/dev/null 2>&1 || true
    service redis-server stop >/dev/null 2>&1 || true
    service prometheus stop >/dev/null 2>&1 || true
    service prometheus-node-exporter stop >/dev/null 2>&1 || true
fi
