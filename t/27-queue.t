#!/usr/bin/perl

# streamline_queue_size: transitions made while Redis is away wait in a
# bounded queue.  When more are made than it holds, older transitions of a
# channel that has a later one are merged away: whatever the overflow, the
# final state of every channel reaches Redis when it comes back.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(sleep);
use lib 't/lib';
use Streamline::Test;

my $t = Streamline::Test->new;
my %keys = map { $_ => random_key($_) } qw(a b c);
$t->keys_file('keys', { map { $keys{$_} => $_ } keys %keys });
$t->start_redis;
$t->write_conf(state_conf(main => 'streamline_queue_size 4;',
    app => 'streamline_keys_file %%TESTDIR%%/keys;
            streamline_keys_redis off;'));
$t->run;

$t->stop_redis;

# the worker knows each transition at once, Redis or not
my %pub;
sub live {
    my ($ch) = @_;
    $pub{$ch} = $t->publish($keys{$ch});
    ok(wait_for(sub { ($t->api_status($ch) // '') eq 'live' }, 10),
        "$ch live (Redis down)") or diag $pub{$ch}->stderr;
}
sub idle {
    my ($ch) = @_;
    $pub{$ch}->stop;
    ok(wait_for(sub { ($t->api_status($ch) // '') eq 'idle' }, 3),
        "$ch idle (Redis down)");
}

# six transitions for a queue of four
live('a');
live('b');
idle('a');
idle('b');
live('a');
live('c');

$t->restart_redis;

my %want = (a => 'live', b => 'idle', c => 'live');
for my $ch (sort keys %want) {
    ok(wait_for(sub {
        my $s = json_decode($t->redis('GET', "streamline:state:$ch"));
        $s && $s->{status} eq $want{$ch};
    }, 5), "after the outage: $ch $want{$ch} in Redis");
}
for my $ch (sort keys %want) {
    my $ttl = $t->redis('TTL', "streamline:state:$ch");
    if ($want{$ch} eq 'live') {
        ok($ttl > 0, "$ch: live with a TTL") or diag "TTL $ttl";
    } else {
        is($ttl, -1, "$ch: idle without one");
    }
}
ok(wait_for(sub {
    !grep { $t->get("/api/stream/$_")->{body} =~ /stale/ } keys %want
}, 5), 'the API is no longer stale');

done_testing;
