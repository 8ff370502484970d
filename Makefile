# Streamline: build, run and test.  See README.md.
#
#   make            build ngx_rtmp_module.so and ngx_streamline_module.so,
#                   and the playlist checker the tests run (build/unit/)
#   make run        install what is missing, build, run Streamline in the foreground
#   make test       install what is missing, build, run the whole suite (prove)
#   make asan       the same suite against an ASan+UBSan build
#   make unit       the core's unit tests only
#   make fuzz       the core's fuzzers (FUZZ_SECONDS each)
#   make static     nginx with both modules linked in (fetches nginx's source)
#   make deb        the Debian package libnginx-mod-streamline (build/deb/*.deb;
#                   dpkg-buildpackage, debhelper, dh_nginx from nginx-dev)
#   make page       the player page (html/dist) from html/src and npm packages
#   make bench      benchmarks (bench/README.md)

BUILD_DIR   ?= $(CURDIR)/build
PROVE_JOBS  ?= 1
FUZZ_SECONDS ?= 20

export BUILD_DIR

.PHONY: all build deps run test asan unit fuzz static deb bench clean npm page

all: build

# the tests' playlist checker too (t/lib/Streamline/Media.pm runs it)
build:
	scripts/build.sh
	$(MAKE) -C ngx_streamline_module/core playlist-check BUILD_DIR=$(BUILD_DIR)

deps:
	scripts/install-deps.sh

run:
	scripts/install-deps.sh run
	scripts/build.sh
	$(MAKE) page
	scripts/run.sh

# the player's and the browser tests' npm packages (html/package-lock.json)
npm: html/node_modules/.package-lock.json

html/node_modules/.package-lock.json: html/package.json html/package-lock.json
	cd html && npm ci --no-audit --no-fund

# the player page: html/src + the npm packages -> html/dist (hashed assets)
page: html/dist/index.html

html/dist/index.html: html/build.mjs $(wildcard html/src/*) html/node_modules/.package-lock.json
	node html/build.mjs

test: deps build page
	STREAMLINE_BUILD_DIR=$(BUILD_DIR) prove -j$(PROVE_JOBS) t/

asan: deps page
	BUILD_DIR=$(BUILD_DIR)/asan SANITIZE=1 scripts/build.sh
	$(MAKE) -C ngx_streamline_module/core playlist-check \
	    BUILD_DIR=$(BUILD_DIR)/asan SANITIZE=1
	SANITIZE=1 STREAMLINE_BUILD_DIR=$(BUILD_DIR)/asan prove -j$(PROVE_JOBS) t/

unit:
	$(MAKE) -C ngx_streamline_module/core test BUILD_DIR=$(BUILD_DIR)

fuzz:
	$(MAKE) -C ngx_streamline_module/core fuzz BUILD_DIR=$(BUILD_DIR) FUZZ_SECONDS=$(FUZZ_SECONDS)

static:
	scripts/fetch-source.sh nginx 1.22.1 $(BUILD_DIR)/src
	test -d $(BUILD_DIR)/nginx-1.22.1 || tar -C $(BUILD_DIR) -xf $(BUILD_DIR)/src/nginx_1.22.1.orig.tar.gz
	NGINX_SRC=$(BUILD_DIR)/nginx-1.22.1 LINK=static scripts/build.sh

# scripts/build-deb.sh stages the sources in $(BUILD_DIR)/deb/ and builds
# there; README: Debian package
deb:
	scripts/build-deb.sh

bench: build
	bench/run.sh

clean:
	rm -rf $(BUILD_DIR)
