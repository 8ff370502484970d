#!/usr/bin/perl

# The shipped configurations, rendered by scripts/render-conf.sh and run for
# real: nginx-conf/origin.conf (with the secret) behind nginx-conf/edge.conf
# (plain HTTP, and HTTPS with HTTP/2 with a certificate made by openssl).
# The origin refuses direct requests and serves the edge; every path gets
# its cache policy; nginx-rtmp's HLS (named after the channel, never the
# key) is served under /hls/.

use strict;
use warnings;

use File::Path qw(make_path);
use IO::Select;
use IO::Socket::INET;
use JSON::PP ();
use Time::HiRes qw(time);
use Test::More;
use lib 't/lib';
use Streamline::Test;

my $t = Streamline::Test->new;
my $dir = $t->testdir;
my $render = "$Streamline::Test::REPO/scripts/render-conf.sh";
my $secret = 'c2VjcmV0LWZvci10aGUtZWRnZQ';

$t->start_redis;
$t->port('EDGE');
make_path(map { ("$dir/$_/logs", "$dir/$_/tmp") } qw(origin edge));
# the player page (make page) when there is one, else a stand-in
my $dist = "$Streamline::Test::REPO/html/dist";
make_path("$dir/html");
if (-f "$dist/index.html") {
    system('cp', '-r', "$dist/.", "$dir/html/") == 0 or BAIL_OUT('cp');
} else {
    $t->write_file('html/index.html', "<!doctype html><title>Streamline</title>\n");
}
$t->write_file('html/assets/app.3f2a9c.js', "console.log('player');\n");

sub render {
    my ($in, $out, %vars) = @_;
    my $output = Streamline::Test::_capture($render,
        "$Streamline::Test::REPO/nginx-conf/$in", $out,
        map { "$_=$vars{$_}" } sort keys %vars);
    return ($? >> 8, $output);
}

# a certificate for the edge's HTTPS and the origin's RTMPS, made here
system("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost"
       . " -addext subjectAltName=DNS:localhost,IP:127.0.0.1"
       . " -keyout $dir/tls.key -out $dir/tls.crt 2>/dev/null") == 0
    or BAIL_OUT('openssl cannot make a certificate');
my $stream_module = Streamline::Test::_capture(
    "$Streamline::Test::REPO/scripts/stream-module.sh", Streamline::Test::nginx_bin());
BAIL_OUT("scripts/stream-module.sh: $stream_module") if $?;
chomp $stream_module;

my %origin = (
    RTMP_LISTEN_LINE   => 'listen 127.0.0.1:' . $t->port('RTMP') . ';',
    RTMPS_PORT         => '127.0.0.1:' . $t->port('RTMPS'),
    RTMP_INTERNAL      => '127.0.0.1:' . $t->port('RTMP_INTERNAL'),
    TLS_CERT           => "$dir/tls.crt",
    TLS_KEY            => "$dir/tls.key",
    STREAM_MODULE_LINE => $stream_module,
    HTTP_PORT          => '127.0.0.1:' . $t->port('HTTP'),
    REDIS_ADDR         => '127.0.0.1:' . $t->port('REDIS'),
    ORIGIN_ADDRESS     => '127.0.0.1:' . $t->port('HTTP'),
    PREFIX             => "$dir/origin",
    MODULES            => $t->modules_dir,
    HTML               => "$dir/html",
    ORIGIN_SECRET_LINE => "streamline_origin_secret X-Streamline-Origin $secret;",
    METRICS_ADDR       => '127.0.0.1:' . $t->port('METRICS'),
);
my %edge = (
    EDGE_PORT => '127.0.0.1:' . $t->port('EDGE'),
    EDGE_TLS_PORT => '127.0.0.1:' . $t->port('EDGE_TLS'),
    TLS_CERT  => "$dir/tls.crt",
    TLS_KEY   => "$dir/tls.key",
    ORIGIN    => '127.0.0.1:' . $t->port('HTTP'),
    SECRET    => $secret,
    REDIS_ADDR => '127.0.0.1:' . $t->port('REDIS'),
    PREFIX    => "$dir/edge",
    MODULES   => $t->modules_dir,
);

# the renderer

my ($rc, $out) = do {
    my %o = %origin;
    delete $o{ORIGIN_SECRET_LINE};
    render('origin.conf', "$dir/half.conf", %o);
};
isnt($rc, 0, 'render-conf.sh fails when a placeholder has no value');
like($out, qr/\@ORIGIN_SECRET_LINE\@/, 'and names it');
ok(!-e "$dir/half.conf", 'and writes nothing');

($rc, $out) = render('origin.conf', "$dir/open.conf", %origin,
    ORIGIN_SECRET_LINE => '');
is($rc, 0, 'origin.conf without a secret renders') or diag $out;
my $origin = $t->nginx('origin', port => $t->port('HTTP'));
$origin->conf_file("$dir/open.conf");
($rc, $out) = $origin->test;
is($rc, 0, 'nginx -t: origin.conf without a secret') or diag $out;

($rc, $out) = render('origin.conf', "$dir/origin/nginx.conf", %origin);
is($rc, 0, 'origin.conf renders') or diag $out;
($rc, $out) = render('edge.conf', "$dir/edge/nginx.conf", %edge);
is($rc, 0, 'edge.conf renders') or diag $out;

$origin->conf_file("$dir/origin/nginx.conf");
($rc, $out) = $origin->test;
is($rc, 0, 'nginx -t: origin.conf') or diag $out;

my $edge = $t->nginx('edge', port => $t->port('EDGE'));
$edge->conf_file("$dir/edge/nginx.conf");
($rc, $out) = $edge->test;
is($rc, 0, 'nginx -t: edge.conf') or diag $out;

# run both

$t->watch_log("$dir/origin/logs/error.log");
$t->watch_log("$dir/edge/logs/error.log");
$origin->start;
$edge->start;

my %with_secret = (headers => { 'X-Streamline-Origin' => $secret });
my $direct = sub { $t->get($_[0], %with_secret, @_[1 .. $#_]) };
my $via = sub { $t->get($_[0], port => $t->port('EDGE'), @_[1 .. $#_]) };

for my $path ('/', '/index.html', '/assets/app.3f2a9c.js', '/api/stream',
              '/hls/main.m3u8') {
    is($t->get($path)->{status}, 403, "origin, no secret: $path 403");
    is($t->get($path, headers => { 'X-Streamline-Origin' => 'nope' })
        ->{status}, 403, "origin, wrong secret: $path 403");
}

# the metrics: on their own private address, not on the public one nor
# through the edge
my $r = $t->get('/metrics', port => $t->port('METRICS'));
is($r->{status}, 200, 'the metrics on METRICS_ADDR: 200');
like($r->{body}, qr/^streamline_channels_live 0$/m, 'the Prometheus text');
# (there /metrics is a channel's player page)
unlike($direct->('/metrics')->{body}, qr/streamline_/,
       'not on the public address');
unlike($via->('/metrics')->{body}, qr/streamline_/, 'nor through the edge');

$r = $via->('/api/stream');
is($r->{status}, 200, 'API through the edge: 200');
is($r->{body}, '{"status":"idle","updatedAt":null}', 'the state');

# cache policy per path (at the origin, as the edge sees it)

my %policy = (
    '/'                     => 'no-cache',
    '/index.html'           => 'no-cache',
    '/studio'               => 'no-cache',
    '/assets/app.3f2a9c.js' => 'public, max-age=31536000, immutable',
    '/api/stream'           => 'no-cache',
    '/api/stream/studio'    => 'no-cache',
);
for my $path (sort keys %policy) {
    $r = $direct->($path);
    is($r->{status}, 200, "$path: 200");
    is($r->{headers}{'cache-control'}, $policy{$path},
        "$path: Cache-Control $policy{$path}");
}

$r = $direct->('/');
like($r->{body}, qr/<title>Streamline/, '/ is the player page');
like($direct->('/studio')->{body}, qr/<title>Streamline/,
     '/<channel> is the player page too');
is($direct->('/nope.txt')->{status}, 404, 'other top-level names: 404');
is($direct->('/studio/x')->{status}, 404, 'and deeper ones');
my $etag = $r->{headers}{etag};
ok($etag, 'the page has an ETag');
$r = $direct->('/', headers => { 'X-Streamline-Origin' => $secret,
    'If-None-Match' => $etag // '' });
is($r->{status}, 304, 'revalidation: 304');

$r = $direct->('/assets/missing.3f2a9c.js');
is($r->{status}, 404, 'a missing asset: 404');
ok(($r->{headers}{'cache-control'} // '') !~ /max-age=31536000/,
    'a 404 is not cached for a year');

$r = $direct->('/api/nothing');
is($r->{status}, 404, '/api/nothing: 404');
is($r->{headers}{'cache-control'}, 'no-cache', '/api/nothing: no-cache');

# through the edge: hashed assets are cached there, the API never

$via->('/assets/app.3f2a9c.js');
is($via->('/assets/app.3f2a9c.js')->{headers}{'x-cache'}, 'HIT',
    'edge: asset from its cache');
my %api;
$api{$via->('/api/stream')->{headers}{'x-cache'} // 'none'}++ for 1 .. 3;
ok(!$api{HIT}, 'edge: the API never from its cache') or diag explain \%api;
is($via->('/')->{status}, 200, 'edge: the page');

# HLS packaged by Streamline, under the channel's name

my $key = random_key();
$t->add_key(main => $key);
my $pub = $t->publish($key);
ok(wait_for(sub {
    my (undef, $j) = $t->api(undef, %with_secret);
    $j && $j->{status} eq 'live';
}, 10), 'publish: live') or diag $pub->stderr;

my $playlist = wait_for(sub {
    my $p = $direct->('/hls/main/source/index.m3u8');
    $p->{status} == 200 && $p->{body} =~ /^seg-\d+\.m4s$/m ? $p : undef;
}, 15);
ok($playlist, 'playlist /hls/main/source/index.m3u8') or diag $pub->stderr;
if ($playlist) {
    is($playlist->{headers}{'cache-control'}, 'max-age=1',
        'playlist: max-age=1 (half a target duration)');
    is($playlist->{headers}{'content-type'}, 'application/vnd.apple.mpegurl',
        'playlist: content type');
    my ($seg) = $playlist->{body} =~ /^(seg-\d+\.m4s)$/m;
    $r = $direct->("/hls/main/source/$seg");
    is($r->{status}, 200, 'segment');
    is($r->{headers}{'cache-control'}, 'public, max-age=31536000, immutable',
        'segment: immutable');
    is($r->{headers}{'content-type'}, 'video/mp4', 'segment: content type');
    my ($init) = $playlist->{body} =~ /URI="(init-\d+\.mp4)"/;
    is($direct->("/hls/main/source/$init")->{status}, 200, 'init segment');
    is($via->('/hls/main/source/index.m3u8')->{status}, 200,
        'edge: playlist');
    is($via->('/hls/main/master.m3u8')->{status}, 200, 'edge: master');
}

# LL-HLS through the edge: 20 viewers ask for the next part (the preload
# hint) and for the playlist that will list it (a blocking reload), before
# it exists.  The origin holds the first of each until the part is written;
# the others wait at the edge (streamline_collapse), and are answered from
# its cache the moment the first answer is in: within 100 ms of it (nginx's
# proxy_cache_lock would take 500 ms), with one request to the origin per
# edge worker, not 20.
SKIP: {
    my $pl = $via->('/hls/main/source/index.m3u8')->{body} // '';
    my ($msn, $part) = $pl =~ /PRELOAD-HINT:TYPE=PART,URI="part-(\d+)\.(\d+)\.m4s"/;
    skip 'no preload hint through the edge', 6 unless defined $part;
    my %ask = (playlist => "/hls/main/source/index.m3u8?_HLS_msn=$msn&_HLS_part=$part",
               part => "/hls/main/source/part-$msn.$part.m4s");
    chomp(my $workers = `nproc` || 2);
    my (%sock, %answered, %status);
    for my $what (sort keys %ask) {
        for my $i (1 .. 20) {
            my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                PeerPort => $t->port('EDGE'), Proto => 'tcp', Timeout => 5) or next;
            print $s "GET $ask{$what} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
            $sock{"$what $i"} = $s;
        }
    }
    my $sel = IO::Select->new(values %sock);
    my %name = map { ($sock{$_} => $_) } keys %sock;
    my %buf;
    my $until = time + 5;
    while ($sel->count && time < $until) {
        for my $s ($sel->can_read(0.05)) {
            my $n = sysread($s, my $chunk, 65536);
            $buf{$s} .= $chunk if $n;
            my $k = $name{$s};
            $answered{$k} //= time if $n;
            if (!$n) { $sel->remove($s); close $s; }
        }
    }
    for my $what (sort keys %ask) {
        my @k = grep { /^$what / } keys %sock;
        my @ok = grep { ($buf{$sock{$_}} // '') =~ m{^HTTP/1\.1 200 } } @k;
        is(scalar @ok, 20, "edge, LL-HLS $what: 20 viewers answered 200");
        my @t = sort { $a <=> $b } map { $answered{$_} // 99e9 } @k;
        my $spread = $t[-1] - $t[0];
        cmp_ok($spread, '<', 0.1, sprintf('edge, LL-HLS %s: the last answer %.0f ms after the first',
            $what, $spread * 1000));
        my $q = quotemeta $ask{$what};
        my $n = grep { /"GET $q / } split /\n/, $t->read_file("$dir/origin/logs/access.log") // '';
        cmp_ok($n, '<=', $workers, "edge, LL-HLS $what: $n requests reached the origin for 20 viewers ($workers edge workers)");
    }
}

# HTTPS with HTTP/2 at the edge, checked by curl against the certificate
{
    my $tls = $t->port('EDGE_TLS');
    my $curl = sub {
        my ($path) = @_;
        my $out = `curl -s --http2 --cacert $dir/tls.crt --resolve localhost:$tls:127.0.0.1 -o $dir/curl.out -w '%{http_version} %{http_code}' https://localhost:$tls$path 2>&1`;
        return ($out, $t->read_file("$dir/curl.out") // '');
    };
    my ($st, $body) = $curl->('/api/stream');
    is($st, '2 200', 'edge over HTTPS: HTTP/2, 200, the certificate verified');
    like($body, qr/"status":"live"/, 'the API through it');
    ($st, $body) = $curl->('/hls/main/source/index.m3u8');
    is($st, '2 200', 'a playlist over HTTPS and HTTP/2');
    like($body, qr/^#EXTM3U/, 'the playlist');
    my $plain = `curl -s -o /dev/null -w '%{http_code}' --max-time 5 http://127.0.0.1:$tls/api/stream 2>&1`;
    is($plain, '400', 'plain HTTP on the HTTPS port: 400');

    # the player page plays over HTTPS through the edge (Chromium)
    SKIP: {
        require Streamline::Browser;
        my $why = Streamline::Browser::available()
                  // (-f "$dist/index.html" ? undef : 'html/dist missing: run "make page"');
        skip $why, 2 if $why;
        local $ENV{IGNORE_HTTPS_ERRORS} = 1;
        my $out = `node $Streamline::Test::REPO/bench/player.mjs 'https://localhost:$tls/?engine=hlsjs' 4 2>&1`;
        my ($line) = grep { /^\{/ } split /\n/, $out;
        my $p = eval { JSON::PP::decode_json($line // '') };
        my $h = $p ? $p->{height} : 0;
        ok($h > 0, "the page plays over HTTPS: a ${h}p picture") or diag $out;
        is_deeply($p && $p->{errors}, [], 'without an error');
    }
}

my @files = map { s{^\Q$dir\E/origin/media/}{}r }
    glob("$dir/origin/media/*/*/*");
ok(@files && !grep({ /\Q$key\E/ } @files), 'media files never named after the key')
    or diag explain \@files;

my @leaks = grep { /\Q$key\E/ }
    map { split /\n/, $t->read_file($_) // '' }
    glob("$dir/origin/logs/*.log");
is_deeply(\@leaks, [], 'the key is in no origin log')
    or diag map { s/\Q$key\E/<KEY>/gr . "\n" } @leaks;

$pub->stop;

done_testing;
