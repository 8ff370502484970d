#!/usr/bin/perl

# An unknown stream key: the publish is refused, nothing changes in Redis,
# error.log says why with a "streamline:" line, and the key appears in no
# log (error.log at info level, the http and rtmp access logs).

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(time);
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

# the refusals leave the channel free for the right key
my $pub = $t->publish($good);
ok(wait_for(sub { ($t->api_status // '') eq 'live' }, 10),
    'the good key goes live after the refusals') or diag $pub->stderr;

# No event for a refusal, bounded by events rather than a sleep: one nginx
# connection to Redis publishes in order, so an event a refusal sent comes
# before the next transition's, which the test waits for (its updatedAt
# is the API's).
sub events_until {
    my ($updated) = @_;
    my @e;
    wait_for(sub {
        @e = $events->messages_json;
        grep { $_ && ($_->{updatedAt} // '') eq ($updated // '') } @e;
    }, 10);
    return [map { $_ ? "$_->{channel} $_->{status}" : 'not JSON' } @e];
}

my (undef, $live) = $t->api;
is_deeply(events_until($live && $live->{updatedAt}), ['main live'],
    'the refusals published no event: the first is the good key\'s')
    or diag explain [$events->messages];
is($t->redis('XLEN', 'streamline:history'), 1,
    'and the history holds only its entry');

# keys are read from Redis at publish time: a revoked key is refused
# without a restart
$t->del_key($good);
my $again = $t->publish($good);
my $code = $again->wait(10);
ok(defined $code && $code != 0, 'a revoked key is refused');
ok($pub->alive, 'the running publisher is not disconnected by a revoke');

is($t->api_status, 'live', 'the channel is still live');

# the stop, then the key again: the second live closes the list, and
# nothing came from the revoked key's refusal (nor late from the first)
$pub->stop;
ok(wait_for(sub { ($t->api_status // '') eq 'idle' }, 10), 'stop: idle');
$t->add_key(main => $good);
$pub = $t->publish($good);
ok(wait_for(sub { ($t->api_status // '') eq 'live' }, 10), 'live again')
    or diag $pub->stderr;
(undef, $live) = $t->api;
is_deeply(events_until($live && $live->{updatedAt}),
    ['main live', 'main idle', 'main live'],
    'no event but the transitions of the accepted key')
    or diag explain [$events->messages];

# accepted keys stay out of the logs too
for my $log (qw(error.log access.log rtmp-access.log)) {
    my @leaks = $t->log_lines(qr/\Q$good\E/, $log);
    ok(!@leaks, "accepted key absent from $log")
        or diag map { s/\Q$good\E/<KEY>/gr . "\n" } @leaks;
}

done_testing;
