#!/usr/bin/perl

# Glass-to-glass latency through the player page, guarded against gross
# regressions: the shipped LL-HLS settings (2 s segments, 250 ms parts, a
# hold-back of 2 parts) and a rung of the ladder; a publisher that paints
# its wall clock into every frame as it makes it; the page in headless
# Chromium (hls.js through the Video.js source handler) reads it back from
# every frame it shows (bench/player.mjs).  The bound here is generous (a
# loaded CI machine, sanitizer builds): 1.5 s for the median, where
# bench/player.sh measures about half a second (README, Benchmarks).

use strict;
use warnings;

use JSON::PP;
use Test::More;
use lib 't/lib';
use Streamline::Test;
use Streamline::Media;
use Streamline::Browser;

my $top = $Streamline::Test::REPO;
if (my $why = Streamline::Browser::available()) { plan skip_all => $why }
plan skip_all => 'html/dist missing: run "make page"' unless -f "$top/html/dist/index.html";

my $t = Streamline::Test->new;
$t->start_redis;
$t->write_conf(media_conf(workers => 2, app => <<'EOF', http => <<"EOF2"));
streamline_segment 2s;
            streamline_part 250ms;
            streamline_part_hold_back 2;
            streamline_rendition 180p 320x180 250k preset=ultrafast;
EOF
        root $top/html/dist;
        types {
            text/html html;
            text/css css;
            text/javascript js;
        }
        location / {
            add_header Cache-Control "no-cache";
        }
EOF2
$t->run;

my $key = random_key('main');
$t->add_key(main => $key);

# the wall clock (ms mod 2^32) as 32 blocks of 16x32 px at the top left,
# taken as each frame is made (RTCTIME), then the frame's own timestamps
my $paint = "split[a][b];[b]crop=512:32:0:0,settb=1/1000,setpts='RTCTIME/1000',"
    . "geq=lum='255*mod(floor(T*1000/pow(2\\,floor(X/16)))\\,2)':cb=128:cr=128,"
    . "setpts=N/30/TB[c];[a][c]overlay=0:0";
my $pub = publish_media($t, $key, size => '640x360', vfilter => $paint,
    vcodec => [qw(-c:v libx264 -preset ultrafast -tune zerolatency -g 60
                  -keyint_min 60 -sc_threshold 0 -pix_fmt yuv420p)]);
ok(wait_playlist($t, 'main', '180p', sub { @{$_[0]{segments}} >= 2 }, 30),
   'the channel is live, the rung has segments');
sleep 4;

my $base = 'http://127.0.0.1:' . $t->port('HTTP');

for my $case (['source', 0], ['180p', 180]) {
    my ($name, $height) = @$case;
    my $out = `node $top/bench/player.mjs '$base/?engine=hlsjs' 15 640 $height 2>&1`;
    my ($line) = grep { /^\{/ } split /\n/, $out;
    my $s = eval { decode_json($line // '') };
    ok($s, "$name: the page was measured") or diag $out;
    next unless $s;
    my @l = sort { $a <=> $b } @{$s->{latency}};
    my $median = @l ? $l[int(@l / 2)] / 1000 : 99;
    cmp_ok(scalar @l, '>', 150, "$name: the painted clock is read from the frames shown");
    cmp_ok($median, '<', 1.5, "$name: median glass-to-glass ${median} s, under 1.5 s");
    cmp_ok($s->{stalls}, '<=', 1, "$name: $s->{stalls} stalls in 15 s");
    is($s->{height}, $height || 360, "$name: the rendition played");
    diag sprintf "%s: median %.2f s, p90 %.2f s, %d frames, %d stalls",
        $name, $median, (@l ? $l[int(@l * 0.9)] / 1000 : 99), scalar @l, $s->{stalls};
}

$pub->stop;
done_testing;
