#!/usr/bin/perl

# A keys-file key publishes while Redis is down, without the owner lock;
# when Redis returns, the heartbeat writes the live state and takes the
# lock for it.  When that publisher stops, the lock goes with it: the
# broadcaster who reconnects is accepted at once, not refused as busy
# until the TTL runs out.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(sleep time);
use lib 't/lib';
use Streamline::Test;

my $t = Streamline::Test->new;
$t->start_redis;

my $key = random_key('file');
$t->keys_file('keys', { $key => 'filed' });
# a long TTL: nothing here may pass by waiting for it
$t->write_conf(state_conf(main => "streamline_state_ttl 60s;\n"
        . 'streamline_redis_timeout 1s;',
    app => 'streamline_keys_file %%TESTDIR%%/keys;'));
$t->run;

$t->stop_redis;
my $pub = $t->publish($key);
ok(wait_for(sub {
    scalar $t->log_lines(qr/channel "filed" published without its owner lock/)
}, 10), 'published while Redis is down') or diag $pub->stderr;

$t->restart_redis;
ok(wait_for(sub { $t->redis('EXISTS', 'streamline:owner:filed') }, 10),
    'Redis back: the heartbeat took the lock');
ok(wait_for(sub { ($t->api_status('filed') // '') eq 'live' }, 5), 'live');

$pub->stop;
ok(wait_for(sub { ($t->api_status('filed') // '') eq 'idle' }, 5), 'idle');
ok(wait_for(sub { !$t->redis('EXISTS', 'streamline:owner:filed') }, 3),
    'the lock is released with the stream');

my $lives = () = $t->log_lines(qr/channel "filed" is live/);
my $next = $t->publish($key);
ok(wait_for(sub {
    my $n = () = $t->log_lines(qr/channel "filed" is live/);
    $n > $lives;
}, 5), 'the broadcaster who reconnects is accepted at once')
    or diag join "\n", $t->log_lines(qr/streamline:/);
sleep 1;
ok($next->alive, 'and keeps publishing') or diag $next->stderr;
is_deeply([$t->log_lines(qr/publish refused/)], [], 'nothing refused');

$next->stop;
done_testing;
