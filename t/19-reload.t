#!/usr/bin/perl

# A reload (SIGHUP) in the middle of a stream: the old worker keeps the RTMP
# session (and keeps renewing the state TTL), the new workers answer live,
# and the stop, handled by the old worker, makes the channel idle.  After
# that, publishing through the new workers works as before.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(sleep time);
use lib 't/lib';
use Streamline::Test;

my $t = Streamline::Test->new;
$t->start_redis;
$t->write_conf(state_conf(main => 'streamline_state_ttl 3s;',
    location => 'add_header X-Worker $pid always;'));
$t->run;

my $key = random_key();
$t->add_key(main => $key);
my $events = $t->subscribe('streamline:events');

my $pub = $t->publish($key);
ok(wait_for(sub { ($t->api_status // '') eq 'live' }, 10), 'live')
    or diag $pub->stderr;
my ($before) = $t->api;
my $old = wait_for(sub {
    $t->nginx->worker_of_client($pub->pid, $t->port('RTMP'))
}, 5);

my @new = $t->reload;
ok(@new, 'reloaded: new workers') or diag 'workers: ' . join ' ', map {
    "$_->[0] ($_->[1])" } $t->nginx->children;
ok(!grep({ $_ == ($old // 0) } @new), 'the session stays with the old worker');

my ($after) = $t->api;
ok(grep({ $_ == ($after->{headers}{'x-worker'} // 0) } @new),
    'a new worker answers');
is($after->{body}, $before->{body}, 'new workers say live, same updatedAt');

# beyond the TTL: someone (the old worker) keeps the state alive
sleep 4;
ok($pub->alive, 'the stream keeps going across the reload')
    or diag $pub->stderr;
is($t->redis('EXISTS', 'streamline:state:main'), 1,
    'state TTL still renewed after the reload');
is($t->get('/api/stream')->{body}, $before->{body}, 'API still live');

$pub->stop;
ok(wait_for(sub { ($t->api_status // '') eq 'idle' }, 3),
    'stop after the reload: idle');
my $state = json_decode($t->redis('GET', 'streamline:state:main'));
is($state && $state->{status}, 'idle', 'redis state idle');
ok(wait_for(sub { !kill 0, $old }, 5), 'the old worker exits with its session')
    if $old;

my $next = $t->publish($key);
ok(wait_for(sub { ($t->api_status // '') eq 'live' }, 10),
    'a new publish through the new workers goes live') or diag $next->stderr;
$next->stop;
ok(wait_for(sub { ($t->api_status // '') eq 'idle' }, 3), 'and idle again');

my @statuses = map { $_ && $_->{status} } $events->messages_json;
is_deeply(\@statuses, [qw(live idle live idle)], 'events: no spurious transition')
    or diag explain [$events->messages];

done_testing;
