#!/usr/bin/perl

# /api/stream/<channel>: 1..64 bytes of [A-Za-z0-9_-] are channels; anything
# else is 400 with a JSON error, never a state.  nginx itself normalises
# dot segments (also %2f-encoded ones) before choosing a location, so
# /api/stream/..%2f.. never reaches the module: it must not be answered as
# a channel either.

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

    server {
        listen 127.0.0.1:%%HTTP_PORT%%;
        location /api/stream {
            streamline_api;
        }
    }
}
EOF
$t->run;

my $idle = '{"status":"idle","updatedAt":null}';

for my $channel ('main', 'A-z_09', 'x', 'a' x 64, '-', '_') {
    my ($r) = $t->api($channel);
    is("$r->{status} $r->{body}", "200 $idle", "good channel '$channel'");
}

my @bad = (
    ['a/b',          'two path levels'],
    ['a%2Fb',        'an encoded slash'],
    ['a' x 65,       '65 bytes'],
    ['a.b',          'a dot'],
    ['..a',          'dots'],
    ['a..',          'trailing dots'],
    ['a%20b',        'a space'],
    ['a%09b',        'a tab'],
    ['caf%C3%A9',    'UTF-8'],
    ['a~b',          'a tilde'],
    ['a+b',          'a plus'],
    ['a!b',          'a bang'],
    ['a%25b',        'a percent'],
    ['a:b',          'a colon'],
    ['a%FF',         'a high byte'],
);

for my $case (@bad) {
    my ($path, $what) = @$case;
    my $r = $t->http_raw("GET /api/stream/$path HTTP/1.0\r\nHost: x\r\n\r\n");
    is($r->{status}, 400, "400 for $what");
    is($r->{headers}{'content-type'}, 'application/json', "JSON for $what");
    my $j = json_decode($r->{body});
    ok(ref $j eq 'HASH' && defined $j->{error} && !exists $j->{status},
        "an error, not a state, for $what") or diag $r->{body};
}

# dot segments: resolved by nginx, outside the API location here
for my $path ('/api/stream/..%2f..', '/api/stream/..%2F..%2Fetc',
              '/api/stream/%2e%2e') {
    my $r = $t->http_raw("GET $path HTTP/1.0\r\nHost: x\r\n\r\n");
    ok($r->{status} == 400 || $r->{status} == 404, "$path: 400 or 404")
        or diag "$r->{status} $r->{body}";
    unlike($r->{body}, qr/"status"/, "$path: no state");
}

done_testing;
