#!/usr/bin/perl

# streamline_redis sentinel://... when a sentinel is wrong: a small fake
# sentinel (this file's own, over RESP) names whichever Redis the test
# says, so that the cases a real one gives only by bad luck come on cue.
# A sentinel that names a replica: ROLE says "slave", the worker does not
# write there and asks again with backoff, and follows once a master is
# named.  A master demoted behind the sentinels' back (REPLICAOF, no
# +switch-master): its -READONLY sends the worker back to the sentinels,
# and the stop made meanwhile reaches the new master, after the live.

use strict;
use warnings;

use IO::Select;
use IO::Socket::INET;
use POSIX ();
use Test::More;
use Time::HiRes qw(sleep time);
use lib 't/lib';
use Streamline::Test;

my $t = Streamline::Test->new;

my $r1 = $t->start_redis;
my $r2 = $t->start_redis_named('replica',
    args => ['--replicaof', '127.0.0.1', $r1->port]);
ok(wait_for(sub {
    (eval { $r2->command('INFO', 'replication') } // '')
        =~ /master_link_status:up/;
}, 10), 'the replica follows the master');

# what the fake sentinel names: "ip port" in a file the test rewrites
my $answer = $t->path('sentinel-answer');
sub name_master { $t->write_file($answer, "127.0.0.1 $_[0]\n") }

# A RESP server: SENTINEL get-master-addr-by-name gets the file's
# address, SUBSCRIBE its confirmation (and no message ever).
sub fake_sentinel {
    my $srv = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
        LocalPort => $t->port('FAKE'), Listen => 16, ReuseAddr => 1)
        or die "fake sentinel: $!\n";
    my $pid = fork // die "fork: $!";
    if ($pid) {
        close $srv;
        return $t->_track(Streamline::Test::Proc->new(pid => $pid,
            what => 'fake sentinel'));
    }
    $SIG{$_} = 'DEFAULT' for qw(INT TERM);
    $SIG{PIPE} = 'IGNORE';
    my $sel = IO::Select->new($srv);
    my %buf;
    while (1) {
        for my $fh ($sel->can_read) {
            if ($fh == $srv) {
                my $c = $srv->accept;
                $sel->add($c) if $c;
                next;
            }
            my $n = sysread($fh, my $data, 4096);
            if (!$n) {
                $sel->remove($fh);
                delete $buf{$fh};
                close $fh;
                next;
            }
            $buf{$fh} .= $data;
            while (my $cmd = resp_command(\$buf{$fh})) {
                syswrite $fh, reply($cmd);
            }
        }
    }
}

sub bulk { '$' . length($_[0]) . "\r\n$_[0]\r\n" }

sub reply {
    my ($cmd) = @_;
    if (uc $cmd->[0] eq 'SENTINEL') {
        open my $fh, '<', $answer or return "*-1\r\n";
        my ($ip, $port) = split ' ', scalar <$fh>;
        return "*2\r\n" . bulk($ip) . bulk($port);
    }
    if (uc $cmd->[0] eq 'SUBSCRIBE') {
        return "*3\r\n" . bulk('subscribe') . bulk($cmd->[1]) . ":1\r\n";
    }
    return "-ERR unknown command\r\n";
}

# one command (an array of bulk strings) off the front of the buffer
sub resp_command {
    my ($buf) = @_;
    return undef unless $$buf =~ /^\*(\d+)\r\n/;
    my ($n, $pos) = ($1, length "*$1\r\n");
    my @args;
    for (1 .. $n) {
        return undef unless substr($$buf, $pos) =~ /^\$(\d+)\r\n/;
        my $len = $1;
        $pos += length "\$$len\r\n";
        return undef if length($$buf) < $pos + $len + 2;
        push @args, substr($$buf, $pos, $len);
        $pos += $len + 2;
    }
    substr($$buf, 0, $pos) = '';
    return \@args;
}

# a sentinel that names the replica ------------------------------------------

name_master($r2->port);
fake_sentinel();

$t->write_conf(state_conf(
    redis => 'sentinel://127.0.0.1:%%FAKE_PORT%%/mymaster',
    main => 'streamline_state_ttl 3s; streamline_redis_timeout 1s;'));
$t->run;

my ($p1, $p2) = ($r1->port, $r2->port);

ok(wait_for(sub {
    $t->log_lines(qr/streamline: redis 127\.0\.0\.1:$p2 is a slave, not the master "mymaster": asking the sentinels again/)
}, 10), 'a replica named by a sentinel: ROLE says so, the worker asks again')
    or diag explain [$t->log_lines(qr/streamline: redis/)];
my @warned = $t->log_lines(qr/\[warn\].* is a slave, not the master/);
sleep 1;
is(scalar(() = $t->log_lines(qr/\[warn\].* is a slave, not the master/)),
    scalar @warned, 'warned once, not at every try');
ok(!$t->log_lines(qr/streamline: redis 127\.0\.0\.1:$p2 commands connection up/),
    'no connection to it is used');

name_master($p1);
ok(wait_for(sub {
    $t->log_lines(qr/streamline: redis master "mymaster" is 127\.0\.0\.1:$p1 \(from sentinel 127\.0\.0\.1:\d+\)/)
}, 10), 'a master named: the worker follows it');

my $key = random_key();
$t->add_key(main => $key);
my $pub = $t->publish($key);
ok(wait_for(sub { ($t->api_status // '') eq 'live' }, 15), 'live')
    or diag $pub->stderr;
my (undef, $live) = $t->api;
ok(wait_for(sub {
    my $s = json_decode(eval { $r1->command('GET', 'streamline:state:main') });
    $s && $s->{status} eq 'live';
}, 5), 'live on the master');
ok(wait_for(sub {
    my $h = eval { $r2->command('XLEN', 'streamline:history') } // 0;
    $h == 1;
}, 5), 'replicated');

# the master demoted behind the sentinels' back --------------------------------

$r2->command('REPLICAOF', 'NO', 'ONE');
$r1->command('REPLICAOF', '127.0.0.1', $p2);
name_master($p2);
$pub->stop;

ok(wait_for(sub {
    $t->log_lines(qr/streamline: redis master "mymaster" is 127\.0\.0\.1:$p2 /)
}, 15), '-READONLY from the demoted master: the worker asks the sentinel '
    . 'and follows the new master')
    or diag explain [$t->log_lines(qr/streamline: redis/)];

ok(wait_for(sub {
    my $s = json_decode(eval { $r2->command('GET', 'streamline:state:main') });
    $s && $s->{status} eq 'idle';
}, 10), 'the stop reaches the new master');

my $h = eval { $r2->command('XRANGE', 'streamline:history', '-', '+') } || [];
is_deeply([map { my %f = @{$_->[1]}; $f{status} } @$h], ['live', 'idle'],
    'its history: live, then idle, none twice') or diag explain $h;
my %first = @{$h->[0][1] || []};
is($first{updatedAt}, $live->{updatedAt}, 'the live of the stream');
ok(!$t->log_lines(qr/refused the state transition .* lost/),
    'no transition refused for good');
ok(wait_for(sub { ($t->api_status // '') eq 'idle' }, 5), 'the API says idle');

done_testing;
