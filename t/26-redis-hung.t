#!/usr/bin/perl

# Redis hung (SIGSTOP: connections stay open, nothing answers) is worse than
# Redis gone: only streamline_redis_timeout saves the API.  Every answer
# must come within the timeout (1 s; 3 s allowed for a loaded machine,
# the client itself gives up at 5 s); once Redis runs again (SIGCONT) the
# transitions made meanwhile reach it.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(sleep time);
use lib 't/lib';
use Streamline::Test;

my $t = Streamline::Test->new;
$t->start_redis;
$t->write_conf(state_conf(main => 'streamline_redis_timeout 1s;'));
$t->run;

my $key = random_key();
$t->add_key(main => $key);
my $pub = $t->publish($key);
ok(wait_for(sub { ($t->api_status // '') eq 'live' }, 10), 'live')
    or diag $pub->stderr;
my (undef, $live) = $t->api;
my $since = $live->{updatedAt} // '';

my $redis = $t->redis_server;
$redis->kill('STOP');

my (@slow, %bodies);
my $end = time + 3;
my $n = 0;
while (time < $end) {
    # a channel never asked for needs Redis: only the timeout ends the wait
    my $path = $n++ % 2 ? '/api/stream' : "/api/stream/unknown$n";
    my $r = $t->get($path, timeout => 5);
    push @slow, sprintf('%s: %d in %.2f s', $path, $r->{status}, $r->{elapsed})
        if $r->{elapsed} > 3;
    $bodies{$path eq '/api/stream' ? 'main' : 'unknown'}{"$r->{status} $r->{body}"}++;
}
is_deeply(\@slow, [], 'Redis hung: every answer within 3 s');
my @main = grep { !/^200 \{"status":"live","updatedAt":"\Q$since\E"(,"stale":true)?\}$/ }
    keys %{$bodies{main} || {}};
is_deeply(\@main, [], 'main: the last known state (live)');
ok(grep({ /"stale":true/ } keys %{$bodies{main} || {}}),
    'marked stale once a Redis command timed out');
my @unknown = grep { !/^503 \{"error":/ } keys %{$bodies{unknown} || {}};
is_deeply(\@unknown, [], 'an unknown channel: 503 with a JSON error')
    or diag explain \@unknown;

my $stopped = now_ms();
$pub->stop;
sleep 0.5;
$redis->kill('CONT');

ok(wait_for(sub {
    my $s = json_decode(eval { $t->redis('GET', 'streamline:state:main') });
    $s && $s->{status} eq 'idle';
}, 5), 'Redis running again: the stop reaches it');
my $state = json_decode($t->redis('GET', 'streamline:state:main'));
cmp_ok(iso_ms($state && $state->{updatedAt}) // 0, '>=', $stopped - 100,
    'with the time of the stop');
ok(wait_for(sub {
    my (undef, $j) = $t->api;
    $j && $j->{status} eq 'idle' && !exists $j->{stale};
}, 5), 'API idle, not stale');

done_testing;
