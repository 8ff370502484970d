#!/usr/bin/perl

# nginx starts while Redis is not there yet: it starts anyway, the API
# answers 503 quickly, a publish with a key from the keys file is accepted,
# and once Redis is up the state reaches it and the API answers normally.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(sleep time);
use lib 't/lib';
use Streamline::Test;

my $t = Streamline::Test->new;
my $key = random_key();
$t->keys_file('keys', { $key => 'main' });
$t->write_conf(state_conf(main => 'streamline_redis_timeout 1s;',
    app => 'streamline_keys_file %%TESTDIR%%/keys;
            streamline_keys_redis off;'));
$t->run;

for my $try (1 .. 3) {
    my ($r) = $t->api(undef, timeout => 5);
    is($r->{status}, 503, "no Redis yet: 503 ($try)");
    # bounded by the 1 s timeout: 2 s more for a loaded machine
    cmp_ok($r->{elapsed}, '<', 3, "within 3 s ($try)");
    my $j = json_decode($r->{body});
    ok(ref $j eq 'HASH' && defined $j->{error}, "JSON error body ($try)")
        or diag $r->{body};
}

my $pub = $t->publish($key);
sleep 2;
ok($pub->alive, 'publish with a keys-file key accepted without Redis')
    or diag $pub->stderr;

$t->start_redis;
ok(wait_for(sub {
    my $s = json_decode($t->redis('GET', 'streamline:state:main'));
    $s && $s->{status} eq 'live';
}, 5), 'the live state reaches Redis once it is up');
ok(wait_for(sub {
    my (undef, $j) = $t->api;
    $j && $j->{status} eq 'live' && !exists $j->{stale};
}, 5), 'API live');
my ($r) = $t->api('other');
is($r->{body}, '{"status":"idle","updatedAt":null}', 'API answers other channels');

$pub->stop;
ok(wait_for(sub { ($t->api_status // '') eq 'idle' }, 3), 'idle after stop');

done_testing;
