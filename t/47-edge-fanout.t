#!/usr/bin/perl

# Edge fan-out with the shipped scale-out configurations: two origins
# (origin.conf) share one redis-server, one edge (edge.conf) routes the
# channel to the origin that holds it (streamline_route) and collapses
# identical requests (streamline_collapse).  One channel is published to
# origin a (the test picture, 320x240, with the shipped ladder), then N
# LL-HLS viewers at the edge, N = 10 and then N = 100, each over its own
# measured window:
#   - the viewers are bench/capacity_viewers.c (compiled here with cc), as
#     bench/capacity.sh runs them: spread over ALL the renditions of the
#     master playlist in turn, each on two keep-alive connections, one
#     following the blocking playlist reloads
#     (index.m3u8?_HLS_msn=M&_HLS_part=P&_HLS_skip=YES for the preload
#     hint of the last answer), the other asking for the preload-hinted
#     part as soon as a playlist names it (held until it is written);
#   - every viewer got every part its rendition wrote in the window (one
#     may be lost to the window's edges), no error, no timeout;
#   - the owner's access log over the window: blocking reloads and parts
#     of the channel each at most (edge workers + slack) a part a
#     rendition, and no URI asked for more than once per edge worker
#     (streamline_collapse holds the rest in the worker, and proxy_cache
#     answers them), whatever N;
#   - what reaches the origin does not grow with N: its requests a part
#     and rendition at N = 100 over those at N = 10 stay within the edge's
#     worker count (a viewer's URI reaches the origin once per worker at
#     most, and at least once), while the viewers' requests grow tenfold;
#   - the other origin is never asked for the channel.
# The collapse ratio (viewers' requests / origin requests) goes to diag.
#
# STREAMLINE_T47_NO_COLLAPSE=1 renders the edge with "streamline_collapse
# off" (a rendered copy; the shipped edge.conf is untouched): this test
# must then fail (the bounds above), which shows that it measures the
# collapse.

use strict;
use warnings;

use Time::HiRes qw(time sleep);
use Test::More;
use lib 't/lib';
use Streamline::Test;

my $cc = `command -v cc 2>/dev/null`;
plan skip_all => 'needs cc (bench/capacity_viewers.c)' unless $cc =~ /\S/;

my $t = Streamline::Test->new;
my $dir = $t->testdir;

my $bin = "$dir/capacity_viewers";
my $src = "$Streamline::Test::REPO/bench/capacity_viewers.c";
my $ccout = `cc -O2 -Wall -o '$bin' '$src' 2>&1`;
is($?, 0, 'bench/capacity_viewers.c compiles') or diag $ccout;

$t->start_redis;
my %origin = map { $_ => $t->shipped_origin($_) } qw(a b);
$_->start for values %origin;
my %http = map { $_ => $t->port("HTTP_\U$_") } qw(a b);
my %rtmp = map { $_ => $t->port("RTMP_\U$_") } qw(a b);
my %addr = map { $_ => "127.0.0.1:$http{$_}" } qw(a b);

# the page from origin b: so that "b hears nothing of the channel" means
# something
my $edge = $t->shipped_edge(['b']);
if ($ENV{STREAMLINE_T47_NO_COLLAPSE}) {
    my $conf = $t->read_file("$dir/edge/nginx.conf");
    $conf =~ s/streamline_collapse on;/streamline_collapse off;/g
        or BAIL_OUT('no "streamline_collapse on" in the rendered edge.conf');
    $t->write_file("$dir/edge/nginx.conf", $conf);
    $edge->conf_file("$dir/edge/nginx.conf");
    diag 'STREAMLINE_T47_NO_COLLAPSE: the edge runs without streamline_collapse';
}
$edge->start;
my $edge_port = $t->port('EDGE');
my @workers;
wait_for(sub { @workers = $edge->worker_pids; @workers > 0 }, 5);
my $w = @workers;
ok($w >= 1, "the edge runs $w worker(s) (worker_processes auto)");

# --- one channel, on origin a ------------------------------------------------

my $key = random_key();
$t->add_key(main => $key);
my $pub = $t->publish($key, port => $rtmp{a});
ok(wait_for(sub { ($t->api_status(undef, port => $edge_port) // '') eq 'live' }, 15),
   'live, as the edge sees it') or diag $pub->stderr;
my $state = json_decode($t->redis('GET', 'streamline:state:main') // '');
is($state && $state->{origin}, $addr{a}, 'origin a owns the channel');

my $master = wait_for(sub {
    my $r = $t->get('/hls/main/master.m3u8', port => $edge_port);
    $r->{status} == 200 ? $r->{body} : undef;
}, 20);
ok($master, 'the master playlist through the edge');
my @renditions = ($master // '') =~ m{^([^#\s/]+)/index\.m3u8\s*$}mg;
cmp_ok(scalar @renditions, '>=', 2, "renditions: @renditions");
# every rendition has a few parts before the viewers come
ok(wait_for(sub {
    for my $r (@renditions) {
        my $p = $t->get("/hls/main/$r/index.m3u8", port => $http{a});
        return 0 unless $p->{status} == 200 && $p->{body} =~ /PRELOAD-HINT/;
    }
    return 1;
}, 20), 'every rendition has parts and a preload hint');
sleep 1;

# --- N viewers, a measured window each --------------------------------------

my $warmup = 3;
my $window = 8;

sub log_size { -s $_[0] // 0 }
sub log_from {
    my ($file, $from, $to) = @_;
    open my $fh, '<', $file or return '';
    seek $fh, $from, 0;
    read $fh, my $data, $to - $from;
    return $data // '';
}

my %res;
for my $n (10, 100) {
    my $alog = "$dir/a/logs/access.log";
    my $t0 = time;
    my $pid = open(my $fh, '-|', $bin, "127.0.0.1:$edge_port", '/hls/main',
                   "$dir/a/media/main", $n, $warmup, $window)
        or die "capacity_viewers: $!";
    # the client's window starts WARMUP after its start (it reads the
    # master playlist first: a few ms)
    sleep($t0 + $warmup - time) if $t0 + $warmup > time;
    my $from = log_size($alog);
    my $line = do { local $/; <$fh> } // '';
    close $fh;
    my $to = log_size($alog);
    my $client_rc = $? >> 8;
    is($client_rc, 0, "N=$n: the viewers ran") or diag $line;
    my ($last) = grep { /viewers=/ } split /\n/, $line;
    my %c = map { split /=/, $_, 2 } split / /, $last // '';

    # what the owner was asked for meanwhile
    my (%uri, %kind);
    for (split /\n/, log_from($alog, $from, $to)) {
        my ($u) = m{"GET (/hls/main/\S+) HTTP} or next;
        my $k = $u =~ m{/index\.m3u8\?.*_HLS_msn=} ? 'blocking'
              : $u =~ m{/part-\d+\.\d+\.m4s$}       ? 'part'
              :                                       'other';
        $kind{$k}++;
        $uri{$k}{$u}++;
    }
    my $orig = 0;
    $orig += $_ for values %kind;
    my $written = $c{parts_written} // 0;       # all renditions
    my $nr = $c{renditions} || 1;
    my $per_rend = $written / $nr;
    my %max = map { my $k = $_; ($k => (sort { $b <=> $a } values %{$uri{$k} || {}})[0] // 0) } qw(blocking part);
    $res{$n} = { c => \%c, orig => $orig, kind => \%kind, written => $written,
                 per_part => $written ? $orig / $written : 0 };

    is(($c{errors} // -1) + ($c{timeouts} // -1), 0, "N=$n: no error, no timeout")
        or diag $last;
    cmp_ok($per_rend, '>=', $window / 0.25 * 0.8,
           sprintf('N=%d: %.0f parts a rendition written in the %d s window (%d renditions)',
                   $n, $per_rend, $window, $nr));
    cmp_ok($c{min_follow} // 0, '>=', $per_rend > 1 ? ($per_rend - 1) / $per_rend : 1,
           "N=$n: every viewer got every part of its rendition (follow min $c{min_follow}, the window's edges may cost one)")
        or diag $last;
    for my $k (qw(blocking part)) {
        my $got = $kind{$k} // 0;
        my $bound = ($w + 0.25) * $written;
        cmp_ok($got, '<=', $bound,
               sprintf('N=%d: %d %s requests at the origin for %d parts x renditions: %.2f a part, at most %d edge workers + 0.25',
                       $n, $got, $k, $written, $written ? $got / $written : 0, $w));
        cmp_ok($max{$k}, '<=', $w, "N=$n: no $k URI reached the origin more than once per edge worker (at most $max{$k})");
    }
    diag sprintf('N=%d: viewers made %d requests in %d s, the owner got %d (%d blocking reloads, %d parts, %d other): collapse ratio %.1f; %.2f origin requests a part and rendition; late p50/p99 %s/%s ms',
                 $n, $c{requests} // 0, $window, $orig, $kind{blocking} // 0, $kind{part} // 0,
                 $kind{other} // 0, $orig ? ($c{requests} // 0) / $orig : 0, $res{$n}{per_part},
                 $c{late_p50_ms} // '-', $c{late_p99_ms} // '-');
}

# --- the origin does not see N ------------------------------------------------

{
    my ($lo, $hi) = @res{10, 100};
    my $creq = $lo->{c}{requests} ? ($hi->{c}{requests} // 0) / $lo->{c}{requests} : 0;
    my $oreq = $lo->{per_part} ? $hi->{per_part} / $lo->{per_part} : 99;
    cmp_ok($creq, '>=', 7, sprintf('the viewers asked %.1f times as much at N=100 as at N=10', $creq));
    cmp_ok($oreq, '<=', $w + 0.25,
           sprintf('the origin, a part and rendition: %.2f at N=100, %.2f at N=10: x%.2f (at most the %d edge workers)',
                   $hi->{per_part}, $lo->{per_part}, $oreq, $w));
    diag sprintf('N=10 -> 100: viewers\' requests x%.1f, origin requests a part x%.2f', $creq, $oreq);
}

# --- the other origin never heard of the channel ------------------------------

my $blog = $t->read_file("$dir/b/logs/access.log") // '';
is(scalar(grep { m{ /hls/main/} } split /\n/, $blog), 0,
   'origin b was never asked for the channel');

$pub->stop;
done_testing;
