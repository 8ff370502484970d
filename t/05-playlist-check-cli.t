#!/usr/bin/perl

# The playlist checker on the command line (core/test/
# sl_playlist_check_main.c), which Streamline::Media runs: exit codes, the
# form of its output, a file or standard input, media and master
# playlists, two versions of one.  No nginx.

use strict;
use warnings;

use File::Temp qw(tempdir);
use POSIX ();
use Test::More;
use lib 't/lib';
use Streamline::Unit;

my $bin = Streamline::Unit::build('playlist-check', 'sl_playlist_check');
my $dir = tempdir(CLEANUP => 1);

my $good = <<'EOF';
#EXTM3U
#EXT-X-VERSION:6
#EXT-X-TARGETDURATION:2
#EXT-X-MEDIA-SEQUENCE:10
#EXT-X-MAP:URI="init-3.mp4"
#EXT-X-PROGRAM-DATE-TIME:2026-11-26T02:45:14.678Z
#EXTINF:2.000,
seg-10.m4s
#EXTINF:1.967,
seg-11.m4s
EOF

my $master = <<'EOF';
#EXTM3U
#EXT-X-VERSION:6
#EXT-X-STREAM-INF:BANDWIDTH=133296,CODECS="mp4a.40.2"
low/index.m3u8
EOF

# write_file($name, $text): its path, in $dir
sub write_file {
    my ($name, $text) = @_;
    open my $fh, '>:raw', "$dir/$name" or die "$name: $!";
    print $fh $text;
    close $fh or die "$name: $!";
    return "$dir/$name";
}

# check(\@args, $stdin): (exit code, stdout, stderr)
sub check {
    my ($args, $stdin) = @_;
    my $in = write_file('stdin', $stdin // '');
    my $err = "$dir/stderr";
    my $pid = open my $fh, '-|' // die "fork: $!";
    if ($pid == 0) {
        open STDIN, '<', $in or POSIX::_exit(126);
        open STDERR, '>', $err or POSIX::_exit(126);
        exec { $bin } $bin, @$args or POSIX::_exit(127);
    }
    my $out = do { local $/; <$fh> } // '';
    close $fh;
    my $code = ($? & 127) ? 128 + ($? & 127) : $? >> 8;
    open my $efh, '<', $err or die "$err: $!";
    my $stderr = do { local $/; <$efh> } // '';
    return ($code, $out, $stderr);
}

my $g = write_file('good.m3u8', $good);

my ($code, $out, $err) = check([$g]);
is($code, 0, 'a good playlist: exit 0');
is($out, '', 'and nothing printed') or diag $out;

($code) = check([], $good);
is($code, 0, 'from standard input');
($code) = check(['-'], $good);
is($code, 0, 'from standard input, named "-"');

($code, $out) = check([write_file('bad.m3u8', $good =~ s/seg-11/seg-12/r)]);
is($code, 1, 'a rule broken: exit 1');
is($out, "playlist line 10: segment URI does not match the media sequence "
    . "(not seg-<msn>.m4s)\n", 'one line: the rule and its line');

($code, $out) = check([], $good =~ s/EXTINF:2.000,/EXTINF:2.0,/r);
ok($code == 1 && $out =~ /^playlist line 7: EXTINF not <s>\.<3 decimals>,/,
    "the module's own form is checked too") or diag $out;

($code, $out) = check([], '');
ok($code == 1 && $out =~ /^playlist line 1: empty playlist$/m,
    'an empty playlist') or diag $out;

# master playlists

($code) = check(['-m'], $master);
is($code, 0, 'master: a good one passes');
($code, $out) = check(['-m'], $good);
ok($code == 1 && $out =~ /^playlist line \d+: URI without EXT-X-STREAM-INF$/,
    'master: a media playlist is not one') or diag $out;
($code, $out) = check(['-m'], $master =~ s/BANDWIDTH=133296,//r);
ok($code == 1
    && $out =~ /^playlist line 3: EXT-X-STREAM-INF without BANDWIDTH/,
    'master: STREAM-INF without BANDWIDTH') or diag $out;

# two versions of a playlist

my $later = $good =~ s/SEQUENCE:10/SEQUENCE:11/r
    =~ s/#EXTINF:2.000,\nseg-10.m4s\n//r =~ s/14\.678Z/16.678Z/r;
($code, $out) = check(['-p', $g], $later);
is($code, 0, 'reload: a slid window passes') or diag $out;

($code, $out) = check(['-p', write_file('later.m3u8', $later)], $good);
ok($code == 1 && index($out, 'reload EXT-X-MEDIA-SEQUENCE went back '
    . '(sequence 11 -> 10,') == 0,
    'reload: the sequence going back, with the values') or diag $out;

($code, $out) = check(['-p', $g], $good =~ s/1\.967/1.968/r);
ok($code == 1 && index($out, 'segment 11 changed its EXTINF (EXTINF 1.967 '
    . 'map init-3.mp4 dseq 0 -> EXTINF 1.968 ') == 0,
    'reload: a segment changed') or diag $out;

($code, $out) = check(['-p', $g], $later =~ s/16\.678Z/16.690Z/r);
is($out, "date segment 11: PROGRAM-DATE-TIME 02:45:16.678 (implied) -> "
    . "02:45:16.690 (stated)\n", 'reload: a date moved by 12 ms');
is($code, 1, 'reload: exit 1');

($code, $out) = check(['-p', write_file('broken.m3u8', "#EXTM3U\n")],
    $good);
ok($code == 1 && $out =~ /^previous line \d+: /m && $out !~ /^reload/m,
    'reload: a broken earlier version is told, not compared') or diag $out;

# usage and I/O errors

($code, $out, $err) = check(["$dir/none.m3u8"]);
ok($code == 2 && $out eq '' && $err =~ /none\.m3u8/,
    'a missing file: exit 2') or diag "$code $out $err";
($code, $out, $err) = check(['-x']);
ok($code == 2 && $err =~ /usage/, 'an unknown option: exit 2 and usage');
($code) = check([$g, $g]);
is($code, 2, 'two files: exit 2');
($code) = check(['-m', '-p', $g, $g]);
is($code, 2, 'no reload rules for master playlists: exit 2');

done_testing;
