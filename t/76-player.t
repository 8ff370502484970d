#!/usr/bin/perl

# The player page (html/dist, Video.js) in headless Chromium, served by nginx
# with the built module, against a real publisher:
#   - idle: the offline slate, and no manifest requested;
#   - a publisher goes live: the page starts by itself and plays;
#   - the quality menu lists the renditions plus Auto, and a choice changes
#     the video's height;
#   - seek 30 s back (keyboard): the control bar says how far behind live;
#     the scrubber under the mouse shows the wall-clock time of that point
#     (PROGRAM-DATE-TIME) and its distance from live; LIVE button -> near
#     the edge again;
#     Home -> start of the window, L -> live;
#   - VHS (engine=vhs) plays too; the page fits a 375 px screen;
#   - under a path prefix (a proxy mapping /tv/ to /), /tv/<channel> plays;
#   - a channel that is live without a playlist: the page retries with
#     backoff and plays once the playlist comes;
#   - the publisher stops -> the slate again.
# STREAMLINE_SCREENSHOT=file.png keeps a screenshot of the playing page.

use strict;
use warnings;

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
streamline_segment 1s;
            streamline_part 250ms;
            streamline_rendition 180p 320x180 250k preset=ultrafast;
EOF
        root $top/html/dist;
        types {
            text/html html;
            text/css css;
            text/javascript js;
            application/vnd.apple.mpegurl m3u8;
            video/mp4 mp4 m4s;
        }
        location / {
            add_header Cache-Control "no-cache";
        }
        location ~ "^/[A-Za-z0-9_-]{1,64}\$" {
            try_files /index.html =404;
            add_header Cache-Control "no-cache";
        }
        location /assets/ {
            add_header Cache-Control "public, max-age=31536000, immutable";
        }
        location /tv/ {
            proxy_pass http://127.0.0.1:%%HTTP_PORT%%/;
            proxy_read_timeout 30s;
        }
EOF2
$t->run;

my $port = $t->port('HTTP');
my $base = "http://127.0.0.1:$port";
my $b = Streamline::Browser->new($t);
$b->viewport(1280, 900);

# JS helpers, evaluated in the page
my $behind = '(function (p) { return p.liveTracker.liveCurrentTime() - p.currentTime(); })(streamline.player)';
my $items = q{document.querySelectorAll('.vjs-quality-menu-wrapper .vjs-menu-item')};
my $label = q{function (e) { return e.querySelector('.vjs-menu-item-text').firstChild.textContent.trim(); }};
my $labels = qq{Array.from($items).map($label)};
sub choose {
    return $b->eval(qq{(function () {
        var items = $items, label = $label;
        for (var i = 0; i < items.length; i++) {
            if (label(items[i]) === '$_[0]') { items[i].click(); return true; }
        }
        return false; })()});
}
sub manifests { scalar grep { /\.m3u8/ } @{$b->requests || []} }

# --- idle: the slate, no manifest ------------------------------------------

ok($b->goto("$base/"), 'the page loads') or diag $b->error;
ok($b->wait('streamline.api === "idle" && document.body.dataset.state === "offline"', 10),
   'idle: offline state');
ok($b->eval('!document.getElementById("slate").hidden'), 'the slate is shown');
is($b->eval('streamline.channel'), 'main', '/ is the channel main');
is($b->eval('getComputedStyle(document.body).marginTop + " " + getComputedStyle(document.querySelector(".vjs-control-bar")).position'),
   '0px absolute', "the page's and Video.js's styles apply");
sleep 3;
is(manifests(), 0, 'no manifest requested while idle');

# --- a publisher goes live: the page starts by itself ------------------------

my $key = random_key('main');
$t->add_key(main => $key);
my $pub = publish_media($t, $key, size => '640x360',
    vcodec => [qw(-c:v libx264 -preset ultrafast -tune zerolatency -g 30
                  -keyint_min 30 -sc_threshold 0 -pix_fmt yuv420p)]);

ok($b->wait('document.body.dataset.state === "playing"', 30),
   'the page starts playing by itself') or diag explain $b->eval('streamline.errors');
ok($b->eval('document.getElementById("slate").hidden'), 'the slate is gone');
my $t0 = $b->eval('streamline.player.currentTime()');
sleep 3;
my $t1 = $b->eval('streamline.player.currentTime()');
cmp_ok($t1 - $t0, '>', 2, "currentTime advances ($t0 -> $t1)");
ok($b->eval('streamline.player.error() === null'), 'no player error');
ok($b->eval('streamline.player.liveTracker.isLive()'), 'Video.js sees a live stream');

# --- quality menu ------------------------------------------------------------

my $l = $b->eval($labels) || [];
is_deeply([sort @$l], [sort qw(Auto 180p 360p)], 'quality menu: the renditions and Auto')
    or diag explain $l;

ok(choose('180p'), 'choose 180p');
ok($b->wait('streamline.player.videoHeight() === 180', 15), 'the video is 180 high')
    or diag $b->eval('streamline.player.videoHeight()');
ok(choose('360p'), 'choose 360p');
ok($b->wait('streamline.player.videoHeight() === 360', 15), 'the video is 360 high')
    or diag $b->eval('streamline.player.videoHeight()');
ok(choose('Auto'), 'choose Auto');
ok($b->wait(q{streamline.player.qualityLevels().levels_.every(function (l) { return l.enabled; })}, 5),
   'Auto enables every rendition');
ok($b->wait('streamline.player.tech(true).sourceHandler_.hls.autoLevelEnabled', 5),
   'and hls.js chooses by itself again');

# --- DVR: 30 s back, LIVE ------------------------------------------------------

ok($b->wait('(function (s) { return s.length && s.end(0) - s.start(0) > 45; })(streamline.player.seekable())', 60),
   'the DVR window grows past 45 s');
ok($b->wait('!!document.querySelector(".vjs-liveui")', 5), 'the liveui scrubber is on');
{
    my (undef, $pl) = get_media($t, 'main', 'source');
    my $window = 0;
    $window += $_->{extinf} for @{$pl ? $pl->{segments} : []};
    my $span = $b->eval('(function (s) { return s.end(0) - s.start(0); })(streamline.player.seekable())');
    # the playlist's window, less hls.js's distance from the edge (~1 s)
    cmp_ok(abs($window - $span), '<', 4,
           sprintf 'the scrubber spans the whole window (%.1f s of %.1f s)', $span, $window);
}
my $edge = $b->eval($behind);
cmp_ok($edge, '<', 5, "playing near the edge ($edge s behind)");

$b->eval('document.activeElement && document.activeElement.blur()');
$b->key('ArrowLeft') for 1 .. 3;
ok($b->wait("$behind > 25", 10), '3 x ArrowLeft: about 30 s behind the edge')
    or diag $b->eval($behind);
ok($b->wait('!document.querySelector(".vjs-seek-to-live-control").classList.contains("vjs-at-live-edge")', 5),
   'the LIVE button shows we are behind');
my $p0 = $b->eval('streamline.player.currentTime()');
sleep 3;
my $p1 = $b->eval('streamline.player.currentTime()');
cmp_ok($p1 - $p0, '>', 1.5, 'plays from the DVR');
cmp_ok($b->eval($behind), '>', 20, 'still behind the edge');

# rewound: how far behind live, in the control bar
ok($b->wait(q{(function (e) { return !e.hidden && /^\u2212\d+:\d\d$/.test(e.textContent); })(document.querySelector('.sl-behind'))}, 5),
   'the control bar says how far behind live: '
   . ($b->eval(q{document.querySelector('.sl-behind').textContent}) // 'nothing'));
cmp_ok(abs(($b->eval(q{(function (m) { return m ? m[1] * 60 + +m[2] : -1; })(document.querySelector('.sl-behind').textContent.match(/(\d+):(\d\d)$/))}) // -1)
           - $b->eval($behind)), '<', 3, 'and it is right');

# the scrubber under the mouse: the wall-clock time (PROGRAM-DATE-TIME)
# and the distance from live of that point
ok($b->hover('#player'), 'mouse over the player') or diag $b->error;
ok($b->hover_at('.vjs-progress-holder', 0.5), 'mouse over the middle of the scrubber')
    or diag $b->error;
ok($b->wait(q{!document.querySelector('.sl-scrub-tip').hidden}, 5), 'a tooltip shows')
    or diag explain [$b->error, $b->console];
my $tip = $b->eval(q{document.querySelector('.sl-scrub-tip').textContent}) // '';
utf8::decode($tip);
(my $shown = $tip) =~ s/\x{2212}/-/g;
like($tip, qr/^\d\d:\d\d:\d\d  \x{2212}\d+:\d\d$/, "the wall clock and the distance from live: $shown");
# the clock of that point is now, less its distance from live, less the
# live latency (the edge itself is a second or two behind the clock)
my $off = $b->eval(q{(function () {
    var m = document.querySelector('.sl-scrub-tip').textContent
                .match(/^(\d\d):(\d\d):(\d\d)  \u2212(?:(\d+):)?(\d+):(\d\d)$/);
    if (!m) { return null; }
    var shown = m[1] * 3600 + m[2] * 60 + +m[3];
    var behind = (m[4] ? m[4] * 3600 : 0) + m[5] * 60 + +m[6];
    var d = new Date(Date.now() - behind * 1000);
    var expect = d.getHours() * 3600 + d.getMinutes() * 60 + d.getSeconds();
    return ((expect - shown) % 86400 + 86400 + 43200) % 86400 - 43200;
})()});
ok(defined $off && $off >= -2 && $off <= 8,
   'the clock is the time that point was live (' . ($off // 'none') . ' s before the clock)');

# and the preview of that point: a tile of a sprite sheet of previews.vtt
# (fetched as the mouse came over the scrubber)
ok($b->wait(q{(function () {
        var b = document.querySelector('.vjs-progress-holder').getBoundingClientRect();
        var o = { bubbles: true, clientX: b.left + b.width / 2,
                  clientY: b.top + b.height / 2 };
        document.querySelector('.vjs-progress-holder')
            .dispatchEvent(new MouseEvent('mousemove', o));
        return !!streamline.preview
               && !document.querySelector('.sl-scrub-img').hidden;
    })()}, 10), 'the tooltip shows a preview') or diag explain $b->console;
my $pv = $b->eval(q{(function () {
    var p = streamline.preview, el = document.querySelector('.sl-scrub-img');
    var hls = streamline.player.tech(true).sourceHandler_.hls;
    var fr = hls.levels[Math.max(hls.currentLevel, 0)].details.fragments;
    return { url: p.url, x: p.x, y: p.y, w: p.w, h: p.h, msn: p.msn,
             first: fr[0].sn, last: fr[fr.length - 1].sn,
             shown: el.offsetWidth + 'x' + el.offsetHeight,
             bg: getComputedStyle(el).backgroundImage };
})()}) || {};
like($pv->{url} // '', qr{/hls/main/previews/\d+-\d+\.jpg$}, "a sheet: $pv->{url}");
ok(defined $pv->{msn} && $pv->{msn} <= $pv->{last} + 1
   && $pv->{x} % 160 == 0 && $pv->{y} % 90 == 0 && $pv->{x} < 800 && $pv->{y} < 450,
   "a 160x90 tile of the window (segment $pv->{msn}, at $pv->{x},$pv->{y})");
is($pv->{shown}, '160x90', 'shown at its size');
like($pv->{bg} // '', qr/previews/, 'as the background of the preview box');
my $img = $b->eval(qq{new Promise(function (ok) {
    var i = new Image();
    i.onload = function () { ok(i.naturalWidth + 'x' + i.naturalHeight); };
    i.onerror = function () { ok('error'); };
    i.src = '$pv->{url}';
})});
is($img, '800x450', 'the sheet loads: 5x5 tiles');

# as a user does: the mouse over the player shows the controls, then click
ok($b->hover('#player'), 'mouse over the player') or diag $b->error;
ok($b->wait('streamline.player.userActive()', 3), 'the controls show');
ok($b->click('.vjs-seek-to-live-control'), 'click LIVE') or diag $b->error;
ok($b->wait("$behind < 5 && !streamline.player.paused()", 15), 'back near the edge')
    or diag $b->eval($behind);

$b->key('Home');
ok($b->wait('streamline.player.currentTime() - streamline.player.seekable().start(0) < 10', 10),
   'Home: the start of the window');
ok($b->wait('!streamline.player.seeking()', 10), 'the seek is done');
$b->key('l');
ok($b->wait("$behind < 5", 15), 'L: live again') or diag $b->eval($behind);

my $shot = $ENV{STREAMLINE_SCREENSHOT} || $t->testdir . '/player.png';
sleep 2;
ok($b->screenshot($shot) && -s $shot > 10000, "screenshot $shot");

# --- the other engines the page can use ------------------------------------------

ok($b->goto("$base/?engine=vhs"), 'the page with VHS');
ok($b->wait('document.body.dataset.state === "playing" && streamline.engine === "vhs"', 30),
   'VHS plays too') or diag explain $b->eval('streamline.errors');
ok($b->wait('streamline.player.qualityLevels().length === 2', 10),
   'VHS: both renditions as quality levels');

# --- small screens ----------------------------------------------------------------

$b->viewport(375, 700);
ok($b->wait('document.documentElement.scrollWidth <= 375'
            . ' && document.getElementById("player").getBoundingClientRect().width <= 375', 5),
   'a 375 px wide screen: the player fits, no horizontal scroll');
$b->viewport(1280, 900);

# --- under a path prefix --------------------------------------------------------

# every request of this page, none of the page before it: that one is
# gone first (its player requests parts until it unloads)
ok($b->goto('about:blank'), 'an empty page first');
my $before = @{$b->requests};
ok($b->goto("$base/tv/main"), 'the page under /tv/');
ok($b->wait('document.body.dataset.state === "playing"', 30), 'plays under the prefix');
my @all = @{$b->requests};
my @page = @all[$before .. $#all];
my @tv = grep { m{^\Q$base\E/tv/(hls|api|assets)/} } @page;
ok(scalar(grep { m{/tv/hls/main/master\.m3u8} } @tv), 'the manifest came through the prefix');
my @unprefixed = grep { m{^\Q$base\E/(hls|api|assets)/} } @page;
ok(!@unprefixed, sprintf 'nothing of %d requests outside the prefix', scalar @page)
    or diag explain \@unprefixed;

# --- live without a playlist: retry with backoff ------------------------------

my $key2 = random_key('ghost');
$t->add_key(ghost => $key2);
$t->redis('SET', 'streamline:state:ghost',
          '{"status":"live","updatedAt":"2026-11-26T00:00:00.000Z"}');
$t->redis('PUBLISH', 'streamline:events',
          '{"channel":"ghost","status":"live","updatedAt":"2026-11-26T00:00:00.000Z"}');
ok($b->goto("$base/ghost"), 'a channel live in Redis without a stream');
ok($b->wait('streamline.retries >= 3', 30), 'the page retries')
    or diag explain $b->eval('streamline.errors');
is($b->eval('streamline.backoff'), 4000, 'with backoff: 1 s, 2 s, then 4 s');
is($b->eval('document.body.dataset.state'), 'reconnecting', 'and says it reconnects');
my $pub2 = publish_media($t, $key2, size => '320x180', audio => 0,
    vcodec => [qw(-c:v libx264 -preset ultrafast -tune zerolatency -g 30
                  -pix_fmt yuv420p)]);
ok($b->wait('document.body.dataset.state === "playing"', 40),
   'plays once the stream is there') or diag explain $b->eval('streamline.errors');
$pub2->stop;

# --- the publisher stops: the slate -------------------------------------------

ok($b->goto("$base/"), 'back to main');
ok($b->wait('document.body.dataset.state === "playing"', 30), 'playing');
$pub->stop;
ok($b->wait('document.body.dataset.state === "offline" && !document.getElementById("slate").hidden', 20),
   'stream end: the slate again');
my $n = manifests();
sleep 3;
is(manifests(), $n, 'no manifest requests after the end');

my @outside = grep { !/^(\Q$base\E\/|data:|blob:)/ } @{$b->requests || []};
is_deeply(\@outside, [], 'nothing requested from anywhere but the origin');

my @bad = grep { /pageerror/ } @{$b->console || []};
is_deeply(\@bad, [], 'no uncaught page errors');

$b->stop;
done_testing;
