#!/usr/bin/env bash
# bench/player.sh [seconds]: the player, measured in headless chromium
# (bench/player.mjs), in two sections, one after the other (SECTIONS, default
# "latency engines"):
#
#   latency  bench/player_latency.sh: glass-to-glass latency through the
#            page on the shipped configuration (nginx-conf/origin.conf and
#            edge.conf), for every rendition, directly and through the edge,
#            with plain hls.js as the floor and the per-stage budget;
#            LATENCY_SECONDS (default 300) a run, 10 runs: about 55 minutes
#   engines  bench/player_engines.sh [seconds]: the page's engines (hls.js
#            through our Video.js source handler, Video.js's VHS) and plain
#            hls.js on a fresh stream and on a full 4-hour DVR window;
#            [seconds] (default 60) a run: about 11 minutes
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
rc=0
for section in ${SECTIONS:-latency engines}; do
    case $section in
    latency) "$here/player_latency.sh" || rc=1 ;;
    engines) "$here/player_engines.sh" "${1:-60}" || rc=1 ;;
    *) echo "$0: unknown section '$section' (latency, engines)" >&2; exit 2 ;;
    esac
done
exit $rc
