#!/usr/bin/perl

# The helpers of the media tests check themselves: the Perl playlist
# checker finds each broken rule it claims to check (and passes a good
# playlist), the reload checks see what goes back, and the codecs read
# from an init segment are those ffmpeg wrote.  No nginx here.

use strict;
use warnings;

use File::Temp qw(tempdir);
use Test::More;
use lib 't/lib';
use Streamline::Media;

my $good = <<'EOF';
#EXTM3U
#EXT-X-VERSION:6
#EXT-X-TARGETDURATION:2
#EXT-X-MEDIA-SEQUENCE:10
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-MAP:URI="init-3.mp4"
#EXT-X-PROGRAM-DATE-TIME:2026-11-26T02:45:14.678Z
#EXTINF:2.000,
seg-10.m4s
#EXTINF:1.967,
seg-11.m4s
#EXT-X-DISCONTINUITY
#EXT-X-MAP:URI="init-4.mp4"
#EXT-X-PROGRAM-DATE-TIME:2026-11-26T02:45:30.000Z
#EXTINF:2.033,
seg-12.m4s
#EXT-X-ENDLIST
EOF

my $pl = parse_media($good);
is_deeply($pl->{problems}, [], 'a good playlist passes');
is($pl->{media_sequence}, 10, 'media sequence');
is_deeply([map { $_->{msn} } @{$pl->{segments}}], [10, 11, 12], 'msns');
is_deeply([map { $_->{map} } @{$pl->{segments}}],
    [qw(init-3.mp4 init-3.mp4 init-4.mp4)], 'maps in force');
is_deeply([map { $_->{discontinuity} } @{$pl->{segments}}], [0, 0, 1],
    'discontinuity');
is_deeply([map { $_->{dseq} } @{$pl->{segments}}], [0, 0, 1],
    'discontinuity sequence numbers');
is($pl->{segments}[1]{pdt_ms}, $pl->{segments}[0]{pdt_ms} + 2000,
    'implied PROGRAM-DATE-TIME');
ok(!$pl->{segments}[1]{pdt_stated}, 'implied, not stated');
is($pl->{endlist}, 1, 'ENDLIST');
is(sprintf('%.3f', $pl->{duration}), '6.000', 'duration');

my @broken = (
    [ 'first line is not #EXTM3U', sub { s/^#EXTM3U\n/#EXTM3X\n/ } ],
    [ 'EXT-X-VERSION repeated', sub { s/(#EXT-X-VERSION:6\n)/$1$1/ } ],
    [ 'no EXT-X-VERSION', sub { s/#EXT-X-VERSION:6\n// } ],
    [ 'EXT-X-MAP needs EXT-X-VERSION 6', sub { s/VERSION:6/VERSION:5/ } ],
    [ 'no EXT-X-TARGETDURATION', sub { s/#EXT-X-TARGETDURATION:2\n// } ],
    [ 'longer than EXT-X-TARGETDURATION', sub { s/EXTINF:2.033/EXTINF:2.600/ } ],
    [ 'EXTINF not <s>.<3 decimals>', sub { s/EXTINF:2.000,/EXTINF:2.0,/ } ],
    [ 'EXTINF not <s>.<3 decimals>', sub { s/EXTINF:2.000,/EXTINF:2.000/ } ],
    [ 'no EXT-X-MEDIA-SEQUENCE', sub { s/#EXT-X-MEDIA-SEQUENCE:10\n// } ],
    [ 'does not match the media sequence', sub { s/seg-11/seg-12/ } ],
    [ 'URI without EXTINF', sub { s/#EXTINF:1.967,\n// } ],
    [ 'no EXT-X-MAP before the first segment',
      sub { s/#EXT-X-MAP:URI="init-3.mp4"\n// } ],
    [ 'bad EXT-X-MAP', sub { s/URI="init-3.mp4"/URI=init-3.mp4/ } ],
    [ 'PROGRAM-DATE-TIME not', sub { s/02:45:14.678Z/02:45:14Z/ } ],
    [ 'a line after EXT-X-ENDLIST', sub { $_ .= "#EXTINF:1.000,\nseg-13.m4s\n" } ],
    [ 'EXT-X-ENDLIST repeated', sub { $_ .= "#EXT-X-ENDLIST\n" } ],
    [ 'unknown tag', sub { s/#EXT-X-INDEPENDENT-SEGMENTS/#EXT-X-INDEPENDENT/ } ],
    [ 'empty line', sub { s/(seg-10.m4s\n)/$1\n/ } ],
    [ 'does not end with a newline', sub { s/\n\z// } ],
    [ 'EXT-X-MEDIA-SEQUENCE after the first segment',
      sub { s/(seg-10.m4s\n)/$1#EXT-X-MEDIA-SEQUENCE:10\n/ } ],
    [ 'PRELOAD-HINT in an ended playlist',
      sub { s/#EXT-X-ENDLIST/#EXT-X-PRELOAD-HINT:TYPE=PART,URI="part-13.0.m4s"\n#EXT-X-ENDLIST/ } ],
);
for my $b (@broken) {
    my ($want, $edit) = @$b;
    local $_ = $good;
    $edit->();
    my $p = parse_media($_);
    ok(grep({ index($_, $want) >= 0 } @{$p->{problems}}),
        "broken: $want") or diag explain $p->{problems};
}

# reloads
my $next = $good;
$next =~ s/#EXT-X-ENDLIST\n//;
my $later = parse_media($next =~ s/SEQUENCE:10/SEQUENCE:11/r
    =~ s/#EXT-X-MAP:URI="init-3.mp4"\n#EXT-X-PROGRAM-DATE-TIME:\S+\n#EXTINF:2.000,\nseg-10.m4s\n/#EXT-X-MAP:URI="init-3.mp4"\n#EXT-X-PROGRAM-DATE-TIME:2026-11-26T02:45:16.678Z\n/r);
my $first = parse_media($next);
is_deeply($later->{problems}, [], 'the later version is a good playlist');
is_deeply([check_reload($first, $later)], [], 'a slid window is a good reload');
is_deeply([pdt_changes($first, $later)], [], 'dates kept as the window slides');
my $shifted = parse_media($later->{text} =~ s/02:45:16.678Z/02:45:16.690Z/r);
ok(scalar pdt_changes($first, $shifted), 'a date shifted by 12 ms is seen');
ok(grep({ /MEDIA-SEQUENCE went back/ } check_reload($later, $first)),
    'MEDIA-SEQUENCE going back is seen');
ok(grep({ /ENDLIST went away/ } check_reload($pl, $first)),
    'ENDLIST going away is seen');
my $changed = parse_media($next =~ s/EXTINF:1.967/EXTINF:1.968/r);
ok(grep({ /segment 11 changed/ } check_reload($first, $changed)),
    'a changed EXTINF is seen');
my $td = parse_media($next =~ s/TARGETDURATION:2/TARGETDURATION:3/r);
ok(grep({ /TARGETDURATION changed/ } check_reload($first, $td)),
    'a changed TARGETDURATION is seen');

# master
my $m = parse_master(<<'EOF');
#EXTM3U
#EXT-X-VERSION:6
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-STREAM-INF:BANDWIDTH=2605692,AVERAGE-BANDWIDTH=2600000,RESOLUTION=1280x720,CODECS="avc1.64001f,mp4a.40.2",FRAME-RATE=30.000
source/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=133296,CODECS="mp4a.40.2"
low/index.m3u8
EOF
is_deeply($m->{problems}, [], 'a good master passes');
is_deeply([map { [@$_{qw(uri bandwidth average_bandwidth width height
    codecs frame_rate)}] } @{$m->{variants}}],
    [['source/index.m3u8', 2605692, 2600000, 1280, 720,
      'avc1.64001f,mp4a.40.2', '30.000'],
     ['low/index.m3u8', 133296, undef, undef, undef, 'mp4a.40.2', undef]],
    'master attributes');

# codecs from an init segment ffmpeg writes
SKIP: {
    my $dir = tempdir(CLEANUP => 1);
    my $rc = system('ffmpeg', '-nostdin', '-hide_banner', '-loglevel',
        'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25',
        '-f', 'lavfi', '-i', 'sine=sample_rate=48000', '-t', '1',
        '-c:v', 'libx264', '-profile:v', 'main', '-level', '3.1',
        '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-movflags',
        'frag_keyframe+empty_moov+default_base_moof', "$dir/x.mp4");
    skip 'ffmpeg could not write an fMP4', 3 if $rc;
    my @c = avc_codecs("$dir/x.mp4");
    is(scalar @c, 2, 'two tracks') or diag "@c";
    like($c[0] // '', qr/^avc1\.4d..1f$/, "H.264 Main 3.1: $c[0]");
    is($c[1], 'mp4a.40.2', 'AAC LC');
    my $p = probe_file("$dir/x.mp4");
    ok($p->{video_frames} == 25 && $p->{audio_frames} > 40
        && !length $p->{stderr}, 'probe_file decodes frames')
        or diag explain $p;
}

done_testing;
