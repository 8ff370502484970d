#!/usr/bin/perl

# An unknown stream key: the publish is refused, nothing changes in Redis,
# error.log says why with a "streamline:" line, and the key appears in no
# log (error.log at info level, the http and rtmp access logs).

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(sleep time);
use lib 't/lib';
use Streamline::Test;

my $t = Streamline::Test->new;
$t->start_redis;
$t->write_conf(state_conf(rtmp => 'access_log %%TESTDIR%%/rtmp-access.log;'));
$t->run;

my $good = random_key('good');
$t->add_key(main => $good);
my $events = $t->subscribe('streamline:events');

for my $bad (random_key('bad'), substr($good, 0, -1) . 'x') {
    my $start = time;
    my $pub = $t->publish($bad);
    my $code = $pub->wait(10);
    ok(defined $code, 'refused publisher exits');
    ok(defined $code && $code != 0, 'with a non-zero status')
        or diag 'exit ' . ($code // 'none');
    cmp_ok(time - $start, '<', 6, 'within a few seconds');

    for my $log (qw(error.log access.log rtmp-access.log)) {
        my @leaks = $t->log_lines(qr/\Q$bad\E/, $log);
        ok(!@leaks, "key absent from $log")
            or diag map { s/\Q$bad\E/<KEY>/gr . "\n" } @leaks;
    }
}

ok(scalar $t->log_lines(qr/streamline:/), 'error.log has a streamline: line');

my ($r) = $t->api;
is($r->{body}, '{"status":"idle","updatedAt":null}', 'API still idle');

my $keys = $t->redis('KEYS', 'streamline:*');
is_deeply([sort @$keys], ['streamline:keys'], 'no state, owner or history')
    or diag explain $keys;
is($t->redis('XLEN', 'streamline:history'), 0, 'no history entry');
sleep 0.3;
is_deeply([$events->messages], [], 'no event published');

# the refusals leave the channel free for the right key
my $pub = $t->publish($good);
ok(wait_for(sub { ($t->api_status // '') eq 'live' }, 10),
    'the good key goes live after the refusals') or diag $pub->stderr;

# keys are read from Redis at publish time: a revoked key is refused
# without a restart
$t->del_key($good);
my $again = $t->publish($good);
my $code = $again->wait(10);
ok(defined $code && $code != 0, 'a revoked key is refused');
ok($pub->alive, 'the running publisher is not disconnected by a revoke');

# accepted keys stay out of the logs too
for my $log (qw(error.log access.log rtmp-access.log)) {
    my @leaks = $t->log_lines(qr/\Q$good\E/, $log);
    ok(!@leaks, "accepted key absent from $log")
        or diag map { s/\Q$good\E/<KEY>/gr . "\n" } @leaks;
}

done_testing;
