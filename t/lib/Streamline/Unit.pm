package Streamline::Unit;

# Runs one of the core's C unit test programs as a prove test file: builds
# it with the core Makefile (make's output to stderr: stdout is TAP only),
# then execs it, so that its TAP is the file's TAP.  A build failure is a
# "Bail out!".  build() alone builds a core program and gives its path.
#
#   STREAMLINE_BUILD_DIR   build directory (default: <repo>/build)
#   SANITIZE=1             build with ASan and UBSan

use warnings;
use strict;

use File::Basename qw(dirname);
use File::Spec;

sub run {
    my ($target, $program) = @_;

    my $bin = build($target, $program);

    exec($bin) or bail("cannot run $bin: $!");
}

# Builds a program of the core (a make target) and returns its path; make
# rebuilds only what changed.  Also for helpers that run a core program
# (Streamline::Media runs the playlist checker).
sub build {
    my ($target, $program) = @_;

    my $top = File::Spec->rel2abs(dirname(__FILE__) . '/../../..');
    my $build = File::Spec->rel2abs($ENV{STREAMLINE_BUILD_DIR}
                                    || "$top/build");
    my $sanitize = $ENV{SANITIZE} ? 1 : 0;

    my $pid = fork();
    bail("fork: $!") unless defined $pid;

    if ($pid == 0) {
        open(STDOUT, '>&', \*STDERR) or exit 127;
        exec('make', '-s', '-C', "$top/ngx_streamline_module/core", $target,
             "BUILD_DIR=$build", "SANITIZE=$sanitize")
            or exit 127;
    }

    waitpid($pid, 0);
    bail("building $program failed (make exit " . ($? >> 8) . ")")
        if $? != 0;

    my $bin = "$build/unit/$program";
    bail("$bin was not built") unless -x $bin;

    return $bin;
}

sub bail {
    my ($why) = @_;

    print "Bail out! $why\n";
    exit 255;
}

1;
