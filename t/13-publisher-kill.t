#!/usr/bin/perl

# A publisher killed with SIGKILL (no deleteStream, the socket just closes):
# the channel goes idle and is free again for the next publish at once.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(sleep);
use lib 't/lib';
use Streamline::Test;

my $t = Streamline::Test->new;
$t->start_redis;
$t->write_conf(state_conf());
$t->run;

my $key = random_key();
$t->add_key(main => $key);
my $events = $t->subscribe('streamline:events');

my $pub = $t->publish($key);
ok(wait_for(sub { ($t->api_status // '') eq 'live' }, 10), 'live')
    or diag $pub->stderr;
sleep 0.5;

$pub->kill('KILL');
is($pub->wait(5), 128 + 9, 'publisher killed');

ok(wait_for(sub { ($t->api_status // '') eq 'idle' }, 3),
    'idle within 3 s of the SIGKILL');
my $state = json_decode($t->redis('GET', 'streamline:state:main'));
is($state && $state->{status}, 'idle', 'redis state idle');
is($t->redis('TTL', 'streamline:state:main'), -1, 'idle state has no TTL');
is($t->redis('EXISTS', 'streamline:owner:main'), 0, 'owner key released');
ok(wait_for(sub { grep { /"status":"idle"/ } $events->messages }, 2),
    'idle event published');

# the channel is not held until some timeout: the next publish goes live
my $next = $t->publish($key);
ok(wait_for(sub { ($t->api_status // '') eq 'live' }, 10),
    'a new publisher goes live right after') or diag $next->stderr;
ok($next->alive, 'and keeps publishing');

done_testing;
