#!/usr/bin/perl

# streamline_redis unix:/path and streamline_redis_prefix: every name the
# module uses (keys, state, owner, events, history) carries the prefix.

use strict;
use warnings;

use Test::More;
use lib 't/lib';
use Streamline::Test;

my $t = Streamline::Test->new;
$t->start_redis(unixsocket => 1);
$t->set_prefix('tv1:');
$t->write_conf(state_conf(redis => 'unix:%%REDIS_SOCKET%%',
    main => 'streamline_redis_prefix tv1:;'));
$t->run;

my $key = random_key();
$t->add_key(main => $key);
$t->redis('HSET', 'streamline:keys', sha256_hex($key), 'wrong');
my $events = $t->subscribe('tv1:events');

my $pub = $t->publish($key);
ok(wait_for(sub { ($t->api_status // '') eq 'live' }, 10),
    'live through a unix socket, key from tv1:keys') or diag $pub->stderr;
is($t->api_status('wrong'), 'idle', 'the unprefixed hash is not read');

my $state = json_decode($t->redis('GET', 'tv1:state:main'));
is($state && $state->{status}, 'live', 'tv1:state:main');
is($t->redis('EXISTS', 'tv1:owner:main'), 1, 'tv1:owner:main');

$pub->stop;
ok(wait_for(sub { ($t->api_status // '') eq 'idle' }, 3), 'idle');

is($t->redis('XLEN', 'tv1:history'), 2, 'tv1:history');
ok(wait_for(sub { $events->messages == 2 }, 2), 'events on tv1:events');

my $names = $t->redis('KEYS', 'streamline:*');
is_deeply($names, ['streamline:keys'], 'nothing written without the prefix')
    or diag explain $names;

done_testing;
