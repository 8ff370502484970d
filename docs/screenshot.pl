#!/usr/bin/perl

# docs/screenshot.pl: README's screenshot (docs/player.png), made again.
#
#   make build page && perl docs/screenshot.pl [seconds]
#
# Starts nginx with the built modules, redis-server and a 720p test source
# (ffmpeg, as the OBS stand-in) through the test harness (t/lib), lets the
# DVR fill for that many seconds (default 90), opens the page in headless
# Chromium, goes 30 s back and holds the mouse over the scrubber, a third
# of the way in, until the preview tile shows; then saves the page.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../t/lib";
use Test::More;
use Time::HiRes qw(sleep);
use Streamline::Test;
use Streamline::Media;
use Streamline::Browser;

my $secs = shift // 90;
my $top = $Streamline::Test::REPO;
my $out = "$top/docs/player.png";

my $app = 'streamline_rendition 480p 854x480 1200k preset=ultrafast;
            streamline_rendition 360p 640x360 700k preset=ultrafast;';
my $http = "root $top/html/dist;
        types {
            text/html html;
            text/css css;
            text/javascript js;
            image/jpeg jpg;
        }
        location ~ \"^/[A-Za-z0-9_-]{1,64}\$\" {
            try_files /index.html =404;
        }";

my $t = Streamline::Test->new;
$t->start_redis;
$t->write_conf(media_conf(app => $app, http => $http));
$t->run;

my $key = random_key('main');
$t->add_key(main => $key);
my $pub = publish_media($t, $key, size => '1280x720');
ok(wait_playlist($t, 'main', 'source', sub { @{$_[0]{segments}} >= 2 }, 30),
   'live');
diag "letting the DVR fill for $secs s";
sleep $secs;

my $b = Streamline::Browser->new($t);
$b->viewport(1280, 800);
ok($b->goto('http://127.0.0.1:' . $t->port('HTTP') . '/'), 'page');
ok($b->wait('document.body.dataset.state === "playing"', 30), 'playing');
sleep 3;
$b->eval('streamline.player.currentTime(streamline.player.currentTime() - 30)');
sleep 4;
ok($b->hover('#player'), 'controls');
for (1 .. 20) {
    $b->hover_at('.vjs-progress-holder', 0.33 + $_ / 1000);
    last if $b->eval('!!streamline.preview');
    sleep 0.5;
}
ok($b->eval('!!streamline.preview'), 'a preview shows');
sleep 1;
ok($b->screenshot($out), "saved $out");
$pub->stop;
$t->finish;
done_testing;
