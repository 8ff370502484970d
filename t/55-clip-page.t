#!/usr/bin/perl

# The player page's "Clip last 30 s" control (html/dist) in headless
# Chromium, against a real publisher and nginx with streamline_clip on:
#   - idle: the control is hidden;
#   - live and playing: it is in the control bar, and a click downloads
#     <channel>-<start>.mp4 (playwright's download event): an MP4 of about
#     30 s (H.264 + AAC) whose range ends within the DVR the page plays;
#   - the publisher stops: hidden again.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(sleep time);
use lib 't/lib';
use Streamline::Test;
use Streamline::Media;
use Streamline::Browser;

my $top = $Streamline::Test::REPO;
if (my $why = Streamline::Browser::available()) { plan skip_all => $why }
plan skip_all => 'html/dist missing: run "make page"'
    unless -f "$top/html/dist/index.html";

my $t = Streamline::Test->new;
$t->start_redis;
$t->write_conf(media_conf(app => <<'EOF', http => <<"EOF2"));
streamline_segment 1s;
            streamline_part 250ms;
EOF
        streamline_clip on;
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

my $base = 'http://127.0.0.1:' . $t->port('HTTP');
my $b = Streamline::Browser->new($t);
$b->viewport(1280, 900);

my $shown = q{(function (e) { return !!e && getComputedStyle(e).display !== 'none'; })(document.querySelector('.vjs-control-bar .sl-clip'))};

ok($b->goto("$base/"), 'the page loads') or diag $b->error;
ok($b->wait('streamline.api === "idle"', 10), 'idle');
ok($b->wait('!!document.querySelector(".vjs-control-bar .sl-clip")', 5),
   'the clip control is in the control bar');
ok(!$b->eval($shown), 'idle: it is hidden');
is($b->eval(q{document.querySelector('.sl-clip').title || document.querySelector('.sl-clip .vjs-control-text').textContent}),
   'Clip last 30 s', 'it says what it does');

my $key = random_key('main');
$t->add_key(main => $key);
my $pub = publish_media($t, $key, size => '640x360', gop => 30);

ok($b->wait('document.body.dataset.state === "playing"', 30),
   'the page plays the live stream')
    or diag explain $b->eval('streamline.errors');
ok($b->wait($shown, 5), 'live: the clip control is shown');

# 30 s in the DVR, as the page sees it
ok($b->wait('(function (s) { return s.length && s.end(0) - s.start(0) > 33; })(streamline.player.seekable())', 60),
   'the DVR holds more than 30 s');

my $path = $t->testdir . '/download.mp4';
my $dl = $b->download('.vjs-control-bar .sl-clip', $path);
ok($dl, 'a click downloads a file') or diag $b->error,
    diag explain $b->eval('streamline.errors');
$dl ||= {};
like($dl->{filename} // '', qr/^main-\d{8}T\d{6}Z\.mp4$/,
     "named main-<start>.mp4 ($dl->{filename})");
like($dl->{url} // '', qr{/hls/main/clip\.mp4\?start=[^&]+&end=},
     'from /hls/main/clip.mp4?start=...&end=...');
cmp_ok($dl->{size} // 0, '>', 100000, "it is not empty ($dl->{size} bytes)");

my $p = probe_file($path, frames => 1);
ok(!$p->{code}, 'ffprobe reads it') or diag $p->{stderr};
is($p->{video}{codec_name}, 'h264', 'H.264');
is($p->{audio}{codec_name}, 'aac', 'AAC');
my $vd = $p->{video_duration} // 0;
cmp_ok(abs($vd - 30), '<=', 1.1, sprintf('about 30 s (%.3f s)', $vd));
cmp_ok(abs($vd - ($p->{audio_duration} // 0)), '<=', 0.1,
       'audio lasts as long as the video');

$pub->stop;
ok($b->wait('streamline.api === "idle"', 20), 'the publisher stopped: idle');
ok($b->wait("!$shown", 5), 'idle again: the clip control is hidden');

done_testing;
