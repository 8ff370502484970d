#!/usr/bin/perl

# streamline_redis sentinel://...: a Redis master, a replica and three
# sentinels (redis-server --sentinel; quorum 2, down after 1 s).  Two
# workers ask the sentinels for the master and connect to it; two channels
# go live.  The master is killed (SIGKILL) mid-stream: the sentinels fail
# over to the replica, and every worker follows the new master (its log
# line, the metric).  A stop made during the failover reaches the new
# master; the heartbeat keeps the other channel live there past its TTL;
# its stop reaches it too; the history stream on the new master holds
# every transition, in order, none twice.  nginx -t refuses malformed
# sentinel values with a message that says why.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(sleep time);
use lib 't/lib';
use Streamline::Test;

my $t = Streamline::Test->new;

# configuration errors --------------------------------------------------------

my @bad = (
    ['sentinel://', 'has no master name'],
    ['sentinel://127.0.0.1:26379', 'has no master name'],
    ['sentinel://127.0.0.1:26379/', 'has no master name'],
    ['sentinel:///mymaster', 'has no sentinel address'],
    ['sentinel://127.0.0.1:26379,,127.0.0.1:26380/mymaster',
        'has an empty sentinel address'],
    ['sentinel://127.0.0.1:26379/my master', 'has a bad master name'],
    ['sentinel://127.0.0.1:99999/mymaster', 'invalid port'],
    ['sentinel://[::1/mymaster', 'invalid host'],
    ['sentinel://' . join(',', map { "127.0.0.1:$_" } 26001 .. 26017)
        . '/mymaster', 'has more than 16 sentinel addresses'],
);

for my $case (@bad) {
    my ($value, $why) = @$case;
    my ($rc, $out) = $t->nginx_t(state_conf(redis => qq("$value")));
    isnt($rc, 0, "nginx -t fails: $value");
    like($out, qr/"streamline_redis".*\Q$why\E/, "... and says why: $why")
        or diag $out;
}

# a host name where "localhost" resolves (a bare build root may have no
# /etc/hosts)
my $named = gethostbyname('localhost') ? ',localhost' : '';
my ($rc, $out) = $t->nginx_t(state_conf(redis =>
    "sentinel://127.0.0.1:26379,[::1]:26380$named/my-master.1"));
is($rc, 0, 'nginx -t passes several sentinels, an IPv6 literal'
           . ($named ? ', a host name' : '')) or diag $out;

($rc, $out) = $t->nginx_t(state_conf(redis => 'sentinel://'
    . join(',', map { "127.0.0.1:$_" } 26001 .. 26016) . '/mymaster'));
is($rc, 0, 'nginx -t passes 16 sentinels') or diag $out;

# Redis: master, replica, three sentinels --------------------------------------

my $master = $t->start_redis;
my $replica = $t->start_redis_named('replica',
    args => ['--replicaof', '127.0.0.1', $master->port]);

ok(wait_for(sub {
    (eval { $replica->command('INFO', 'replication') } // '')
        =~ /master_link_status:up/;
}, 10), 'the replica follows the master');

# the third sentinel listens on IPv6 too: the module reaches it there
my @sentinels = map {
    $t->start_sentinel("s$_", monitor => $master->port,
        $_ == 3 ? (args => ['--bind', '127.0.0.1', '::1']) : ())
} 1 .. 3;

# a failover needs the sentinels to know each other and the replica
ok(wait_for(sub {
    for my $s (@sentinels) {
        my $peers = eval { $s->command('SENTINEL', 'SENTINELS', 'mymaster') };
        my $reps = eval { $s->command('SENTINEL', 'REPLICAS', 'mymaster') };
        return 0 unless ref $peers && @$peers == 2 && ref $reps && @$reps == 1;
    }
    return 1;
}, 20), 'the sentinels know each other and the replica');

# nginx ------------------------------------------------------------------------

my $url = 'sentinel://127.0.0.1:%%S1_PORT%%,127.0.0.1:%%S2_PORT%%,'
    . '[::1]:%%S3_PORT%%/mymaster';
my $conf = state_conf(workers => 2, redis => $url,
    main => 'streamline_state_ttl 3s; streamline_redis_timeout 1s;');
$conf =~ s{(location /api/stream \{)}{location /metrics { streamline_metrics; }
        $1};
$t->write_conf($conf);
$t->run;

my $mport = $master->port;
my $rport = $replica->port;

sub master_lines {
    my ($port) = @_;
    return $t->log_lines(qr/streamline: redis master "mymaster" is 127\.0\.0\.1:$port \(from sentinel (?:127\.0\.0\.1:\d+|\[::1\]:\d+)\)/);
}

ok(wait_for(sub { master_lines($mport) >= 2 }, 10),
    'both workers are told the master by a sentinel')
    or diag explain [$t->log_lines(qr/streamline: redis/)];

my %key = (a => random_key('a'), b => random_key('b'));
ok(wait_for(sub { eval { $t->add_key($_ => $key{$_}) for keys %key; 1 } },
    5), 'keys written to the master');

my %pub = map { $_ => $t->publish($key{$_}) } qw(a b);
for my $ch (qw(a b)) {
    ok(wait_for(sub { ($t->api_status($ch) // '') eq 'live' }, 15),
        "channel $ch live") or diag $pub{$ch}->stderr;
}

my %since;
for my $ch (qw(a b)) {
    my (undef, $j) = $t->api($ch);
    $since{$ch} = $j && $j->{updatedAt};
}

sub state_on {
    my ($r, $ch) = @_;
    return json_decode(eval { $r->command('GET', "streamline:state:$ch") });
}

sub history_on {
    my ($r) = @_;
    my $h = eval { $r->command('XRANGE', 'streamline:history', '-', '+') }
        || [];
    return [map { my %f = @{$_->[1]}; [@f{qw(channel status updatedAt)}] }
        @$h];
}

for my $ch (qw(a b)) {
    my $s = state_on($master, $ch);
    is($s && $s->{status}, 'live', "channel $ch live on the master");
}

# What the old master acknowledged but had not sent to its replica is lost
# with it (Redis replicates asynchronously): the test looks at a failover
# from a replica that is in step, as the sentinels pick.
ok(wait_for(sub { @{history_on($replica)} == 2 }, 5),
    'the replica has both live transitions');

# the master dies mid-stream --------------------------------------------------

$master->kill('KILL');
$master->wait(5);
my $killed = time;

# a stop while there is no master: kept, delivered to the new one
sleep 0.2;
$pub{b}->stop;
ok(wait_for(sub { ($t->api_status('b') // '') eq 'idle' }, 5),
    'channel b stopped during the failover: idle for this origin');

ok(wait_for(sub { master_lines($rport) >= 2 }, 30),
    'both workers follow the new master')
    or diag explain [$t->log_lines(qr/streamline: redis/)];
diag(sprintf 'the module followed the new master %.1f s after the kill',
    time - $killed);

like((eval { $replica->command('ROLE') } // [''])->[0], qr/^master$/,
    'the replica is the master now');

ok(wait_for(sub {
    my $s = state_on($replica, 'b');
    $s && $s->{status} eq 'idle';
}, 10), 'the stop made during the failover reaches the new master');

my $sa = state_on($replica, 'a');
is($sa && $sa->{status}, 'live', 'channel a still live on the new master');
is($sa && $sa->{updatedAt}, $since{a}, 'since it went live');

# the heartbeat renews it there: a 3 s TTL outlived twice over
my $renewed = 1;
for (1 .. 6) {
    sleep 1;
    my $s = state_on($replica, 'a');
    $renewed = 0 unless $s && $s->{status} eq 'live';
}
ok($renewed, 'the heartbeat keeps channel a live on the new master past '
    . 'its TTL');
cmp_ok(eval { $replica->command('PTTL', 'streamline:state:a') } // -2, '>',
    0, 'with a TTL');
ok(eval { $replica->command('EXISTS', 'streamline:owner:a') },
    'and its owner lock');
is($t->api_status('a'), 'live', 'the API says live');

$pub{a}->stop;
ok(wait_for(sub {
    my $s = state_on($replica, 'a');
    $s && $s->{status} eq 'idle';
}, 10), 'a stop after the failover reaches the new master');
ok(wait_for(sub { ($t->api_status('a') // '') eq 'idle' }, 5),
    'the API says idle');

# every transition, once, in order
my (%h);
for my $e (@{history_on($replica)}) {
    push @{$h{$e->[0]}}, [$e->[1], $e->[2]];
}
for my $ch (qw(a b)) {
    my $idle = state_on($replica, $ch);
    is_deeply($h{$ch}, [['live', $since{$ch}], ['idle', $idle->{updatedAt}]],
        "channel $ch: live then idle in the new master's history, none "
        . 'lost, none twice') or diag explain \%h;
}

my $m = $t->metrics;
cmp_ok($m && $m->{streamline_redis_master_changes_total} // 0, '>=', 2,
    'each worker counted the change of master')
    or diag explain $m;
is($m && $m->{'streamline_redis_transitions_total{result="lost"}'}, 0,
    'no transition lost');
is($m && $m->{streamline_redis_connected_workers}, 2,
    'both workers connected');

is(scalar(() = $t->log_lines(qr/none of the \d+ sentinels/)), 0,
    'no "no sentinel answers" error: they did');

done_testing;
