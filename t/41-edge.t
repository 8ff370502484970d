#!/usr/bin/perl

# An edge in front of a locked origin: a plain nginx (no modules) with
# proxy_cache adds the secret header.  Through the edge: 200; straight to
# the origin: 403.  The edge honours the origin's Cache-Control: the API
# (no-cache) is never served from the edge's cache, a static file with
# max-age is.

use strict;
use warnings;

use Test::More;
use lib 't/lib';
use Streamline::Test;

my $t = Streamline::Test->new;
$t->start_redis;
$t->write_file('html/assets/app.3f2a9c.js', "console.log('player');\n");
$t->write_conf(<<'EOF');
error_log %%TESTDIR%%/error.log info;

load_module %%MODULES%%/ngx_rtmp_module.so;
load_module %%MODULES%%/ngx_streamline_module.so;

events { worker_connections 256; }

streamline_redis 127.0.0.1:%%REDIS_PORT%%;

http {
    %%HTTP_TEMP_PATHS%%
    access_log %%TESTDIR%%/access.log;

    server {
        listen 127.0.0.1:%%HTTP_PORT%%;
        root %%TESTDIR%%/html;

        streamline_origin_secret X-Origin-Secret Zq9vL2pW7xK4mN8rT3yB;

        location /api/stream {
            streamline_api;
        }

        location /assets/ {
            add_header Cache-Control "public, max-age=31536000, immutable";
        }
    }
}
EOF
$t->run;

$t->port('EDGE');
my $edge = $t->nginx('edge', port => $t->port('EDGE'));
$edge->write_conf(<<'EOF');
error_log %%TESTDIR%%/edge/error.log info;

events { worker_connections 256; }

http {
    %%HTTP_TEMP_PATHS%%
    access_log %%TESTDIR%%/edge/access.log;

    proxy_cache_path %%TESTDIR%%/edge/cache keys_zone=edge:1m
                     use_temp_path=off;

    server {
        listen 127.0.0.1:%%EDGE_PORT%%;

        location / {
            proxy_pass http://127.0.0.1:%%HTTP_PORT%%;
            proxy_set_header X-Origin-Secret Zq9vL2pW7xK4mN8rT3yB;
            proxy_cache edge;
            proxy_cache_lock on;
            add_header X-Cache $upstream_cache_status always;
        }
    }
}
EOF
$edge->start;

my $via = sub { $t->get($_[0], port => $t->port('EDGE')) };

my $r = $via->('/api/stream');
is($r->{status}, 200, 'API through the edge: 200');
is($r->{body}, '{"status":"idle","updatedAt":null}', 'with the state');
is($r->{headers}{'cache-control'}, 'no-cache', 'Cache-Control passed on');

$r = $t->get('/api/stream');
is($r->{status}, 403, 'API straight to the origin: 403');

my %api_cache;
$api_cache{$via->('/api/stream')->{headers}{'x-cache'} // 'none'}++ for 1 .. 5;
ok(!$api_cache{HIT}, 'the edge never serves the API from its cache')
    or diag explain \%api_cache;

# the state changes: the edge shows it at once
my $at = '2026-05-06T07:08:09.101Z';
$t->redis('SET', 'streamline:state:main', qq({"status":"live","updatedAt":"$at"}));
$t->redis('PUBLISH', 'streamline:events',
    qq({"channel":"main","status":"live","updatedAt":"$at"}));
# within 5 s: long before the origin's 10 s API cache would expire
ok(wait_for(sub { $via->('/api/stream')->{body} =~ /"live"/ }, 5),
    'a change is seen through the edge at once');

$r = $via->('/assets/app.3f2a9c.js');
is($r->{status}, 200, 'asset through the edge');
$r = $via->('/assets/app.3f2a9c.js');
is($r->{headers}{'x-cache'}, 'HIT', 'asset served from the edge cache');
is($t->get('/assets/app.3f2a9c.js')->{status}, 403, 'asset at the origin: 403');

done_testing;
