#!/usr/bin/perl

# The media pipeline without nginx (core/sl_pipeline.c): an OBS-like FLV
# (H.264 high profile with B-frames, 2 s keyframes, AAC) is fed to it by
# core/tools/sl_pipeline_feed with a two-rung ladder, then every segment
# of every rendition is probed: it decodes, starts with a keyframe at the
# same presentation time in every rendition, and the renditions hold all
# the frames of the source.

use warnings;
use strict;

use Test::More;
use File::Basename qw(dirname);
use File::Spec;
use File::Temp qw(tempdir);

my $top = File::Spec->rel2abs(dirname(__FILE__) . '/..');
my $build = File::Spec->rel2abs($ENV{STREAMLINE_BUILD_DIR} || "$top/build");
my $sanitize = $ENV{SANITIZE} ? 1 : 0;

system('make', '-s', '-C', "$top/ngx_streamline_module/core", 'pipeline',
       "BUILD_DIR=$build", "SANITIZE=$sanitize") == 0
    or BAIL_OUT('building sl_pipeline_feed failed');

my $dir = tempdir(CLEANUP => 1);
my $flv = "$dir/in.flv";

system('ffmpeg', qw(-hide_banner -loglevel error -y),
       qw(-f lavfi -i testsrc2=size=640x360:rate=30),
       qw(-f lavfi -i sine=frequency=440:sample_rate=48000 -t 6.5),
       qw(-c:v libx264 -preset ultrafast -profile:v high -bf 2 -g 60),
       qw(-keyint_min 60 -sc_threshold 0 -c:a aac -ac 2), $flv) == 0
    or BAIL_OUT('ffmpeg could not make the input');

mkdir "$dir/out";
my @lines = `$build/unit/sl_pipeline_feed $flv $dir/out 2000 500 2 2>$dir/feed.err`;
is($?, 0, 'the feed ran') or diag `cat $dir/feed.err`;

my %seg;
for (@lines) {
    my ($r, $msn, $dur, $parts) =
        /^segment (\S+) msn=(\d+) init=\d+ duration_us=(\d+) .* parts=(\d+)/
        or next;
    $seg{$r}{$msn} = { duration => $dur / 1e6, parts => $parts };
}

is_deeply([sort keys %seg], [qw(360p 480p source)], 'three renditions');
is_deeply([sort keys %{ $seg{$_} }], [0 .. 3], "$_: segments 0 to 3")
    for sort keys %seg;
cmp_ok($seg{source}{$_}{duration}, '==', 2, "source: segment $_ lasts 2 s")
    for 0 .. 2;
cmp_ok($seg{source}{0}{parts}, '>=', 4, 'segment 0 has its parts');

sub probe {
    my ($file, $entries) = @_;
    my $out = `ffprobe -v error -select_streams v -show_entries $entries -of csv=p=0 $file 2>&1`;
    return [grep { /^[\d.]+,/ } split /\n/, $out];
}

my %first;
for my $r (sort keys %seg) {
    my $frames = 0;
    for my $msn (sort { $a <=> $b } keys %{ $seg{$r} }) {
        my $f = "$dir/one-$r-$msn.mp4";
        system("cat $dir/out/$r/init-0.mp4 $dir/out/$r/seg-$msn.m4s > $f");
        my $err = `ffprobe -v error -show_entries format=duration -of csv=p=0 $f 2>&1 >/dev/null`;
        is($err, '', "$r seg-$msn: probes without error");
        my $fr = probe($f, 'frame=pts_time,pict_type');
        like($fr->[0] // '', qr/^[\d.]+,I/, "$r seg-$msn: starts with a keyframe");
        ($first{$msn}{$r}) = split /,/, $fr->[0] // '';
        $frames += @$fr;
    }
    is($frames, 195, "$r: all 195 frames of the source");
    my $a = `cat $dir/out/$r/init-0.mp4 $dir/out/$r/seg-*.m4s | ffprobe -v error -select_streams a -show_entries stream=codec_name -of csv=p=0 - 2>&1`;
    like($a, qr/^aac/, "$r: audio copied");
}

for my $msn (sort keys %first) {
    my @t = map { $first{$msn}{$_} } sort keys %seg;
    is(scalar(grep { $_ eq $t[0] } @t), 3,
       "segment $msn starts at the same time in every rendition ($t[0])");
}

done_testing;
