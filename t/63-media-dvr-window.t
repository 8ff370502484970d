#!/usr/bin/perl

# The rolling DVR window: with streamline_dvr_window 6s and 1 s segments,
# after ~15 s of publishing the playlists list only ~6 s of segments (the
# media sequence advanced), the files of segments that left the playlist
# are gone from disk (only the listed ones and at most a couple more
# exist), the init segment stays, and every playlist on the way follows
# the rules and continues the last one.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(sleep time);
use lib 't/lib';
use Streamline::Test;
use Streamline::Media;

my $WINDOW = 6;
my $SEG = 1;
my @RENDS = qw(source low);

my $t = Streamline::Test->new;
$t->start_redis;
$t->write_conf(media_conf(app => <<'EOF'));
streamline_segment 1s;
            streamline_dvr_window 6s;
            streamline_dvr_grace 3s;
            streamline_rendition low 320x180 300k preset=ultrafast;
EOF
$t->run;

my $key = random_key();
$t->add_key(main => $key);

my $start = time;
my $pub = publish_media($t, $key, size => '640x360', duration => 16,
    vcodec => [qw(-c:v libx264 -preset ultrafast -g 30 -keyint_min 30
        -sc_threshold 0 -pix_fmt yuv420p)]);

# a playlist and the directory as they were at one moment: the playlist is
# fetched before and after the listing, until both fetches agree
sub snapshot {
    my ($rend) = @_;
    for (1 .. 20) {
        my (undef, $a) = get_media($t, 'main', $rend);
        my $files = segment_files($t, 'main', $rend);
        my @inits = init_files($t, 'main', $rend);
        my (undef, $b) = get_media($t, 'main', $rend);
        return ($b, $files, \@inits)
            if $a && $b && $a->{text} eq $b->{text};
        sleep 0.05;
    }
    return;
}

my (%prev, %first_seq, @problems, @pdt, @too_long, @disk);
my $checks = 0;
while ($pub->alive && time - $start < 40) {
    for my $rend (@RENDS) {
        my ($pl, $files, $inits) = snapshot($rend) or next;
        $checks++;
        $first_seq{$rend} //= $pl->{media_sequence};
        push @problems, map { "$rend: $_" } @{$pl->{problems}},
            check_reload($prev{$rend}, $pl);
        push @pdt, map { "$rend: $_" } pdt_changes($prev{$rend}, $pl);
        $prev{$rend} = $pl;

        # one segment of slack: the window is trimmed as segments close
        push @too_long, sprintf('%s: %.3f s listed at %.1f s: %s', $rend,
            $pl->{duration}, time - $start,
            join(' ', map { $_->{extinf_text} } @{$pl->{segments}}))
            if $pl->{duration} > $WINDOW + $SEG + 0.1;

        my %listed = map { $_->{msn} => 1 } @{$pl->{segments}};
        my @missing = grep { !$files->{$_} } sort keys %listed;
        my @extra = grep { !$listed{$_} } sort { $a <=> $b } keys %$files;
        my @old = grep { $_ < $pl->{media_sequence} } @extra;
        push @disk, sprintf('%s at %.1f s: listed %s..%s; missing on disk: '
            . '%s; not listed: %s', $rend, time - $start,
            $pl->{first_msn}, $pl->{last_msn}, "@missing", "@extra")
            if @missing || @extra > 2 || @old > 1;
        my %maps = map { $_->{map} => 1 } @{$pl->{segments}};
        push @disk, "$rend: init missing: " . join(' ', sort keys %maps)
            . " listed, on disk: @$inits"
            if grep { my $m = $_; !grep { $_ eq $m } @$inits } keys %maps;
    }
    sleep 0.3;
}
is($pub->wait(20), 0, 'the publisher ran its 16 s') or diag $pub->stderr;
cmp_ok($checks, '>', 20, "the playlists were checked while live ($checks)");
ok(!@problems, 'every playlist follows the rules and continues the last')
    or diag join "\n", @problems[0 .. ($#problems < 20 ? $#problems : 20)];
ok(!@pdt, 'a segment keeps its PROGRAM-DATE-TIME as the window slides '
    . '(1 ms)') or diag join "\n", @pdt[0 .. ($#pdt < 10 ? $#pdt : 10)];
ok(!@too_long, "never more than the window (+1 segment) listed")
    or diag join "\n", @too_long[0 .. ($#too_long < 10 ? $#too_long : 10)];
ok(!@disk, 'on disk: the listed segments, at most two more, the init')
    or diag join "\n", @disk[0 .. ($#disk < 10 ? $#disk : 10)];

my %final;
for my $rend (@RENDS) {
    my $pl = wait_playlist($t, 'main', $rend, sub { $_[0]{endlist} }, 5);
    ok($pl, "$rend: ENDLIST") or next;
    my ($snap, $files, $inits) = snapshot($rend);
    $pl = $snap if $snap;
    $final{$rend} = $pl;
    diag(sprintf '%s: MEDIA-SEQUENCE %d -> %d, %d segments, %.3f s listed',
        $rend, $first_seq{$rend} // -1, $pl->{media_sequence},
        scalar @{$pl->{segments}}, $pl->{duration});
    cmp_ok($pl->{media_sequence} - ($first_seq{$rend} // 0), '>=', 7,
        "$rend: MEDIA-SEQUENCE advanced (16 s published, 6 s kept)");
    cmp_ok($pl->{duration}, '>=', $WINDOW - $SEG,
        "$rend: ~6 s listed (at least 5)");
    cmp_ok($pl->{duration}, '<=', $WINDOW + $SEG,
        "$rend: ~6 s listed (at most 7)");
    is_deeply([sort { $a <=> $b } keys %$files],
        [map { $_->{msn} } @{$pl->{segments}}],
        "$rend: after the end, exactly the listed segments on disk");
    is_deeply($inits, $pl->{maps}, "$rend: the init is still there, alone");
    my $gone = $pl->{media_sequence} - 1;
    is($t->get("/hls/main/$rend/seg-$gone.m4s")->{status}, 404,
        "$rend: a segment that left the window answers 404");
    my $p = probe_segment($t, 'main', $rend, $pl->{segments}[0]);
    ok($p && !$p->{code} && !length $p->{stderr} && $p->{first_video_key},
        "$rend: the oldest listed segment still decodes from its IDR")
        or diag explain $p;
}
is_deeply([map { $_->{msn} } @{$final{low}{segments} || []}],
    [map { $_->{msn} } @{$final{source}{segments} || []}],
    'both renditions trim alike');

diag(sprintf 'test ran %.1f s', time - $start);

done_testing;
