#!/usr/bin/perl

# Redis answers, but with an error, for a while: -LOADING after a restart
# with a dataset to load, -OOM with maxmemory and noeviction, -READONLY on
# a replica, -BUSY while a script runs too long.  A state
# transition leaves the module's queue only once Redis has written it:
# transitions made meanwhile wait, are retried with backoff, and reach
# Redis in the order they were made (the state key, the history stream),
# none lost.  The error is logged once per episode, not once per retry.

use strict;
use warnings;

use IO::Socket::INET;
use Test::More;
use Time::HiRes qw(sleep);
use lib 't/lib';
use Streamline::Test;

my $t = Streamline::Test->new;
my $key = random_key();
$t->keys_file('keys', { $key => 'main' });
$t->start_redis;
$t->write_conf(state_conf(main => 'streamline_redis_timeout 2s;',
    app => 'streamline_keys_file %%TESTDIR%%/keys;
            streamline_keys_redis off;'));
$t->run;

sub state {
    return json_decode(eval { $t->redis('GET', 'streamline:state:main') });
}

# the history of channel main: [status, updatedAt] oldest first
sub history {
    my $h = eval { $t->redis('XRANGE', 'streamline:history', '-', '+') }
        || [];
    my @out;
    for my $e (@$h) {
        my %f = @{$e->[1]};
        push @out, [$f{status}, $f{updatedAt}] if $f{channel} eq 'main';
    }
    return \@out;
}

sub loading {
    my $r = eval { $t->redis('PING') };
    return !defined $r && ($@ // '') =~ /LOADING/;
}

# live or idle as this worker sees it; the time it says, for the history
my ($pub, @made);
sub transition {
    my ($to) = @_;
    if ($to eq 'live') {
        $pub = $t->publish($key);
    } else {
        $pub->stop;
    }
    my $ok = wait_for(sub { ($t->api_status // '') eq $to }, 15);
    ok($ok, "main $to") or diag $pub->stderr;
    my (undef, $j) = $t->api;
    push @made, [$to, $j->{updatedAt}];
}

sub delivered {
    my ($what, $before) = @_;
    my $want = [@made[$before .. $#made]];
    ok(wait_for(sub {
        my $s = state();
        $s && $s->{updatedAt} eq $want->[-1][1];
    }, 30), "$what: the last state reaches Redis")
        or diag explain state();
    my $h = history();
    is_deeply([@$h[$#$h - $#$want .. $#$h]], $want,
        "$what: every transition in the history, in order")
        or diag explain $h, $want;
    is(scalar @$h, scalar @made, "$what: none twice, none lost")
        or diag explain $h;
}

# a restart that loads a dataset: Redis answers -LOADING for seconds

transition('live');
ok(wait_for(sub { (state() // {})->{status} eq 'live' }, 10),
    'live in Redis');
is_deeply(history(), \@made, 'in the history');

# 20000 keys, each loaded in 0.75 ms: about 15 s of -LOADING
$t->redis('EVAL', "for i = 1, 20000 do redis.call('SET', 'fill:' .. i, "
    . "string.rep('x', 100)) end return 1", 0);
$t->redis('SAVE');
$t->restart_redis(loading => 1, args => ['--key-load-delay', '750',
    '--loading-process-events-interval-bytes', '1024']);

my $before = @made;
transition('idle');
transition('live');
transition('idle');
ok(loading(), 'Redis still loading after the transitions')
    or BAIL_OUT('Redis loaded too fast for this test');
my $r = $t->get('/api/stream');
is($r->{body}, qq({"status":"idle","updatedAt":"$made[-1][1]","stale":true}),
    'the API: the last state this worker knows, marked stale');

delivered('LOADING', $before);
ok(!loading(), 'Redis loaded');
my @lines = $t->log_lines(qr/LOADING/);
is(scalar @lines, 1, 'LOADING logged once') or diag explain \@lines;

# Errors that last until an operator acts: every write is refused (reads
# too, while a script is busy).  start and stop are what happens to Redis.
sub refused {
    my ($code, $what, $start, $stop, $unreadable) = @_;
    $start->();
    my $before = @made;
    transition('live');
    transition('idle');
    transition('live');
    transition('idle');
    sleep 2;
    is((state() // {})->{updatedAt}, $made[$before - 1][1],
        "$what: Redis keeps the state it had") unless $unreadable;
    $stop->();
    delivered($code, $before);
    my @lines = $t->log_lines(qr/\b$code\b/);
    is(scalar @lines, 1, "$code logged once") or diag explain \@lines;
}

refused('OOM', 'out of memory', sub {
    $t->redis('CONFIG', 'SET', 'maxmemory-policy', 'noeviction');
    $t->redis('CONFIG', 'SET', 'maxmemory', '1');
}, sub {
    $t->redis('CONFIG', 'SET', 'maxmemory', '0');
});

# a replica of a master that is not there (a failover half done)
refused('READONLY', 'a read-only replica', sub {
    $t->redis('REPLICAOF', '127.0.0.1', '1');
}, sub {
    $t->redis('REPLICAOF', 'NO', 'ONE');
});

# a script that runs for ever: after busy-reply-threshold, -BUSY to all
my $script;
refused('BUSY', 'a busy script', sub {
    $t->redis('CONFIG', 'SET', 'busy-reply-threshold', '100');
    $script = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
        PeerPort => $t->port('REDIS'), Proto => 'tcp')
        or die "redis connect: $!\n";
    my $lua = 'while true do end';
    print $script "*3\r\n\$4\r\nEVAL\r\n\$" . length($lua) . "\r\n$lua\r\n"
        . "\$1\r\n0\r\n";
    ok(wait_for(sub {
        my $r = eval { $t->redis('GET', 'x') };
        ($@ // '') =~ /BUSY/;
    }, 10), 'the script runs');
}, sub {
    $t->redis('SCRIPT', 'KILL');
    close $script;
}, 'unreadable');

# an error that would come back for ever (the history key overwritten with
# a string): that transition is dropped, logged, and does not hold up the
# ones behind it
$t->redis('SET', 'streamline:history', 'not a stream');
transition('live');
ok(wait_for(sub {
    $t->log_lines(qr/refused the state transition of channel "main", lost: WRONGTYPE/)
}, 10), 'WRONGTYPE: the transition is dropped, logged');
is((state() // {})->{updatedAt}, $made[-2][1],
    'WRONGTYPE: and nothing of it written');
$t->redis('DEL', 'streamline:history');
transition('idle');
ok(wait_for(sub { (state() // {})->{updatedAt} eq $made[-1][1] }, 10),
    'the next transition is written');
is_deeply(history(), [$made[-1]], 'alone in the new history');

done_testing;
