#!/usr/bin/perl

# nginx killed with SIGKILL while a channel is live (nothing runs to write
# idle): the state key expires with its TTL, so a dead origin never leaves
# a channel live.  streamline_state_ttl 3s: gone within 4 s; a new nginx
# then says idle and the channel can be published again.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(sleep time);
use lib 't/lib';
use Streamline::Test;

my $t = Streamline::Test->new;
$t->start_redis;
$t->write_conf(state_conf(main => 'streamline_state_ttl 3s;'));
$t->run;

my $key = random_key();
$t->add_key(main => $key);
my $pub = $t->publish($key);
ok(wait_for(sub { ($t->api_status // '') eq 'live' }, 10), 'live')
    or diag $pub->stderr;

my $ttl = $t->redis('PTTL', 'streamline:state:main');
ok($ttl > 0 && $ttl <= 3000, 'state TTL is streamline_state_ttl')
    or diag "PTTL $ttl";

# longer than the TTL: the heartbeat keeps it
sleep 4;
is($t->redis('EXISTS', 'streamline:state:main'), 1, 'still there after 4 s');

my $killed = time;
$t->kill9;
ok(!$t->nginx->alive, 'nginx killed');

my $gone = wait_for(sub {
    !$t->redis('EXISTS', 'streamline:state:main') ? time : 0
}, 6);
ok($gone && $gone - $killed <= 4, 'state key expired within TTL + 1 s')
    or diag sprintf 'after %.2f s', ($gone || time) - $killed;
diag(sprintf 'state key gone %.2f s after the SIGKILL', $gone - $killed)
    if $gone;
ok(wait_for(sub { !$t->redis('EXISTS', 'streamline:owner:main') },
    $killed + 4 - time), 'owner key expired too');

$pub->wait(10);

$t->run;
my (undef, $j) = $t->api;
is($j && $j->{status}, 'idle', 'a new nginx says idle');

my $next = $t->publish($key);
ok(wait_for(sub { ($t->api_status // '') eq 'live' }, 10),
    'the channel can be published again') or diag $next->stderr;

done_testing;
