# Streamline origin image: nginx, nginx-rtmp-module and ngx_streamline_module,
# built from source by scripts/build.sh (the script the tests and CI use), so
# the nginx binary and both dynamic modules come from one configure run and
# are ABI-consistent.  Redis is not in the image: run it as its own container
# and point REDIS_ADDR at it.  See README.md, Docker.
#
#   docker build -t streamline .
#   docker run -d --name streamline -p 1935:1935 -p 8080:8080 \
#       -e REDIS_ADDR=redis:6379 --network NET streamline
#
# Build arguments:
#   DEBIAN_TAG     bookworm   tag of debian:<tag> (build) and
#                             debian:<tag>-slim (runtime); pin a point release
#                             (e.g. bookworm-20250520 or 12.11) for repeatable
#                             builds.  The runtime library package names below
#                             are bookworm's: another release needs them updated.
#   NGINX_VERSION  1.22.1     nginx source (Debian source package "nginx")
#   RTMP_VERSION   1.2.2      nginx-rtmp-module source (Debian source package
#                             "libnginx-mod-rtmp")
# Both sources come from Debian's source archive through
# scripts/fetch-source.sh, checked against its signed Sources index.

ARG DEBIAN_TAG=bookworm


# ---------------------------------------------------------------- build ----
FROM debian:${DEBIAN_TAG} AS build

ARG NGINX_VERSION=1.22.1
ARG RTMP_VERSION=1.2.2

# Versions are not pinned: they are the release's (DEBIAN_TAG's) own.
# hadolint ignore=DL3008
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        gcc make libc6-dev xz-utils dpkg-dev ca-certificates \
        libhiredis-dev libjansson-dev libssl-dev libpcre2-dev zlib1g-dev \
        libavformat-dev libavcodec-dev libswscale-dev libavutil-dev \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /streamline

# The sources first, in a layer of their own: it stays cached while the
# module changes.  fetch-source.sh adds the deb-src entry it needs.
COPY scripts/fetch-source.sh scripts/
RUN scripts/fetch-source.sh nginx "$NGINX_VERSION" /build/src \
 && scripts/fetch-source.sh libnginx-mod-rtmp "$RTMP_VERSION" /build/src \
 && tar -C /build -xf "/build/src/nginx_${NGINX_VERSION}.orig.tar.gz" \
 && tar -C /build -xf /build/src/libnginx-mod-rtmp_"${RTMP_VERSION}"*.orig.tar.* \
 && test -f "/build/nginx-${NGINX_VERSION}/src/core/nginx.c" \
 && test -f "/build/nginx-rtmp-module-${RTMP_VERSION}/config" \
 && rm -rf /var/lib/apt/lists/*

# The build: nginx and both modules, dynamic, as the tests build them
# (build.sh finds nginx-rtmp-module-$RTMP_VERSION in BUILD_DIR, unpacked above).
COPY config ./
COPY ngx_streamline_module/ ngx_streamline_module/
COPY scripts/build.sh scripts/rtmp-source.sh scripts/
RUN NGINX_SRC="/build/nginx-${NGINX_VERSION}" RTMP_VERSION="$RTMP_VERSION" \
        BUILD_DIR=/build LINK=dynamic scripts/build.sh \
 && /build/sbin/nginx-dynamic -V


# ----------------------------------------------------------------- page ----
# The player page: npm packages from the lockfile (no dev packages: the
# browser tests' playwright-core stays out), then html/build.mjs writes
# index.html and the hashed assets.
FROM debian:${DEBIAN_TAG} AS page

# hadolint ignore=DL3008
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        nodejs npm ca-certificates \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /html
COPY html/package.json html/package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY html/build.mjs ./
COPY html/src/ src/
RUN node build.mjs /page


# -------------------------------------------------------------- runtime ----
FROM debian:${DEBIAN_TAG}-slim

# Only what the binary, the modules and streamline-key load or run.  No
# redis-server: Redis is a separate container (REDIS_ADDR).
# hadolint ignore=DL3008
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        libcrypt1 libpcre2-8-0 zlib1g libssl3 \
        libhiredis0.14 libjansson4 \
        libavformat59 libavcodec59 libswscale6 libavutil57 \
        redis-tools openssl \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 streamline \
 && useradd --system --uid 10001 --gid streamline --no-create-home \
        --home-dir /var/lib/streamline --shell /usr/sbin/nologin streamline \
 && install -d -o streamline -g root -m 0770 /var/lib/streamline

COPY --from=build /build/sbin/nginx-dynamic /opt/streamline/sbin/nginx
COPY --from=build /build/modules/ngx_rtmp_module.so /build/modules/ngx_streamline_module.so \
     /opt/streamline/modules/
COPY nginx-conf/ /opt/streamline/nginx-conf/
COPY --from=page /page/ /opt/streamline/html/
COPY scripts/render-conf.sh scripts/streamline-key scripts/tls-cert.sh \
     scripts/stream-module.sh /opt/streamline/scripts/
COPY docker/entrypoint.sh /usr/local/bin/streamline-entrypoint

# streamline-key on PATH is the entrypoint in its key-tool role: it takes
# Redis's address from REDIS_ADDR, then runs scripts/streamline-key.
RUN chmod 0755 /usr/local/bin/streamline-entrypoint \
        /opt/streamline/scripts/render-conf.sh /opt/streamline/scripts/streamline-key \
        /opt/streamline/scripts/tls-cert.sh /opt/streamline/scripts/stream-module.sh \
 && ln -s streamline-entrypoint /usr/local/bin/streamline-key \
 && ln -s /opt/streamline/sbin/nginx /usr/local/sbin/nginx

ENV RTMP_PORT=1935 \
    RTMPS_PORT=1936 \
    HTTP_PORT=8080 \
    REDIS_ADDR=redis:6379 \
    RUN_DIR=/var/lib/streamline

USER streamline:streamline
WORKDIR /var/lib/streamline

# Smoke test at build time: the configuration renders and nginx loads both
# modules with the libraries installed above (127.0.0.1 needs no resolver).
# Through "| cat": a pipe of this user's own, which nginx may reopen as
# /dev/stdout, whoever owns the builder's output.
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN RUN_DIR=/tmp/smoke REDIS_ADDR=127.0.0.1:6379 streamline-entrypoint -t 2>&1 | cat \
 && rm -rf /tmp/smoke

# RTMP, RTMPS (publish it as 443), HTTP, and the Prometheus metrics
# (METRICS_ADDR: keep it private)
EXPOSE 1935 1936 8080 9145

# Healthy: nginx answers GET /api/stream with 200 (the stream state, from
# Redis or, while Redis is away, the last known one).
HEALTHCHECK --interval=30s --timeout=5s --start-period=40s --retries=3 \
    CMD ["streamline-entrypoint", "health"]

# Stop signal: Docker's default SIGTERM, nginx's fast shutdown: each worker
# ends its streams and sets their channels idle before it exits, in a
# second or two while OBS streams (t/32-stop.t runs this entrypoint with
# it).  SIGQUIT (graceful) ends the streams too, but waits for the HTTP
# requests in flight.
ENTRYPOINT ["streamline-entrypoint"]
CMD []
