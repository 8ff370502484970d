#!/usr/bin/perl

# A publisher that stops (SIGINT, then SIGTERM on a second round) makes the
# channel idle: the API, the state key, the history stream (XADD) and the
# pub/sub events (seen by a redis-cli SUBSCRIBE) all follow, in order.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(sleep);
use lib 't/lib';
use Streamline::Test;

my $t = Streamline::Test->new;
$t->start_redis;
$t->write_conf(state_conf());
$t->run;

my $iso = qr/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/;

my $key = random_key();
$t->add_key(main => $key);
my $events = $t->subscribe('streamline:events');

my @expected;    # [status, updatedAt] in order

for my $signal (qw(INT TERM)) {
    my $pub = $t->publish($key);
    ok(wait_for(sub { ($t->api_status // '') eq 'live' }, 10),
        "$signal round: live") or diag $pub->stderr;
    my (undef, $live) = $t->api;
    push @expected, ['live', $live->{updatedAt}];

    sleep 0.5;
    $pub->kill($signal);
    my $code = $pub->wait(10);
    ok(defined $code, "publisher exits on SIG$signal");

    ok(wait_for(sub { ($t->api_status // '') eq 'idle' }, 3),
        "$signal round: idle within 3 s of the publisher stopping");

    my ($r, $idle) = $t->api;
    like($r->{body}, qr/^\{"status":"idle","updatedAt":"$iso"\}$/,
        "$signal round: idle JSON");
    cmp_ok(iso_ms($idle->{updatedAt}) // 0, '>', iso_ms($live->{updatedAt}),
        "$signal round: idle updatedAt later than live");
    push @expected, ['idle', $idle->{updatedAt}];

    my $state = json_decode($t->redis('GET', 'streamline:state:main'));
    is($state && $state->{status}, 'idle', "$signal round: redis state idle");
    is($t->redis('TTL', 'streamline:state:main'), -1,
        "$signal round: idle state has no TTL");
    is($t->redis('EXISTS', 'streamline:owner:main'), 0,
        "$signal round: owner key released");
}

my $history = $t->redis('XRANGE', 'streamline:history', '-', '+');
my @entries = map { +{ @{$_->[1]} } } @{$history || []};
is(scalar @entries, scalar @expected, 'one history entry per transition')
    or diag explain \@entries;
for my $i (0 .. $#expected) {
    my $e = $entries[$i] || {};
    is_deeply([@$e{qw(channel status updatedAt)}],
        ['main', @{$expected[$i]}], "history entry $i: $expected[$i][0]");
}

ok(wait_for(sub { $events->messages >= @expected }, 2),
    'every transition published');
my @messages = $events->messages;
for my $i (0 .. $#expected) {
    is($messages[$i] // '',
        sprintf('{"channel":"main","status":"%s","updatedAt":"%s"}',
            @{$expected[$i]}),
        "event $i: $expected[$i][0]");
}
is(scalar @messages, scalar @expected, 'no other event');

done_testing;
