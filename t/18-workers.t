#!/usr/bin/perl

# Two workers, each with its own API cache: answers are always consistent,
# and a transition drops every worker's cache at once.  One keep-alive
# connection per worker (told apart by X-Worker: $pid) is polled in turn;
# the figure printed is how long after the first worker said live (then
# idle) the last one did (bench/latency.pl measures it: a few ms).  The
# cache lasts 60 s here, so every worker within 5 s of the first can only
# be the event dropping it, whatever the load on the machine.

use strict;
use warnings;

use HTTP::Tiny;
use Test::More;
use Time::HiRes qw(sleep time);
use lib 't/lib';
use Streamline::Test;

my $t = Streamline::Test->new;
$t->start_redis;
$t->write_conf(<<'EOF');
worker_processes 2;
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
    access_log off;
    keepalive_requests 100000;

    server {
        listen 127.0.0.1:%%HTTP_PORT%%;
        location /api/stream {
            streamline_api;
            streamline_api_cache 60s;
            add_header X-Worker $pid always;
        }
    }
}
EOF
$t->run;
my @workers = $t->nginx->worker_pids;
is(scalar @workers, 2, 'two workers');

# one keep-alive connection to each worker
my %ua;
for (1 .. 200) {
    my $ua = HTTP::Tiny->new(keep_alive => 1, timeout => 5);
    my $r = $t->get('/api/stream', ua => $ua);
    my $w = $r->{headers}{'x-worker'} // next;
    $ua{$w} //= $ua;
    last if keys %ua == 2;
}
is(scalar keys %ua, 2, 'a keep-alive connection to each worker');

# many requests on new connections: one answer
sub answers {
    my ($n) = @_;
    my (%bodies, %by_worker);
    for (1 .. $n) {
        my $r = $t->get('/api/stream');
        $bodies{"$r->{status} $r->{body}"}++;
        $by_worker{$r->{headers}{'x-worker'} // '?'}++;
    }
    return ([sort keys %bodies], \%by_worker);
}

my ($bodies, $by) = answers(200);
is_deeply($bodies, ['200 {"status":"idle","updatedAt":null}'],
    'idle: 200 requests, one answer') or diag explain $bodies;
diag('requests per worker: ' . join ', ', map { "$_: $by->{$_}" } sort keys %$by);

# polls every worker's connection in turn until all say $status; returns
# ms between the first and the last worker saying it
sub spread {
    my ($status, $timeout) = @_;
    my (%first, $deadline);
    $deadline = time + $timeout;
    while (keys %first < keys %ua && time < $deadline) {
        for my $w (keys %ua) {
            next if $first{$w};
            my $r = $t->get('/api/stream', ua => $ua{$w});
            my $j = json_decode($r->{body});
            $first{$w} = time if $j && $j->{status} eq $status;
        }
    }
    return undef if keys %first < keys %ua;
    my @t = sort { $a <=> $b } values %first;
    return ($t[-1] - $t[0]) * 1000;
}

# warm both caches with idle first
$t->get('/api/stream', ua => $_) for values %ua;

my $key = random_key();
$t->add_key(main => $key);
my $pub = $t->publish($key);

my $ms = spread('live', 10);
ok(defined $ms, 'every worker says live') or diag $pub->stderr;
if (defined $ms) {
    diag(sprintf 'cache drop on publish: all workers live within %.1f ms '
        . 'of the first', $ms);
    cmp_ok($ms, '<', 5000, 'every worker live within 5 s of the first');
}

($bodies) = answers(200);
is(scalar @$bodies, 1, 'live: 200 requests, one answer') or diag explain $bodies;
like($bodies->[0] // '', qr/^200 \{"status":"live","updatedAt":"[^"]+"\}$/,
    'live answer');

$pub->stop;
$ms = spread('idle', 10);
ok(defined $ms, 'every worker says idle');
if (defined $ms) {
    diag(sprintf 'cache drop on stop: all workers idle within %.1f ms '
        . 'of the first', $ms);
    cmp_ok($ms, '<', 5000, 'every worker idle within 5 s of the first');
}

($bodies) = answers(200);
is(scalar @$bodies, 1, 'idle: 200 requests, one answer') or diag explain $bodies;
like($bodies->[0] // '', qr/^200 \{"status":"idle","updatedAt":"[^"]+"\}$/,
    'idle answer');

done_testing;
