#!/usr/bin/perl

# A channel has one publisher: a second one (same key, or another key of
# the same channel) is refused while the first keeps going, and the refusal
# changes nothing (no idle, no new updatedAt, no event).  With two workers
# the second publisher may land on the other worker: attempts are repeated
# until at least one did.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(sleep time);
use lib 't/lib';
use Streamline::Test;

my $t = Streamline::Test->new;
$t->start_redis;

my $conf = <<'EOF';
worker_processes %%WORKERS%%;
error_log %%TESTDIR%%/error.log info;

load_module %%MODULES%%/ngx_rtmp_module.so;
load_module %%MODULES%%/ngx_streamline_module.so;

events { worker_connections 256; }

streamline_redis 127.0.0.1:%%REDIS_PORT%%;

rtmp {
    server {
        listen 127.0.0.1:%%RTMP_PORT%%;
        application live {
            live on;
            streamline on;
        }
    }
}

http {
    %%HTTP_TEMP_PATHS%%
    access_log %%TESTDIR%%/access.log;

    server {
        listen 127.0.0.1:%%HTTP_PORT%%;
        location /api/stream {
            streamline_api;
        }
    }
}
EOF

my @keys = (random_key('one'), random_key('two'));
$t->add_key(main => $_) for @keys;
my $events = $t->subscribe('streamline:events');
my $rtmp = $t->port('RTMP');

# starts a publisher and follows it to its end: (exit code, the worker that
# held its connection if it was seen)
sub attempt {
    my ($key) = @_;
    my $pub = $t->publish($key);
    my ($worker, $deadline) = (undef, time + 10);
    while ($pub->alive && time < $deadline) {
        $worker //= $t->nginx->worker_of_client($pub->pid, $rtmp);
        sleep 0.002;
    }
    return ($pub->wait(1), $worker);
}

sub log_size { -s $t->error_log // 0 }

# workers that logged a "streamline:" line after a given offset
sub streamline_log_pids {
    my ($offset) = @_;
    my $data = substr($t->read_file('error.log') // '', $offset);
    my %pids = map { $_ => 1 } $data =~ /(\d+)#\d+: \*\d+ streamline:/g;
    return \%pids;
}

sub round {
    my ($workers) = @_;
    $t->var(WORKERS => $workers);
    $t->write_conf($conf);
    $t->run;

    my $first = $t->publish($keys[0]);
    ok(wait_for(sub { ($t->api_status // '') eq 'live' }, 10),
        "$workers worker(s): first publisher live") or diag $first->stderr;
    my ($r) = $t->api;
    my $owner = $t->redis('GET', 'streamline:owner:main');
    my $holder = wait_for(sub {
        $t->nginx->worker_of_client($first->pid, $rtmp)
    }, 5);
    my $events_before = () = $events->messages;

    my (%seen, @codes);
    my $offset = log_size();
    for my $n (1 .. 12) {
        my ($code, $worker) = attempt($keys[$n % 2]);
        push @codes, $code;
        $seen{$worker eq $holder ? 'same' : 'other'}++
            if $worker && $holder;
        last if $workers == 1 && $n == 4;
        last if $workers > 1 && $n >= 4 && $seen{other};
    }

    # when the connection was too short to see in /proc, the worker's
    # "streamline:" log line tells where the refusal happened
    my $pids = streamline_log_pids($offset);
    $seen{other} ||= grep { $_ != $holder } keys %$pids if $holder;
    $seen{same} ||= $pids->{$holder} ? 1 : 0 if $holder;

    is(scalar(grep { !defined $_ || $_ == 0 } @codes), 0,
        "$workers worker(s): every second publisher refused ("
        . scalar(@codes) . ' attempts)') or diag explain \@codes;
    ok($seen{same}, "$workers worker(s): refused on the holder's worker");
    if ($workers > 1) {
        ok($seen{other}, "$workers workers: refused on the other worker");
    }
    diag("$workers worker(s): attempts on the holder's worker: "
        . ($seen{same} // 0) . ', on the other: ' . ($seen{other} // 0));

    ok($first->alive, "$workers worker(s): first publisher still running")
        or diag $first->stderr;
    is($t->redis('GET', 'streamline:owner:main'), $owner,
        "$workers worker(s): owner unchanged");
    my %bodies;
    for (1 .. 20) {
        my ($x) = $t->api;
        $bodies{$x->{body}}++;
    }
    is_deeply([keys %bodies], [$r->{body}],
        "$workers worker(s): still live with the same updatedAt");
    my $events_after = () = $events->messages;
    is($events_after, $events_before,
        "$workers worker(s): the refusals published nothing")
        or diag explain [$events->messages];

    $first->stop;
    ok(wait_for(sub { ($t->api_status // '') eq 'idle' }, 3),
        "$workers worker(s): idle once the first publisher stops");
    $t->stop;
}

round(1);
round(2);

done_testing;
