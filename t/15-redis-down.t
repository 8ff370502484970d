#!/usr/bin/perl

# Redis goes away during a live stream: the API keeps answering within
# the timeout (1 s) from the last known state, marked "stale":true (503 for a channel
# nothing is known about); the stream keeps going; when Redis comes back
# (empty: no persistence) the module writes the state again.  A stop while
# Redis is down is not lost: it reaches Redis after the restart, with the
# time it happened.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(sleep time);
use lib 't/lib';
use Streamline::Test;

my $t = Streamline::Test->new;
$t->start_redis;
$t->write_conf(state_conf(main => 'streamline_redis_timeout 1s;'));

# an answer is bounded by the 1 s timeout: 2 s more for a loaded machine,
# still far from a wait for Redis (the client gives up at 5 s)
my $SLOW = 3;
$t->run;

my $key = random_key();
$t->add_key(main => $key);
my $pub = $t->publish($key);
ok(wait_for(sub { ($t->api_status // '') eq 'live' }, 10), 'live')
    or diag $pub->stderr;
my (undef, $live) = $t->api;
my $since = $live->{updatedAt} // '';

# answers for a while: (all 200 within $SLOW s, bodies seen)
sub poll_api {
    my ($seconds, $path) = @_;
    my (@slow, %bodies, @order);
    my $end = time + $seconds;
    while (time < $end) {
        my $r = $t->get($path // '/api/stream', timeout => 5);
        push @slow, sprintf('%d in %.2f s', $r->{status}, $r->{elapsed})
            if $r->{status} != 200 || $r->{elapsed} > $SLOW;
        push @order, $r->{body} unless $bodies{$r->{body}}++;
        sleep 0.1;
    }
    return (\@slow, \%bodies, \@order);
}

# Redis down while live

$t->stop_redis;
my $down = time;

my ($slow, $bodies, $order) = poll_api(1);
is_deeply($slow, [], "first second of the outage: every answer 200 within $SLOW s");
($slow, $bodies, $order) = poll_api(2);
is_deeply($slow, [], "then: every answer 200 within $SLOW s");
is_deeply([keys %$bodies],
    [qq({"status":"live","updatedAt":"$since","stale":true})],
    'then: the last known state, marked stale') or diag explain $order;

for my $try (1, 2) {
    my $r = $t->get('/api/stream/unknown', timeout => 5);
    is($r->{status}, 503, "unknown channel, Redis down: 503 ($try)");
    cmp_ok($r->{elapsed}, '<', $SLOW, "within $SLOW s ($try)");
    my $j = json_decode($r->{body});
    ok(ref $j eq 'HASH' && defined $j->{error}, "JSON error body ($try)")
        or diag $r->{body};
}

ok($pub->alive, 'the stream keeps going without Redis') or diag $pub->stderr;

# Redis back, empty

$t->restart_redis;
ok(wait_for(sub {
    my $s = json_decode($t->redis('GET', 'streamline:state:main'));
    $s && $s->{status} eq 'live';
}, 5), 'the live state is written again after the restart');
my $state = json_decode($t->redis('GET', 'streamline:state:main'));
is($state && $state->{updatedAt}, $since, 'with the time the stream began');
my $ttl = $t->redis('PTTL', 'streamline:state:main');
ok($ttl > 0, 'and its TTL') or diag "PTTL $ttl";
ok(wait_for(sub { $t->redis('EXISTS', 'streamline:owner:main') }, 5),
    'the owner key is taken again');
ok(wait_for(sub {
    $t->get('/api/stream')->{body} eq qq({"status":"live","updatedAt":"$since"})
}, 5), 'API live, no longer stale');

# a stop while Redis is down

$t->stop_redis;
sleep 0.3;
my $stopped = now_ms();
$pub->stop;
($slow, $bodies, $order) = poll_api(1.5);
is_deeply($slow, [], "stopped during the outage: every answer 200 within $SLOW s");
diag('API after the stop, Redis down: ' . join ' then ', @$order);

my $restarted = now_ms();
$t->restart_redis;
ok(wait_for(sub {
    my $s = json_decode($t->redis('GET', 'streamline:state:main'));
    $s && $s->{status} eq 'idle';
}, 5), 'idle reaches Redis after the restart: no transition lost');
$state = json_decode($t->redis('GET', 'streamline:state:main'));
my $idle_ms = iso_ms($state && $state->{updatedAt}) // 0;
ok($idle_ms >= $stopped - 100 && $idle_ms <= $restarted,
    'idle updatedAt is when the publisher stopped, not when Redis came back')
    or diag "stopped $stopped, restarted $restarted, updatedAt $idle_ms";
is($t->redis('TTL', 'streamline:state:main'), -1, 'idle has no TTL');
is($t->redis('EXISTS', 'streamline:owner:main'), 0, 'no owner');

my $history = $t->redis('XRANGE', 'streamline:history', '-', '+') || [];
my %last = @{($history->[-1] || [undef, []])->[1]};
is_deeply([@last{qw(channel status updatedAt)}],
    ['main', 'idle', $state && $state->{updatedAt}],
    'history ends with the idle transition') or diag explain $history;

ok(wait_for(sub {
    my (undef, $j) = $t->api;
    $j && $j->{status} eq 'idle' && !exists $j->{stale};
}, 5), 'API idle, not stale');

done_testing;
