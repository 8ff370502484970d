#!/usr/bin/perl

# Timed metadata in the player page (headless Chromium, hls.js): a POST's
# EXT-X-DATERANGE becomes a cue of the Video.js "metadata" track
# "streamline", and a page script sees a "streamline-metadata" event when
# playback reaches its START-DATE (within a part), in every rendition;
# after a seek back into the DVR to before it, the event fires again when
# playback passes it.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(time sleep);
use lib 't/lib';
use Streamline::Test;
use Streamline::Media;
use Streamline::Browser;
use Digest::SHA ();

my $top = $Streamline::Test::REPO;
if (my $why = Streamline::Browser::available()) { plan skip_all => $why }
plan skip_all => 'html/dist missing: run "make page"' unless -f "$top/html/dist/index.html";

my $t = Streamline::Test->new;
$t->start_redis;
my $conf = media_conf(workers => 2, app => <<'EOF', http => <<"EOF2");
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
EOF2
$conf =~ s/^http \{\n/http {\n    streamline_metadata 4m;\n/m
    or die 'no http block';
$t->write_conf($conf);
$t->run;

my $token = 'tok_' . random_key('meta');
$t->redis('HSET', $t->prefix . 'metadata_tokens',
          Digest::SHA::sha256_hex($token), 'main');

my $key = random_key('main');
$t->add_key(main => $key);
my $pub = publish_media($t, $key, size => '640x360',
    vcodec => [qw(-c:v libx264 -preset ultrafast -tune zerolatency -g 30
                  -keyint_min 30 -sc_threshold 0 -pix_fmt yuv420p)]);

my $base = 'http://127.0.0.1:' . $t->port('HTTP');
my $b = Streamline::Browser->new($t);
ok($b->goto("$base/"), 'the page loads') or diag $b->error;
ok($b->wait('document.body.dataset.state === "playing"', 30),
   'the page plays') or diag explain $b->eval('streamline.errors');

# what a page script does (README "Timed metadata")
$b->eval(q{(function () {
    window.seen = [];
    window.addEventListener('streamline-metadata', function (e) {
        window.seen.push(Object.assign({
            currentTime: streamline.player.currentTime(),
            level: streamline.player.tech(true).sourceHandler_.hls.currentLevel
        }, e.detail));
    });
    return true; })()});

my $hls = 'streamline.player.tech(true).sourceHandler_.hls';
my $n = $b->eval("$hls.levels.length");
is($n, 2, 'two renditions');

sub post {
    my ($body) = @_;
    return $t->http('POST', '/api/stream/main/metadata', body => $body,
                    headers => { Authorization => "Bearer $token" });
}

# the media time of a wall clock in the playing level (its fragments'
# PROGRAM-DATE-TIME), as the page's scrubber computes it
my $media_at = qq{function (ms) {
    var h = $hls, l = h.levels[h.currentLevel], f = l.details.fragments, i;
    for (i = 0; i < f.length; i++) {
        if (f[i].programDateTime && ms >= f[i].programDateTime
            && ms < f[i].programDateTime + f[i].duration * 1000)
            return f[i].start + (ms - f[i].programDateTime) / 1000;
    }
    return null; }};

my %first;
for my $level (0 .. $n - 1) {
    $b->eval("$hls.currentLevel = $level; true");
    ok($b->wait("$hls.currentLevel === $level && $hls.levels[$level].details"
                . " && streamline.player.currentTime() > 0"
                . " && !streamline.player.paused()", 15),
       "level $level plays");
    sleep 2;
    my $data = "level $level \x{2713}";
    utf8::encode(my $bytes = $data);
    my $r = post($bytes);
    is($r->{status}, 201, "level $level: POST 201") or diag $r->{body};
    my ($id, $start) = $r->{body} =~ /"id":"([^"]+)","startDate":"([^"]+)"/;
    $id //= '?';
    my $ev = $b->wait(qq{window.seen.filter(function (e) { return e.id === '$id'; })[0]}, 15);
    ok($ev, "level $level: the page script sees the event")
        or diag explain $b->eval('streamline.metadata'), $b->eval("$hls.currentLevel");
    next unless $ev;
    $first{$level} = $ev;
    utf8::decode(my $got = $ev->{data});
    is($got, $data, "level $level: its data");
    is($ev->{startDate}, $start, "level $level: its startDate");
    is($ev->{level}, $level, "level $level: fired while level $level plays");
    # once the segment that holds it is complete (a fragment of the level)
    sleep 1.5;
    my $want = $b->eval(qq{($media_at)(Date.parse('$start'))});
    ok(defined $want && abs($ev->{mediaTime} - $want) < 0.25,
       "level $level: mediaTime is START-DATE's media time, within a part")
        or diag "mediaTime $ev->{mediaTime}, START-DATE at ", $want // 'none';
    my $late = $ev->{currentTime} - $ev->{mediaTime};
    ok($late > -0.05 && $late < 0.5,
       sprintf 'level %d: fired %.0f ms after playback reached it', $level,
               $late * 1000);
    $b->eval("window.wantId = '$id'; true");
    my $cue = $b->eval(q{(function () { var l = streamline.player.textTracks(), i, t;
        for (i = 0; i < l.length; i++) {
            t = l[i];
            if (t.kind === 'metadata' && t.label === 'streamline')
                return Array.prototype.some.call(t.cues || [], function (c) { return c.id === window.wantId; }) ? 'yes' : Array.prototype.map.call(t.cues || [], function (c) { return c.id; }).join(' ');
        }
        return 'no track of ' + l.length; })()});
    is($cue, 'yes', "level $level: a cue of the metadata track");
}

# back into the DVR, before the first one: it fires again ------------------

my $ev = $first{0};
SKIP: {
    skip 'no first event', 3 unless $ev;
    $b->eval("$hls.currentLevel = -1; true");
    my $to = $ev->{mediaTime} - 3;
    $b->eval("streamline.player.currentTime($to); true");
    ok($b->wait("window.seen.filter(function (e) { return e.id === '$ev->{id}'; }).length >= 2", 20),
       'after a seek back into the DVR it fires again')
        or diag explain $b->eval('window.seen');
    my $again = $b->eval("window.seen.filter(function (e) { return e.id === '$ev->{id}'; })[1]");
    my $late = ($again->{currentTime} // 0) - ($again->{mediaTime} // 0);
    ok($late > -0.05 && $late < 0.5,
       sprintf 'at its media time again (%.0f ms after)', $late * 1000);
    cmp_ok(abs(($again->{mediaTime} // 0) - $ev->{mediaTime}), '<', 0.25,
           'the same media time, within a part');
}

$pub->stop;
done_testing;
