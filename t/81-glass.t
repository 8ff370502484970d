#!/usr/bin/perl

# Glass-to-glass latency through the player page, guarded against gross
# regressions: the shipped LL-HLS settings (2 s segments, 250 ms parts, a
# hold-back of 2 parts) and a rung of the ladder; a publisher that paints
# its wall clock into every frame as it makes it; the page in headless
# Chromium (hls.js through the Video.js source handler) reads it back from
# every frame it shows (bench/player.mjs).  The bound here is generous (a
# loaded CI machine, sanitizer builds): 1.5 s for the median, where
# bench/player.sh measures about half a second (README, Benchmarks).
# Then the page's catch-up: it keeps to its target latency, comes back to
# it after a network hiccup, and stays behind after a pause until LIVE;
# and what it has played does not pile up in memory.

use strict;
use warnings;

use JSON::PP;
use Test::More;
use Time::HiRes qw(sleep);
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
            streamline_part_hold_back 3;
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

# --- the page keeps to its target latency ---------------------------------------

my $b = Streamline::Browser->new($t);
ok($b->goto("$base/?engine=hlsjs"), 'the page loads') or diag $b->error;
ok($b->wait('document.body.dataset.state === "playing"', 30), 'it plays');
my $late = '(function (h) { return h.latency - h.targetLatency; })'
    . '(streamline.player.tech(true).sourceHandler_.hls)';
ok($b->wait("$late < 0.3", 20), 'it keeps within 0.3 s of its target latency')
    or diag $b->eval($late);

# a network hiccup: 3 s without media, then the player is late by as much;
# it jumps back to the live position (hls.js alone would stay late)
$b->eval(q{window.stalled = 0; document.querySelector('video')
    .addEventListener('waiting', function () { window.stalled++; }), true});
ok($b->delay('\\.(m4s|m3u8)(\\?|$)', 3000), 'the network stops for 3 s');
sleep 3.5;
ok($b->delay(), 'and comes back');
ok($b->wait('window.stalled > 0', 5), 'the player stalled');
sleep 6;
my $c0 = $b->eval('streamline.player.currentTime()');
sleep 1;
cmp_ok($b->eval('streamline.player.currentTime()') - $c0, '>', 0.5, 'it plays again');
cmp_ok($b->eval($late), '<', 0.5, '6 s after, it is back at its target latency');

# a pause leaves the live edge: play goes on from there; L returns
ok($b->eval('streamline.player.pause(), true'), 'pause');
sleep 4;
ok($b->eval('streamline.player.play(), true'), 'play');
sleep 2;
cmp_ok($b->eval($late), '>', 2.5, 'after a pause, the player plays on behind the edge');
ok($b->key('l'), 'L: back to live');
ok($b->wait("$late < 0.5", 15), 'back at the target latency')
    or diag $b->eval($late);

# what has played is let go 30-40 s behind the position (the handler
# trims it, not hls.js: see trimBack in html/src/hlsjs-handler.js)
my $from = $b->eval('document.querySelector("video").buffered.start(0)');
my $trimmed = '(function (v) { return v.buffered.start(0) > ' . ($from + 5)
    . ' && v.currentTime - v.buffered.start(0) < 42; })(document.querySelector("video"))';
ok($b->wait($trimmed, 45), 'the back buffer is trimmed to 30-40 s behind the position')
    or diag $b->eval('(function (v) { return [v.buffered.start(0), v.currentTime]; })'
                     . '(document.querySelector("video"))');

$b->stop;
$pub->stop;
done_testing;
