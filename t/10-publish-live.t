#!/usr/bin/perl

# A publisher with a known key: the channel goes live in the API within
# 1 s with the exact JSON shape, and Redis holds the live state with a TTL
# that a heartbeat renews.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(sleep);
use lib 't/lib';
use Streamline::Test;

my $t = Streamline::Test->new;
$t->start_redis;
$t->write_conf(state_conf(main => 'streamline_state_ttl 6s;'));
$t->run;

my $iso = qr/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/;

my ($r) = $t->api;
is($r->{status}, 200, 'idle: 200');
is($r->{body}, '{"status":"idle","updatedAt":null}', 'idle: never live');
is($r->{headers}{'content-type'}, 'application/json', 'content type');
is($r->{headers}{'cache-control'}, 'no-cache', 'cache control');
is($r->{headers}{'access-control-allow-origin'}, '*', 'cors');

my $key = random_key();
$t->add_key(main => $key);
my $pub = $t->publish($key);

# timed from the moment ffmpeg holds an RTMP connection
my $connected = wait_for(sub {
    $t->nginx->worker_of_client($pub->pid, $t->port('RTMP')) ? now_ms() : 0
}, 10);
ok($connected, 'publisher connected') or diag $pub->stderr;

my $live = wait_for(sub {
    ($t->api_status // '') eq 'live' ? now_ms() : 0
}, 3);
ok($live, 'API says live');
if ($live && $connected) {
    # at the connection, not at a later heartbeat or segment; the exact
    # figure is bench/latency.pl's
    cmp_ok($live - $connected, '<=', 3000, 'live within 3 s of connecting');
    diag(sprintf 'live %d ms after the RTMP connection', $live - $connected);
}

($r) = $t->api;
like($r->{body}, qr/^\{"status":"live","updatedAt":"$iso"\}$/, 'live JSON');
my ($updated) = $r->{body} =~ /"updatedAt":"([^"]+)"/;
my $ms = iso_ms($updated);
ok($ms && abs(now_ms() - $ms) < 3000, 'updatedAt is close to now')
    or diag 'updatedAt ' . ($updated // 'none') . ', now ' . now_ms();
is($r->{headers}{'content-type'}, 'application/json', 'live: content type');
is($r->{headers}{'cache-control'}, 'no-cache', 'live: cache control');
is($r->{headers}{'access-control-allow-origin'}, '*', 'live: cors');

my ($r2) = $t->api('main');
is($r2->{body}, $r->{body}, '/api/stream/main is the default channel');
($r2) = $t->api('other');
is($r2->{body}, '{"status":"idle","updatedAt":null}', 'other channel idle');

my $state = json_decode($t->redis('GET', 'streamline:state:main'));
is($state && $state->{status}, 'live', 'redis state live');
is($state && $state->{updatedAt}, $updated, 'redis updatedAt = API');

my $ttl = $t->redis('PTTL', 'streamline:state:main');
ok($ttl > 0 && $ttl <= 6000, 'live state key carries the state TTL')
    or diag "PTTL $ttl";

my $owner_ttl = $t->redis('PTTL', 'streamline:owner:main');
ok($owner_ttl > 0, 'owner key held with a TTL') or diag "PTTL $owner_ttl";

# the heartbeat (every ttl/3) keeps the key beyond its first TTL
sleep 7;
ok($pub->alive, 'publisher still running') or diag $pub->stderr;
$ttl = $t->redis('PTTL', 'streamline:state:main');
ok($ttl > 0 && $ttl <= 6000, 'TTL renewed by the heartbeat')
    or diag "PTTL $ttl";
ok($ttl > 2000, 'renewed at least every ttl/3') or diag "PTTL $ttl";
($r2) = $t->api;
is($r2->{body}, $r->{body}, 'still live, updatedAt unchanged by heartbeats');
$owner_ttl = $t->redis('PTTL', 'streamline:owner:main');
ok($owner_ttl > 0, 'owner key renewed too') or diag "PTTL $owner_ttl";

done_testing;
