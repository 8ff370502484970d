#!/usr/bin/perl

# API directives per location: streamline_api_channel (the channel of the
# bare URI), streamline_api_cors (* by default, a given origin, or off).

use strict;
use warnings;

use Test::More;
use lib 't/lib';
use Streamline::Test;

my $t = Streamline::Test->new;
$t->start_redis;
$t->write_conf(<<'EOF');
error_log %%TESTDIR%%/error.log info;

load_module %%MODULES%%/ngx_rtmp_module.so;
load_module %%MODULES%%/ngx_streamline_module.so;

events { worker_connections 256; }

streamline_redis 127.0.0.1:%%REDIS_PORT%%;

http {
    %%HTTP_TEMP_PATHS%%
    access_log %%TESTDIR%%/access.log;

    streamline_api_channel studio;

    server {
        listen 127.0.0.1:%%HTTP_PORT%%;

        location /api/stream {
            streamline_api;
        }

        location /other/api {
            streamline_api;
            streamline_api_channel main;
            streamline_api_cors https://player.example.com;
        }

        location /private/api {
            streamline_api;
            streamline_api_cors off;
        }
    }
}
EOF
$t->run;

my $at = '2026-01-02T03:04:05.678Z';
$t->redis('SET', 'streamline:state:studio',
    qq({"status":"idle","updatedAt":"$at"}));

my $r = $t->get('/api/stream');
is($r->{body}, qq({"status":"idle","updatedAt":"$at"}),
    'http-level streamline_api_channel: the bare URI is that channel');
is($r->{headers}{'access-control-allow-origin'}, '*', 'default CORS *');

$r = $t->get('/api/stream/studio');
is($r->{body}, qq({"status":"idle","updatedAt":"$at"}), '/api/stream/studio');

$r = $t->get('/other/api');
is($r->{body}, '{"status":"idle","updatedAt":null}',
    'location-level streamline_api_channel main');
is($r->{headers}{'access-control-allow-origin'},
    'https://player.example.com', 'streamline_api_cors <origin>');

$r = $t->get('/other/api/studio');
is($r->{body}, qq({"status":"idle","updatedAt":"$at"}),
    'a channel under another location prefix');

$r = $t->get('/private/api');
is($r->{status}, 200, 'cors off: 200');
ok(!exists $r->{headers}{'access-control-allow-origin'},
    'streamline_api_cors off: no CORS header');
is($r->{body}, qq({"status":"idle","updatedAt":"$at"}),
    'inherits the http-level channel');

done_testing;
