#!/usr/bin/perl

# Scale-out with the shipped configurations: two origins (origin.conf) share
# one redis-server, an edge (edge.conf) routes each channel to the origin
# that holds it, and broadcasters come in through the TCP balancer
# (balancer.conf).
#   - a publish through the balancer lands on one origin (the owner), whose
#     address is in the channel's state; the edge sends the channel's media
#     there and ffprobe plays the HLS through the edge;
#   - the same channel published straight to the other origin is refused,
#     and its log names the owner's address;
#   - /api/stream agrees on both origins and the edge within 1 s of each
#     change (live, idle), answered by the edge itself;
#   - an idle or unknown channel gets a cacheable 404 at the edge, and no
#     origin hears of it;
#   - Redis gone: the edge keeps routing from what it knew.

use strict;
use warnings;

use Time::HiRes qw(time sleep);
use Test::More;
use lib 't/lib';
use Streamline::Test;
use Streamline::Media;

my $t = Streamline::Test->new;
my $dir = $t->testdir;
$t->start_redis;

my %origin = map { $_ => $t->shipped_origin($_) } qw(a b);
for my $n (qw(a b)) {
    my ($rc, $out) = $origin{$n}->test;
    is($rc, 0, "nginx -t: origin $n") or diag $out;
}
$_->start for values %origin;
my %http = map { $_ => $t->port("HTTP_\U$_") } qw(a b);
my %rtmp = map { $_ => $t->port("RTMP_\U$_") } qw(a b);
my %addr = map { $_ => "127.0.0.1:$http{$_}" } qw(a b);

# the edge: page and assets from origin a, media by owner, API from Redis;
# the balancer in front of both for broadcasters (both checked by nginx -t)
my $edge = $t->shipped_edge(['a']);
$edge->start;
my $balancer = $t->shipped_balancer(qw(a b));
$balancer->start(no_http => 1);

my %port = (%http, edge => $t->port('EDGE'));
sub status_on {
    my ($node, $channel) = @_;
    my (undef, $j) = $t->api($channel, port => $port{$node});
    return ref $j eq 'HASH' ? $j->{status} // '' : '';
}
# the moment every node says $want, measured from $since
sub all_agree {
    my ($want, $since) = @_;
    my %at;
    wait_for(sub {
        for my $n (qw(a b edge)) {
            $at{$n} //= time if status_on($n) eq $want;
        }
        return keys %at == 3;
    }, 15);
    return map { $_ => (defined $at{$_} ? $at{$_} - $since : undef) } qw(a b edge);
}
sub requests_for {
    my ($node, $re) = @_;
    my $log = $t->read_file("$dir/$node/logs/access.log") // '';
    return scalar grep { $_ =~ $re } split /\n/, $log;
}

is(status_on($_), 'idle', "$_: idle before any publish") for qw(a b edge);

# --- a publish through the balancer ----------------------------------------

my $key = random_key();
$t->add_key(main => $key);
my $t0 = time;
my $pub = $t->publish($key, port => $t->port('BALANCER'));
my %live = all_agree('live', $t0);
ok(defined $live{$_}, sprintf('%s: live (%.0f ms after the publish started)',
   $_, 1000 * ($live{$_} // 0))) for qw(a b edge);
{
    my @d = grep { defined } values %live;
    my ($lo, $hi) = (sort { $a <=> $b } @d)[0, -1];
    cmp_ok($hi - $lo, '<', 1, sprintf('every node within 1 s of the first (%.0f ms apart)',
           1000 * (($hi // 0) - ($lo // 0))));
}

my $state = json_decode($t->redis('GET', 'streamline:state:main'));
my ($owner) = grep { $addr{$_} eq ($state->{origin} // '') } qw(a b);
ok($owner, "the state records the owner's address ($state->{origin})")
    or diag explain $state;
$owner //= 'a';
my $other = $owner eq 'a' ? 'b' : 'a';
my (undef, $public) = $t->api(undef, port => $port{edge});
ok(!exists $public->{origin}, 'the public API does not show the origin')
    or diag explain $public;

# --- the edge sends the channel's media to its owner ------------------------

my $edge_base = 'http://127.0.0.1:' . $t->port('EDGE');
ok(wait_for(sub { $t->get('/hls/main/master.m3u8', port => $port{edge})->{status} == 200 }, 20),
   'the master playlist through the edge');
my $media = $t->get('/hls/main/source/index.m3u8', port => $port{edge});
if ($media->{status} != 200) {
    # the renditions' names come from the master
    my $m = $t->get('/hls/main/master.m3u8', port => $port{edge})->{body} // '';
    my ($uri) = $m =~ /^([^#\s][^\s]*\.m3u8)$/m;
    $media = $t->get("/hls/main/$uri", port => $port{edge}) if $uri;
}
is($media->{status}, 200, 'a media playlist through the edge');
cmp_ok(requests_for($owner, qr{GET /hls/main/}), '>', 0,
       "origin $owner served the channel's media");
is(requests_for($other, qr{GET /hls/main/}), 0,
   "origin $other never heard of them");

sleep 4;
my $probe = `ffprobe -v error -rw_timeout 10000000 -show_entries stream=codec_type -of csv=p=0 -read_intervals %+3 '$edge_base/hls/main/master.m3u8' 2>&1`;
like($probe, qr/video/, 'ffprobe plays the HLS through the edge') or diag $probe;

# --- a second publisher for the channel, on the other origin ----------------

my $second = $t->publish($key, port => $rtmp{$other});
my $code = $second->wait(10);
ok(defined $code && $code != 0, "the same channel published on $other: refused")
    or diag 'exit ' . ($code // 'none: still publishing');
ok(scalar $t->log_lines(qr/streamline: channel "main" is already live on origin "\Q$addr{$owner}\E", held by "[^"]+:\d+:\d+:\d+:\d+"/,
                        "$dir/$other/logs/error.log"),
   "${other}'s log names the owner's address and lock");
ok($pub->alive, 'the first publisher goes on');

# --- idle and unknown channels at the edge ----------------------------------

my $before_a = requests_for('a', qr{/hls/nosuch/});
my $r = $t->get('/hls/nosuch/master.m3u8', port => $port{edge});
is($r->{status}, 404, 'an unknown channel: 404 at the edge');
like($r->{headers}{'cache-control'} // '', qr/^max-age=1$/, 'cacheable for a second');
$t->redis('SET', 'streamline:state:ended', '{"status":"idle","updatedAt":"2026-12-01T00:00:00.000Z"}');
is($t->get('/hls/ended/master.m3u8', port => $port{edge})->{status}, 404,
   'an idle channel: 404 at the edge');
is($t->get('/hls/bad.name/master.m3u8', port => $port{edge})->{status}, 404,
   'an invalid channel name: 404 at the edge');
is(requests_for($_, qr{/hls/(nosuch|ended|bad\.name)/}), 0,
   "origin $_ never heard of them") for qw(a b);

# a live state without an origin (an origin without streamline_origin_address)
$t->redis('SET', 'streamline:state:old', '{"status":"live","updatedAt":"2026-12-01T00:00:00.000Z"}');
is($t->get('/hls/old/master.m3u8', port => $port{edge})->{status}, 502,
   'live without an origin address: 502 at the edge');
ok(scalar $t->log_lines(qr/channel "old" is live on an origin without "streamline_origin_address"/,
                        "$dir/edge/logs/error.log"),
   'and the edge says why');

# --- Redis away: the edge routes from what it knew ---------------------------

$t->stop_redis;
sleep 0.5;
is($t->get('/hls/main/master.m3u8', port => $port{edge})->{status}, 200,
   'Redis down: the edge still routes a channel it knew');
is($t->get('/hls/other/master.m3u8', port => $port{edge})->{status}, 503,
   'and answers 503 for one it never saw');
$t->start_redis;
$t->add_key(main => $key);      # an empty Redis: the test's has no dump
ok(wait_for(sub { status_on('edge') eq 'live' && status_on($owner) eq 'live' }, 15),
   'Redis back: live again everywhere (the owner renews its state)');

# --- stop: idle everywhere within a second ----------------------------------

$t0 = time;
$pub->stop;
my %idle = all_agree('idle', $t0);
ok(defined $idle{$_}, sprintf('%s: idle (%.0f ms after the stop)', $_, 1000 * ($idle{$_} // 0)))
    for qw(a b edge);
{
    my @d = grep { defined } values %idle;
    my ($lo, $hi) = (sort { $a <=> $b } @d)[0, -1];
    cmp_ok($hi - $lo, '<', 1, sprintf('every node within 1 s of the first (%.0f ms apart)',
           1000 * (($hi // 0) - ($lo // 0))));
}
ok(wait_for(sub { $t->get('/hls/main/master.m3u8', port => $port{edge})->{status} == 404 }, 5),
   'the ended channel: 404 at the edge');

# the other origin may take the channel now
my $pub_b = $t->publish($key, port => $rtmp{$other});
ok(wait_for(sub { (json_decode($t->redis('GET', 'streamline:state:main') // '{}')->{origin} // '') eq $addr{$other} }, 15),
   "then a publish on $other: the state names $other");
ok(wait_for(sub { $t->get('/hls/main/master.m3u8', port => $port{edge})->{status} == 200 }, 20),
   'and the edge follows');
cmp_ok(requests_for($other, qr{GET /hls/main/}), '>', 0, "origin $other serves it now");
$pub_b->stop;
ok(wait_for(sub { status_on('edge') eq 'idle' }, 10), 'stop: idle');

# RTMPS through the balancer: passed through, TLS ends at an origin
my $pub_tls = $t->publish($key,
    url => 'rtmps://127.0.0.1:' . $t->port('BALANCER_TLS') . '/live');
ok(wait_for(sub { status_on('edge') eq 'live' }, 15),
   'RTMPS through the balancer: live') or diag $pub_tls->stderr;
$pub_tls->stop;

done_testing;
