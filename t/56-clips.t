#!/usr/bin/perl

# Clips: GET /hls/<channel>/clip.mp4?start=<ISO>&end=<ISO> remuxes the
# source rendition's DVR segments into one progressive MP4.  With 1 s
# segments and a 20 s window (this test's own config), an OBS-like stream
# is published for 34 s:
# - a 10 s clip of the live stream is an MP4 with its moov before its mdat,
#   H.264 + AAC, ~10 s long (cut at the nearest keyframes: within one
#   segment), audio and video starting and lasting alike (100 ms);
# - the same clip asked again (or with the same times in another zone) is
#   the same file, not made again; HEAD and byte ranges work;
# - a clip from the very start of the full window;
# - the errors: 400 (bad dates, end <= start, too long, missing), 404
#   (unknown channel), 416 (expired, in the future), with a text body;
# - a clip whose segments left the window is 416 and its file goes (the
#   next remux sweeps it); the clips go with the DVR.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(sleep time);
use POSIX qw(strftime);
use lib 't/lib';
use Streamline::Test;
use Streamline::Media;

my $SEG = 1;
my $MAX = 12;

my $t = Streamline::Test->new;
$t->start_redis;
$t->write_conf(media_conf(app => <<'EOF', http => <<'EOF2'));
streamline_segment 1s;
            streamline_dvr_window 20s;
            streamline_dvr_grace 3s;
EOF
streamline_clip on;
        streamline_clip_max_length 12s;
EOF2
$t->run;

my $key = random_key();
$t->add_key(main => $key);

my $start = time;
# a keyframe every second: every 1 s segment starts on one
my $pub = publish_media($t, $key, size => '640x360', duration => 34,
    gop => 30);

sub iso {
    my ($ms, $zone_min) = @_;
    $zone_min //= 0;
    my $l = $ms + $zone_min * 60000;
    my $z = $zone_min
        ? sprintf('%s%02d:%02d', $zone_min < 0 ? '-' : '+',
                  int(abs($zone_min) / 60), abs($zone_min) % 60)
        : 'Z';
    return strftime('%Y-%m-%dT%H:%M:%S', gmtime(int($l / 1000)))
        . sprintf('.%03d', $l % 1000) . $z;
}

sub uri_escape { my $s = shift; $s =~ s/([^A-Za-z0-9._~-])/sprintf '%%%02X', ord $1/ge; $s }

sub clip_uri {
    my ($ch, $from, $to, %o) = @_;
    my $enc = $o{raw} ? sub { $_[0] } : \&uri_escape;
    return "/hls/$ch/clip.mp4?start=" . $enc->($from) . '&end='
        . $enc->($to);
}

# the top-level boxes of an MP4: their types in order
sub boxes {
    my ($data) = @_;
    my ($off, @types) = (0);
    while ($off + 8 <= length $data) {
        my ($size, $type) = unpack 'Na4', substr $data, $off, 8;
        $size = unpack 'Q>', substr $data, $off + 8, 8 if $size == 1;
        push @types, $type;
        last if $size < 8;
        $off += $size;
    }
    return @types;
}

sub save {
    my ($name, $data) = @_;
    my $path = $t->testdir . "/$name";
    open my $fh, '>:raw', $path or die "$path: $!";
    print $fh $data;
    close $fh;
    return $path;
}

sub clip_files {
    my $dir = channel_dir($t, 'main') . '/clips';
    opendir my $d, $dir or return ();
    return sort grep { !/^\./ } readdir $d;
}

# checks a clip's answer and file; returns the probe
sub check_clip {
    my ($what, $r, $want_s) = @_;
    is($r->{status}, 200, "$what: 200") or diag $r->{body};
    return unless $r->{status} == 200;
    is($r->{headers}{'content-type'}, 'video/mp4', "$what: video/mp4");
    is($r->{headers}{'cache-control'}, 'public, max-age=31536000, immutable',
        "$what: cacheable for good");
    like($r->{headers}{'content-disposition'},
        qr/^attachment; filename="main-\d{8}T\d{6}Z\.mp4"$/,
        "$what: downloaded as main-<start>.mp4");
    my @b = boxes($r->{body});
    my ($moov) = grep { $b[$_] eq 'moov' } 0 .. $#b;
    my ($mdat) = grep { $b[$_] eq 'mdat' } 0 .. $#b;
    ok(defined $moov && defined $mdat && $moov < $mdat && $b[0] eq 'ftyp',
        "$what: ftyp, then moov before mdat (faststart)") or diag "@b";
    ok(!grep({ $_ eq 'moof' } @b), "$what: progressive, no fragments");

    my $path = save("$what.mp4" =~ s/\W+/-/gr, $r->{body});
    my $p = probe_file($path);
    ok(!$p->{code} && !length $p->{stderr}, "$what: ffprobe reads it")
        or diag $p->{stderr};
    is($p->{video}{codec_name}, 'h264', "$what: H.264");
    is($p->{audio}{codec_name}, 'aac', "$what: AAC");
    is(scalar @{$p->{streams}}, 2, "$what: two streams");
    ok($p->{first_video_key}, "$what: starts on a keyframe");
    my $vd = $p->{video_duration} // 0;
    my $ad = $p->{audio_duration} // 0;
    cmp_ok(abs($vd - $want_s), '<=', $SEG + 0.1,
        sprintf('%s: %.3f s of video for %.3f s asked (one segment at most '
            . 'off)', $what, $vd, $want_s));
    cmp_ok(abs(($p->{video_start} // 99) - ($p->{audio_start} // -99)), '<=',
        0.1, sprintf('%s: audio starts with the video (%.3f / %.3f)', $what,
            $p->{video_start} // -1, $p->{audio_start} // -1));
    cmp_ok(abs($vd - $ad), '<=', 0.1,
        sprintf('%s: audio lasts as long as the video (%.3f / %.3f)', $what,
            $vd, $ad));
    cmp_ok($p->{video_start} // 99, '<=', 0.1, "$what: starts at 0");
    return $p;
}

# --- a 10 s clip of the live stream ------------------------------------------

my $pl = wait_playlist($t, 'main', 'source', sub {
    my $s = $_[0]{segments};
    @$s && $s->[-1]{pdt_ms} + $s->[-1]{extinf} * 1000 - $s->[0]{pdt_ms}
        >= 13000 }, 30);
ok($pl, 'the DVR holds 13 s') or BAIL_OUT('no playlist');
my $last = $pl->{segments}[-1];
my $end_ms = int($last->{pdt_ms} + $last->{extinf} * 1000) - 1200;
my $start_ms = $end_ms - 10000;
my $uri = clip_uri('main', iso($start_ms), iso($end_ms));

my $r1 = $t->get($uri, timeout => 20);
diag(sprintf 'first clip: %d bytes in %.3f s', length $r1->{body},
    $r1->{elapsed});
check_clip('10 s clip', $r1, 10);
my @files = clip_files();
is(scalar @files, 1, 'one clip file in <channel>/clips') or diag "@files";
my ($first_msn) = ($files[0] // '') =~ /^(\d+)-\d+\.mp4$/;
ok(defined $first_msn, "named <first msn>-<last msn>.mp4 ($files[0])");
my $cpath = channel_dir($t, 'main') . "/clips/" . ($files[0] // 'x');
my @st1 = stat $cpath;

# --- the same clip again, the same range another way, HEAD, a byte range -----

my $r2 = $t->get($uri);
is($r2->{status}, 200, 'asked again: 200');
ok($r2->{body} eq $r1->{body}, 'asked again: the same bytes');
my @st2 = stat $cpath;
ok(@st1 && @st2 && $st1[1] == $st2[1] && $st1[9] == $st2[9],
    'asked again: the file made once is sent (same inode and mtime)');
diag(sprintf 'again: %.3f s', $r2->{elapsed});
is($r2->{headers}{etag}, $r1->{headers}{etag}, 'asked again: same ETag');

my $r3 = $t->get(clip_uri('main', iso($start_ms, 60), iso($end_ms, -150)));
ok($r3->{status} == 200 && $r3->{body} eq $r1->{body},
    'the same times with zone offsets: the same clip');
my $r3b = $t->get(clip_uri('main', iso($start_ms, 60), iso($end_ms), raw => 1));
ok($r3b->{status} == 200 && $r3b->{body} eq $r1->{body},
    "a raw '+' in the query is the offset's sign");

my $h = $t->head($uri);
is($h->{status}, 200, 'HEAD: 200');
is($h->{headers}{'content-length'}, length $r1->{body},
    'HEAD: the Content-Length of the clip');
my $rg = $t->get($uri, headers => { Range => 'bytes=0-99' });
is($rg->{status}, 206, 'a byte range: 206');
is($rg->{body}, substr($r1->{body}, 0, 100), 'a byte range: those bytes');

# --- errors -------------------------------------------------------------------

my $now = int(time * 1000);
my %errors = (
    'not a date' => [clip_uri('main', 'yesterday', iso($end_ms)), 400,
                     qr/start is not an ISO-8601 time/],
    'a bad day' => [clip_uri('main', '2025-02-29T10:00:00Z', iso($end_ms)),
                    400, qr/start is not an ISO-8601 time/],
    'end before start' => [clip_uri('main', iso($end_ms), iso($start_ms)),
                           400, qr/end is not after start/],
    'end equal to start' => [clip_uri('main', iso($end_ms), iso($end_ms)),
                             400, qr/end is not after start/],
    'too long' => [clip_uri('main', iso($end_ms - ($MAX + 1) * 1000),
                            iso($end_ms)), 400, qr/longer than/],
    'no end' => ['/hls/main/clip.mp4?start=' . uri_escape(iso($start_ms)),
                 400, qr/start and end are required/],
    'unknown channel' => [clip_uri('nope', iso($start_ms), iso($end_ms)), 404,
                          qr/no such channel/],
    'in the future' => [clip_uri('main', iso($now + 50000),
                                 iso($now + 60000)), 416,
                        qr/ends after the DVR's last complete segment/],
    'ending in the future' => [clip_uri('main', iso($now - 5000),
                                        iso($now + 5000)), 416,
                               qr/ends after/],
    'before the stream' => [clip_uri('main', iso($now - 3600000),
                                     iso($now - 3595000)), 416,
                            qr/expired/],
);
for my $what (sort keys %errors) {
    my ($u, $status, $re) = @{$errors{$what}};
    my $r = $t->get($u);
    is($r->{status}, $status, "$what: $status");
    like($r->{body}, $re, "$what: the body says why") or diag $r->{body};
    is($r->{headers}{'cache-control'}, 'no-store', "$what: not cached");
}
is($t->http('POST', $uri)->{status}, 405, 'POST: 405');

# --- a clip from the very start of the full window ----------------------------

$pl = wait_playlist($t, 'main', 'source', sub {
    $_[0]{media_sequence} > $first_msn + 1 }, 30);
ok($pl, 'the window slid past the first clip') or diag 'no playlist';
my ($rs, $ws);
for my $try (1 .. 5) {
    (undef, $pl) = get_media($t, 'main', 'source');
    $ws = $pl->{segments}[0]{pdt_ms};
    $rs = $t->get(clip_uri('main', iso($ws), iso($ws + 10000)), timeout => 20);
    last unless $rs->{status} == 416;   # trimmed just then: again
    diag "start of the window trimmed meanwhile: $rs->{body}";
}
check_clip('window start clip', $rs, 10);
my @now_files = clip_files();
ok((grep { /^$pl->{segments}[0]{msn}-\d+\.mp4$/ } @now_files),
    "it starts with the window's first segment ($pl->{segments}[0]{msn})")
    or diag "@now_files";

# the first clip left the window
my $old = $t->get($uri);
is($old->{status}, 416, 'a clip whose segments left the window: 416');
like($old->{body}, qr/expired/, 'expired, says the body');
ok(!-e $cpath, 'its file was removed by the next remux')
    or diag join ' ', clip_files();

# --- concurrent identical requests: one remux --------------------------------

sub made {
    open my $fh, '<', $t->error_log or die $t->error_log . ": $!";
    return scalar grep { /streamline: clip .* made/ } <$fh>;
}
my $made_before = made();
(undef, $pl) = get_media($t, 'main', 'source');
my $cs = $pl->{segments}[2]{pdt_ms};
my $curi = clip_uri('main', iso($cs), iso($cs + 5000));
my @kids;
for (1 .. 4) {
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        my $r = $t->get($curi, timeout => 20);
        POSIX::_exit($r->{status} == 200 ? 0 : 1);
    }
    push @kids, $pid;
}
my $bad = 0;
for (@kids) { waitpid $_, 0; $bad++ if $? }
is($bad, 0, 'four identical requests at once: all 200');
is(made() - $made_before, 1, 'and one remux for them');

# --- the clips go with the DVR ------------------------------------------------

is($pub->wait(40), 0, 'the publisher ran its 34 s') or diag $pub->stderr;
ok(wait_for(sub { !-d channel_dir($t, 'main') . '/clips' }, 20),
    'the clips directory went with the discarded DVR');
my $gone = $t->get($uri);
is($gone->{status}, 404, 'a clip of a discarded DVR: 404');

diag(sprintf 'test ran %.1f s', time - $start);

done_testing;
