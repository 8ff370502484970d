#!/usr/bin/perl

# hls.js (lowLatencyMode) in headless Chromium (Debian's chromium, driven
# by playwright-core) plays a live LL-HLS stream: the position advances,
# no fatal error, all renditions in the master, and the live latency (wall
# clock minus the PROGRAM-DATE-TIME of the frame on screen) stays low.

use strict;
use warnings;

use Test::More;
use JSON::PP;
use lib 't/lib';
use Streamline::Test;
use Streamline::Media;

my $top = $Streamline::Test::REPO;
plan skip_all => 'html/node_modules missing: run npm ci in html/'
    unless -d "$top/html/node_modules/playwright-core";
plan skip_all => 'no /usr/bin/chromium' unless -x '/usr/bin/chromium';

my $t = Streamline::Test->new;
$t->start_redis;
$t->write_conf(media_conf(app => <<'EOF', http => <<"EOF2"));
streamline_segment 1s;
            streamline_part 250ms;
            streamline_rendition low 320x180 300k preset=ultrafast;
EOF
        location /hlsjs/ { alias $top/html/node_modules/hls.js/dist/; }
        location /test/ { alias $top/html/test/; }
EOF2
$t->run;

my $key = random_key('main');
$t->add_key(main => $key);
my $pub = publish_media($t, $key, size => '640x360',
    vcodec => [qw(-c:v libx264 -preset ultrafast -tune zerolatency -g 30
                  -keyint_min 30 -sc_threshold 0 -pix_fmt yuv420p)]);

ok(wait_for(sub { my (undef, $m) = get_master($t, 'main'); $m }, 15),
   'master playlist') or diag $pub->stderr;
sleep 2;

my $port = $t->port('HTTP');
my $url = "http://127.0.0.1:$port/test/llhls.html?src=/hls/main/master.m3u8";
my $out = `cd $top/html && node test/play.mjs '$url' 15 2>&1`;
my $s = eval { decode_json((split /\n/, $out)[-1]) };
ok($s, 'the page reported') or diag $out;
$s ||= {};

is_deeply($s->{errors}, [], 'no fatal hls.js error');
is($s->{levels}, 2, 'both renditions in the master');
ok($s->{lowLatency}, 'hls.js in low-latency mode');
cmp_ok(($s->{end} // 0) - ($s->{start} // 0), '>', 12,
       "playback advances ($s->{start} -> $s->{end})");

my @lat = sort { $a <=> $b } @{$s->{latency} || []};
my $median = @lat ? $lat[int(@lat / 2)] / 1000 : 99;
diag sprintf 'live latency: median %.2f s, min %.2f s, max %.2f s '
    . '(%d samples), %d stalls', $median, (@lat ? $lat[0] / 1000 : 0),
    (@lat ? $lat[-1] / 1000 : 0), scalar @lat, $s->{stalls} // 0;
cmp_ok(scalar @lat, '>=', 20, 'latency sampled through the run');
cmp_ok($median, '<', 3, 'median live latency under 3 s');

$pub->stop;
done_testing;
