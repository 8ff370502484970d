#!/usr/bin/perl

# Scrubber previews: while a channel with a ladder is live, the module
# takes a tile at segment starts (every streamline_previews), packs tiles
# into 5x5 JPEG sprite sheets under previews/, and /hls/<channel>/
# previews.vtt lists them as a WebVTT thumbnails track that covers the DVR
# window exactly: checked with the WebVTT parser Video.js uses
# (videojs-vtt.js), the sheets with ffprobe and their pixels with ffmpeg.
# Sheets leave with the window and with the DVR; "off" writes none.

use strict;
use warnings;

use Test::More;
use JSON::PP ();
use Time::HiRes qw(sleep time);
use lib 't/lib';
use Streamline::Test;
use Streamline::Media;

my $t = Streamline::Test->new;
$t->start_redis;

my ($TW, $TH) = (160, 90);

$t->write_conf(media_conf(
    app => "streamline_segment 1s;
            streamline_dvr_window 10s;
            streamline_dvr_grace 3s;
            streamline_previews 1s;
            streamline_rendition low 320x180 300k preset=ultrafast;",
    apps => "application quiet {
                 live on;
                 streamline on;
                 streamline_media_path %%TESTDIR%%/media;
                 streamline_segment 1s;
                 streamline_dvr_grace 3s;
                 streamline_previews off;
                 streamline_rendition low 320x180 300k preset=ultrafast;
             }"));
$t->run;

my $key = random_key();
$t->add_key(main => $key);
my @light = (size => '320x240', rate => 25,
    vcodec => [qw(-c:v libx264 -preset ultrafast -g 25 -keyint_min 25
                  -sc_threshold 0 -pix_fmt yuv420p)]);

my $dir = channel_dir($t, 'main') . '/previews';

# the track, parsed by videojs-vtt.js: (response, {cues, errors})
sub track {
    my $r = $t->get('/hls/main/previews.vtt');
    return ($r, undef) unless $r->{status} == 200;
    my $file = $t->testdir . '/previews.vtt';
    $t->write_file('previews.vtt', $r->{body});
    my $json = `node html/test/vtt.mjs $file`;
    return ($r, $? == 0 ? JSON::PP::decode_json($json) : undef);
}

my $r = $t->get('/hls/main/previews.vtt');
is($r->{status}, 404, 'no track before the channel is live');

my $pub = publish_media($t, $key, @light);
ok(wait_playlist($t, 'main', 'low', sub { @{$_[0]{segments}} >= 3 }, 30),
   'the ladder is packaged');

my ($resp, $vtt);
ok(wait_for(sub { ($resp, $vtt) = track(); $vtt && @{$vtt->{cues}} >= 3 },
            20), 'previews.vtt lists tiles') or diag $resp->{body};
is($resp->{headers}{'content-type'}, 'text/vtt; charset=utf-8',
   'served as text/vtt');
is($resp->{headers}{'cache-control'}, 'max-age=1',
   'cached for half a target duration, like a playlist');
is_deeply($vtt->{errors}, [], 'videojs-vtt.js parses it without an error');

# the cues against the playlist of the rendition that carries them
sub check_cues {
    my ($label) = @_;
    my (undef, $before) = get_media($t, 'main', 'low');
    my (undef, $vtt) = track();
    my (undef, $after) = get_media($t, 'main', 'low');
    my @cues = @{$vtt->{cues}};
    my $bad = 0;

    my $first = $cues[0]{id};
    ok($first >= $before->{segments}[0]{msn}
       && $first <= $after->{segments}[0]{msn},
       "$label: the first cue is the window's first segment")
        or diag "cue $first, window $before->{segments}[0]{msn}"
              . "..$after->{segments}[0]{msn}";

    for my $i (0 .. $#cues) {
        my $c = $cues[$i];
        $bad++, diag "cue $c->{id}: $c->{start} -> $c->{end}"
            unless $c->{end} > $c->{start};
        $bad++, diag "gap after cue $c->{id}"
            if $i < $#cues && abs($cues[$i + 1]{start} - $c->{end}) > 0.0015;
        $bad++, diag "cue $c->{id}: $c->{text}"
            unless $c->{text} =~ m{^previews/(\d+)-(\d+)\.jpg#xywh=(\d+),(\d+),(\d+),(\d+)$}
                   && $3 % $TW == 0 && $4 % $TH == 0 && $3 < 5 * $TW
                   && $4 < 5 * $TH && $5 == $TW && $6 == $TH
                   && $1 <= $c->{id};
    }
    is($bad, 0, "$label: cues are contiguous, tiles of 5x5 sheets");

    # the cues span the media from their first segment to the live edge
    my %dur = map { $_->{msn} => $_->{extinf} } @{$after->{segments}};
    my $span = 0;
    $span += $dur{$_} // 0 for $first .. $after->{segments}[-1]{msn};
    my $covered = $cues[-1]{end} - $cues[0]{start};
    ok($covered > $span - 1.5 && $covered < $span + 1.5,
       "$label: they cover the window up to its live edge")
        or diag "cues $covered s, segments $span s";
    return @cues;
}

my @cues = check_cues('live');

# the sheets: JPEG, 5x5 tiles; a tile shows the picture, a slot not yet
# filled is black
my %sheets;
for my $c (@cues) {
    my ($file, $x, $y) = $c->{text} =~ m{^previews/(\S+)#xywh=(\d+),(\d+)};
    push @{$sheets{$file}}, [$x, $y];
}
for my $file (sort keys %sheets) {
    my $r = $t->get("/hls/main/previews/$file");
    is($r->{status}, 200, "sheet $file is served");
    my $p = probe_file("$dir/$file");
    is_deeply([$p->{video}{codec_name}, $p->{video}{width},
               $p->{video}{height}],
              ['mjpeg', 5 * $TW, 5 * $TH], "$file: a 5x5 JPEG sheet")
        or diag explain $p;
}
my ($file) = sort keys %sheets;
my ($x, $y) = @{$sheets{$file}[0]};
my ($mean, $sd) = luma("$dir/$file", $x, $y);
ok($mean > 30 && $sd > 20, "a tile shows the test picture (luma $mean, sd $sd)");
my ($ntiles) = $file =~ /-(\d+)\.jpg$/;
if ($ntiles < 25) {
    ($mean) = luma("$dir/$file", 4 * $TW, 4 * $TH);
    ok($mean < 5, "the last slot, not filled yet, is black (luma $mean)");
}

sub luma {
    my ($path, $x, $y) = @_;
    my $raw = `ffmpeg -nostdin -loglevel error -i $path -vf crop=$TW:$TH:$x:$y -f rawvideo -pix_fmt gray -`;
    my @v = unpack('C*', $raw);
    return (-1, 0) unless @v;
    my $m = 0; $m += $_ for @v; $m /= @v;
    my $s = 0; $s += ($_ - $m) ** 2 for @v;
    return (sprintf('%.0f', $m), sprintf('%.0f', sqrt($s / @v)));
}

# more than a sheet (25 tiles of 1 s) and the window (10 s) later: the
# first sheet has left the window and the disk
my ($first_sheet) = $cues[0]{text} =~ m{^previews/(\d+)-};
ok(wait_for(sub {
        my (undef, $v) = track();
        $v && $v->{cues}[0]{text} !~ m{^previews/$first_sheet-};
    }, 60), 'the first sheet leaves the track with the window')
    or diag $t->get('/hls/main/previews.vtt')->{body};
@cues = check_cues('after a sheet');
my %listed = map { m{^previews/(\d+)-} ? ($1 => 1) : () }
             map { $_->{text} } @cues;
ok(wait_for(sub { !grep { /^$first_sheet-/ } files() }, 5),
   'its files are gone') or diag join ' ', files();
my %per_sheet;
$per_sheet{(/^(\d+)-/)[0]}++ for files();
my @extra = grep { !$listed{$_} || $per_sheet{$_} > 2 } keys %per_sheet;
is_deeply(\@extra, [], 'on disk: the listed sheets, two versions at most')
    or diag join ' ', files();

sub files {
    opendir(my $d, $dir) or return ();
    return sort grep { /\.jpg$/ } readdir $d;
}

# the operator's path while live: a reload; then the publisher's worker
# killed (as the OOM killer does) and the publisher back at once: the DVR
# goes on, and so do the previews, the earlier ones still listed
sub last_cue {
    my (undef, $v) = track();
    return $v && @{$v->{cues}} ? $v->{cues}[-1]{id} : 0;
}
my $before = last_cue();
ok(scalar $t->reload, 'reloaded while live');
ok(wait_for(sub { last_cue() > $before + 2 }, 15),
   'after the reload, new tiles are listed');

my $w = wait_for(sub {
    $t->nginx->worker_of_client($pub->pid, $t->port('RTMP'))
}, 10);
ok($w, "the publisher's worker is $w");
my $first_before = (track())[1]{cues}[0]{id};
$before = last_cue();
kill 'KILL', $w if $w;
$pub->wait(10);
my $lives = () = $t->log_lines(qr/channel "main" is live/);
for (1 .. 10) {
    $pub = publish_media($t, $key, @light);
    last if wait_for(sub {
        my $n = () = $t->log_lines(qr/channel "main" is live/);
        $n > $lives && $pub->alive;
    }, 2) && $pub->alive;
    $pub->kill('KILL');
    $pub->wait(5);
}
ok(wait_for(sub { last_cue() > $before + 2 }, 20),
   'after a killed worker and a reconnect, new tiles are listed');
($resp, $vtt) = track();
my @ids = map { $_->{id} } @{$vtt->{cues}};
ok($ids[0] <= $before && $ids[0] >= $first_before,
   'the tiles from before the kill are still listed');
my @missing = grep { $t->get("/hls/main/$_")->{status} != 200 }
    do { my %u; grep { !$u{$_}++ } map { m{^(\S+)#} } map { $_->{text} } @{$vtt->{cues}} };
is_deeply(\@missing, [], 'every sheet the track names is served');
$t->expect_log(qr/worker process \d+ exited on signal 9/);
$t->expect_log(qr/shared memory zone "streamline_media" was locked by/);

# the stream ends: the track stays for the DVR's grace, then goes with it
$pub->stop;
ok(wait_playlist($t, 'main', 'low', sub { $_[0]{endlist} }, 10),
   'the stream ended');
($r) = track();
is($r->{status}, 200, 'the track is served while the DVR is kept');
my $cost;
ok(wait_for(sub {
        # the last stream's (the one since the reconnect, a few seconds)
        ($cost) = reverse $t->log_lines(qr/scrubber previews: \d+ tiles taken/);
        $cost && $cost =~ /: (\d+) tiles taken in [\d.]+ ms of CPU time, [\d.]+% of the ladder's \d+ ms$/
            && $1 >= 3;
    }, 10), 'the stream says what its previews cost') or diag $cost;
diag $cost =~ s/.*(scrubber previews: )/$1/r if $cost;
ok(wait_for(sub { $t->get('/hls/main/previews.vtt')->{status} == 404 }, 15),
   'the track goes with the DVR');
ok(wait_for(sub { !-d $dir }, 5), 'and so do the sheets');

# streamline_previews off: no tiles, no track
my $key2 = random_key();
$t->add_key(other => $key2);
$pub = publish_media($t, $key2, @light, app => 'quiet');
ok(wait_playlist($t, 'other', 'low', sub { @{$_[0]{segments}} >= 3 }, 30),
   'off: the ladder is packaged');
is($t->get('/hls/other/previews.vtt')->{status}, 404, 'off: no track');
ok(!-e channel_dir($t, 'other') . '/previews', 'off: no sheets');
$pub->stop;

$t->finish;
done_testing;
