#!/usr/bin/perl

# Two origin nginx instances share one redis-server (README: several nginx
# instances may share a Redis): a publish on one is seen live by the
# other's /api/stream through pub/sub, long before its cache (60 s here)
# could expire; the same channel published on the other instance is
# refused as busy while the first runs; a stop is idle on both, and then
# the other instance may take the channel.

use strict;
use warnings;

use Test::More;
use lib 't/lib';
use Streamline::Test;

my $t = Streamline::Test->new;
$t->start_redis;

my $conf = state_conf(location => 'streamline_api_cache 60s;');
$t->write_conf($conf);
$t->run;

# the second origin: its own ports and directory, the same Redis
my $b = $t->nginx('b', port => $t->port('HTTP_B'));
$t->port('RTMP_B');
(my $conf_b = $conf) =~ s/%%(RTMP|HTTP)_PORT%%/%%${1}_B_PORT%%/g;
$conf_b =~ s{%%TESTDIR%%/}{%%TESTDIR%%/b/}g;
$b->write_conf($conf_b);
$b->start;

my %port = (a => $t->port('HTTP'), b => $t->port('HTTP_B'));
sub api_of {
    my ($which) = @_;
    my (undef, $j) = $t->api(undef, port => $port{$which});
    return ref $j eq 'HASH' ? $j : {};
}
sub status_of { api_of($_[0])->{status} // '' }

# both caches hold "idle" from now on: only an event can change them
is(status_of($_), 'idle', "origin $_: idle") for qw(a b);

my $key = random_key();
$t->add_key(main => $key);

my $pub = $t->publish($key);
ok(wait_for(sub { status_of('a') eq 'live' }, 10), 'a publish on a: live on a')
    or diag $pub->stderr;
ok(wait_for(sub { status_of('b') eq 'live' }, 5),
    'and on b, through pub/sub (its cache lasts 60 s)');
is(api_of('b')->{updatedAt}, api_of('a')->{updatedAt},
    'both give the same updatedAt');

# the same channel on the other instance: busy
my $second = $t->publish($key, port => $t->port('RTMP_B'));
my $code = $second->wait(10);
ok(defined $code && $code != 0, 'the same channel published on b: refused')
    or diag 'exit ' . ($code // 'none: still publishing');
ok(scalar $t->log_lines(qr/streamline: .*already live/, $b->error_log),
    'b says the channel is already live');
ok($pub->alive, 'the publisher on a goes on');
is(status_of($_), 'live', "origin $_: still live") for qw(a b);

$pub->stop;
ok(wait_for(sub { status_of('a') eq 'idle' }, 10), 'stop: idle on a');
ok(wait_for(sub { status_of('b') eq 'idle' }, 5), 'and on b');

# the lock went with the stop: b may take the channel now
my $pub_b = $t->publish($key, port => $t->port('RTMP_B'));
ok(wait_for(sub { status_of('b') eq 'live' }, 10), 'then a publish on b: live')
    or diag $pub_b->stderr;
ok(wait_for(sub { status_of('a') eq 'live' }, 5), 'and on a');
$pub_b->stop;
ok(wait_for(sub { status_of('a') eq 'idle' && status_of('b') eq 'idle' }, 10),
    'stop: idle on both');

done_testing;
