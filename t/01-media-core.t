#!/usr/bin/perl

# Unit tests of the DVR index and the HLS playlists (core/sl_dvr.c,
# sl_playlist.c, sl_playlist_check.c): builds core/test/sl_media_test with
# the core Makefile and runs it; its TAP is this file's TAP.
#
#   STREAMLINE_BUILD_DIR   build directory (default: <repo>/build)
#   SANITIZE=1             build with ASan and UBSan

use warnings;
use strict;

use File::Basename qw(dirname);
use File::Spec;

my $top = File::Spec->rel2abs(dirname(__FILE__) . '/..');
my $core = "$top/ngx_streamline_module/core";

my $build = File::Spec->rel2abs($ENV{STREAMLINE_BUILD_DIR} || "$top/build");
my $sanitize = $ENV{SANITIZE} ? 1 : 0;

# make's output goes to stderr: stdout is TAP only

my $pid = fork();
bail("fork: $!") unless defined $pid;

if ($pid == 0) {
    open(STDOUT, '>&', \*STDERR) or exit 127;
    exec('make', '-s', '-C', $core, 'media', "BUILD_DIR=$build",
         "SANITIZE=$sanitize")
        or exit 127;
}

waitpid($pid, 0);
bail("building the media unit tests failed (make exit " . ($? >> 8) . ")")
    if $? != 0;

my $bin = "$build/unit/sl_media_test";
bail("$bin was not built") unless -x $bin;

exec($bin) or bail("cannot run $bin: $!");


sub bail {
    my ($why) = @_;

    print "Bail out! $why\n";
    exit 255;
}
