#!/usr/bin/perl

# nginx crashes (SIGKILL, master and workers) while a channel is live and a
# supervisor starts it again at once; Redis keeps its data, so the owner
# lock of the dead worker is still there, with its TTL.  It names a
# process of this host that is gone: the broadcaster who reconnects is
# accepted at once (not refused as "already publishing" until the TTL),
# and the API follows the new stream.  Asked before anyone publishes, the
# API does not report the dead process's live state either.  A lock of a
# process that lives is respected, unless that process is the worker
# itself and no session of it holds the lock any more.  A lock whose process lives (a
# second nginx on the same host holding the channel) is still respected.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(sleep time);
use lib 't/lib';
use Streamline::Test;

my $t = Streamline::Test->new;
$t->start_redis;
# a long TTL: nothing here may pass by waiting for it
$t->write_conf(state_conf(main => 'streamline_state_ttl 60s;'));
$t->run;

my $key = random_key();
$t->add_key(main => $key);

my $pub = $t->publish($key);
ok(wait_for(sub { ($t->api_status // '') eq 'live' }, 10), 'live')
    or diag $pub->stderr;
my (undef, $before) = $t->api;
my $owner = $t->redis('GET', 'streamline:owner:main') // '';
like($owner, qr/^[^:]+:\d+:\d+:\d+:\d+$/,
    'the owner token: host, pid, start time, connection, time');

$t->kill9;
ok(!$t->nginx->alive, 'nginx killed');
$pub->wait(10);
is($t->redis('GET', 'streamline:owner:main'), $owner,
    'the dead worker\'s lock is still in Redis');

my $restarted = time;
$t->run;

# OBS retries every 2 s; the first try must do
my $lives = () = $t->log_lines(qr/channel "main" is live/);
my $next = $t->publish($key);
ok(wait_for(sub {
    my $n = () = $t->log_lines(qr/channel "main" is live/);
    $n > $lives;
}, 5), 'the reconnecting publisher is accepted at once')
    or diag join "\n", $t->log_lines(qr/streamline:/);
my $took = time - $restarted;
sleep 1;
ok($next->alive, sprintf 'and keeps publishing (accepted %.1f s after the '
    . 'restart)', $took) or diag $next->stderr;
is_deeply([$t->log_lines(qr/publish refused/)], [], 'nothing refused');
isnt($t->redis('GET', 'streamline:owner:main') // '', $owner,
    'the lock is the new publisher\'s');
ok(scalar $t->log_lines(qr/stale owner lock "\Q$owner\E" is taken over/),
    'the takeover is logged');
my (undef, $now) = $t->api;
is($now && $now->{status}, 'live', 'the API says live');
isnt($now && $now->{updatedAt}, $before->{updatedAt},
    'for the new stream (a new updatedAt)');

$next->stop;
ok(wait_for(sub { ($t->api_status // '') eq 'idle' }, 5), 'then idle');
is($t->redis('EXISTS', 'streamline:owner:main'), 0, 'and the lock released');

# again, and this time the API is asked before anyone publishes: the live
# state of a dead process of this host is not reported (nor kept)
$pub = $t->publish($key);
ok(wait_for(sub { ($t->api_status // '') eq 'live' }, 10), 'live again')
    or diag $pub->stderr;
$owner = $t->redis('GET', 'streamline:owner:main') // '';
$t->kill9;
$pub->wait(10);
is(json_decode($t->redis('GET', 'streamline:state:main'))->{status}, 'live',
    'Redis still says live');
$t->run;
my (undef, $j) = $t->api;
is($j && $j->{status}, 'idle', 'the restarted nginx says idle at once');
ok(wait_for(sub {
    (json_decode($t->redis('GET', 'streamline:state:main')) // {})->{status}
        eq 'idle'
}, 3), 'and writes it');
is($t->redis('EXISTS', 'streamline:owner:main'), 0,
    'the dead process\'s lock is released');
$lives = () = $t->log_lines(qr/channel "main" is live/);
$next = $t->publish($key);
ok(wait_for(sub {
    my $n = () = $t->log_lines(qr/channel "main" is live/);
    $n > $lives;
}, 5), 'a publisher is accepted at once');
(undef, $j) = $t->api;
is($j && $j->{status}, 'live', 'and the API says live');
$next->stop;
ok(wait_for(sub { ($t->api_status // '') eq 'idle' }, 5), 'then idle');

sub start_time {
    my ($pid) = @_;
    open my $fh, '<', "/proc/$pid/stat" or return undef;
    my $stat = <$fh> // return undef;
    $stat =~ s/^.*\) //s;
    return (split ' ', $stat)[19];
}
my ($host) = $owner =~ /^([^:]+)/;

# a lock of this very worker that no session of it holds (its release was
# lost while Redis was away): stale too, taken over at once
my ($worker) = $t->nginx->worker_pids;
my $lost = sprintf '%s:%d:%s:99999:1', $host, $worker, start_time($worker);
$t->redis('SET', 'streamline:owner:main', $lost, 'PX', 60000);
$lives = () = $t->log_lines(qr/channel "main" is live/);
$next = $t->publish($key);
ok(wait_for(sub {
    my $n = () = $t->log_lines(qr/channel "main" is live/);
    $n > $lives;
}, 5), 'a lock the worker itself no longer holds is taken over at once')
    or diag join "\n", $t->log_lines(qr/streamline:/);
$next->stop;
ok(wait_for(sub { ($t->api_status // '') eq 'idle' }, 5), 'then idle');

# a lock whose process lives is not taken: this test process holds it
my $alive = sprintf '%s:%d:%s:1:1', $host, $$, start_time($$);
$t->redis('SET', 'streamline:owner:main', $alive, 'PX', 60000);
my $third = $t->publish($key);
is($third->wait(10) ? 'refused' : 'accepted', 'refused',
    'a live owner\'s lock is respected');
is($t->redis('GET', 'streamline:owner:main'), $alive, 'and kept');
$t->expect_log(qr/channel "main" is already live/);

done_testing;
