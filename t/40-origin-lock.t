#!/usr/bin/perl

# streamline_origin_secret: with it on, a request without the header, or
# with a wrong value, gets 403 and a JSON body, on the API and on any other
# location of that scope; the right value passes; "off" lifts it.

use strict;
use warnings;

use Test::More;
use lib 't/lib';
use Streamline::Test;

my $t = Streamline::Test->new;
$t->start_redis;
$t->write_file('html/index.html', "<!doctype html><title>player</title>\n");
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

        location /open/api {
            streamline_api;
            streamline_origin_secret off;
        }

        location /other/api {
            streamline_api;
            streamline_origin_secret X-Other-Secret Hk5dF1sJ6gA0cV9bN4mQ;
        }

        location / {
        }
    }
}
EOF
$t->run;

my $secret = 'Zq9vL2pW7xK4mN8rT3yB';
my $idle = '{"status":"idle","updatedAt":null}';

sub forbidden {
    my ($r, $what) = @_;
    is($r->{status}, 403, "$what: 403");
    is($r->{headers}{'content-type'}, 'application/json', "$what: JSON");
    my $j = json_decode($r->{body});
    ok(ref $j eq 'HASH' && defined $j->{error} && !exists $j->{status},
        "$what: an error body") or diag $r->{body};
}

for my $path ('/api/stream', '/index.html', '/') {
    forbidden($t->get($path), "$path without the header");
    forbidden($t->get($path, headers => { 'X-Origin-Secret' => 'wrong' }),
        "$path with a wrong value");
    forbidden($t->get($path,
        headers => { 'X-Origin-Secret' => substr($secret, 0, -1) }),
        "$path with a prefix of the secret");
    forbidden($t->get($path,
        headers => { 'X-Origin-Secret' => "${secret}x" }),
        "$path with the secret and more");
    forbidden($t->get($path, headers => { 'X-Other' => $secret }),
        "$path with the secret under another header");

    my $r = $t->get($path, headers => { 'X-Origin-Secret' => $secret });
    is($r->{status}, 200, "$path with the secret: 200");
}

is($t->get('/api/stream', headers => { 'x-origin-secret' => $secret })->{body},
    $idle, 'header names are case-insensitive');

my $r = $t->head('/api/stream');
is($r->{status}, 403, 'HEAD without the header: 403');
$r = $t->http('POST', '/api/stream');
is($r->{status}, 403, 'POST without the header: 403 before 405');

$r = $t->get('/open/api');
is("$r->{status} $r->{body}", "200 $idle", 'streamline_origin_secret off');

forbidden($t->get('/other/api', headers => { 'X-Origin-Secret' => $secret }),
    'a location with its own secret, server secret given');
$r = $t->get('/other/api',
    headers => { 'X-Other-Secret' => 'Hk5dF1sJ6gA0cV9bN4mQ' });
is("$r->{status} $r->{body}", "200 $idle", 'its own secret passes');

my @leaks = grep { /\Q$secret\E/ }
    map { split /\n/, $t->read_file($_) // '' } qw(error.log access.log);
is_deeply(\@leaks, [], 'the secret is not logged');

done_testing;
