#!/usr/bin/perl

# The live viewer count with the shipped configurations: an origin
# (origin.conf, trusting the edge's X-Forwarded-For) and an edge
# (edge.conf) on one redis-server.  Simulated viewers from distinct loopback
# addresses load playlists: 100 through the edge, 60 straight from the
# origin, 20 of the edge's also straight from the origin (the same people
# on two nodes).  /api/stream on both nodes says about 161 (the harness's
# own requests are one more viewer; HyperLogLog:
# approximate), no node keeps an address, and an idle channel has no
# count.

use strict;
use warnings;

use IO::Socket::INET;
use Test::More;
use lib 't/lib';
use Streamline::Test;

my $t = Streamline::Test->new;
my $dir = $t->testdir;
$t->start_redis;

my $origin = $t->shipped_origin('a');
{
    # the edge is a trusted proxy here: its viewers are counted by their
    # own addresses at the origin too
    my $conf = $t->read_file('a/nginx.conf');
    $conf =~ s/^(\s*)#\s*set_real_ip_from 10\.0\.0\.0\/8;/${1}set_real_ip_from 127.0.0.1;/m
        or BAIL_OUT('origin.conf: no set_real_ip_from example');
    $conf =~ s/^(\s*)#\s*real_ip_header X-Forwarded-For;/${1}real_ip_header X-Forwarded-For;/m
        or BAIL_OUT('origin.conf: no real_ip_header example');
    $t->write_file('a/nginx.conf', $conf);
    my ($rc, $out) = $origin->test;
    is($rc, 0, 'nginx -t: the origin with realip') or diag $out;
}
$origin->start;
my $edge = $t->shipped_edge(['a']);
$edge->start;

my %port = (origin => $t->port('HTTP_A'), edge => $t->port('EDGE'));

sub api_on {
    my ($node, $channel) = @_;
    my (undef, $j) = $t->api($channel, port => $port{$node});
    return ref $j eq 'HASH' ? $j : {};
}

# a GET from a source address of our choice: the status
sub get_from {
    my ($from, $node, $path) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port{$node},
        LocalAddr => $from, Proto => 'tcp', Timeout => 5) or return 0;
    print $s "GET $path HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    my $line = <$s> // '';
    1 while <$s>;
    close $s;
    return $line =~ m{^HTTP/1\.[01] (\d+)} ? $1 : 0;
}

my $key = random_key();
$t->add_key(main => $key);
my $pub = $t->publish($key, port => $t->port('RTMP_A'));
ok(wait_for(sub { (api_on('edge')->{status} // '') eq 'live' }, 15), 'live');
ok(!exists api_on('edge', 'other')->{viewers}, 'an idle channel has no viewer count');
# the master lists its renditions once the first segment is out
my $media;
ok(wait_for(sub {
    my $r = $t->get('/hls/main/master.m3u8', port => $port{edge});
    return 0 unless $r->{status} == 200;
    ($media) = ($r->{body} // '') =~ /^([^#\s]\S*\.m3u8)\s*$/m;
    return defined $media
        && $t->get("/hls/main/$media", port => $port{edge})->{status} == 200;
}, 30), 'the master and a media playlist through the edge: '
        . ($media // 'none'));
$media //= 'source/index.m3u8';

my (%ok, $asked);
for my $i (1 .. 100) {
    for my $path ('/hls/main/master.m3u8', "/hls/main/$media") {
        $asked++;
        $ok{edge}++ if get_from("127.0.1.$i", 'edge', $path) == 200;
    }
}
for my $from ((map { "127.0.2.$_" } 1 .. 60), (map { "127.0.1.$_" } 1 .. 20)) {
    $asked++;
    $ok{origin}++ if get_from($from, 'origin', "/hls/main/$media") == 200;
}
is($ok{edge}, 200, '100 viewers through the edge, two playlists each');
is($ok{origin}, 80, '80 straight from the origin (20 of them also seen at the edge)');

# the sets reach Redis within a second, a node's count is at most 5 s old
my %seen;
ok(wait_for(sub {
    for my $n (qw(origin edge)) {
        my $v = api_on($n)->{viewers};
        $seen{$n} = $v if defined $v;
    }
    return 2 == grep { defined $seen{$_} && $seen{$_} >= 155 && $seen{$_} <= 165 } qw(origin edge);
}, 15), sprintf('both nodes count about 160 viewers (origin %s, edge %s)',
    $seen{origin} // 'none', $seen{edge} // 'none'))
    or diag explain api_on('edge');
# the harness's own playlist requests (127.0.0.1) are a 161st viewer
my $exact = 161;
cmp_ok(abs(($seen{edge} // 0) - $exact), '<=', 3, "within the HyperLogLog's error of $exact");

# Redis keeps HyperLogLogs with a TTL, and no address
my @keys = grep { /^streamline:viewers:main:\d+$/ } split /\n/, $t->redis_cli('KEYS', 'streamline:viewers:*');
ok(@keys >= 1 && @keys <= 2, 'one HyperLogLog a 10 s bucket: ' . join(' ', @keys));
my $ttl = $t->redis('TTL', $keys[-1] // 'none');
ok(defined $ttl && $ttl > 0 && $ttl <= 60, "with a TTL ($ttl s)");
my $raw = $t->redis('GET', $keys[-1] // 'none') // '';
like($raw, qr/^HYLL/, 'a HyperLogLog');
unlike($raw, qr/127\.0\./, 'holding no address');
unlike($t->read_file("$dir/edge/logs/error.log") // '', qr/\[(?:alert|crit)\]/, 'edge log clean');

$pub->stop;
ok(wait_for(sub { (api_on('edge')->{status} // '') eq 'idle' }, 10), 'stop: idle');
ok(!exists api_on('edge')->{viewers}, 'an idle channel has no viewer count');

done_testing;
