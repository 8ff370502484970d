#!/usr/bin/perl

# The API cache (streamline_api_cache, 10 s by default): a state written to
# Redis without an event is served from the cache until it expires; an
# event on streamline:events (as another origin sends) drops it at once.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(sleep time);
use lib 't/lib';
use Streamline::Test;

my $t = Streamline::Test->new;
$t->start_redis;

my $conf = <<'EOF';
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
            %%CACHE%%
        }
    }
}
EOF

my $null = '{"status":"idle","updatedAt":null}';
my $at1 = '2026-03-04T05:06:07.891Z';
my $at2 = '2026-03-04T05:06:09.123Z';

# another origin: state key, then the event
sub origin_write {
    my ($channel, $status, $at, $publish) = @_;
    my $state = qq({"status":"$status","updatedAt":"$at"});
    $t->redis('SET', "streamline:state:$channel", $state);
    $t->redis('PUBLISH', 'streamline:events',
        qq({"channel":"$channel","status":"$status","updatedAt":"$at"}))
        if $publish;
    return $state;
}

# default cache: 10 s
$t->var(CACHE => '');
$t->write_conf($conf);
$t->run;

is($t->get('/api/stream/ext')->{body}, $null, 'ext idle, now cached');
origin_write('ext', 'live', $at1, 0);
sleep 0.5;
is($t->get('/api/stream/ext')->{body}, $null,
    'a state written without an event is not seen yet (cached)');

my $start = time;
my $live = origin_write('ext', 'live', $at1, 1);
# within 5 s: long before the 10 s cache would expire (the exact figure,
# a few ms, is bench/latency.pl's)
my $seen = wait_for(sub { $t->get('/api/stream/ext')->{body} eq $live }, 5);
ok($seen, 'an event drops the cache');
diag(sprintf 'event seen by the API after %.1f ms', (time - $start) * 1000);

my $idle = origin_write('ext', 'idle', $at2, 1);
ok(wait_for(sub { $t->get('/api/stream/ext')->{body} eq $idle }, 5),
    'the idle event too');

$t->stop;

# streamline_api_cache 1s: an unannounced write is seen after a second
$t->var(CACHE => 'streamline_api_cache 1s;');
$t->write_conf($conf);
$t->run;

is($t->get('/api/stream/quiet')->{body}, $null, 'quiet idle, now cached');
$start = time;
$live = origin_write('quiet', 'live', $at1, 0);
# seen once the 1 s cache expires: within 5 s, before the default 10 s
$seen = wait_for(sub { $t->get('/api/stream/quiet')->{body} eq $live }, 5);
ok($seen, 'streamline_api_cache 1s: the write is seen');
diag(sprintf 'seen after %.2f s', time - $start) if $seen;

done_testing;
