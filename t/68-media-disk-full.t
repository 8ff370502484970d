#!/usr/bin/perl

# The disk fills up mid-stream (the media path is a small tmpfs; a filler
# file takes what is left: ENOSPC), then space comes back.  The segments
# written meanwhile are lost, each rendition says so once in error.log
# (not once a packet, and through the event loop, not from the pipeline
# threads), the playlists list them as EXT-X-GAP and go on
# (numbers in step, the window still trimmed), and once there is space
# again new segments come and play.  Needs root for the tmpfs mount.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(sleep time);
use lib 't/lib';
use Streamline::Test;
use Streamline::Media;

plan skip_all => 'mounting a tmpfs needs root' if $> != 0;

my $t = Streamline::Test->new;
my $media = media_dir($t);
mkdir $media or die "mkdir $media: $!";
system('mount', '-t', 'tmpfs', '-o', 'size=48m', 'tmpfs', $media) == 0
    or plan skip_all => 'cannot mount a tmpfs here';
my $mounted = 1;
END { system('umount', '-l', $media) if $mounted }

$t->start_redis;
$t->write_conf(media_conf(app => <<'EOF'));
streamline_segment 1s;
            streamline_dvr_window 12s;
            streamline_dvr_grace 30s;
            streamline_rendition low 320x180 300k preset=ultrafast;
            streamline_previews 1s;
EOF
$t->run;

my $key = random_key();
$t->add_key(main => $key);
$t->expect_log(qr/No space left on device/);

my $pub = publish_media($t, $key, size => '426x240', duration => 40,
    vcodec => [qw(-c:v libx264 -preset ultrafast -g 30 -keyint_min 30
                  -sc_threshold 0 -pix_fmt yuv420p)]);

my %last;
my @problems;
my $filler = "$media/filler";
my ($full_at, $freed_at, $first_after);

sub poll {
    for my $rend (qw(source low)) {
        my ($r, $pl) = get_media($t, 'main', $rend);
        next unless $pl;
        push @problems, map { "$rend: $_" } @{$pl->{problems}},
            check_reload($last{$rend}, $pl);
        $last{$rend} = $pl;
    }
}

# live first, with some window
ok(wait_playlist($t, 'main', 'source',
    sub { @{$_[0]{segments}} >= 4 }, 20), 'live with 4 segments');
poll();

# fill the disk
open(my $f, '>', $filler) or die "$filler: $!";
my $chunk = "\0" x (1024 * 1024);
while (syswrite($f, $chunk)) { }
close $f;
$full_at = time;
my $msn_full = $last{source}{last_msn};

while (time < $full_at + 5) {
    poll();
    sleep 0.25;
}

unlink $filler;
$freed_at = time;
my $msn_freed = $last{source}{last_msn};

# space again: the playlists go on past the gap
my $deadline = time + 20;
while (time < $deadline) {
    poll();
    my $s = $last{source};
    last if $s && $s->{last_msn} >= $msn_freed + 8
            && $last{low} && $last{low}{last_msn} >= $msn_freed + 6;
    sleep 0.25;
}

my ($src, $low) = @last{qw(source low)};
ok($src && $src->{last_msn} >= $msn_freed + 8,
    "the source goes on after the disk had space again "
    . "($msn_full full, $msn_freed freed, $src->{last_msn} last)")
    or diag playlist_summary($src);
ok($low && $low->{last_msn} >= $msn_freed + 6, 'so does the rung')
    or diag playlist_summary($low);

my @gaps = grep { $_->{gap} } @{$src->{segments}};
ok(@gaps >= 2, scalar(@gaps) . ' lost source segments listed as gaps')
    or diag $src->{text};
ok($src->{media_sequence} > $msn_full - 6,
    "the window is still trimmed (media sequence $src->{media_sequence})");
ok(!@problems, 'every playlist seen follows the rules and continues the '
    . 'last') or diag join "\n", @problems[0 .. ($#problems < 9 ? $#problems : 9)];

# the newest segments are whole again: they probe
my ($newest) = grep { !$_->{gap} && $_->{msn} > $msn_freed + 2 }
    reverse @{$src->{segments}};
my $probe = $newest && probe_segment($t, 'main', 'source', $newest);
ok($probe && $probe->{code} == 0 && $probe->{video_frames} >= 20,
    'a segment written after the disk had space plays')
    or diag explain $probe;

# the log: one line as the failures begin, one as they end, per rendition
my @full = $t->log_lines(qr/No space left on device/);
my @again = $t->log_lines(qr/writing works again, \d+/);
ok(@full >= 1 && @full <= 4, scalar(@full) . ' "No space left" lines')
    or diag join "\n", @full[0 .. ($#full < 5 ? $#full : 5)];
ok(@again >= 1 && @again <= 4, scalar(@again) . ' "works again" lines');
ok(!$t->log_lines(qr/muxer refused/), 'the muxer never saw the errors');
# the scrubber previews (a tile a second) lose their tiles meanwhile: one
# line as it begins, one as sheets are written again; never turned off
my @pv_full = $t->log_lines(qr/cannot write scrubber preview/);
my @pv_again = $t->log_lines(qr/scrubber previews written again/);
is(scalar @pv_full, 1, 'previews: one line as writing them fails')
    or diag join "\n", @pv_full;
is(scalar @pv_again, 1, 'previews: one line as they are written again');
ok(!$t->log_lines(qr/scrubber previews off/), 'previews: never turned off');

# nginx's logger is the event loop's (syslog and memory logs keep state
# without locks): the pipeline threads' lines come from the worker's main
# thread, "pid#tid" with tid = pid
my @threads = grep { /\] (\d+)#(\d+): / && $1 != $2 }
    $t->log_lines(qr/streamline: channel/);
ok(!@threads, 'the pipeline lines were logged by the event loop')
    or diag join "\n", @threads[0 .. ($#threads < 3 ? $#threads : 3)];

$pub->stop;
$t->stop;
system('umount', $media) == 0 and $mounted = 0;

done_testing;
