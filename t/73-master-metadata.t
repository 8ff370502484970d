#!/usr/bin/perl

# A publisher's metadata with a width but no height, or the reverse
# (issue 9, case 14).  nginx-rtmp takes the picture size from the SPS of
# the sequence header when it can parse it (its NAL header byte must be
# 0x67) and from onMetaData otherwise: an encoder whose SPS has another
# nal_ref_idc (0x27 here, as some hardware encoders write) and whose
# metadata has "width" alone gave the pipeline half a size: the mp4 muxer
# refused it, so the channel had no source rendition at all (and a master
# rendered with half a size answered 500).  Now the size comes from the
# SPS (sl_avc_size), and half a size in the master is no RESOLUTION.

use strict;
use warnings;

use Test::More;
use lib 't/lib';
use Streamline::Test;
use Streamline::Media;
use Streamline::RTMP;

my $t = Streamline::Test->new;
$t->start_redis;
$t->write_conf(media_conf(app => 'streamline_segment 1s;'));
$t->run;

# 8 s of 320x180 H.264 + AAC in FLV, made once
my $flv = $t->testdir . '/in.flv';
system('ffmpeg', '-nostdin', '-hide_banner', '-loglevel', 'error',
    '-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=30',
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-t', 8, '-c:v', 'libx264', '-preset', 'ultrafast', '-g', 30,
    '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-f', 'flv', $flv) == 0
    or BAIL_OUT('ffmpeg could not make the FLV');

# the AVC sequence header's SPS: 0x67 -> 0x27 (nal_ref_idc 1, still H.264)
my $data = $t->read_file('in.flv');
like($data, qr/\x17\x00\x00\x00\x00\x01.{4}\xe1..\x67/s,
     'the FLV has an AVC sequence header whose SPS byte is 0x67');

sub patch {
    my ($type, $data) = @_;
    return undef unless $type == 9 && length $data > 13
        && substr($data, 0, 2) eq "\x17\x00";
    return undef unless ord(substr($data, 13, 1)) == 0x67;
    substr($data, 13, 1) = "\x27";
    return $data;
}

for my $case (['width', width => 320], ['height', height => 180]) {
    my ($only, @meta) = @$case;
    my $ch = "only-$only";
    my $key = random_key($ch);
    $t->add_key($ch => $key);

    my $pub = Streamline::RTMP::publish_flv($t, $key, $flv,
        metadata => [@meta, framerate => 30, videocodecid => 7,
                     audiocodecid => 10],
        patch => \&patch);

    # the master is asked for while the stream goes on
    my ($r, $m);
    ok(wait_for(sub { ($r, $m) = get_master($t, $ch); $r->{status} != 404 },
                20), "$ch: the master is there");
    is($r->{status}, 200, "$ch: the master answers 200")
        or diag "$r->{status} $r->{body}";
    like($r->{body}, qr{^source/index\.m3u8$}m,
         "$ch: it lists the source rendition");
    like($r->{body}, qr/RESOLUTION=320x180,/,
         "$ch: its RESOLUTION from the SPS");
    my ($mr) = get_media($t, $ch, 'source');
    is($mr->{status}, 200, "$ch: its media playlist plays");

    is($pub->wait(20), 0, "$ch: the whole file was published")
        or diag $pub->stderr;
}

done_testing;
